// The console over plain HTTP against a real admin server, fleet database and IdP: the security
// headers of every page, the sign-in callback's refusals, session expiry and logout, hostile
// agent-written text escaped, and decisions that need a session, the same Origin and a CSRF token.
import { createFleetPool, createLogger } from '@mcp-fleet/core/internal';
import { STRIPE_DEMO } from '@mcp-fleet/simulators';
import { callOutcome } from '@mcp-fleet/testkit';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOGIN_COOKIE, SESSION_COOKIE } from '../../src/console/console.js';
import { SessionStore } from '../../src/console/sessions.js';
import { type AdminHarness, startAdminHarness } from '../harness.js';

let h: AdminHarness;
let pool: pg.Pool;
let sessions: SessionStore;

beforeAll(async () => {
  h = await startAdminHarness({ dbName: 'fleet_console_http' });
  pool = createFleetPool(h.db.url, createLogger({ level: 'silent' }), 2);
  sessions = new SessionStore(pool, { idleMs: 30 * 60_000, maxMs: 8 * 3_600_000 });
});
afterAll(async () => {
  await pool?.end();
  await h?.close();
});

/** A session for `login` as the console creates one after a verified sign-in; the cookie header. */
async function sessionOf(login: string): Promise<{ cookie: string; id: string }> {
  const id = await sessions.create(
    { issuer: h.idp.issuer, subject: login, user: null, tenant: null, identifiers: [login], clients: [] },
    login,
  );
  return { id, cookie: `${SESSION_COOKIE}=${id}` };
}

const get = (path: string, cookie?: string, headers: Record<string, string> = {}) =>
  fetch(`${h.baseUrl}${path}`, {
    redirect: 'manual',
    headers: { ...(cookie ? { cookie } : {}), ...headers },
  });

function csp(r: Response): Map<string, string[]> {
  const header = r.headers.get('content-security-policy') ?? '';
  return new Map(
    header
      .split(';')
      .map((d) => d.trim().split(/\s+/))
      .filter((d) => d[0])
      .map(([name, ...values]) => [name!, values]),
  );
}

