// `fleet start` runs the local IdP on the issuer port: it says so (with the dev users), keeps the
// console's client secret in .fleet/console-client.json, and a client with no token gets one through
// the MCP authorization flow (protected-resource metadata → IdP metadata → registration → login →
// code + PKCE → token) and calls a server; `fleet token` keeps working against the same JWKS.
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { connectClient } from '@mcp-fleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signIn } from '../../packages/idp/test/login-driver.js';
import { type LocalFleet, startLocalFleet } from './local-fleet.js';

let fleet: LocalFleet;
beforeAll(async () => {
  fleet = await startLocalFleet({ args: ['--only', 'files'] });
}, 240_000);
afterAll(async () => {
  await fleet?.stop();
});

const claimsOf = (jwt: string) =>
  JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;

describe('fleet start with the local IdP', () => {
  it('prints the IdP line with the dev users and keeps the console secret private in .fleet', () => {
    expect(fleet.output()).toMatch(/issuer\s+http:\/\/127\.0\.0\.1:\d+ local IdP/);
    expect(fleet.output()).toContain('alice (approver), bob (approver), carol, password "dev"');
    const file = join(fleet.env.FLEET_DIR!, 'console-client.json');
    const stored = JSON.parse(readFileSync(file, 'utf8')) as { clientId: string; clientSecret: string };
    expect(stored.clientId).toBe('fleet-console');
    expect(stored.clientSecret.length).toBeGreaterThanOrEqual(32);
    expect(statSync(file).mode & 0o077).toBe(0);
  });

  it('a client with no token finds the IdP from the server, registers, signs carol in and calls tools', async () => {
    const url = fleet.urls.files!;
    const challenge = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(challenge.status).toBe(401);
    const metadataUrl = /resource_metadata="([^"]+)"/.exec(challenge.headers.get('www-authenticate')!)![1]!;
    const prm = (await (await fetch(metadataUrl)).json()) as {
      resource: string;
      authorization_servers: string[];
    };
    expect(prm.resource).toBe(url);
    const issuer = prm.authorization_servers[0]!;
    const as = (await (await fetch(`${issuer}/.well-known/oauth-authorization-server`)).json()) as Record<
      string,
      string
    >;
    const redirect = 'http://127.0.0.1:47011/callback';
    const reg = await fetch(as.registration_endpoint!, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        client_name: 'e2e',
        redirect_uris: [redirect],
        token_endpoint_auth_method: 'none',
      }),
    });
    expect(reg.status).toBe(201);
    const { client_id } = (await reg.json()) as { client_id: string };
    const verifier = randomBytes(32).toString('base64url');
    const auth = new URL(as.authorization_endpoint!);
    auth.search = new URLSearchParams({
      client_id,
      response_type: 'code',
      redirect_uri: redirect,
      scope: 'mcp:tools',
      resource: url,
      state: 'x',
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    }).toString();
    const { redirect: back } = await signIn(auth.toString(), 'carol', 'dev');
    const tokenRes = await fetch(as.token_endpoint!, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code: back.searchParams.get('code')!,
        redirect_uri: redirect,
        code_verifier: verifier,
        client_id,
        resource: url,
      }),
    });
    const { access_token } = (await tokenRes.json()) as { access_token: string };
    expect(claimsOf(access_token)).toMatchObject({
      sub: 'carol',
      user: 'carol',
      roles: ['support'],
      aud: url,
    });
    const client = await connectClient('modern', url, access_token);
    try {
      const result = await client.callTool('list_folder', { path: '' });
      expect(result.isError).toBeFalsy();
      expect(JSON.stringify(result.structuredContent)).toContain('docs');
    } finally {
      await client.close();
    }
  });

  it('signs the console client in with the secret kept in .fleet', async () => {
    const { clientSecret } = JSON.parse(
      readFileSync(join(fleet.env.FLEET_DIR!, 'console-client.json'), 'utf8'),
    ) as { clientSecret: string };
    const issuer = `http://127.0.0.1:${fleet.env.FLEET_ISSUER_PORT}`;
    const adminPort = fleet.env.FLEET_PORT_ADMIN;
    const redirect = `http://127.0.0.1:${adminPort}/console/callback`;
    const verifier = randomBytes(32).toString('base64url');
    const auth = new URL(`${issuer}/auth`);
    auth.search = new URLSearchParams({
      client_id: 'fleet-console',
      response_type: 'code',
      redirect_uri: redirect,
      scope: 'openid profile email groups',
      state: 's',
      nonce: 'n',
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    }).toString();
    const { redirect: back } = await signIn(auth.toString(), 'alice', 'dev');
    expect(back.origin + back.pathname).toBe(redirect);
    const res = await fetch(`${issuer}/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`fleet-console:${clientSecret}`).toString('base64')}`,
      },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code: back.searchParams.get('code')!,
        redirect_uri: redirect,
        code_verifier: verifier,
      }),
    });
    const { id_token } = (await res.json()) as { id_token: string };
    expect(claimsOf(id_token)).toMatchObject({
      preferred_username: 'alice',
      groups: ['fleet-approvers', 'fleet-admins'],
      email: 'alice@example.com',
    });
  });

  it("gives the console an approvals token that a server's /approvals accepts for alice and refuses for carol", async () => {
    const { clientSecret } = JSON.parse(
      readFileSync(join(fleet.env.FLEET_DIR!, 'console-client.json'), 'utf8'),
    ) as { clientSecret: string };
    const issuer = `http://127.0.0.1:${fleet.env.FLEET_ISSUER_PORT}`;
    const redirect = `http://127.0.0.1:${fleet.env.FLEET_PORT_ADMIN}/console/callback`;
    const approvals = fleet.urls.files!.replace(/\/mcp$/, '/approvals');
    const statusFor = async (user: string) => {
      const verifier = randomBytes(32).toString('base64url');
      const auth = new URL(`${issuer}/auth`);
      auth.search = new URLSearchParams({
        client_id: 'fleet-console',
        response_type: 'code',
        redirect_uri: redirect,
        scope: 'openid mcp:approve',
        resource: approvals,
        state: 's',
        code_challenge: createHash('sha256').update(verifier).digest('base64url'),
        code_challenge_method: 'S256',
      }).toString();
      const { redirect: back } = await signIn(auth.toString(), user, 'dev');
      const res = await fetch(`${issuer}/token`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`fleet-console:${clientSecret}`).toString('base64')}`,
        },
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          code: back.searchParams.get('code')!,
          redirect_uri: redirect,
          code_verifier: verifier,
          resource: approvals,
        }),
      });
      const { access_token } = (await res.json()) as { access_token: string };
      expect(claimsOf(access_token)).toMatchObject({
        aud: approvals,
        preferred_username: user,
        scope: 'mcp:approve',
      });
      return (await fetch(approvals, { headers: { authorization: `Bearer ${access_token}` } })).status;
    };
    expect(await statusFor('alice')).toBe(200);
    expect(await statusFor('carol')).toBe(403);
  });

  it('`fleet token` still mints tokens the servers accept', async () => {
    const token = (
      await fleet.fleet('token', '--agent', 'e2e-idp', '--role', 'support', '--server', 'files')
    ).trim();
    const client = await connectClient('modern', fleet.urls.files!, token);
    try {
      expect((await client.listTools()).tools.length).toBeGreaterThan(0);
    } finally {
      await client.close();
    }
  });
});
