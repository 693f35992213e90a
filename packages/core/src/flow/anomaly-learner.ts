// Learning the anomaly baseline (issue 17) from the audit trail, in the fleet database: one SQL
// statement counts the transitions between consecutive calls of each agent session, per role and per
// agent, and replaces the rows of `flow_baseline` in one transaction, under an advisory lock so one
// process of the fleet learns at a time (the others skip, and load what it learned).
//
// What is learned from: tools/call records of the last `learnDays` days that ran — decision 'allow'
// and an outcome of a call that reached its tool or its cache (ok, error, timeout, cancelled, unknown,
// cached, replayed). Refused, invalid, rate-limited and held calls (and approvals denied) are not
// learned: they never happened, and a caller repeating refused calls must not teach the model that
// they are normal. A mutation's 'started' record is not a call of its own (its final record is). A
// call held and then approved runs and is learned: a person let it happen.
//
// Every baseline is one tenant's (a call is scored against its own tenant's only: '' for calls without a
// tenant), so nothing an agent of one tenant does moves another tenant's scores, and an agent id that
// appears in two tenants is two agents.
//
// A session is (tenant, agent_id, user_invoker, agent_session); records without an agent session are
// not learned (there is no sequence to learn). The first call of a session in the window follows '^'
// (a session that began before the window starts there too: a few more '^' transitions, no wrong one).
//
// A role's baseline is what the role's agents do, not what one of them does. For each transition, each
// agent counts at most ROLE_AGENT_CAP times, and the agent that made it most is left out: the role's
// count is what the others did (so a transition needs 2 agents). For any one agent, the role's count
// of a transition is at most what the other agents did. So one agent — a compromised one repeating
// "read the customers table, then email it out" for weeks — cannot make that sequence normal for the
// other agents of its role: its own calls count only as much as other agents' calls of it (with one
// other agent that does it for its own reasons, the role then counts what that agent did). Adding
// calls never lowers a count, so one agent lowers a score only of a transition it makes itself; every
// other score it can only raise (a flood of common transitions raises the role's totals: more holds, a
// cost for approvers, never a hold lost).
// It teaches only its own baseline, which scores nobody else's calls.
import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { Migration } from '../db/fleet-db.js';

/** One learned transition count (a row of `flow_baseline`). */
export interface TransitionRow {
  /**
   * The tenant whose trail it was learned from ('' for calls without a tenant; the default). Baselines
   * never mix tenants: a call is scored only against its own tenant's.
   */
  tenant?: string;
  /** `role:<name>` or `agent:<id>`. */
  scope: string;
  /** `server/tool`, or `^` (the session's first call). */
  from: string;
  /** `server/tool`. */
  to: string;
  count: number;
}

/** The table of learned transition counts and the record of the last learning (core migrations). */
export const ANOMALY_MIGRATIONS: Migration[] = [
  {
    id: '0033_flow_baseline',
    core: true,
    sql: `
      CREATE TABLE IF NOT EXISTS flow_baseline (
        tenant text NOT NULL DEFAULT '',
        scope text NOT NULL,
        from_key text NOT NULL,
        to_key text NOT NULL,
        count bigint NOT NULL,
        learned_at timestamptz NOT NULL,
        PRIMARY KEY (tenant, scope, from_key, to_key)
      );
      CREATE TABLE IF NOT EXISTS flow_baseline_runs (
        id int PRIMARY KEY CHECK (id = 1),
        learned_at timestamptz NOT NULL,
        learned_by text NOT NULL,
        learn_days int NOT NULL,
        transitions bigint NOT NULL,
        rows bigint NOT NULL
      );
    `,
  },
];

/** Outcomes of calls that ran (reached their tool or its cache): the ones the baseline learns. */
export const LEARNED_OUTCOMES = [
  'ok',
  'error',
  'timeout',
  'cancelled',
  'unknown',
  'cached',
  'replayed',
] as const;

