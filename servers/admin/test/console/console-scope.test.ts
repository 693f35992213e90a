// Issue 15 attacker findings on the console's reads of the audit trail, over HTTP against a real admin
// server, fleet database, IdP and Stripe simulator:
// - tenant scope: an approver whose ID token carries a tenant claim reads only that tenant's audit
//   records (list, one record — another tenant's answers exactly like a missing one —, the agents
//   page's charts and budget use); without a tenant claim only untenanted records, unless
//   APPROVER_ALL_TENANTS (every tenant's) — the approvals desk's rule;
// - hostile filter values (generated): no console GET answers 500; a time PostgreSQL cannot take is a
//   400 that says so;
// - a request repeating a call whose outcome is unknown (an approved refund whose connection dropped
//   after Stripe committed it) warns the approver on its page and in the pending list, whichever agent
//   or on-behalf-of user in the tenant asks again, and names who made the earlier call.
import { createFleetServer } from '@mcp-fleet/core';
import { createFleetPool, createLogger, type FleetServer } from '@mcp-fleet/core/internal';
import { STRIPE_DEMO } from '@mcp-fleet/simulators';
import { callOutcome, connectClient, eventually, freePort } from '@mcp-fleet/testkit';
import fc from 'fast-check';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approverOf } from '../../src/console/approver.js';
import { SESSION_COOKIE } from '../../src/console/console.js';
import { SessionStore } from '../../src/console/sessions.js';
import { type AdminHarness, APPROVER_GROUP, adminDefinition, startAdminHarness } from '../harness.js';

let h: AdminHarness;
let pool: pg.Pool;
let sessions: SessionStore;
/** A second admin server on the same fleet, without APPROVER_ALL_TENANTS. */
let strict: { server: FleetServer; url: string };

beforeAll(async () => {
  h = await startAdminHarness({ dbName: 'fleet_console_scope' });
  pool = createFleetPool(h.db.url, createLogger({ level: 'silent' }), 2);
  sessions = new SessionStore(pool, { idleMs: 30 * 60_000, maxMs: 8 * 3_600_000 });
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const server = await createFleetServer(adminDefinition(), {
    env: { ...h.env, PORT: String(port), PUBLIC_URL: url, APPROVER_ALL_TENANTS: 'false' },
  });
  await server.listen();
  strict = { server, url };
});
afterAll(async () => {
  await strict?.server.close();
  await pool?.end();
  await h?.close();
});

/**
 * A session for the person these verified ID token claims name, built as the console's callback
 * builds it (approverOf on the claims openid-client verified): the tenant claim becomes the
 * approver's tenant.
 */
async function signedIn(login: string, extra: Record<string, unknown> = {}): Promise<string> {
  const who = approverOf(
    { iss: h.idp.issuer, sub: login, preferred_username: login, groups: [APPROVER_GROUP], ...extra },
    h.server.runtime.config,
  );
  if ('refused' in who) throw new Error(who.message);
  return `${SESSION_COOKIE}=${await sessions.create(who.approver, who.name)}`;
}

const get = (path: string, cookie: string, base = h.baseUrl) =>
  fetch(`${base}${path}`, { redirect: 'manual', headers: { cookie } });

