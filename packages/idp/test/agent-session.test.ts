// The agent session (`sid`) of /mcp tokens is the person's sign-in at the IdP, not a client's grant
// (issue 17, finding F5): a client such as mcp-remote registers and authorises each fleet server on its
// own, so one agent run holds tokens of several grants, and the flow guard keys a session's reads on
// (tenant, agent, user, sid). Every client authorised in one browser sign-in gets one sid (also when
// their login pages were open at once, as when a desktop app starts its mcp-remotes together); another
// sign-in (another browser, or after signing out) another; a refresh keeps the sid it was issued
// with, also after the sign-in ended. The agent (`sub`, core's default AUTH_CLAIM_AGENT) is the person
// whatever the client, so the servers' session keys agree. Checked on a real server: its audit record.
import { randomBytes } from 'node:crypto';
import { type BootedServer, connectClient, createTestDatabase, eventually } from '@mcp-fleet/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimsOf, type IdpFleet, pkce, startIdpFleet } from './idp-fleet.js';
import { CookieJar, signIn } from './login-driver.js';

let f: IdpFleet;
let files: BootedServer;
let db: Awaited<ReturnType<typeof createTestDatabase>>;

beforeAll(async () => {
  f = await startIdpFleet();
  db = await createTestDatabase('idp_agent_session');
  files = await f.bootFiles({ DATABASE_URL: db.url });
});
afterAll(async () => {
  await f?.close();
  await db?.drop();
});

/** Two fleet resources of this machine the IdP issues for (no server needs to listen there). */
const DATABASE = 'http://127.0.0.1:7401/mcp';
const COMMUNICATION = 'http://127.0.0.1:7402/mcp';

interface Tokens {
  access_token: string;
  refresh_token?: string;
  client_id: string;
}

/**
 * What an MCP client does for one server, in the browser `jar`: registers a public client of its
 * own, authorises with PKCE and the server's resource (the browser signs in unless it already is),
 * and exchanges the code. `offline` asks for a refresh token (offline_access), as
 * mcp-remote does when the IdP offers it.
 */
interface Started {
  client_id: string;
  redirect: string;
  verifier: string;
  url: string;
}

/** Registers a public client of its own and builds its authorization request (PKCE, the resource). */
async function start(resource: string, o: { offline?: boolean } = {}): Promise<Started> {
  const redirect = 'http://127.0.0.1:40125/callback';
  const reg = await fetch(`${f.idp.issuer}/reg`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      client_name: `agent session ${new URL(resource).port}`,
      redirect_uris: [redirect],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    }),
  });
  expect(reg.status).toBe(201);
  const { client_id } = (await reg.json()) as { client_id: string };
  const { verifier, challenge } = pkce();
  const auth = new URL(`${f.idp.issuer}/auth`);
  auth.search = new URLSearchParams({
    client_id,
    response_type: 'code',
    redirect_uri: redirect,
    scope: o.offline ? 'mcp:tools offline_access' : 'mcp:tools',
    state: randomBytes(4).toString('hex'),
    resource,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    // As mcp-remote asks for a refresh token: offline_access needs prompt=consent (OIDC).
    ...(o.offline ? { prompt: 'consent' } : {}),
  }).toString();
  return { client_id, redirect, verifier, url: auth.toString() };
}