/**
 * How many of the agents that made a transition most are left out of a role's count of it. Leaving out
 * two would also stop one agent from lifting the habit of a single other agent into its role, but it
 * halves a small role's data: in `pnpm flow-eval` (4 agents per role) it lost every mass-disable
 * detection (24/24 -> 0/24), as unseen transitions fell from about 7.6 to 6.6 bits.
 */
export const ROLE_TOP_LEFT_OUT = 1;
/**
 * A transition counts in a role's baseline only when at least this many distinct agents made it (the
 * ROLE_TOP_LEFT_OUT that made it most are left out of the count, so this follows: checked, not set).
 */
export const ROLE_MIN_AGENTS = ROLE_TOP_LEFT_OUT + 1;
/** A role's baseline counts at most this many of one agent's calls of one transition. */
export const ROLE_AGENT_CAP = 50;

/** One agent's count of one transition under one of its roles (what a role's baseline is made of). */
export interface RoleAgentCount {
  /** The tenant ('' or absent: calls without one). */
  tenant?: string;
  role: string;
  /** The agent id. */
  agent: string;
  from: string;
  to: string;
  count: number;
}

/**
 * The `role:<name>` rows these per-agent counts make, by the rule the learning statement applies in
 * SQL (each agent capped at ROLE_AGENT_CAP, the ROLE_TOP_LEFT_OUT largest left out): for models
 * built outside the fleet database, such as `pnpm flow-eval`'s.
 */
export function roleBaselineRows(counts: Iterable<RoleAgentCount>): TransitionRow[] {
  const byKey = new Map<string, { row: TransitionRow; agents: Map<string, number> }>();
  for (const c of counts) {
    const tenant = c.tenant ?? '';
    const k = JSON.stringify([tenant, c.role, c.from, c.to]);
    let e = byKey.get(k);
    if (!e) {
      e = { row: { tenant, scope: `role:${c.role}`, from: c.from, to: c.to, count: 0 }, agents: new Map() };
      byKey.set(k, e);
    }
    e.agents.set(c.agent, (e.agents.get(c.agent) ?? 0) + c.count);
  }
  const out: TransitionRow[] = [];
  for (const { row, agents } of byKey.values()) {
    if (agents.size < ROLE_MIN_AGENTS) continue;
    const capped = [...agents.values()].map((n) => Math.min(n, ROLE_AGENT_CAP)).sort((a, b) => b - a);
    const count = capped.slice(ROLE_TOP_LEFT_OUT).reduce((sum, n) => sum + n, 0);
    out.push({ ...row, count });
  }
  return out;
}

/** The advisory lock of learning (a signed 64-bit key as a decimal string): one learner at a time. */
export const FLOW_BASELINE_LOCK_KEY: string = BigInt.asIntN(
  64,
  createHash('sha256').update('mcp-fleet flow baseline').digest().readBigUInt64BE(0),
).toString();

/** Default learning interval (every process tries; the lock and the last run's time make it one). */
export const DEFAULT_LEARN_EVERY_MS = 15 * 60_000;
/** Default of FLOW_BASELINE_RELOAD_MS. */
export const DEFAULT_BASELINE_RELOAD_MS = 60_000;

/**
 * FLOW_BASELINE_RELOAD_MS of an environment: a whole number of milliseconds from 1000 to 3600000
 * (default 60000). Anything else throws, naming the variable.
 */
export function flowBaselineReloadMs(env: Readonly<Record<string, string | undefined>>): number {
  const raw = env.FLOW_BASELINE_RELOAD_MS?.trim();
  if (raw === undefined || raw === '') return DEFAULT_BASELINE_RELOAD_MS;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1_000 || n > 3_600_000)
    throw new Error('FLOW_BASELINE_RELOAD_MS must be a whole number of milliseconds from 1000 to 3600000');
  return n;
}

