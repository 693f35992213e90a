// What the IdP issues and what the fleet accepts from it: audiences per server and per purpose,
// unknown resources refused, PKCE required, registration limited to public loopback clients, the
// login page's headers and refusals, ID tokens for the console, and `fleet token` tokens on one JWKS.
import { randomBytes } from 'node:crypto';
import { type BootedServer, connectClient, createTestDatabase } from '@mcp-fleet/testkit';
import fc from 'fast-check';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CONSOLE_CALLBACK,
  claimsOf,
  consoleTokens,
  headerOf,
  type IdpFleet,
  pkce,
  startIdpFleet,
} from './idp-fleet.js';
import { CookieJar, signIn } from './login-driver.js';

let f: IdpFleet;
let a: BootedServer;
let b: BootedServer;
let db: Awaited<ReturnType<typeof createTestDatabase>>;

beforeAll(async () => {
  f = await startIdpFleet();
  db = await createTestDatabase('idp_tokens');
  a = await f.bootFiles({ DATABASE_URL: db.url });
  b = await f.bootFiles();
});
afterAll(async () => {
  await f?.close();
  await db?.drop();
});

/** Registers a public MCP client the way the SDK does. */
async function register(metadata: Record<string, unknown>): Promise<Response> {
  return fetch(`${f.idp.issuer}/reg`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(metadata),
  });
}

async function publicClient(name = 'token tests'): Promise<{ client_id: string; redirect: string }> {
  const redirect = 'http://127.0.0.1:40123/callback';
  const res = await register({
    client_name: name,
    redirect_uris: [redirect],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'none',
  });
  expect(res.status).toBe(201);
  return { ...((await res.json()) as { client_id: string }), redirect };
}

/** The authorization URL of a public client for `resource` (PKCE unless `noPkce`). */
function authorizeUrl(
  client: { client_id: string; redirect: string },
  resource: string,
  o: { noPkce?: boolean; method?: string; challenge?: string; scope?: string } = {},
) {
  const url = new URL(`${f.idp.issuer}/auth`);
  url.search = new URLSearchParams({
    client_id: client.client_id,
    response_type: 'code',
    redirect_uri: client.redirect,
    scope: o.scope ?? 'mcp:tools',
    state: 's',
    resource,
    ...(o.noPkce
      ? {}
      : { code_challenge: o.challenge ?? pkce().challenge, code_challenge_method: o.method ?? 'S256' }),
  }).toString();
  return url;
}

