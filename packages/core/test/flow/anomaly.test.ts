// Anomaly baseline against a real PostgreSQL: generated audit trails (sessions following each role's
// usual patterns, interleaved, with refused, held, 'started' and session-less records mixed in) are
// learned by the one SQL statement, and the counts it stores equal a reference computed here in
// TypeScript from the same rows (a property over random trails). Then the model's scores: a rare
// transition scores higher than a common one, the agent's own baseline wins when it has enough data,
// the most permissive role's otherwise, and no baseline is no judgement (0). Two learners at once:
// one learns, the other is told it was locked out. A baseline that is reloaded picks up new learning.
import { randomUUID } from 'node:crypto';
import { createTestDatabase } from '@mcp-fleet/testkit';
import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { migrate } from '../../src/db/fleet-db.js';
import {
  ANOMALY_MIGRATIONS,
  AnomalyBaseline,
  AnomalyModel,
  explainAnomaly,
  learnBaseline,
  type TransitionRow,
} from '../../src/flow/anomaly.js';
import {
  FLOW_BASELINE_LOCK_KEY,
  LEARNED_OUTCOMES,
  listAnomalies,
  loadBaseline,
  ROLE_AGENT_CAP,
  ROLE_MIN_AGENTS,
} from '../../src/flow/anomaly-learner.js';
import { createLogger } from '../../src/observability/logger.js';
import { CORE_MIGRATIONS } from '../../src/server.js';

const logger = createLogger({ level: 'silent', name: 'anomaly' });
let db: Awaited<ReturnType<typeof createTestDatabase>>;
let pool: pg.Pool;
beforeAll(async () => {
  db = await createTestDatabase('fleet_anomaly');
  pool = new pg.Pool({ connectionString: db.url, max: 6 });
  await migrate(pool, [...CORE_MIGRATIONS, ...ANOMALY_MIGRATIONS], logger);
});
afterAll(async () => {
  await pool?.end();
  await db?.drop();
});
beforeEach(async () => {
  await pool.query('DELETE FROM audit_records');
  await pool.query('DELETE FROM flow_baseline');
  await pool.query('DELETE FROM flow_baseline_runs');
});

interface Rec {
  id: string;
  ts: string;
  server: string;
  tool: string | null;
  method: string;
  agent_id: string | null;
  agent_session: string | null;
  user_invoker: string | null;
  tenant: string | null;
  roles: string[];
  decision: 'allow' | 'deny';
  outcome: string;
}

async function insert(recs: readonly Rec[]): Promise<void> {
  for (let i = 0; i < recs.length; i += 500)
    await pool.query(
      `INSERT INTO audit_records (id, ts, server, request_id, method, tool, agent_id, agent_session, user_invoker,
                                  tenant, roles, decision, outcome)
       SELECT r.id, r.ts, r.server, 'req-' || r.id, r.method, r.tool, r.agent_id, r.agent_session, r.user_invoker,
              r.tenant, r.roles, r.decision, r.outcome
         FROM jsonb_to_recordset($1::jsonb) AS r(id uuid, ts timestamptz, server text, method text, tool text,
              agent_id text, agent_session text, user_invoker text, tenant text, roles text[], decision text, outcome text)`,
      [JSON.stringify(recs.slice(i, i + 500))],
    );
}