/**
 * The one statement that learns: transitions between consecutive calls that ran (LAG over the
 * session), counted per agent and per role of the record, written with the learning's time.
 * $1: days of trail; $2: the learning's time.
 */
const LEARN_SQL = `
  WITH calls AS (
    SELECT coalesce(a.tenant, '') AS tenant, a.agent_id, a.roles, a.server || '/' || a.tool AS state,
           coalesce(lag(a.server || '/' || a.tool) OVER (
             PARTITION BY a.tenant, a.agent_id, a.user_invoker, a.agent_session
             ORDER BY a.ts, a.id), '^') AS prev
      FROM audit_records a
     WHERE a.method = 'tools/call' AND a.tool IS NOT NULL AND a.agent_session IS NOT NULL
       AND a.decision = 'allow' AND a.outcome = ANY($3::text[])
       AND a.ts >= $2::timestamptz - make_interval(days => $1::int) AND a.ts <= $2::timestamptz
  ), per_role_agent AS (
    SELECT c.tenant, r.role, c.prev, c.state, least(count(*), $5::bigint) AS n
      FROM calls c CROSS JOIN LATERAL (SELECT DISTINCT unnest(c.roles) AS role) r
     GROUP BY c.tenant, r.role, c.agent_id, c.prev, c.state
  ), ranked AS (
    SELECT p.*, row_number() OVER (PARTITION BY p.tenant, p.role, p.prev, p.state ORDER BY p.n DESC) AS rank
      FROM per_role_agent p
  ), scoped AS (
    SELECT c.tenant, 'agent:' || c.agent_id AS scope, c.prev, c.state, count(*) AS n
      FROM calls c WHERE c.agent_id IS NOT NULL GROUP BY c.tenant, c.agent_id, c.prev, c.state
    UNION ALL
    SELECT r.tenant, 'role:' || r.role, r.prev, r.state, sum(r.n) FILTER (WHERE r.rank > $6::int)
      FROM ranked r GROUP BY r.tenant, r.role, r.prev, r.state
    HAVING count(*) >= $4::int
  )
  INSERT INTO flow_baseline (tenant, scope, from_key, to_key, count, learned_at)
  SELECT tenant, scope, prev, state, n, $2::timestamptz FROM scoped`;

/** What one learning did. */
export interface LearnResult {
  /** false: another process was learning (nothing done), or the last learning is recent enough. */
  learned: boolean;
  /** Why nothing was learned. */
  skipped?: 'locked' | 'recent';
  /** Rows (scope, from, to) written. */
  rows: number;
  /** Transitions counted (agent scope; each is also counted once per role). */
  transitions: number;
  learnedAt?: Date;
}

/**
 * Learns the baseline now: takes the advisory lock without waiting (another learner: `locked`), skips
 * when the last learning is younger than `unlessWithinMs` (the periodic learner of every process;
 * `fleet flow learn` passes 0), replaces the rows of flow_baseline in one transaction.
 */