describe('headers', () => {
  it('every console answer has a strict CSP, no framing, nosniff, no-store and a referrer policy', async () => {
    const alice = await sessionOf('alice');
    const answers = [
      await get('/console'),
      await get('/console', alice.cookie),
      await get('/console/audit', alice.cookie),
      await get('/console/agents', alice.cookie),
      await get('/console/nope', alice.cookie),
      await get('/console/audit/not-a-uuid', alice.cookie),
      await get('/console/callback?code=x&state=y'),
      await get('/console/assets/console.js'),
      await get('/console/assets/console.css'),
    ];
    for (const r of answers) {
      const p = csp(r);
      expect(p.get('script-src'), r.url).toEqual(["'self'"]);
      expect(p.get('style-src')).toEqual(["'self'"]);
      expect(p.get('default-src')).toEqual(["'none'"]);
      expect(p.get('frame-ancestors')).toEqual(["'none'"]);
      expect(p.get('form-action')).toEqual(["'self'"]);
      expect(p.get('object-src')).toEqual(["'none'"]);
      expect(p.get('base-uri')).toEqual(["'none'"]);
      expect(p.get('require-trusted-types-for')).toEqual(["'script'"]);
      const all = [...p.values()].flat().join(' ');
      expect(all).not.toMatch(/unsafe-|\*|data:|http:|https:/);
      expect(r.headers.get('x-frame-options')).toBe('DENY');
      expect(r.headers.get('x-content-type-options')).toBe('nosniff');
      expect(r.headers.get('cache-control')).toBe('no-store');
      expect(r.headers.get('referrer-policy')).toBe('same-origin');
      const body = await r.text();
      expect(body).not.toMatch(/\bat [\w.]+ \(|node_modules|Error:/); // no stack traces
      expect(body).not.toMatch(/<script>|<style>| style=| on\w+=/i); // nothing inline
    }
  });

  it('a foreign Host header is refused before anything else (DNS rebinding)', async () => {
    const alice = await sessionOf('alice');
    const { request } = await import('node:http');
    // fetch does not let a caller choose Host; node:http does (as a rebinding page's browser would send it).
    const status = await new Promise<number>((resolve, reject) => {
      const u = new URL(h.consoleUrl);
      request(
        {
          host: u.hostname,
          port: u.port,
          path: '/console',
          headers: { host: 'evil.example', cookie: alice.cookie },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      )
        .on('error', reject)
        .end();
    });
    expect(status).toBe(403);
  });
});

describe('sign-in', () => {
  it('/console/login keeps state, nonce and PKCE server-side behind a Lax, Secure, HttpOnly __Host- cookie and sends the browser to the IdP with S256', async () => {
    const r = await get('/console/login');
    expect(r.status).toBe(303);
    const to = new URL(r.headers.get('location')!);
    expect(to.origin).toBe(new URL(h.idp.issuer).origin);
    expect(to.searchParams.get('code_challenge_method')).toBe('S256');
    expect(to.searchParams.get('state')).toMatch(/^[\w-]{32,}$/);
    expect(to.searchParams.get('nonce')).toMatch(/^[\w-]{32,}$/);
    expect(to.searchParams.get('redirect_uri')).toBe(`${h.baseUrl}/console/callback`);
    const cookie = r.headers.get('set-cookie')!;
    expect(cookie).toMatch(new RegExp(`^${LOGIN_COOKIE}=`));
    expect(cookie).toMatch(/; Secure/);
    expect(cookie).toMatch(/; HttpOnly/);
    expect(cookie).toMatch(/; SameSite=Lax/);
    expect(cookie).toMatch(/; Path=\//);
    expect(cookie).not.toMatch(/Domain=/i);
  });

  it('a callback without its sign-in, with another state, or used twice signs nobody in', async () => {
    const started = await get('/console/login');
    const login = started.headers.get('set-cookie')!.split(';')[0]!;
    const state = new URL(started.headers.get('location')!).searchParams.get('state')!;
    const attempts = [
      await get(`/console/callback?code=abc&state=${state}`), // no login cookie
      await get('/console/callback?code=abc&state=wrong', login), // wrong state (the login is used up)
      await get(`/console/callback?code=abc&state=${state}`, login), // the same login again
      await get('/console/callback?code=abc&state=x', `${LOGIN_COOKIE}=${'A'.repeat(43)}`), // a made-up one
    ];
    for (const r of attempts) {
      expect(r.status).toBe(400);
      expect(r.headers.get('set-cookie') ?? '').not.toContain(`${SESSION_COOKIE}=`);
    }
  });
});

describe('sessions', () => {
  it('a session ends when idle too long, past its absolute end, or at logout; a made-up id is nobody', async () => {
    const page = async (cookie: string) => (await get('/console/audit', cookie)).status;
    const idle = await sessionOf('alice');
    const old = await sessionOf('alice');
    const out = await sessionOf('alice');
    for (const s of [idle, old, out]) expect(await page(s.cookie)).toBe(200);
    const { createHash } = await import('node:crypto');
    const hash = (id: string) => createHash('sha256').update(id).digest('hex');
    await pool.query(
      `UPDATE console_sessions SET last_seen_at = now() - interval '31 minutes' WHERE id_hash = $1`,
      [hash(idle.id)],
    );
    await pool.query(
      `UPDATE console_sessions SET expires_at = now() - interval '1 second' WHERE id_hash = $1`,
      [hash(old.id)],
    );
    const csrf = await csrfOf(out.cookie, '/console/audit');
    const logout = await fetch(`${h.baseUrl}/console/logout`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie: out.cookie, origin: h.baseUrl, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ _csrf: csrf }),
    });
    expect(logout.status).toBe(200);
    for (const s of [idle, old, out]) expect(await page(s.cookie)).toBe(401);
    expect(await page(`${SESSION_COOKIE}=${'B'.repeat(43)}`)).toBe(401);
    expect(await page(`${SESSION_COOKIE}=x`)).toBe(401);
    // The database keeps only the hash of an id, never the id itself.
    const { rows } = await pool.query<{ n: string }>(
      'SELECT count(*) AS n FROM console_sessions WHERE id_hash = ANY($1::text[])',
      [[idle.id, old.id, out.id]],
    );
    expect(Number(rows[0]!.n)).toBe(0);
  });
});