/** Exchanges the code the browser came back with for the client's tokens. */
async function exchange(s: Started, back: URL, resource: string): Promise<Tokens> {
  const code = back.searchParams.get('code');
  expect(code, String(back)).toBeTruthy();
  const res = await fetch(`${f.idp.issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code: code!,
      redirect_uri: s.redirect,
      code_verifier: s.verifier,
      client_id: s.client_id,
      resource,
    }),
  });
  const body = (await res.json()) as Tokens;
  expect(res.status, JSON.stringify(body)).toBe(200);
  return { ...body, client_id: s.client_id };
}

/**
 * What an MCP client does for one server, in the browser `jar`: registers a public client of its
 * own, authorises with PKCE and the server's resource (the browser signs in unless it already is),
 * and exchanges the code. `offline` asks for a refresh token (offline_access), as mcp-remote does
 * when the IdP offers it.
 */
async function authorise(
  resource: string,
  jar: CookieJar,
  o: { user?: string; offline?: boolean } = {},
): Promise<Tokens> {
  const s = await start(resource, o);
  const { redirect: back } = await signIn(s.url, o.user ?? 'alice', 'dev', jar);
  return exchange(s, back, resource);
}

/** Opens an authorization request in the browser `jar` up to its login page; returns the form's URL. */
async function openLoginPage(url: string, jar: CookieJar): Promise<URL> {
  let at = new URL(url);
  for (let hop = 0; hop < 10; hop++) {
    const res = await fetch(at, { redirect: 'manual', headers: { cookie: jar.header(at) } });
    jar.store(res);
    const body = await res.text();
    const location = res.headers.get('location');
    if (location) {
      at = new URL(location, at);
      continue;
    }
    const form = /<form method="post" action="([^"]+\/login)"/.exec(body);
    expect(form, body.slice(0, 200)).toBeTruthy();
    return new URL(form![1]!.replace(/&amp;/g, '&'), at);
  }
  throw new Error('no login page');
}

/** Posts the login form opened earlier and follows the browser back to the client. */
async function submitLogin(form: URL, jar: CookieJar, user = 'alice'): Promise<URL> {
  const res = await fetch(form, {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie: jar.header(form), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ username: user, password: 'dev' }).toString(),
  });
  jar.store(res);
  expect(res.status, await res.text()).toBe(303);
  // The rest (resume, automatic consent) is redirects; signIn follows them in the same browser.
  return (await signIn(new URL(res.headers.get('location')!, form).toString(), user, 'dev', jar)).redirect;
}

async function refresh(t: Tokens, resource: string): Promise<Tokens> {
  const res = await fetch(`${f.idp.issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'refresh_token',
      refresh_token: t.refresh_token!,
      client_id: t.client_id,
      resource,
    }),
  });
  const body = (await res.json()) as Tokens;
  expect(res.status, JSON.stringify(body)).toBe(200);
  return { ...body, client_id: t.client_id };
}

/** Signs the browser `jar` out of the IdP (the confirmation page, then "Yes, sign me out"). */
async function signOut(jar: CookieJar): Promise<void> {
  const endUrl = new URL(`${f.idp.issuer}/session/end`);
  const page = await fetch(endUrl, { headers: { cookie: jar.header(endUrl) }, redirect: 'manual' });
  jar.store(page);
  const xsrf = /name="xsrf" value="([^"]+)"/.exec(await page.text())?.[1];
  expect(xsrf, 'the sign-out confirmation').toBeTruthy();
  const confirmUrl = new URL(`${f.idp.issuer}/session/end/confirm`);
  const done = await fetch(confirmUrl, {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie: jar.header(confirmUrl), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ xsrf: xsrf!, logout: 'yes' }).toString(),
  });
  jar.store(done);
  expect(done.status).toBeLessThan(400);
}

const sidOf = (t: Tokens) => claimsOf(t.access_token).sid as string;