export async function learnBaseline(
  pool: pg.Pool,
  o: { learnDays: number; learnedBy: string; unlessWithinMs?: number },
): Promise<LearnResult> {
  if (!Number.isInteger(o.learnDays) || o.learnDays < 1 || o.learnDays > 365)
    throw new Error('learnDays must be a whole number of days from 1 to 365');
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query('BEGIN');
    const lock = await client.query<{ locked: boolean }>(
      'SELECT pg_try_advisory_xact_lock($1::bigint) AS locked',
      [FLOW_BASELINE_LOCK_KEY],
    );
    if (!lock.rows[0]?.locked) {
      await client.query('ROLLBACK');
      return { learned: false, skipped: 'locked', rows: 0, transitions: 0 };
    }
    const now = await client.query<{ now: Date; recent: boolean }>(
      `SELECT clock_timestamp() AS now,
              EXISTS (SELECT 1 FROM flow_baseline_runs
                       WHERE learned_at > clock_timestamp() - make_interval(secs => $1::double precision / 1000)) AS recent`,
      [o.unlessWithinMs ?? 0],
    );
    const learnedAt = now.rows[0]?.now ?? new Date();
    if ((o.unlessWithinMs ?? 0) > 0 && now.rows[0]?.recent) {
      await client.query('ROLLBACK');
      return { learned: false, skipped: 'recent', rows: 0, transitions: 0 };
    }
    await client.query('DELETE FROM flow_baseline');
    const inserted = await client.query(LEARN_SQL, [
      o.learnDays,
      learnedAt,
      LEARNED_OUTCOMES,
      ROLE_MIN_AGENTS,
      ROLE_AGENT_CAP,
      ROLE_TOP_LEFT_OUT,
    ]);
    const t = await client.query<{ n: string }>(
      `SELECT coalesce(sum(count), 0)::text AS n FROM flow_baseline WHERE scope LIKE 'agent:%'`,
    );
    const rows = inserted.rowCount ?? 0;
    const transitions = Number(t.rows[0]?.n ?? 0);
    await client.query(
      `INSERT INTO flow_baseline_runs (id, learned_at, learned_by, learn_days, transitions, rows)
       VALUES (1, $1, $2, $3, $4, $5)
       ON CONFLICT (id) DO UPDATE SET learned_at = $1, learned_by = $2, learn_days = $3, transitions = $4, rows = $5`,
      [learnedAt, o.learnedBy, o.learnDays, transitions, rows],
    );
    await client.query('COMMIT');
    return { learned: true, rows, transitions, learnedAt };
  } catch (err) {
    broken = true;
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release(broken);
  }
}

/** The learned rows and when they were learned (empty before the first learning). */
export async function loadBaseline(
  pool: pg.Pool,
): Promise<{ rows: TransitionRow[]; learnedAt: Date | undefined }> {
  const r = await pool.query<{
    tenant: string;
    scope: string;
    from_key: string;
    to_key: string;
    count: string;
  }>('SELECT tenant, scope, from_key, to_key, count::text AS count FROM flow_baseline');
  const run = await pool.query<{ learned_at: Date }>(
    'SELECT learned_at FROM flow_baseline_runs WHERE id = 1',
  );
  return {
    rows: r.rows.map((row) => ({
      tenant: row.tenant,
      scope: row.scope,
      from: row.from_key,
      to: row.to_key,
      count: Number(row.count),
    })),
    learnedAt: run.rows[0]?.learned_at,
  };
}

/** One earlier call of an unusual call's session. */
export interface SessionStep {
  id: string;
  ts: string;
  /** `server/tool`. */
  call: string;
  outcome: string;
}

/** One scored call of the audit trail, with its session's calls before it. */
export interface UnusualCall {
  id: string;
  ts: string;
  server: string;
  tool: string;
  agentId: string | null;
  agentSession: string | null;
  userInvoker: string | null;
  tenant: string | null;
  roles: string[];
  decision: string;
  outcome: string;
  /** details.anomaly as the flow step recorded it (score, p, from, to, count, total, baseline). */
  anomaly: {
    score: number;
    p: number;
    from: string;
    to: string;
    count: number;
    total: number;
    baseline: string;
  };
  /** Held for approval (outcome awaiting_approval). */
  held: boolean;
  /** Held because of its score (a finding of kind anomaly in details.flow.holds). */
  heldForScore: boolean;
  /** The session's calls before it, oldest first (at most {@link SEQUENCE_LENGTH}). */
  before: SessionStep[];
}

/** How many of a session's earlier calls are listed with an unusual call. */
export const SEQUENCE_LENGTH = 5;
/** Bounds of {@link listAnomalies}. */
export const MAX_ANOMALY_HOURS = 24 * 90;
export const MAX_ANOMALY_LIMIT = 200;