/** The CSRF token of a page's forms (the logout form is on every signed-in page). */
async function csrfOf(cookie: string, path: string): Promise<string> {
  const body = await (await get(path, cookie)).text();
  return /name="_csrf" value="([^"]+)"/.exec(body)![1]!;
}

describe('hostile text', () => {
  it('an agent id and a comment written to attack the page are shown as text', async () => {
    const nasty = '<img src=x onerror=alert(1)>\u202Eevil\u200B';
    const agent = await h.agent({ user: 'bob', sub: nasty, sid: '"><script>alert(2)</script>' });
    const out = await callOutcome(agent, 'issue_refund', {
      payment_intent: STRIPE_DEMO.paymentIntents.usd,
      amount: 77,
      currency: 'usd',
      reason: 'duplicate',
    });
    expect(out.code, out.text).toBe('awaiting_approval');
    const id = (out.meta!['io.mcp-fleet/governance'] as { approvalId: string }).approvalId;
    const alice = await sessionOf('alice');
    for (const path of ['/console', `/console/approvals/${id}`, '/console/agents', '/console/audit']) {
      const body = await (await get(path, alice.cookie)).text();
      expect(body).not.toContain('<img');
      expect(body).not.toContain('<script>alert');
      // No hidden character in what is shown (attribute values, e.g. a form's hidden agent id, are not shown).
      expect(body.replace(/="[^"]*"/g, '=""')).not.toContain('\u202E');
      expect(body.replace(/="[^"]*"/g, '=""')).not.toContain('\u200B');
    }
    const api = (await (await get('/console/api/pending', alice.cookie)).json()) as {
      approvals: { id: string; agentId: string; reason: string }[];
    };
    expect(api.approvals.map((a) => a.agentId)).toContain(nasty); // JSON for textContent, as it is
    // Why it was held: the request's own reason (ApprovalView.reason), on the list and on its page.
    const reason = api.approvals.find((a) => a.id === id)?.reason;
    expect(reason).toMatch(/^granted by role /);
    expect(await (await get(`/console/approvals/${id}`, alice.cookie)).text()).toContain(
      `<th>Policy reason</th><td>${reason}</td>`,
    );
    // A comment with markup is kept as text, never markup.
    const csrf = await csrfOf(alice.cookie, `/console/approvals/${id}`);
    const body = await (await get(`/console/approvals/${id}`, alice.cookie)).text();
    const sha = /name="args_sha256" value="([^"]+)"/.exec(body)![1]!;
    const r = await fetch(`${h.baseUrl}/console/approvals/${id}/decide`, {
      method: 'POST',
      redirect: 'manual',
      headers: {
        cookie: alice.cookie,
        origin: h.baseUrl,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({
        _csrf: csrf,
        action: 'deny',
        args_sha256: sha,
        note: '<b onmouseover=x>no</b>',
      }),
    });
    expect(r.status).toBe(303);
    const after = await (await get(`/console/approvals/${id}`, alice.cookie)).text();
    expect(after).toContain('&lt;b onmouseover=x&gt;no&lt;/b&gt;');
    expect(after).not.toContain('<b onmouseover');
  });
});

describe('decisions need a session, this origin and a CSRF token', () => {
  it('without a session, a GET, a stale args hash, or no Origin: refused, the request stays pending', async () => {
    const agent = await h.agent({ user: 'bob', sid: 'sid-http-csrf' });
    const out = await callOutcome(agent, 'issue_refund', {
      payment_intent: STRIPE_DEMO.paymentIntents.usd,
      amount: 99,
      currency: 'usd',
      reason: 'duplicate',
    });
    const id = (out.meta!['io.mcp-fleet/governance'] as { approvalId: string }).approvalId;
    const alice = await sessionOf('alice');
    const csrf = await csrfOf(alice.cookie, `/console/approvals/${id}`);
    const body = await (await get(`/console/approvals/${id}`, alice.cookie)).text();
    const sha = /name="args_sha256" value="([^"]+)"/.exec(body)![1]!;
    const post = (headers: Record<string, string>, form: Record<string, string>) =>
      fetch(`${h.baseUrl}/console/approvals/${id}/decide`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        body: new URLSearchParams(form),
      });
    const good = { _csrf: csrf, action: 'approve', args_sha256: sha };
    const statuses = [
      (await post({ origin: h.baseUrl }, good)).status, // no session
      (await post({ cookie: alice.cookie }, good)).status, // no Origin
      (await post({ cookie: alice.cookie, origin: h.baseUrl, 'sec-fetch-site': 'cross-site' }, good)).status,
      (await post({ cookie: alice.cookie, origin: h.baseUrl }, { ...good, args_sha256: 'x' })).status,
      (await post({ cookie: (await sessionOf('bob')).cookie, origin: h.baseUrl }, good)).status, // bob's session, alice's token
      (await get(`/console/approvals/${id}/decide?action=approve`, alice.cookie)).status,
    ];
    expect(statuses).toEqual([401, 403, 403, 409, 403, 404]);
    const page = await (await get(`/console/approvals/${id}`, alice.cookie)).text();
    expect(page).toContain('— pending');
  });
});