/** The reference: what the baseline must hold for these records (learnDays covering all of them). */
function reference(recs: readonly Rec[]): Map<string, number> {
  const learned = recs.filter(
    (r) =>
      r.method === 'tools/call' &&
      r.tool !== null &&
      r.agent_session !== null &&
      r.decision === 'allow' &&
      (LEARNED_OUTCOMES as readonly string[]).includes(r.outcome),
  );
  const sessions = new Map<string, Rec[]>();
  for (const r of learned) {
    const key = JSON.stringify([r.tenant, r.agent_id, r.user_invoker, r.agent_session]);
    sessions.set(key, [...(sessions.get(key) ?? []), r]);
  }
  const out = new Map<string, number>();
  // Every key starts with the tenant ('' for none): baselines never mix tenants.
  // role transition -> agent -> count: each agent counts at most ROLE_AGENT_CAP times, the
  // one that made it most is left out (so a transition needs 2 agents).
  const roles = new Map<string, Map<string, number>>();
  for (const calls of sessions.values()) {
    calls.sort((a, b) => Date.parse(a.ts) - Date.parse(b.ts) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    let prev = '^';
    for (const c of calls) {
      const state = `${c.server}/${c.tool}`;
      if (c.agent_id !== null) {
        const k = `${c.tenant ?? ''}\nagent:${c.agent_id}\n${prev}\n${state}`;
        out.set(k, (out.get(k) ?? 0) + 1);
      }
      for (const role of new Set(c.roles)) {
        const k = `${c.tenant ?? ''}\nrole:${role}\n${prev}\n${state}`;
        const agents = roles.get(k) ?? new Map<string, number>();
        const who = c.agent_id ?? '';
        agents.set(who, (agents.get(who) ?? 0) + 1);
        roles.set(k, agents);
      }
      prev = state;
    }
  }
  for (const [k, agents] of roles)
    if (agents.size >= ROLE_MIN_AGENTS) {
      const capped = [...agents.values()].map((n) => Math.min(n, ROLE_AGENT_CAP));
      out.set(k, capped.reduce((sum, n) => sum + n, 0) - Math.max(...capped));
    }
  return out;
}

function asMap(rows: readonly TransitionRow[]): Map<string, number> {
  return new Map(rows.map((r) => [`${r.tenant ?? ''}\n${r.scope}\n${r.from}\n${r.to}`, r.count]));
}

/** Each role's usual tools, in the order its sessions use them (with some jumps). */
const PATTERNS: Record<string, string[]> = {
  support: ['tickets/get_ticket', 'crm/find_contact', 'tickets/add_comment', 'email/send_email'],
  analyst: ['database/list_tables', 'database/describe_table', 'database/run_query', 'files/write_file'],
  admin: ['admin/list_agents', 'database/run_query', 'email/send_email'],
};
const ROLES = Object.keys(PATTERNS);
const OUTCOMES = [...LEARNED_OUTCOMES, 'denied', 'invalid', 'rate_limited', 'awaiting_approval', 'started'];

const trail = fc
  .array(
    fc.record({
      role: fc.constantFrom(...ROLES),
      extraRole: fc.option(fc.constantFrom(...ROLES), { nil: undefined }),
      agent: fc.constantFrom('agent-a', 'agent-b', 'agent-c'),
      tenant: fc.option(fc.constantFrom('t1', 't2'), { nil: null }),
      user: fc.option(fc.constantFrom('alice', 'bob'), { nil: null }),
      session: fc.option(fc.constantFrom('s1', 's2', 's3'), { nil: null, freq: 8 }),
      steps: fc.array(
        fc.record({
          jump: fc.nat(3),
          outcome: fc.constantFrom(...OUTCOMES),
          deny: fc.boolean(),
          dt: fc.integer({ min: 0, max: 5 }),
          method: fc.constantFrom('tools/call', 'tools/call', 'tools/call', 'tools/list'),
        }),
        { minLength: 1, maxLength: 8 },
      ),
    }),
    { minLength: 1, maxLength: 12 },
  )
  .map((sessions) => {
    const recs: Rec[] = [];
    const base = Date.now() - 3_600_000;
    sessions.forEach((s, si) => {
      const pattern = PATTERNS[s.role] ?? [];
      let pos = 0;
      let t = base + si * 7;
      for (const step of s.steps) {
        pos = (pos + step.jump) % pattern.length;
        const [server, tool] = (pattern[pos] ?? 'x/y').split('/');
        t += step.dt; // equal timestamps happen: the id orders them
        const ok = (LEARNED_OUTCOMES as readonly string[]).includes(step.outcome);
        recs.push({
          id: randomUUID(),
          ts: new Date(t).toISOString(),
          server: server ?? 'x',
          tool: step.method === 'tools/call' ? (tool ?? 'y') : null,
          method: step.method,
          agent_id: s.agent,
          agent_session: s.session,
          user_invoker: s.user,
          tenant: s.tenant,
          roles: s.extraRole ? [s.role, s.extraRole] : [s.role],
          decision: ok && !step.deny ? 'allow' : 'deny',
          outcome: step.outcome,
        });
      }
    });
    return recs;
  });

describe('learning the baseline', () => {
  it('stores exactly the transition counts computed from the same audit rows (random trails)', async () => {
    await fc.assert(
      fc.asyncProperty(trail, async (recs) => {
        await pool.query('DELETE FROM audit_records');
        await insert(recs);
        const r = await learnBaseline(pool, { learnDays: 14, learnedBy: 'test' });
        expect(r.learned).toBe(true);
        const { rows } = await loadBaseline(pool);
        expect(asMap(rows)).toEqual(reference(recs));
        expect(r.rows).toBe(rows.length);
        // The model built from them holds the same counts.
        const model = AnomalyModel.fromTransitions(rows);
        expect(asMap(model.rows())).toEqual(reference(recs));
      }),
      { numRuns: 25 },
    );
  });

  describe('one agent cannot teach its role', () => {
    // Honest agents of role `support` do their usual work; an attacker (`mole`) adds calls of its own.
    const t0 = Date.now() - 3_600_000;
    let n = 0;
    const session = (agent: string, sid: string, tools: string[], tenant: string | null = null): Rec[] =>
      tools.map((tool) => ({
        id: randomUUID(),
        ts: new Date(t0 + n++).toISOString(),
        server: 'srv',
        tool,
        method: 'tools/call',
        agent_id: agent,
        agent_session: sid,
        user_invoker: null,
        tenant,
        roles: ['support'],
        decision: 'allow',
        outcome: 'ok',
      }));
    const sessions = (agent: string, times: number, tools: string[], tenant: string | null = null): Rec[] =>
      Array.from({ length: times }, (_, i) =>
        session(agent, `${agent}-${tenant}-${n}-${i}`, tools, tenant),
      ).flat();
    const usual = ['get_ticket', 'add_comment', 'run_query', 'get_ticket'];
    const learned = async (recs: Rec[]) => {
      await pool.query('DELETE FROM audit_records');
      await insert(recs);
      await learnBaseline(pool, { learnDays: 14, learnedBy: 'test' });
      return AnomalyModel.fromTransitions((await loadBaseline(pool)).rows);
    };
    const send = { roles: ['support'], agentId: 'new-agent', from: 'srv/run_query', to: 'srv/send_email' };

    it('its own habit stays its own, however often, even after another agent did it once', async () => {
      const honest = ['honest-1', 'honest-2', 'honest-3'].flatMap((a) => sessions(a, 40, usual));
      const once = sessions('honest-1', 1, ['run_query', 'send_email']);
      const poison = sessions('mole', 1000, ['run_query', 'send_email']);
      const poisoned = await learned([...honest, ...sessions('mole', 40, usual), ...once, ...poison]);
      // The mole's own baseline learned it; the role counts what another agent did: once. The same as
      // had a second honest agent done it once too (the mole counts no more than such an agent).
      expect(poisoned.count('agent:mole', 'srv/run_query', 'srv/send_email')).toBe(1000);
      expect(poisoned.count('role:support', 'srv/run_query', 'srv/send_email')).toBe(1);
      const twice = await learned([
        ...honest,
        ...sessions('mole', 40, usual),
        ...once,
        ...sessions('honest-2', 1, ['run_query', 'send_email']),
      ]);
      expect(poisoned.score(send, 30).score).toBeCloseTo(twice.score(send, 30).score, 9);
      // Without that one call by another agent, the role never saw it: above the example's holdAbove.
      const alone = await learned([...honest, ...sessions('mole', 40, usual), ...poison]);
      expect(alone.count('role:support', 'srv/run_query', 'srv/send_email')).toBe(0);
      expect(alone.score(send, 30)).toMatchObject({ baseline: 'role:support', count: 0 });
      expect(alone.score(send, 30).score).toBeGreaterThan(7);
    });

    it("a flood of common transitions cannot bury the role's rare ones (it adds at most what others did)", async () => {
      const common = Array.from({ length: 8 }, (_, i) => `tool_${i}`);
      // Four honest agents: 3 of each common transition; three of them once run_query → send_email.
      const honest = ['honest-1', 'honest-2', 'honest-3', 'honest-4'].flatMap((a) =>
        common.flatMap((t) => sessions(a, 3, ['run_query', t])),
      );
      honest.push(
        ...['honest-1', 'honest-2', 'honest-3'].flatMap((a) => sessions(a, 1, ['run_query', 'send_email'])),
      );
      const flood = common.flatMap((t) => sessions('mole', 60, ['run_query', t]));
      const clean = await learned(honest);
      const flooded = await learned([...honest, ...flood]);
      expect(clean.score(send, 30)).toMatchObject({ baseline: 'role:support', count: 2 });
      // Each flooded transition counts what the honest agents did (the mole, the top, left out): the
      // total grows by one honest agent's share, not by the mole's 8 × 60.
      const before = clean.total('role:support', 'srv/run_query');
      expect(flooded.total('role:support', 'srv/run_query')).toBe(before + common.length * 3);
      expect(flooded.score(send, 30).score - clean.score(send, 30).score).toBeLessThan(1);
      expect(flooded.score(send, 30).score).toBeLessThan(7);
    });

    it("one agent's own tools do not widen the vocabulary every unseen transition is scored with", async () => {
      const honest = ['honest-1', 'honest-2', 'honest-3'].flatMap((a) => sessions(a, 40, usual));
      const odd = Array.from({ length: 40 }, (_, i) => `odd_tool_${i}`);
      const clean = await learned(honest);
      const widened = await learned([...honest, ...sessions('mole', 1, odd)]);
      expect(widened.vocabularyOf()).toBe(clean.vocabularyOf());
      expect(widened.score(send, 30).score).toBeCloseTo(clean.score(send, 30).score, 9);
    });

    it("another tenant's agent, even one with the same id, moves nothing in this tenant's baselines", async () => {
      // t1: three honest agents; `support-bot` is one of them, with its own baseline.
      const t1 = ['support-bot', 'honest-2', 'honest-3'].flatMap((a) => sessions(a, 100, usual, 't1'));
      // t2's `support-bot` floods the sequence t1's must never find normal, and another its victim's.
      const t2 = [
        ...sessions('support-bot', 2000, ['run_query', 'send_email'], 't2'),
        ...sessions('other-bot', 2000, ['run_query', 'send_email'], 't2'),
      ];
      const clean = await learned(t1);
      const attacked = await learned([...t1, ...t2]);
      const bot = { ...send, tenant: 't1', agentId: 'support-bot' };
      const fresh = { ...send, tenant: 't1' };
      expect(attacked.score(bot, 30)).toEqual(clean.score(bot, 30));
      expect(attacked.score(bot, 30)).toMatchObject({ baseline: 'agent:support-bot', count: 0 });
      expect(attacked.score(bot, 30).score).toBeGreaterThan(7);
      expect(attacked.score(fresh, 30)).toEqual(clean.score(fresh, 30));
      expect(attacked.vocabularyOf('t1')).toBe(clean.vocabularyOf('t1'));
      // In t2 itself two agents did it: its role learned it (each capped, the top one left out).
      expect(attacked.count('role:support', 'srv/run_query', 'srv/send_email', 't2')).toBe(ROLE_AGENT_CAP);
      // One agent id with a t1 token and a token without a tenant is one agent in each: no role learns.
      const split = await learned([
        ...t1,
        ...sessions('mallory', 50, ['run_query', 'send_email'], 't1'),
        ...sessions('mallory', 50, ['run_query', 'send_email'], null),
      ]);
      expect(split.count('role:support', 'srv/run_query', 'srv/send_email', 't1')).toBe(0);
      expect(split.count('role:support', 'srv/run_query', 'srv/send_email')).toBe(0);
    });

    it('property: no role count exceeds what the agents other than any one of them did (capped)', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(
            fc.record({
              agent: fc.constantFrom('a', 'b', 'c', 'mole'),
              tenant: fc.constantFrom('t1', 't2'),
              times: fc.integer({ min: 1, max: 80 }),
              tools: fc.array(fc.constantFrom('get_ticket', 'run_query', 'send_email', 'add_comment'), {
                minLength: 1,
                maxLength: 4,
              }),
            }),
            { minLength: 1, maxLength: 10 },
          ),
          async (plan) => {
            const recs = plan.flatMap((p) => sessions(p.agent, p.times, p.tools, p.tenant));
            const model = await learned(recs);
            // Per agent, per transition: what it did (capped), from the same records.
            const per = new Map<string, Map<string, number>>();
            for (const p of plan)
              p.tools.forEach((tool, i) => {
                const k = `${p.tenant}\n${i === 0 ? '^' : `srv/${p.tools[i - 1]}`}\n${`srv/${tool}`}`;
                const m = per.get(k) ?? new Map<string, number>();
                const who = p.agent;
                m.set(who, (m.get(who) ?? 0) + p.times);
                per.set(k, m);
              });
            for (const [k, agents] of per) {
              const [tenant, from, to] = k.split('\n') as [string, string, string];
              const count = model.count('role:support', from, to, tenant);
              for (const who of agents.keys()) {
                let others = 0;
                for (const [w, c] of agents) if (w !== who) others += Math.min(c, ROLE_AGENT_CAP);
                expect(count, `${k} without ${who}`).toBeLessThanOrEqual(others);
              }
            }
          },
        ),
        { numRuns: 15 },
      );
    });
  });

  it('learns only the window of learnDays, and replaces the previous rows', async () => {
    const recent = { ts: new Date(Date.now() - 86_400_000).toISOString() };
    const old = { ts: new Date(Date.now() - 20 * 86_400_000).toISOString() };
    const rec = (ts: string, tool: string, session: string, agent = 'a'): Rec => ({
      id: randomUUID(),
      ts,
      server: 'db',
      tool,
      method: 'tools/call',
      agent_id: agent,
      agent_session: session,
      user_invoker: null,
      tenant: null,
      roles: ['r'],
      decision: 'allow',
      outcome: 'ok',
    });
    await insert(
      ['a', 'b', 'c'].flatMap((ag) => [
        rec(recent.ts, 'new_tool', `x${ag}`, ag),
        rec(old.ts, 'old_tool', `y${ag}`, ag),
      ]),
    );
    await learnBaseline(pool, { learnDays: 14, learnedBy: 'test' });
    expect(asMap((await loadBaseline(pool)).rows)).toEqual(
      new Map([
        ['\nagent:a\n^\ndb/new_tool', 1],
        ['\nagent:b\n^\ndb/new_tool', 1],
        ['\nagent:c\n^\ndb/new_tool', 1],
        ['\nrole:r\n^\ndb/new_tool', 2],
      ]),
    );
    await learnBaseline(pool, { learnDays: 30, learnedBy: 'test' });
    expect((await loadBaseline(pool)).rows).toHaveLength(8);
    await pool.query('DELETE FROM audit_records');
    await learnBaseline(pool, { learnDays: 30, learnedBy: 'test' });
    expect((await loadBaseline(pool)).rows).toHaveLength(0);
  });

  it('one learner at a time: a learner finding the lock taken does nothing and says so', async () => {
    await insert(
      ['a', 'b', 'c'].map((tool, i) => ({
        id: randomUUID(),
        ts: new Date(Date.now() - 1000 + i).toISOString(),
        server: 's',
        tool,
        method: 'tools/call',
        agent_id: 'ag',
        agent_session: 'one',
        user_invoker: null,
        tenant: null,
        roles: ['r'],
        decision: 'allow' as const,
        outcome: 'ok',
      })),
    );
    // Another process holds the lock (mid-learning): this learner skips without waiting.
    const holder = await pool.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT pg_advisory_xact_lock($1::bigint)', [FLOW_BASELINE_LOCK_KEY]);
      const r = await learnBaseline(pool, { learnDays: 14, learnedBy: 'second' });
      expect(r).toMatchObject({ learned: false, skipped: 'locked' });
      expect((await loadBaseline(pool)).rows).toHaveLength(0);
    } finally {
      await holder.query('ROLLBACK');
      holder.release();
    }
    // Two learners started together: each either learned or was locked out, at least one learned, and
    // the table holds one learning's rows (not two summed).
    const results = await Promise.all([
      learnBaseline(pool, { learnDays: 14, learnedBy: 'one' }),
      learnBaseline(pool, { learnDays: 14, learnedBy: 'two' }),
    ]);
    expect(results.some((r) => r.learned)).toBe(true);
    for (const r of results) if (!r.learned) expect(r.skipped).toBe('locked');
    expect(asMap((await loadBaseline(pool)).rows).get('\nagent:ag\ns/a\ns/b')).toBe(1);
    // The periodic learner of another process skips a learning younger than its interval.
    const again = await learnBaseline(pool, { learnDays: 14, learnedBy: 'three', unlessWithinMs: 60_000 });
    expect(again).toMatchObject({ learned: false, skipped: 'recent' });
  });

  it('a baseline reloads what was learned since, and learn() relearns now', async () => {
    const baseline = new AnomalyBaseline({ pool, logger, server: 'test', reloadMs: 60_000, learnEveryMs: 0 });
    await baseline.start();
    try {
      expect(baseline.model.size).toBe(0);
      const rec = (tool: string, i: number): Rec => ({
        id: randomUUID(),
        ts: new Date(Date.now() - 1000 + i).toISOString(),
        server: 'db',
        tool,
        method: 'tools/call',
        agent_id: 'ag',
        agent_session: 'sess',
        user_invoker: null,
        tenant: null,
        roles: ['r'],
        decision: 'allow',
        outcome: 'ok',
      });
      await insert([rec('a', 0), rec('b', 1)]);
      await learnBaseline(pool, { learnDays: 14, learnedBy: 'elsewhere' });
      expect(baseline.model.size).toBe(0); // not reloaded yet
      await baseline.reload();
      expect(baseline.model.count('agent:ag', 'db/a', 'db/b')).toBe(1);
      expect(baseline.model.learnedAt).toBeInstanceOf(Date);
      await insert([rec('c', 2)]);
      const r = await baseline.learn();
      expect(r.learned).toBe(true);
      expect(baseline.model.count('agent:ag', 'db/b', 'db/c')).toBe(1);
    } finally {
      baseline.close();
    }
  });

  it('without a database the baseline is empty and scores nothing', async () => {
    const baseline = new AnomalyBaseline({ pool: undefined, logger, server: 'test' });
    await baseline.start();
    expect(baseline.model.score({ roles: ['r'], agentId: 'a', from: '^', to: 'x/y' }, 1).baseline).toBe(
      'none',
    );
    baseline.close();
  });
});