/** A /mcp token for `user` through a public client (the MCP authorization flow by hand). */
async function agentToken(user: string, resource: string): Promise<string> {
  const client = await publicClient();
  const { verifier, challenge } = pkce();
  const { redirect } = await signIn(authorizeUrl(client, resource, { challenge }).toString(), user, 'dev');
  const code = redirect.searchParams.get('code');
  expect(code, String(redirect)).toBeTruthy();
  const res = await fetch(`${f.idp.issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code: code!,
      redirect_uri: client.redirect,
      code_verifier: verifier,
      client_id: client.client_id,
      resource,
    }),
  });
  const body = (await res.json()) as { access_token: string };
  expect(res.status, JSON.stringify(body)).toBe(200);
  return body.access_token;
}

const mcpPost = (url: string, token: string) =>
  fetch(url, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } },
    }),
  });

describe('discovery', () => {
  it('serves RFC 8414 metadata (the same document as OpenID discovery) and the JWKS where it always was', async () => {
    const as = (await (
      await fetch(`${f.idp.issuer}/.well-known/oauth-authorization-server`)
    ).json()) as Record<string, unknown>;
    const oidc = (await (await fetch(`${f.idp.issuer}/.well-known/openid-configuration`)).json()) as Record<
      string,
      unknown
    >;
    expect(as).toEqual(oidc);
    expect(as).toMatchObject({
      issuer: f.idp.issuer,
      jwks_uri: `${f.idp.issuer}/.well-known/jwks.json`,
      registration_endpoint: `${f.idp.issuer}/reg`,
      code_challenge_methods_supported: ['S256'],
    });
    expect(as.scopes_supported).toEqual(expect.arrayContaining(['openid', 'mcp:tools', 'mcp:approve']));
    const jwks = (await (await fetch(f.idp.jwksUrl)).json()) as { keys: Record<string, unknown>[] };
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kid: f.dev.kid, kty: 'EC', crv: 'P-256', alg: 'ES256' });
    expect(jwks.keys[0]).not.toHaveProperty('d');
  });

  it('`fleet token` tokens (the DevIssuer on the same key file) still verify at a server that trusts the IdP', async () => {
    const token = await f.dev.mint({ sub: 'agent-x', roles: ['support'], aud: a.url, scope: 'mcp:tools' });
    const c = await connectClient('modern', a.url, token);
    expect((await c.listTools()).tools.length).toBeGreaterThan(0);
    await c.close();
  });
});

describe('audiences', () => {
  it("a token for server A's /mcp works there and is refused by server B", async () => {
    const token = await agentToken('carol', a.url);
    expect(claimsOf(token).aud).toBe(a.url);
    expect((await mcpPost(a.url, token)).status).toBe(200);
    const atB = await mcpPost(b.url, token);
    expect(atB.status).toBe(401);
    expect(atB.headers.get('www-authenticate')).toContain('invalid_token');
  });

  it('an approvals token (console client, alice) is refused at /mcp; an /mcp token is refused at /approvals', async () => {
    const approvals = `${a.baseUrl}/approvals`;
    const tokens = await consoleTokens(f, 'alice', {
      resource: approvals,
      scope: 'openid profile email groups mcp:approve',
    });
    const at = tokens.access_token!;
    expect(headerOf(at)).toMatchObject({ alg: 'ES256', kid: f.dev.kid });
    const claims = claimsOf(at);
    expect(claims).toMatchObject({
      aud: approvals,
      sub: 'alice',
      preferred_username: 'alice',
      groups: ['fleet-approvers', 'fleet-admins'],
      scope: 'mcp:approve',
      client_id: 'fleet-console',
    });
    for (const absent of ['roles', 'user', 'act', 'tenant', 'sid']) expect(claims).not.toHaveProperty(absent);
    expect((await mcpPost(a.url, at)).status).toBe(401);
    const listed = await fetch(approvals, { headers: { authorization: `Bearer ${at}` } });
    expect(listed.status, await listed.clone().text()).toBe(200);

    const agent = await agentToken('alice', a.url);
    const refused = await fetch(approvals, { headers: { authorization: `Bearer ${agent}` } });
    expect(refused.status).toBe(401);
  });

  it('carol (not in fleet-approvers) gets an approvals token, and the server refuses her', async () => {
    const approvals = `${a.baseUrl}/approvals`;
    const { access_token } = await consoleTokens(f, 'carol', {
      resource: approvals,
      scope: 'openid mcp:approve',
    });
    expect(claimsOf(access_token!).groups).toEqual(['support']);
    const res = await fetch(approvals, { headers: { authorization: `Bearer ${access_token}` } });
    expect(res.status).toBe(403);
  });

  it('the console gets no /mcp token and an MCP client no /approvals token', async () => {
    await expect(consoleTokens(f, 'alice', { resource: a.url, scope: 'openid mcp:tools' })).rejects.toThrow(
      /invalid_target/,
    );
    const client = await publicClient();
    const { redirect } = await signIn(
      authorizeUrl(client, `${a.baseUrl}/approvals`, { scope: 'mcp:approve' }).toString(),
      'alice',
      'dev',
    );
    expect(redirect.searchParams.get('error')).toBe('invalid_target');
    expect(redirect.searchParams.get('code')).toBeNull();
  });

  it('refuses every resource that is not a fleet /mcp or /approvals URL (invalid_target), before any login', async () => {
    const client = await publicClient();
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.webUrl({ withQueryParameters: true, withFragments: true }),
          fc.constantFrom(
            `${a.baseUrl}/`,
            `${a.baseUrl}/mcp/`,
            `${a.baseUrl}/mcpx`,
            `${a.baseUrl}/mcp?x=1`,
            `${a.baseUrl}/mcp#f`,
            `${a.baseUrl}/approval`,
            'https://evil.example/mcp',
            'http://127.0.0.2:1/mcp',
            `${a.baseUrl.replace('127.0.0.1', 'localhost')}/mcp`,
          ),
        ),
        async (resource) => {
          fc.pre(!/^http:\/\/127\.0\.0\.1(:\d+)?\/[^?#]*\/(mcp|approvals)$/.test(resource));
          const res = await fetch(authorizeUrl(client, resource), { redirect: 'manual' });
          const location = new URL(res.headers.get('location') ?? 'http://none/', f.idp.issuer);
          const error = location.searchParams.get('error');
          expect(error ?? (await res.text()), resource).toMatch(/invalid_target|invalid_request/);
          expect(location.pathname.startsWith('/interaction')).toBe(false);
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('PKCE', () => {
  it('refuses an authorization request without PKCE, or with the plain method', async () => {
    const client = await publicClient();
    for (const o of [{ noPkce: true }, { method: 'plain' }]) {
      const res = await fetch(authorizeUrl(client, a.url, o), { redirect: 'manual' });
      const location = new URL(res.headers.get('location') ?? '', f.idp.issuer);
      expect(location.origin + location.pathname).toBe(client.redirect);
      expect(location.searchParams.get('error')).toBe('invalid_request');
      expect(location.searchParams.get('code')).toBeNull();
    }
  });

  it('refuses a code exchanged with the wrong verifier; the right one works once', async () => {
    const client = await publicClient();
    const { verifier, challenge } = pkce();
    const { redirect } = await signIn(authorizeUrl(client, a.url, { challenge }).toString(), 'carol', 'dev');
    const exchange = (v: string) =>
      fetch(`${f.idp.issuer}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          code: redirect.searchParams.get('code')!,
          redirect_uri: client.redirect,
          code_verifier: v,
          client_id: client.client_id,
          resource: a.url,
        }),
      });
    const wrong = await exchange(pkce().verifier);
    expect(wrong.status).toBe(400);
    expect(((await wrong.json()) as { error: string }).error).toBe('invalid_grant');
    expect((await exchange(verifier)).status).toBe(200);
    const again = await exchange(verifier);
    expect(again.status).toBe(400);
    expect(((await again.json()) as { error: string }).error).toBe('invalid_grant');
  });
});

describe('dynamic registration', () => {
  it('refuses every redirect a registered client could point away from this machine, and URLs the IdP would fetch', async () => {
    const base = { redirect_uris: ['http://127.0.0.1:5555/cb'], token_endpoint_auth_method: 'none' };
    const outside = ['https://evil.example/phish', 'http://10.0.0.1/x', 'http://127.0.0.1.evil.example/'];
    for (const uri of outside) {
      const res = await register({ ...base, post_logout_redirect_uris: ['http://127.0.0.1:5555/bye', uri] });
      expect(res.status, uri).toBe(400);
      // Nothing registered: the logout endpoint cannot be made to send anyone there.
      const bye = await fetch(
        `${f.idp.issuer}/session/end?post_logout_redirect_uri=${encodeURIComponent(uri)}`,
        { redirect: 'manual' },
      );
      expect(bye.headers.get('location') ?? '').not.toContain(new URL(uri).host);
      expect(await bye.text()).not.toContain(new URL(uri).host);
    }
    expect(
      (await register({ ...base, post_logout_redirect_uris: ['http://localhost:5555/bye'] })).status,
    ).toBe(201);
    for (const key of [
      'jwks_uri',
      'sector_identifier_uri',
      'request_uris',
      'initiate_login_uri',
      'backchannel_logout_uri',
    ]) {
      const value = key === 'request_uris' ? ['https://evil.example/r'] : 'https://evil.example/x';
      const res = await register({ ...base, [key]: value });
      // Refused, or (a feature this IdP does not enable) not taken: never kept for the client.
      if (res.status === 201) expect((await res.json()) as object, key).not.toHaveProperty(key);
      else expect(res.status, key).toBe(400);
    }
    expect((await register({ ...base, jwks_uri: 'https://evil.example/jwks' })).status).toBe(400);
    expect((await register({ ...base, sector_identifier_uri: 'https://evil.example/s' })).status).toBe(400);
  });

  it('registers public clients with loopback redirects only, with readable ids', async () => {
    const ok = await publicClient('Claude Desktop');
    expect(ok.client_id).toMatch(/^mcp-claude-desktop-[0-9a-f]{10}$/);
    for (const redirect of ['http://127.0.0.1:5555/cb', 'http://localhost:5555/cb', 'http://[::1]:5555/cb']) {
      const res = await register({ redirect_uris: [redirect], token_endpoint_auth_method: 'none' });
      expect(res.status, redirect).toBe(201);
    }
    const refused = [
      { redirect_uris: ['https://evil.example/cb'], token_endpoint_auth_method: 'none' },
      {
        redirect_uris: ['http://127.0.0.1:5555/cb', 'http://10.0.0.1/cb'],
        token_endpoint_auth_method: 'none',
      },
      { redirect_uris: ['http://127.0.0.1:5555/cb'], token_endpoint_auth_method: 'client_secret_basic' },
      // No method named: the default would be a confidential client, which only the console is.
      { redirect_uris: ['http://127.0.0.1:5555/cb'] },
      { redirect_uris: [], token_endpoint_auth_method: 'none' },
      { redirect_uris: ['http://127.0.0.1.evil.example/cb'], token_endpoint_auth_method: 'none' },
      { redirect_uris: ['myapp://cb'], token_endpoint_auth_method: 'none', application_type: 'native' },
      {
        redirect_uris: ['http://127.0.0.1:5555/cb'],
        token_endpoint_auth_method: 'none',
        response_types: ['id_token'],
      },
      {
        redirect_uris: ['http://127.0.0.1:5555/cb'],
        token_endpoint_auth_method: 'none',
        grant_types: ['client_credentials'],
      },
      {
        redirect_uris: ['http://127.0.0.1:5555/cb'],
        token_endpoint_auth_method: 'none',
        client_id: 'fleet-console',
      },
    ];
    const registered = (await (
      await register({ redirect_uris: ['http://[::1]:1/cb'], token_endpoint_auth_method: 'none' })
    ).json()) as Record<string, unknown>;
    expect(registered).not.toHaveProperty('client_secret');
    expect(registered).not.toHaveProperty('registration_access_token');
    for (const metadata of refused) {
      const res = await register(metadata);
      const body = (await res.json()) as { error?: string; client_id?: string };
      if (res.status === 201) {
        // A client_id in the request is ignored, never taken: the console stays the console.
        expect(body.client_id).not.toBe('fleet-console');
        expect((metadata as { client_id?: string }).client_id).toBe('fleet-console');
      } else {
        expect(res.status, JSON.stringify(metadata)).toBe(400);
        expect(body.error, JSON.stringify(metadata)).toMatch(/invalid_redirect_uri|invalid_client_metadata/);
      }
    }
  });
});

describe('the login page', () => {
  async function loginPage(): Promise<{ res: Response; html: string; jar: CookieJar; action: string }> {
    const client = await publicClient('Page Checker');
    const jar = new CookieJar();
    const start = await fetch(authorizeUrl(client, a.url), { redirect: 'manual' });
    jar.store(start);
    const page = new URL(start.headers.get('location')!, f.idp.issuer);
    const res = await fetch(page, { headers: { cookie: jar.header(page) } });
    const html = await res.text();
    const action = /action="([^"]+\/login)"/.exec(html)![1]!;
    return { res, html, jar, action: new URL(action, f.idp.issuer).toString() };
  }

  it('says it is the local dev IdP, names the client asking, lists alice, bob and carol; strict CSP, no framing', async () => {
    const { res, html } = await loginPage();
    expect(res.status).toBe(200);
    expect(html).toContain('LOCAL dev IdP');
    expect(html).toContain('Page Checker');
    for (const u of ['alice', 'bob', 'carol']) expect(html).toContain(`<code>${u}</code>`);
    expect(html).not.toContain('breakglass');
    expect(html).not.toMatch(/<script/i);
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("base-uri 'none'");
    expect(csp).toMatch(/style-src 'nonce-[A-Za-z0-9_-]{22}'/);
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('cache-control')).toBe('no-store');
    const nonce = /'nonce-([^']+)'/.exec(csp)![1];
    expect(html).toContain(`<style nonce="${nonce}">`);
  });

  it('answers a wrong password and an unknown user with the same clear error, and no code', async () => {
    const answers: string[] = [];
    for (const [user, password] of [
      ['carol', 'wrong'],
      ['mallory', 'dev'],
      ['breakglass', 'dev'],
      ['CAROL', 'dev'],
      ['carol', 'dev '],
    ] as const) {
      const { jar, action } = await loginPage();
      const res = await fetch(action, {
        method: 'POST',
        redirect: 'manual',
        headers: { cookie: jar.header(new URL(action)), 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ username: user, password }),
      });
      expect(res.status).toBe(401);
      expect(res.headers.get('location')).toBeNull();
      const html = await res.text();
      answers.push(/<div class="error"[^>]*>([^<]*)</.exec(html)![1]!);
    }
    expect(new Set(answers)).toEqual(new Set(['Wrong user name or password.']));
  });

  it('Cancel sends the person back to the client with access_denied and no code', async () => {
    const { jar, action } = await loginPage();
    const abort = action.replace(/\/login$/, '/abort');
    const res = await fetch(abort, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie: jar.header(new URL(abort)) },
    });
    expect(res.status).toBe(303);
    const back = new URL(res.headers.get('location')!, f.idp.issuer);
    jar.store(res);
    // oidc-provider finishes through its authorization endpoint, which then redirects to the client.
    const final = await fetch(back, { redirect: 'manual', headers: { cookie: jar.header(back) } });
    const to = new URL(final.headers.get('location')!, f.idp.issuer);
    expect(to.origin).toBe('http://127.0.0.1:40123');
    expect(to.searchParams.get('error')).toBe('access_denied');
    expect(to.searchParams.get('code')).toBeNull();
  });

  it('refuses a login posted without the interaction cookie (another site posting the form)', async () => {
    const { action } = await loginPage();
    const res = await fetch(action, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ username: 'carol', password: 'dev' }),
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('location')).toBeNull();
  });
});

describe('ID tokens for the console', () => {
  it('are ES256 and carry preferred_username, email, groups and name', async () => {
    const tokens = await consoleTokens(f, 'bob', { scope: 'openid' });
    const idToken = tokens.id_token!;
    const jwks = createLocalJWKSet((await (await fetch(f.idp.jwksUrl)).json()) as never);
    const { payload, protectedHeader } = await jwtVerify(idToken, jwks, {
      issuer: f.idp.issuer,
      audience: 'fleet-console',
    });
    expect(protectedHeader.alg).toBe('ES256');
    expect(payload).toMatchObject({
      sub: 'bob',
      preferred_username: 'bob',
      email: 'bob@example.com',
      groups: ['fleet-approvers'],
      name: 'Bob Chen',
    });
    expect(payload).not.toHaveProperty('roles');
  });

  it('refuse the console client with a wrong secret', async () => {
    const wrong = { ...f, consoleSecret: randomBytes(24).toString('base64url') };
    await expect(consoleTokens(wrong, 'alice')).rejects.toThrow(/invalid_client/);
    expect(CONSOLE_CALLBACK).toContain('/console/callback');
  });
});