describe('audit trail', () => {
  it('filters by agent, tool, outcome and time, pages by cursor, shows one record; a bad cursor or time is a 400', async () => {
    const agent = await h.agent({ user: 'bob', sub: 'audit-agent', sid: 'sid-audit' });
    for (let i = 0; i < 55; i++) await callOutcome(agent, 'get_user', { user_name: 'dave' });
    const alice = await sessionOf('alice');
    const { eventually } = await import('@mcp-fleet/testkit');
    const rowsOf = (html: string) =>
      [...html.matchAll(/<tr><td><a href="\/console\/audit\/([0-9a-f-]{36})">/g)].map((m) => m[1]!);
    const q = '/console/audit?agent=audit-agent&tool=get_user&outcome=ok&session=sid-audit';
    // Audit records are written in batches after the answers: wait until all 55 are there (a full
    // first page and a second page of 5), not just the first 50 (CI once read the second page early).
    let first = '';
    let second = '';
    const allThere = async () => {
      first = await (await get(q, alice.cookie)).text();
      const link = /id="next-page" href="([^"]+)"/.exec(first)?.[1];
      if (rowsOf(first).length !== 50 || !link) return false;
      second = await (await get(link.replace(/&amp;/g, '&'), alice.cookie)).text();
      return rowsOf(second).length === 5;
    };
    expect(await eventually(allThere, 10_000)).toBe(true);
    const one = rowsOf(first);
    const two = rowsOf(second);
    expect(two).toHaveLength(5);
    expect(new Set([...one, ...two]).size).toBe(55);
    expect(
      rowsOf(await (await get('/console/audit?agent=audit-agent&outcome=denied', alice.cookie)).text()),
    ).toEqual([]);
    expect(
      rowsOf(
        await (
          await get(
            `/console/audit?agent=audit-agent&from=${encodeURIComponent('2099-01-01T00:00')}`,
            alice.cookie,
          )
        ).text(),
      ),
    ).toEqual([]);
    const record = await (await get(`/console/audit/${one[0]}`, alice.cookie)).text();
    expect(record).toContain('audit-agent');
    expect(record).toContain('get_user');
    expect((await get('/console/audit?after=not-a-cursor', alice.cookie)).status).toBe(400);
    expect((await get('/console/audit?from=yesterday', alice.cookie)).status).toBe(400);
    expect(
      (await get(`/console/audit/${'0'.repeat(8)}-0000-0000-0000-${'0'.repeat(12)}`, alice.cookie)).status,
    ).toBe(404);
  });
});

describe('agents API beside the console', () => {
  it('adminHttp registers core’s agents API: an approver token lists suspensions, an agent token is refused', async () => {
    const ok = await fetch(`${h.baseUrl}/agents`, {
      headers: { authorization: `Bearer ${await h.approverToken('alice')}` },
    });
    expect(ok.status).toBe(200);
    const agent = await fetch(`${h.baseUrl}/agents`, {
      headers: { authorization: `Bearer ${await h.agentToken({ user: 'bob' })}` },
    });
    expect(agent.status).toBe(401);
  });
});
