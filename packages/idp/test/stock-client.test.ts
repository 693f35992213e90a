// A stock MCP client (the SDK's Client + StreamableHTTPClientTransport with its built-in OAuth) given
// only a server URL and no token: it finds the local IdP through the protected-resource metadata
// (401 + WWW-Authenticate), registers itself, lets carol sign in on the login page, and calls tools.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BootedServer } from '@mcp-fleet/testkit';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type {
  OAuthClientInformationMixed,
  OAuthClientMetadata,
  OAuthTokens,
} from '@modelcontextprotocol/sdk/shared/auth.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimsOf, headerOf, type IdpFleet, startIdpFleet } from './idp-fleet.js';
import { signIn } from './login-driver.js';

/** An in-memory OAuthClientProvider whose "browser" is the login driver, signing in as `user`. */
class DriverProvider {
  client: OAuthClientInformationMixed | undefined;
  saved: OAuthTokens | undefined;
  verifier = '';
  code: string | undefined;
  authorizationUrls: URL[] = [];
  constructor(readonly user: string) {}
  get redirectUrl() {
    return 'http://127.0.0.1:33418/callback';
  }
  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: 'Stock SDK client',
      redirect_uris: [this.redirectUrl],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }
  clientInformation() {
    return this.client;
  }
  saveClientInformation(info: OAuthClientInformationMixed) {
    this.client = info;
  }
  tokens() {
    return this.saved;
  }
  saveTokens(tokens: OAuthTokens) {
    this.saved = tokens;
  }
  async redirectToAuthorization(url: URL) {
    this.authorizationUrls.push(url);
    const { redirect } = await signIn(url.toString(), this.user, 'dev');
    this.code = redirect.searchParams.get('code') ?? undefined;
  }
  saveCodeVerifier(v: string) {
    this.verifier = v;
  }
  codeVerifier() {
    return this.verifier;
  }
}

/** Connects the way a stock client does: try, get the 401, authorize, finish, connect again. */
async function connectWithOAuth(url: string, provider: DriverProvider): Promise<Client> {
  const first = new StreamableHTTPClientTransport(new URL(url), { authProvider: provider });
  const client = new Client({ name: 'stock-client', version: '1.0.0' });
  try {
    await client.connect(first);
    return client;
  } catch (err) {
    if (!(err instanceof UnauthorizedError)) throw err;
  }
  expect(provider.code).toBeTruthy();
  await first.finishAuth(provider.code!);
  const again = new Client({ name: 'stock-client', version: '1.0.0' });
  await again.connect(new StreamableHTTPClientTransport(new URL(url), { authProvider: provider }));
  return again;
}

let f: IdpFleet;
let files: BootedServer;

beforeAll(async () => {
  f = await startIdpFleet();
  files = await f.bootFiles();
});
afterAll(async () => {
  await f?.close();
});

describe('a stock MCP client with no token', () => {
  it('discovers the IdP, registers, signs carol in, lists and calls tools with the token it got', async () => {
    // What the client starts from: the server answers 401 naming its protected-resource metadata.
    const anonymous = await fetch(files.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: '{}',
    });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toContain('resource_metadata=');
    const prm = (await (await fetch(`${files.baseUrl}/.well-known/oauth-protected-resource/mcp`)).json()) as {
      authorization_servers: string[];
    };
    expect(prm.authorization_servers).toEqual([f.idp.issuer]);

    const provider = new DriverProvider('carol');
    const client = await connectWithOAuth(files.url, provider);
    // It registered itself, with a readable client id, as a public client.
    expect(provider.client?.client_id).toMatch(/^mcp-stock-sdk-client-[0-9a-f]{10}$/);
    expect((provider.client as { client_secret?: string }).client_secret).toBeUndefined();
    // It asked for exactly this server's /mcp, with PKCE S256.
    const asked = provider.authorizationUrls[0]!;
    expect(asked.searchParams.get('resource')).toBe(files.url);
    expect(asked.searchParams.get('code_challenge_method')).toBe('S256');

    const token = provider.saved!.access_token;
    expect(headerOf(token)).toMatchObject({ alg: 'ES256', typ: 'at+jwt', kid: f.dev.kid });
    const claims = claimsOf(token);
    expect(claims).toMatchObject({
      iss: f.idp.issuer,
      aud: files.url,
      sub: 'carol',
      user: 'carol',
      roles: ['support'],
      tenant: 'acme',
      scope: 'mcp:tools',
      client_id: provider.client!.client_id,
    });
    // The session of carol's sign-in at the IdP (shared by every client she authorises in it).
    expect(claims.sid).toMatch(/^s-[A-Za-z0-9_-]{22}$/);
    expect(claims).not.toHaveProperty('groups');

    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual(
      expect.arrayContaining(['list_folder', 'read_document', 'search_documents']),
    );
    // carol's agent reads a real document from the sandbox (what reached the "upstream": the file).
    const listed = await client.callTool({ name: 'list_folder', arguments: { path: 'docs' } });
    expect(listed.isError).toBeFalsy();
    const text = JSON.stringify(listed.content);
    const doc = /docs\/[A-Za-z0-9_./-]+\.md/.exec(text)?.[0];
    expect(doc).toBeTruthy();
    const read = await client.callTool({ name: 'read_document', arguments: { path: doc } });
    expect(read.isError).toBeFalsy();
    const onDisk = readFileSync(join(f.filesRoot, doc!), 'utf8');
    expect(JSON.stringify(read.content)).toContain(JSON.stringify(onDisk.split('\n')[0]).slice(1, -1));
    await client.close();
  });

  it('gives each sign-in its own session id (two providers, two browsers), and each person their own roles', async () => {
    // Each DriverProvider's browser is a fresh cookie jar: two sign-ins at the IdP.
    const a = new DriverProvider('alice');
    const b = new DriverProvider('alice');
    const ca = await connectWithOAuth(files.url, a);
    const cb = await connectWithOAuth(files.url, b);
    const ta = claimsOf(a.saved!.access_token);
    const tb = claimsOf(b.saved!.access_token);
    expect(ta).toMatchObject({ sub: 'alice', user: 'alice', roles: ['admin'] });
    expect(ta.sid).not.toBe(tb.sid);
    expect(ta.client_id).not.toBe(tb.client_id);
    await Promise.all([ca.close(), cb.close()]);
  });
});