describe('scoring', () => {
  const rows: TransitionRow[] = [
    { scope: 'role:support', from: 'tickets/get_ticket', to: 'crm/find_contact', count: 90 },
    { scope: 'role:support', from: 'tickets/get_ticket', to: 'email/send_email', count: 10 },
    { scope: 'role:analyst', from: 'tickets/get_ticket', to: 'database/run_query', count: 40 },
    { scope: 'role:analyst', from: 'tickets/get_ticket', to: 'email/send_email', count: 40 },
    { scope: 'agent:bot', from: 'tickets/get_ticket', to: 'database/run_query', count: 50 },
    { scope: 'agent:newbie', from: 'tickets/get_ticket', to: 'database/run_query', count: 3 },
  ];
  const model = AnomalyModel.fromTransitions(rows);

  it('a rare transition scores higher than a common one, a never-seen one highest', () => {
    const s = (to: string) =>
      model.score({ roles: ['support'], agentId: 'x', from: 'tickets/get_ticket', to }, 30);
    const common = s('crm/find_contact');
    const rare = s('email/send_email');
    const unseen = s('database/run_query');
    expect(rare.score).toBeGreaterThan(common.score);
    expect(unseen.score).toBeGreaterThan(rare.score);
    expect(common).toMatchObject({ count: 90, total: 100, baseline: 'role:support' });
    // p is the smoothed frequency: (count + α) / (total + α·V), V = 4 states seen + 1.
    expect(common.p).toBeCloseTo((90 + 0.5) / (100 + 0.5 * 4), 12);
    expect(common.score).toBeCloseTo(-Math.log2(common.p), 12);
    expect(unseen.count).toBe(0);
    expect(explainAnomaly(unseen)).toContain('0 of 100 transitions from tickets/get_ticket');
  });

  it("the agent's own baseline is used when it has enough transitions from the call", () => {
    const bot = model.score(
      { roles: ['support'], agentId: 'bot', from: 'tickets/get_ticket', to: 'database/run_query' },
      30,
    );
    expect(bot.baseline).toBe('agent:bot');
    expect(bot.count).toBe(50);
    // Too few for the agent's own (3 < 30): its role's.
    const newbie = model.score(
      { roles: ['support'], agentId: 'newbie', from: 'tickets/get_ticket', to: 'database/run_query' },
      30,
    );
    expect(newbie.baseline).toBe('role:support');
    expect(newbie.score).toBeGreaterThan(bot.score);
    // With minBaseline 3 the agent's own counts.
    expect(
      model.score(
        { roles: ['support'], agentId: 'newbie', from: 'tickets/get_ticket', to: 'database/run_query' },
        3,
      ).baseline,
    ).toBe('agent:newbie');
  });

  it('of several roles, the one giving the highest probability (most permissive) is used', () => {
    const both = model.score(
      { roles: ['support', 'analyst'], agentId: 'x', from: 'tickets/get_ticket', to: 'database/run_query' },
      30,
    );
    expect(both.baseline).toBe('role:analyst');
    const again = model.score(
      { roles: ['analyst', 'support'], agentId: 'x', from: 'tickets/get_ticket', to: 'crm/find_contact' },
      30,
    );
    expect(again.baseline).toBe('role:support');
    // Once a call is judged, having one more role never makes it look more unusual.
    fc.assert(
      fc.property(
        fc.subarray(['support', 'analyst', 'admin']),
        fc.constantFrom('crm/find_contact', 'email/send_email', 'database/run_query', 'files/x'),
        fc.constantFrom('support', 'analyst', 'admin'),
        (roles, to, extra) => {
          const a = model.score({ roles, agentId: 'x', from: 'tickets/get_ticket', to }, 30);
          const b = model.score(
            { roles: [...roles, extra], agentId: 'x', from: 'tickets/get_ticket', to },
            30,
          );
          if (a.baseline !== 'none') expect(b.score).toBeLessThanOrEqual(a.score);
        },
      ),
    );
  });

  it('no baseline with enough data: score 0, baseline none (no judgement)', () => {
    for (const i of [
      { roles: ['admin'], agentId: 'x', from: 'tickets/get_ticket', to: 'email/send_email' },
      { roles: ['support'], agentId: 'x', from: 'files/read_file', to: 'email/send_email' },
      { roles: [], agentId: 'newbie', from: 'tickets/get_ticket', to: 'database/run_query' },
    ])
      expect(model.score(i, 30)).toEqual({
        score: 0,
        p: 1,
        from: i.from,
        to: i.to,
        count: 0,
        total: 0,
        baseline: 'none',
      });
    expect(AnomalyModel.empty().score({ roles: ['r'], agentId: 'a', from: '^', to: 'a/b' }, 1).score).toBe(0);
  });
});

