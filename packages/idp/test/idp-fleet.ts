// Test set-up: the local IdP on a free port with the DevIssuer's key file, the demo people, the
// console client, and real fleet servers (files) that trust it exactly as `fleet start` configures them.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEMO_PEOPLE } from '@mcp-fleet/simulators';
import { type BootedServer, bootServer, DevIssuer, examplePolicy } from '@mcp-fleet/testkit';
import filesDefinition from '../../../servers/files/src/definition.js';
import { prepareLocal as prepareFiles } from '../../../servers/files/src/local-setup.js';
import { type DevIdp, startDevIdp } from '../src/index.js';
import { signIn } from './login-driver.js';

export const CONSOLE_CALLBACK = 'http://127.0.0.1:9/console/callback';

/** The IdP, a DevIssuer on the same key file, and a way to boot files servers that trust the IdP. */
export interface IdpFleet {
  dir: string;
  idp: DevIdp;
  /** Mints dev tokens with the same key and issuer (`fleet token`). */
  dev: DevIssuer;
  consoleSecret: string;
  filesRoot: string;
  bootFiles(env?: Record<string, string>): Promise<BootedServer>;
  close(): Promise<void>;
}

export async function startIdpFleet(): Promise<IdpFleet> {
  const dir = mkdtempSync(join(tmpdir(), 'fleet-idp-'));
  const keyFile = join(dir, 'dev-issuer.json');
  const consoleSecret = randomBytes(24).toString('base64url');
  const idp = await startDevIdp({
    port: 0,
    signingKey: { file: keyFile },
    users: DEMO_PEOPLE,
    // Any server of this machine (the test servers take free ports after the IdP has started).
    resources: (r) => new URL(r).hostname === '127.0.0.1',
    consoleClient: {
      clientSecret: consoleSecret,
      redirectUris: [CONSOLE_CALLBACK],
      postLogoutRedirectUris: ['http://127.0.0.1:9/console/'],
    },
    approverGroup: 'fleet-approvers',
  });
  const dev = await DevIssuer.fromFile(keyFile, idp.issuer);
  const { FILES_ROOT } = await prepareFiles({ adminUrl: '', fleetDir: dir, log: () => {} });
  const servers: BootedServer[] = [];
  return {
    dir,
    idp,
    dev,
    consoleSecret,
    filesRoot: FILES_ROOT as string,
    async bootFiles(env = {}) {
      const s = await bootServer(filesDefinition, {
        issuer: dev,
        policy: examplePolicy(),
        env: {
          FILES_ROOT: FILES_ROOT as string,
          AUTH_ISSUER: idp.issuer,
          AUTH_JWKS_URL: idp.jwksUrl,
          AUTH_REQUIRED_SCOPES: 'mcp:tools',
          APPROVER_GROUP: 'fleet-approvers',
          ...env,
        },
      });
      servers.push(s);
      return s;
    },
    async close() {
      await Promise.all(servers.map((s) => s.close()));
      await idp.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A PKCE verifier and its S256 challenge. */
export function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

/** The payload of a JWT (not verified: for reading what the IdP put in). */
export function claimsOf(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** The protected header of a JWT. */
export function headerOf(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[0]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** Signs in through the console client (confidential, PKCE) and returns its token response. */
export async function consoleTokens(
  f: IdpFleet,
  user: string,
  opts: { resource?: string; scope?: string } = {},
): Promise<Record<string, unknown> & { access_token?: string; id_token?: string }> {
  const { verifier, challenge } = pkce();
  const auth = new URL(`${f.idp.issuer}/auth`);
  auth.search = new URLSearchParams({
    client_id: 'fleet-console',
    response_type: 'code',
    redirect_uri: CONSOLE_CALLBACK,
    scope: opts.scope ?? 'openid profile email groups',
    state: randomBytes(8).toString('hex'),
    nonce: randomBytes(8).toString('hex'),
    code_challenge: challenge,
    code_challenge_method: 'S256',
    ...(opts.resource ? { resource: opts.resource } : {}),
  }).toString();
  const { redirect } = await signIn(auth.toString(), user, 'dev');
  const code = redirect.searchParams.get('code');
  if (!code) throw new Error(`no code: ${redirect}`);
  const res = await fetch(`${f.idp.issuer}/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`fleet-console:${f.consoleSecret}`).toString('base64')}`,
    },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: CONSOLE_CALLBACK,
      code_verifier: verifier,
      ...(opts.resource ? { resource: opts.resource } : {}),
    }),
  });
  const body = (await res.json()) as Record<string, unknown>;
  if (!res.ok) throw new Error(`token endpoint ${res.status}: ${JSON.stringify(body)}`);
  return body;
}