/**
 * The most unusual calls of the last `hours` (highest score first, then newest), from the score each
 * record carries (details.anomaly), each with the session's calls before it. `tenant`: only that
 * tenant's records (null: records without a tenant); undefined: every tenant's.
 */
export async function listAnomalies(
  db: Pick<pg.Pool, 'query'>,
  o: { hours?: number; limit?: number; tenant?: string | null | undefined },
): Promise<UnusualCall[]> {
  const hours = Math.min(Math.max(Number(o.hours ?? 24) || 24, 1 / 60), MAX_ANOMALY_HOURS);
  const limit = Math.min(Math.max(Math.floor(Number(o.limit ?? 20) || 20), 1), MAX_ANOMALY_LIMIT);
  const { rows } = await db.query<{
    id: string;
    ts: Date;
    server: string;
    tool: string;
    agent_id: string | null;
    agent_session: string | null;
    user_invoker: string | null;
    tenant: string | null;
    roles: string[];
    decision: string;
    outcome: string;
    anomaly: UnusualCall['anomaly'];
    held_for_score: boolean;
    before: { id: string; ts: string; call: string; outcome: string }[];
  }>(
    `SELECT a.id::text AS id, a.ts, a.server, a.tool, a.agent_id, a.agent_session, a.user_invoker, a.tenant,
            a.roles, a.decision, a.outcome, a.details -> 'anomaly' AS anomaly,
            coalesce(a.details -> 'flow' -> 'holds' @> '[{"kind":"anomaly"}]'::jsonb, false) AS held_for_score,
            coalesce(b.before, '[]'::jsonb) AS before
       FROM audit_records a
       LEFT JOIN LATERAL (
         SELECT jsonb_agg(jsonb_build_object('id', p.id::text, 'ts', p.ts, 'call', p.server || '/' || p.tool,
                                             'outcome', p.outcome) ORDER BY p.ts, p.id) AS before
           FROM (SELECT q.id, q.ts, q.server, q.tool, q.outcome
                   FROM audit_records q
                  WHERE a.agent_session IS NOT NULL AND q.agent_session = a.agent_session
                    AND q.agent_id IS NOT DISTINCT FROM a.agent_id
                    AND q.tenant IS NOT DISTINCT FROM a.tenant
                    AND q.user_invoker IS NOT DISTINCT FROM a.user_invoker
                    AND q.method = 'tools/call' AND q.tool IS NOT NULL AND q.outcome <> 'started'
                    AND (q.ts, q.id) < (a.ts, a.id)
                    AND q.ts >= a.ts - interval '1 day'
                  ORDER BY q.ts DESC, q.id DESC
                  LIMIT $3) p
       ) b ON true
      WHERE a.ts >= now() - make_interval(secs => $1::double precision * 3600)
        AND a.method = 'tools/call' AND a.tool IS NOT NULL AND a.outcome <> 'started'
        AND jsonb_typeof(a.details -> 'anomaly' -> 'score') = 'number'
        AND ($4 OR a.tenant IS NOT DISTINCT FROM $5)
      ORDER BY (a.details -> 'anomaly' ->> 'score')::double precision DESC, a.ts DESC, a.id DESC
      LIMIT $2`,
    [hours, limit, SEQUENCE_LENGTH, o.tenant === undefined, o.tenant ?? null],
  );
  return rows.map((r) => ({
    id: r.id,
    ts: r.ts.toISOString(),
    server: r.server,
    tool: r.tool,
    agentId: r.agent_id,
    agentSession: r.agent_session,
    userInvoker: r.user_invoker,
    tenant: r.tenant,
    roles: r.roles,
    decision: r.decision,
    outcome: r.outcome,
    anomaly: r.anomaly,
    held: r.outcome === 'awaiting_approval',
    heldForScore: r.held_for_score,
    before: r.before.map((s) => ({ ...s, ts: new Date(s.ts).toISOString() })),
  }));
}