/** Every UTF-8 byte percent-escaped (a lone surrogate goes as U+FFFD's bytes). */
const pct = (text: string) =>
  [...Buffer.from(text, 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');

const recordIds = (page: string) =>
  [...page.matchAll(/<tr><td><a href="\/console\/audit\/([0-9a-f-]{36})">/g)].map((m) => m[1]!);

/** An agent of `tenant` makes one get_user call; its audit record id. */
async function callIn(tenant: string, agentId: string): Promise<string> {
  const c = await connectClient(
    'modern',
    h.mcpUrl,
    await h.agentToken({ user: 'bob', sub: agentId, tenant, sid: `sid-${agentId}` }),
  );
  try {
    await callOutcome(c, 'get_user', { user_name: 'dave' });
  } finally {
    await c.close();
  }
  let id: string | undefined;
  await eventually(async () => {
    const { rows } = await pool.query<{ id: string }>(
      `SELECT id::text FROM audit_records WHERE agent_id = $1 AND tool = 'get_user' AND outcome <> 'started'`,
      [agentId],
    );
    id = rows[0]?.id;
    return id !== undefined;
  });
  return id!;
}

describe('tenant scope of every console read of the audit trail', () => {
  it('an approver of acme (tenant claim) reads acme’s records only; APPROVER_ALL_TENANTS reads all; no claim and no setting reads untenanted ones', async () => {
    const acmeRecord = await callIn('acme', 'scope-agent-acme');
    const globexRecord = await callIn('globex', 'scope-agent-globex');
    const acme = await signedIn('alice', { tenant: 'acme' });
    const globex = await signedIn('bob', { tenant: 'globex' });
    const all = await signedIn('alice'); // no tenant claim: every tenant (APPROVER_ALL_TENANTS=true)

    const listed = async (cookie: string, agent: string, base?: string) =>
      recordIds(await (await get(`/console/audit?agent=${agent}`, cookie, base)).text());
    expect(await listed(acme, 'scope-agent-acme')).toEqual([acmeRecord]);
    expect(await listed(acme, 'scope-agent-globex')).toEqual([]);
    expect(await listed(globex, 'scope-agent-acme')).toEqual([]);
    expect(await listed(globex, 'scope-agent-globex')).toEqual([globexRecord]);
    expect(await listed(all, 'scope-agent-acme')).toEqual([acmeRecord]);
    expect(await listed(all, 'scope-agent-globex')).toEqual([globexRecord]);
    // A tenant filter in the URL changes nothing.
    expect(recordIds(await (await get('/console/audit?tenant=globex', acme)).text())).not.toContain(
      globexRecord,
    );

    // One record: another tenant's looks exactly like one that does not exist.
    const one = async (cookie: string, id: string, base?: string) => {
      const r = await get(`/console/audit/${id}`, cookie, base);
      return { status: r.status, body: (await r.text()).replace(/name="_csrf" value="[^"]*"/, '') };
    };
    const missing = await one(acme, '00000000-0000-4000-8000-000000000000');
    expect(missing.status).toBe(404);
    expect(await one(acme, globexRecord)).toEqual(missing);
    expect((await one(acme, acmeRecord)).status).toBe(200);
    expect((await one(globex, acmeRecord)).status).toBe(404);
    expect((await one(all, globexRecord)).status).toBe(200);
    expect((await one(acme, globexRecord)).body).not.toContain('scope-agent-globex');

    // The agents page: charts, tables and budget use from the approver's tenant only.
    const agents = async (cookie: string, base?: string) =>
      (await get('/console/agents', cookie, base)).text();
    const acmeAgents = await agents(acme);
    expect(acmeAgents).toContain('scope-agent-acme');
    expect(acmeAgents).not.toContain('scope-agent-globex');
    const allAgents = await agents(all);
    expect(allAgents).toContain('scope-agent-acme');
    expect(allAgents).toContain('scope-agent-globex');

    // Without APPROVER_ALL_TENANTS, no tenant claim reads only untenanted records: neither of these.
    const none = await signedIn('bob');
    expect(await listed(none, 'scope-agent-acme', strict.url)).toEqual([]);
    expect(await listed(none, 'scope-agent-globex', strict.url)).toEqual([]);
    expect((await one(none, acmeRecord, strict.url)).status).toBe(404);
    const noneAgents = await agents(none, strict.url);
    expect(noneAgents).not.toContain('scope-agent-acme');
    expect(noneAgents).not.toContain('scope-agent-globex');
    // The tenant claim still reads its tenant there.
    expect(await listed(acme, 'scope-agent-acme', strict.url)).toEqual([acmeRecord]);
  });
});

describe('hostile filter values', () => {
  it('a time PostgreSQL cannot take is a 400 that says so', async () => {
    const alice = await signedIn('alice');
    for (const from of ['-271821-04-20T00:00:00Z', '+275760-09-13T00:00:00Z', '1969-12-31T23:59:59Z']) {
      const r = await get(`/console/audit?from=${encodeURIComponent(from)}`, alice);
      expect(r.status, from).toBe(400);
      expect(await r.text()).toContain('must be between 1970-01-01 and 9999-12-31');
    }
    const ok = await get(
      `/console/audit?from=1970-01-01T00:00&to=${encodeURIComponent('9999-12-31T23:59')}`,
      alice,
    );
    expect(ok.status).toBe(200);
  });

  it('no console GET answers 500, whatever the filters, cursors, ids and windows (generated)', async () => {
    const alice = await signedIn('alice');
    const text = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 40 }),
      fc.constantFrom('\u0000', 'a\u0000b', '%', "' OR 1=1 --", '\uD800', '\u202E', 'x'.repeat(600)),
    );
    const time = fc.oneof(
      fc
        .date({ noInvalidDate: false })
        .map((d) => (Number.isNaN(d.getTime()) ? 'Invalid Date' : d.toISOString())),
      fc
        .integer({ min: -8_640_000_000_000_000, max: 8_640_000_000_000_000 })
        .map((ms) => new Date(ms).toISOString()),
      fc
        .tuple(
          fc.integer({ min: -300_000, max: 300_000 }),
          fc.integer({ min: 0, max: 99 }),
          fc.integer({ min: 0, max: 99 }),
          fc.integer({ min: 0, max: 99 }),
        )
        .map(([y, mo, d, hh]) => `${y}-${mo}-${d}T${hh}:00`),
      text,
    );
    const cursor = fc.oneof(
      text,
      fc
        .tuple(time, fc.uuid())
        .map((v) =>
          Buffer.from(JSON.stringify([String(v[0]).replace(/Z?$/, '').slice(0, 23), v[1]])).toString(
            'base64url',
          ),
        ),
      fc
        .tuple(
          fc.integer({ min: 0, max: 9999 }),
          fc.integer({ min: 0, max: 99 }),
          fc.integer({ min: 0, max: 99 }),
          fc.uuid(),
        )
        .map(([y, mo, d, id]) =>
          Buffer.from(
            JSON.stringify([
              `${String(y).padStart(4, '0')}-${String(mo).padStart(2, '0')}-${String(d).padStart(2, '0')}T00:00:00.000000Z`,
              id,
            ]),
          ).toString('base64url'),
        ),
      fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v)).toString('base64url')),
    );
    const query = fc.record(
      {
        agent: text,
        tool: text,
        outcome: text,
        session: text,
        server: text,
        tenant: text,
        from: time,
        to: time,
        after: cursor,
        limit: fc.oneof(fc.integer().map(String), text),
        hours: fc.oneof(fc.constantFrom('1', '6', '24', '168', '-1', '1e309', 'NaN', '__proto__'), text),
        result: fc.oneof(fc.constantFrom('approved', '__proto__', 'constructor', 'toString'), text),
      },
      { requiredKeys: [] },
    );
    const path = fc.oneof(
      fc.constant('/console/audit'),
      fc.constant('/console/agents'),
      fc.constant('/console'),
      fc.constant('/console/api/pending'),
      fc.oneof(text, fc.uuid()).map((id) => `/console/audit/${pct(id)}`),
      fc.oneof(text, fc.uuid()).map((id) => `/console/approvals/${pct(id)}`),
      // Percent-escapes that decode to no UTF-8 at all.
      fc.constantFrom('/console/audit/%ED%A0%80', '/console/approvals/%FF%FE', '/console/audit/%00'),
    );
    await fc.assert(
      fc.asyncProperty(path, query, fc.boolean(), async (p, q, twice) => {
        const params = new URLSearchParams();
        for (const [k, v] of Object.entries(q)) {
          params.append(k, v);
          if (twice) params.append(k, v); // the same field twice: an array
        }
        const r = await get(`${p}?${params}`, alice);
        const body = await r.text();
        expect(r.status, `${p}?${params} → ${body.slice(0, 300)}`).toBeLessThan(500);
      }),
      { numRuns: 250 },
    );
  });
});