describe('the sid of /mcp tokens', () => {
  it('is one per sign-in: two clients for two servers authorised in one browser sign-in share it', async () => {
    const browser = new CookieJar();
    const d = await authorise(DATABASE, browser);
    const c = await authorise(COMMUNICATION, browser);
    const dc = claimsOf(d.access_token);
    const cc = claimsOf(c.access_token);
    // Two registrations, two grants, two audiences...
    expect(dc.client_id).not.toBe(cc.client_id);
    expect(dc.aud).toBe(DATABASE);
    expect(cc.aud).toBe(COMMUNICATION);
    // ...one agent (the person: sub, core's default agent claim, is not the client) and one session.
    expect(dc).toMatchObject({ sub: 'alice', user: 'alice', roles: ['admin'], tenant: 'acme' });
    expect(cc).toMatchObject({ sub: 'alice', user: 'alice', roles: ['admin'], tenant: 'acme' });
    expect(dc.sid).toMatch(/^s-[A-Za-z0-9_-]{22}$/);
    expect(cc.sid).toBe(dc.sid);
    // A second client for the same server in the same sign-in: the same session too.
    expect(sidOf(await authorise(DATABASE, browser))).toBe(dc.sid);
  });

  it('is one for clients whose login pages were open at once (mcp-remote processes started together)', async () => {
    const browser = new CookieJar();
    const d = await start(DATABASE);
    const c = await start(COMMUNICATION);
    // Both tabs show the login page before the person has signed in anywhere.
    const dForm = await openLoginPage(d.url, browser);
    const cForm = await openLoginPage(c.url, browser);
    // The person signs in on one tab, then on the other (same person, same browser).
    const dTokens = await exchange(d, await submitLogin(dForm, browser), DATABASE);
    const cTokens = await exchange(c, await submitLogin(cForm, browser), COMMUNICATION);
    expect(sidOf(dTokens)).toMatch(/^s-/);
    expect(sidOf(cTokens)).toBe(sidOf(dTokens));
  });

  it('differs for another sign-in: another browser, or the same browser after signing out', async () => {
    const first = new CookieJar();
    const one = sidOf(await authorise(DATABASE, first));
    const other = sidOf(await authorise(DATABASE, new CookieJar()));
    expect(other).not.toBe(one);
    await signOut(first);
    const again = sidOf(await authorise(COMMUNICATION, first));
    expect(again).not.toBe(one);
    expect(again).not.toBe(other);
  });

  it('is kept by a refresh, also after the sign-in ended (never a fresh one per refresh)', async () => {
    const browser = new CookieJar();
    const d = await authorise(DATABASE, browser, { offline: true });
    const c = await authorise(COMMUNICATION, browser, { offline: true });
    expect(d.refresh_token, 'offline_access gives a refresh token').toBeTruthy();
    const sid = sidOf(d);
    expect(sidOf(c)).toBe(sid);
    const d2 = await refresh(d, DATABASE);
    expect(sidOf(d2)).toBe(sid);
    expect(claimsOf(d2.access_token).jti).not.toBe(claimsOf(d.access_token).jti);
    await signOut(browser);
    // The browser's sign-in is over; the clients' refresh tokens still name it.
    const d3 = await refresh(d2, DATABASE);
    const c2 = await refresh(c, COMMUNICATION);
    expect(sidOf(d3)).toBe(sid);
    expect(sidOf(c2)).toBe(sid);
    // A new sign-in in that browser is a new session.
    expect(sidOf(await authorise(DATABASE, browser))).not.toBe(sid);
  });

  it('is the session a server audits, with the person as the agent, for tokens of two clients', async () => {
    const browser = new CookieJar();
    const a = await authorise(files.url, browser);
    const b = await authorise(files.url, browser);
    expect(claimsOf(a.access_token).client_id).not.toBe(claimsOf(b.access_token).client_id);
    const sid = sidOf(a);
    expect(sidOf(b)).toBe(sid);
    for (const t of [a, b]) {
      const client = await connectClient('modern', files.url, t.access_token);
      try {
        expect((await client.callTool('list_folder', { path: '' })).isError).toBeFalsy();
      } finally {
        await client.close();
      }
    }
    const pool = new pg.Pool({ connectionString: db.url, max: 1 });
    try {
      const read = async () =>
        (
          await pool.query<{ agent_id: string; agent_session: string }>(
            `SELECT agent_id, agent_session FROM audit_records
              WHERE tool = 'list_folder' AND outcome <> 'started' AND agent_session = $1`,
            [sid],
          )
        ).rows;
      await eventually(async () => (await read()).length >= 2, 20_000);
      const rows = await read();
      expect(rows).toHaveLength(2);
      expect(rows.map((r) => r.agent_id)).toEqual(['alice', 'alice']);
    } finally {
      await pool.end();
    }
  });
});
