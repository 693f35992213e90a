// Every HTML page the local IdP answers — its own (login, logout confirmation, signed out, errors)
// and the ones oidc-provider renders itself (the auto-submitting form of /session/end for a visitor
// who is not signed in, form_post responses, renderError) — carries the strict CSP (nothing but a
// nonce'd style and, for an auto-submitting form, its own script by hash), no framing and no-store.
// The endpoints come from the IdP's own discovery document, each asked with GET and POST, bare and
// with bad parameters, signed out and signed in.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEMO_PEOPLE } from '@mcp-fleet/simulators';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DevIdp, startDevIdp } from '../src/index.js';
import { CookieJar, signIn } from './login-driver.js';

const CALLBACK = 'http://127.0.0.1:9/console/callback';
const AFTER_LOGOUT = 'http://127.0.0.1:9/console/';
let idp: DevIdp;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fleet-idp-headers-'));
  idp = await startDevIdp({
    port: 0,
    signingKey: { file: join(dir, 'dev-issuer.json') },
    users: DEMO_PEOPLE,
    resources: (r) => new URL(r).hostname === '127.0.0.1',
    consoleClient: {
      clientSecret: randomBytes(24).toString('base64url'),
      redirectUris: [CALLBACK],
      postLogoutRedirectUris: [AFTER_LOGOUT],
    },
    approverGroup: 'fleet-approvers',
  });
});
afterAll(async () => {
  await idp?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Answer {
  what: string;
  status: number;
  headers: Headers;
  body: string;
  location: string | null;
}

async function ask(what: string, url: string, init: RequestInit = {}, jar?: CookieJar): Promise<Answer> {
  const u = new URL(url, idp.issuer);
  const res = await fetch(u, {
    redirect: 'manual',
    ...init,
    headers: { ...(jar ? { cookie: jar.header(u) } : {}), ...(init.headers as Record<string, string>) },
  });
  jar?.store(res);
  return {
    what,
    status: res.status,
    headers: res.headers,
    body: await res.text(),
    location: res.headers.get('location'),
  };
}

const isHtml = (a: Answer) =>
  (a.headers.get('content-type') ?? '').startsWith('text/html') || /<html/i.test(a.body);

/** The page's CSP as directive -> sources. */
function csp(a: Answer): Map<string, string[]> {
  return new Map(
    (a.headers.get('content-security-policy') ?? '')
      .split(';')
      .map((d) => d.trim().split(/\s+/))
      .filter((d) => d[0])
      .map(([name, ...values]) => [name!, values]),
  );
}

function expectStrict(a: Answer): void {
  const label = `${a.what} (${a.status})`;
  const p = csp(a);
  expect(p.get('default-src'), label).toEqual(["'none'"]);
  expect(p.get('frame-ancestors'), label).toEqual(["'none'"]);
  expect(p.get('base-uri'), label).toEqual(["'none'"]);
  expect(p.has('form-action'), label).toBe(true);
  expect([...p.values()].flat().join(' '), label).not.toMatch(/unsafe-|\*|data:/);
  // A script runs only when the policy names its hash; a style only with the nonce.
  for (const m of a.body.matchAll(/<script>([\s\S]*?)<\/script>/g)) {
    const hash = `'sha256-${createHash('sha256').update(m[1]!, 'utf8').digest('base64')}'`;
    expect(p.get('script-src') ?? [], label).toContain(hash);
  }
  expect(a.body, label).not.toMatch(/<script\s+src=|\son\w+=/i);
  expect(a.headers.get('x-frame-options'), label).toBe('DENY');
  expect(a.headers.get('x-content-type-options'), label).toBe('nosniff');
  expect(a.headers.get('cache-control') ?? '', label).toMatch(/no-store/);
}

describe('headers of every HTML page', () => {
  it('every endpoint of the discovery document, the interaction and logout pages, signed out and signed in', async () => {
    const discovery = (await (
      await fetch(`${idp.issuer}/.well-known/openid-configuration`)
    ).json()) as Record<string, unknown>;
    const endpoints = Object.entries(discovery)
      .filter(([k, v]) => (k.endsWith('_endpoint') || k === 'jwks_uri') && typeof v === 'string')
      .map(([, v]) => new URL(v as string).pathname);
    expect(endpoints).toContain('/session/end');
    const paths = [
      ...new Set([
        ...endpoints,
        '/session/end/confirm',
        '/session/end/success',
        '/interaction/unknown-uid',
        '/interaction/unknown-uid/login',
        '/interaction/unknown-uid/abort',
        '/.well-known/openid-configuration',
        '/no-such-page',
      ]),
    ];
    const answers: Answer[] = [];
    const bad = '?client_id=nope&redirect_uri=https%3A%2F%2Fevil.example%2F&response_type=code&scope=openid';
    const signedIn = new CookieJar();
    const signedOut = new CookieJar();
    // A signed-in browser (alice, through the console's authorization request).
    const authorize = (extra: Record<string, string> = {}) =>
      `${idp.issuer}/auth?${new URLSearchParams({
        client_id: 'fleet-console',
        response_type: 'code',
        scope: 'openid',
        redirect_uri: CALLBACK,
        code_challenge: createHash('sha256').update('v'.repeat(43)).digest('base64url'),
        code_challenge_method: 'S256',
        state: 's',
        nonce: 'n',
        ...extra,
      })}`;
    const login = await signIn(authorize(), 'alice', 'dev', signedIn);
    expect(login.redirect.searchParams.get('code')).toBeTruthy();
    for (const p of login.pages)
      answers.push({
        what: `sign-in ${p.url}`,
        status: p.status,
        headers: p.headers,
        body: p.body,
        location: p.headers.get('location'),
      });

    for (const path of paths)
      for (const [who, jar] of [
        ['signed out', signedOut],
        ['signed in', signedIn],
      ] as const) {
        answers.push(await ask(`GET ${path} ${who}`, path, {}, jar));
        answers.push(await ask(`GET ${path}${bad} ${who}`, `${path}${bad}`, {}, jar));
        answers.push(
          await ask(
            `POST ${path} ${who}`,
            path,
            { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'x=1' },
            jar,
          ),
        );
      }
    // A visitor who is not signed in asking to sign out (with and without a client): oidc-provider's
    // auto-submitting form; then signing out for real: confirmation, and the signed-out page.
    const visitor = new CookieJar();
    const endOut = await ask('GET /session/end, not signed in', '/session/end', {}, visitor);
    answers.push(endOut);
    expect(isHtml(endOut)).toBe(true);
    answers.push(
      await ask(
        'GET /session/end with a client, not signed in',
        `/session/end?client_id=fleet-console&post_logout_redirect_uri=${encodeURIComponent(AFTER_LOGOUT)}`,
        {},
        new CookieJar(),
      ),
    );
    const confirm = await ask('GET /session/end, signed in', '/session/end', {}, signedIn);
    answers.push(confirm);
    expect(confirm.body).toMatch(/Sign out/);
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(confirm.body)![1]!;
    const done = await ask(
      'POST /session/end/confirm',
      '/session/end/confirm',
      {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ xsrf, logout: 'yes' }).toString(),
      },
      signedIn,
    );
    answers.push(done);
    if (done.location) answers.push(await ask('after sign-out', done.location, {}, signedIn));
    // A form_post authorization response (the console client's redirect, signed in again) and errors
    // rendered by renderError (unknown client, a redirect_uri not registered).
    const again = new CookieJar();
    await signIn(authorize(), 'bob', 'dev', again);
    answers.push(await ask('form_post response', authorize({ response_mode: 'form_post' }), {}, again));
    answers.push(
      await ask(
        'unregistered redirect_uri',
        authorize({ redirect_uri: 'https://evil.example/cb' }),
        {},
        again,
      ),
    );
    answers.push(await ask('unknown client', authorize({ client_id: 'nobody' })));

    const pages = answers.filter(isHtml);
    // Every page checked, and the ones that fail named together.
    const failing = pages.filter((a) => {
      try {
        expectStrict(a);
        return false;
      } catch {
        return true;
      }
    });
    expect(failing.map((a) => `${a.what} (${a.status})`)).toEqual([]);
    // The pages the attacker and the flows reach are among them.
    expect(pages.map((a) => a.what)).toEqual(
      expect.arrayContaining([
        'GET /session/end, not signed in',
        'GET /session/end, signed in',
        'form_post response',
        'unknown client',
      ]),
    );
    expect(pages.length).toBeGreaterThan(20);
  });
});