describe('a request that repeats an earlier identical call', () => {
  const decide = async (id: string) =>
    fetch(`${h.baseUrl}/approvals/${id}/approve`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${await h.approverToken('alice')}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ note: 'ok' }),
    });
  const held = async (agent: Awaited<ReturnType<AdminHarness['agent']>>, args: Record<string, unknown>) => {
    const out = await callOutcome(agent, 'issue_refund', args);
    expect(out.code, out.text).toBe('awaiting_approval');
    return (out.meta!['io.mcp-fleet/governance'] as { approvalId: string }).approvalId;
  };

  it('warns on the page and in the pending list when an earlier identical call’s outcome is unknown, by any caller in the tenant', async () => {
    const args = {
      payment_intent: STRIPE_DEMO.paymentIntents.usd,
      amount: 321,
      currency: 'usd',
      reason: 'duplicate',
    };
    const agent = await h.agent({ user: 'bob', sub: 'repeat-agent', sid: 'sid-repeat' });
    const other = await h.agent({ user: 'bob', sub: 'repeat-other', sid: 'sid-repeat-other' });
    const alice = await signedIn('alice');
    // The first request: approved, then Stripe commits the refund and the connection drops.
    const first = await held(agent, args);
    expect((await decide(first)).status).toBe(200);
    const before = h.hub.stripe!.account('acme').refunds.length;
    h.hub.stripe!.failNext('refunds.create', { dropAfterCommit: true });
    const ran = await callOutcome(agent, 'issue_refund', { ...args, approval_id: first });
    expect(ran.code, ran.text).toBe('upstream_uncertain');
    expect(h.hub.stripe!.account('acme').refunds.length).toBe(before + 1);
    await eventually(async () => {
      const { rows } = await pool.query(
        `SELECT 1 FROM audit_records WHERE agent_id = 'repeat-agent' AND outcome = 'unknown'`,
      );
      return rows.length > 0;
    });

    // The agent asks again with the same arguments: a new request.
    const again = await held(agent, args);
    expect(again).not.toBe(first);
    // The same refund asked by another agent, and on behalf of another user (another Stripe key: a
    // real second refund), are just as much repeats; other arguments are not.
    const otherArgs = await held(agent, { ...args, amount: 322 });
    const otherAgent = await held(other, args);
    const carolAgent = await h.agent({ user: 'carol', sub: 'repeat-carol', sid: 'sid-repeat-carol' });
    const otherUser = await held(carolAgent, { ...args, idempotency_key: 'carol-asks-too' });

    for (const id of [again, otherAgent, otherUser]) {
      const page = await (await get(`/console/approvals/${id}`, alice)).text();
      expect(
        page,
        id === again ? 'same agent' : id === otherAgent ? 'another agent' : 'another user',
      ).toContain('id="earlier-unknown"');
      expect(page).toContain(
        'An earlier identical call&#39;s outcome is unknown: check the upstream before approving.',
      );
      // It says who made the uncertain call: the agent and the user it acted for.
      expect(page).toMatch(/<tr data-outcome="unknown" data-agent="repeat-agent" data-user="bob">/);
      expect(page).toContain('by any caller in this tenant');
      // The warning comes before the decision forms.
      expect(page.indexOf('earlier-unknown')).toBeLessThan(page.indexOf('id="approve"'));
    }
    const quiet = await (await get(`/console/approvals/${otherArgs}`, alice)).text();
    expect(quiet).not.toContain('earlier-unknown');
    expect(quiet).toContain('id="earlier-none"');

    const list = await (await get('/console', alice)).text();
    const row = (id: string) => new RegExp(`<tr data-id="${id}">[\\s\\S]*?</tr>`).exec(list)![0];
    expect(row(again)).toContain('repeat uncertain');
    expect(row(again)).toContain('outcome unknown');
    expect(row(otherArgs)).not.toContain('class="repeat');
    const api = (await (await get('/console/api/pending', alice)).json()) as {
      approvals: { id: string; repeat: string; repeatUncertain: boolean }[];
    };
    const item = (id: string) => api.approvals.find((a) => a.id === id)!;
    expect(item(again)).toMatchObject({ repeatUncertain: true, repeat: expect.stringContaining('unknown') });
    for (const id of [otherAgent, otherUser])
      expect(item(id)).toMatchObject({ repeatUncertain: true, repeat: expect.stringContaining('unknown') });
    expect(item(otherArgs)).toMatchObject({ repeatUncertain: false, repeat: '' });
  });
});