describe('the most unusual calls (listAnomalies)', () => {
  async function scored(o: {
    tenant: string | null;
    session: string;
    tool: string;
    at: number;
    score?: number;
  }) {
    const id = randomUUID();
    await pool.query(
      `INSERT INTO audit_records (id, ts, server, request_id, method, tool, agent_id, agent_session, tenant, roles,
                                  decision, outcome, details)
       VALUES ($1, now() - make_interval(secs => $2), 's', 'r', 'tools/call', $3, 'ag', $4, $5, '{r}', 'allow', 'ok', $6)`,
      [
        id,
        100 - o.at,
        o.tool,
        o.session,
        o.tenant,
        o.score === undefined
          ? null
          : {
              anomaly: {
                score: o.score,
                p: 2 ** -o.score,
                from: '^',
                to: `s/${o.tool}`,
                count: 0,
                total: 50,
                baseline: 'role:r',
              },
            },
      ],
    );
    return id;
  }

  it("lists only the reader's tenant, highest first, each with its own session's earlier calls", async () => {
    await scored({ tenant: 'a', session: 'x', tool: 'one', at: 1 });
    await scored({ tenant: 'b', session: 'x', tool: 'other-tenant', at: 2 });
    await scored({ tenant: 'a', session: 'y', tool: 'other-session', at: 3 });
    const a2 = await scored({ tenant: 'a', session: 'x', tool: 'two', at: 4, score: 5 });
    const a3 = await scored({ tenant: 'a', session: 'x', tool: 'three', at: 5, score: 9 });
    const b1 = await scored({ tenant: 'b', session: 'x', tool: 'b-call', at: 6, score: 20 });
    const onlyA = await listAnomalies(pool, { hours: 1, limit: 10, tenant: 'a' });
    expect(onlyA.map((c) => c.id)).toEqual([a3, a2]);
    expect(onlyA[0]!.before.map((s) => s.call)).toEqual(['s/one', 's/two']);
    expect(onlyA[1]!.before.map((s) => s.call)).toEqual(['s/one']);
    expect((await listAnomalies(pool, { hours: 1, limit: 10, tenant: null })).length).toBe(0);
    expect((await listAnomalies(pool, { hours: 1, limit: 10 })).map((c) => c.id)).toEqual([b1, a3, a2]);
    expect((await listAnomalies(pool, { hours: 1, limit: 1 })).map((c) => c.id)).toEqual([b1]);
  });
});
