// Status checks of the warehouse: connectivity and latency, connection use, long-running queries,
// replication lag where there is replication, and the buffer cache hit ratio.
import { loadModule, type ScanToken, scanSync } from 'libpg-query';
import type pg from 'pg';
import { extended } from './extended.js';

await loadModule();

/** What database_health reports. */
export interface WarehouseHealth {
  status: 'ok' | 'degraded' | 'down';
  latencyMs: number | null;
  serverVersion: string | null;
  database: string | null;
  inRecovery: boolean | null;
  connections: { total: number; max: number; usedPercent: number; byState: Record<string, number> } | null;
  pool: { total: number; idle: number; waiting: number; max: number };
  longRunning: {
    /** Null for callers that may not see it (a pid is what a backend signal would aim at). */
    pid: number | null;
    seconds: number;
    state: string;
    waitEvent: string | null;
    application: string | null;
    /** The statement with its literals, numbers and comments replaced by `?`; null for constrained callers. */
    query: string | null;
  }[];
  replication: {
    role: 'primary' | 'standby';
    replicas: { name: string | null; state: string | null; replayLagSeconds: number | null }[];
    replayLagSeconds: number | null;
  } | null;
  cacheHitRatio: number | null;
  problems: string[];
  error?: string;
}

const q = async <R extends pg.QueryResultRow>(c: pg.PoolClient, text: string, values: unknown[] = []) =>
  (await c.query<R>(extended(text, values))).rows;

/** The report when the warehouse cannot be checked: every measurement unknown, one problem named. */
function down(pool: WarehouseHealth['pool'], problem: string, error: string): WarehouseHealth {
  return {
    status: 'down',
    latencyMs: null,
    serverVersion: null,
    database: null,
    inRecovery: null,
    connections: null,
    pool,
    longRunning: [],
    replication: null,
    cacheHitRatio: null,
    problems: [problem],
    error,
  };
}

/** Longest statement text scanned; the report shows 300 characters of it. */
const MAX_REDACTED_INPUT = 8_000;

/** Operator and punctuation tokens: symbols only, so they cannot carry a value. */
const SYMBOLS = /^[-+*/<>=~!@#%^&|`?:.,;()[\]]+$/;
/** An unquoted identifier (a quoted one, "...", may hold anything and is redacted). */
const PLAIN_IDENTIFIER = /^[A-Za-z_\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*$/;
/** Positional parameters ($1) stay: they are placeholders, not values. */
const PARAMETER = /^\$\d+$/;

/** What one token of PostgreSQL's own scanner shows: its text, `?`, or nothing (comments). */
function shownToken(t: ScanToken): string {
  if (t.tokenName === 'SQL_COMMENT' || t.tokenName === 'C_COMMENT') return '';
  if (t.tokenName === 'IDENT') {
    if (t.text.startsWith('"')) return '"?"';
    return PLAIN_IDENTIFIER.test(t.text) ? t.text : '?';
  }
  // Keywords are a fixed vocabulary; anything else (every kind of constant: strings, E'', U&'',
  // B'', X'', dollar quotes, numbers) becomes `?` unless it is symbols only or a parameter.
  if (t.keywordKind > 0 && PLAIN_IDENTIFIER.test(t.text)) return t.text;
  if (SYMBOLS.test(t.text) || PARAMETER.test(t.text)) return t.text;
  // String constants of every kind read as one ('?'), numbers as ?.
  return /^([EeUuBbXxNn]&?)?['$]/.test(t.text) ? "'?'" : '?';
}

function scanned(text: string): ScanToken[] | null {
  try {
    return scanSync(text).tokens;
  } catch {
    return null;
  }
}

/**
 * A statement's shape without its values, from PostgreSQL's own scanner (libpg-query): every
 * string constant (of every kind, dollar quotes too) becomes `'?'`, every number and quoted
 * identifier `?` (`"?"`), comments go; only keywords, plain identifiers, operators and $n parameters stay.
 * The scanner knows the server's lexical rules (standard strings where a backslash is literal,
 * nested block comments), so no hand-written lexer has to agree with it.
 *
 * Text that does not scan (pg_stat_activity cuts long statements, maybe mid-literal) is shown up
 * to a prefix that does scan, then `?`. That is safe: a scanner's state at any point depends only
 * on the text before it, and a cut inside a literal, quoted name or block comment leaves it
 * unterminated, so such a prefix does not scan.
 */
export function redactSql(text: string): string {
  let source = text.slice(0, MAX_REDACTED_INPUT);
  let tokens = scanned(source);
  let cut = text.length > source.length;
  if (tokens === null) {
    cut = true;
    // A prefix found by bisection that scans (the empty text always does).
    let ok = 0;
    let bad = source.length;
    let best: ScanToken[] = [];
    while (bad - ok > 1) {
      const mid = (ok + bad) >> 1;
      const t = scanned(source.slice(0, mid));
      if (t === null) bad = mid;
      else {
        ok = mid;
        best = t;
      }
    }
    source = source.slice(0, ok);
    tokens = best;
  }
  let out = '';
  let end = 0;
  for (const t of tokens) {
    const shown = shownToken(t);
    // A dropped comment leaves a gap: the next token is set apart by one space.
    if (shown === '') continue;
    if (out !== '' && t.start > end) out += ' ';
    out += shown;
    end = t.end;
  }
  if (cut) out += out === '' ? '?' : ' ?';
  return out.replace(/\s+/g, ' ').trim();
}

/**
 * Collects warehouse health through `control` (its own pool, so a saturated query pool still
 * gets an answer). `showQueries` adds the redacted text of long-running queries the role can see
 * (never their literals: they can be other callers' values), `showPids` their backend pids.
 */
export async function checkHealth(
  control: pg.Pool,
  queryPool: pg.Pool,
  o: { longRunningSeconds: number; showQueries: boolean; showPids: boolean; poolMax: number },
): Promise<WarehouseHealth> {
  const pool = {
    total: queryPool.totalCount,
    idle: queryPool.idleCount,
    waiting: queryPool.waitingCount,
    max: o.poolMax,
  };
  const started = performance.now();
  let c: pg.PoolClient;
  try {
    c = await control.connect();
  } catch {
    return down(pool, 'the warehouse is unreachable', 'cannot connect to the warehouse');
  }
  try {
    await c.query('BEGIN TRANSACTION READ ONLY; SET LOCAL statement_timeout = 5000');
    await q(c, 'SELECT 1');
    const latencyMs = Math.round((performance.now() - started) * 100) / 100;
    const [info] = await q<{ version: string; db: string; recovery: boolean; max: number }>(
      c,
      `SELECT current_setting('server_version') AS version, current_database() AS db, pg_is_in_recovery() AS recovery,
              current_setting('max_connections')::int AS max`,
    );
    const states = await q<{ state: string; n: number }>(
      c,
      `SELECT coalesce(state, 'background') AS state, count(*)::int AS n FROM pg_stat_activity GROUP BY 1 ORDER BY 1`,
    );
    const total = states.reduce((sum, s) => sum + s.n, 0);
    const long = await q<{
      pid: number;
      seconds: number;
      state: string;
      wait: string | null;
      app: string | null;
      query: string | null;
    }>(
      c,
      `SELECT pid, round(extract(epoch FROM now() - query_start))::int AS seconds, state, wait_event_type AS wait,
              application_name AS app, CASE WHEN $2 THEN left(query, 2000) END AS query
       FROM pg_stat_activity
       WHERE state <> 'idle' AND pid <> pg_backend_pid() AND backend_type = 'client backend'
         AND query_start < now() - make_interval(secs => $1)
       ORDER BY query_start LIMIT 20`,
      [o.longRunningSeconds, o.showQueries],
    );
    const [cache] = await q<{ ratio: number | null }>(
      c,
      `SELECT CASE WHEN blks_hit + blks_read = 0 THEN NULL ELSE round(blks_hit::numeric / (blks_hit + blks_read), 4)::float8 END AS ratio
       FROM pg_stat_database WHERE datname = current_database()`,
    );
    const replication = await replicationStatus(c, Boolean(info?.recovery));
    await c.query('ROLLBACK');
    const problems: string[] = [];
    const usedPercent = info ? Math.round((total / info.max) * 1000) / 10 : 0;
    if (usedPercent >= 90) problems.push(`connections at ${usedPercent}% of max_connections`);
    if (long.length > 0) problems.push(`${long.length} queries running longer than ${o.longRunningSeconds}s`);
    if (cache?.ratio !== null && cache?.ratio !== undefined && cache.ratio < 0.9)
      problems.push(`cache hit ratio ${cache.ratio} is below 0.9`);
    if (replication?.replayLagSeconds && replication.replayLagSeconds > 60)
      problems.push(`replication lag ${replication.replayLagSeconds}s`);
    if (pool.waiting > 0) problems.push(`${pool.waiting} calls waiting for a warehouse connection`);
    return {
      status: problems.length > 0 ? 'degraded' : 'ok',
      latencyMs,
      serverVersion: info?.version ?? null,
      database: info?.db ?? null,
      inRecovery: info?.recovery ?? null,
      connections: {
        total,
        max: info?.max ?? 0,
        usedPercent,
        byState: Object.fromEntries(states.map((s) => [s.state, s.n])),
      },
      pool,
      longRunning: long.map((l) => ({
        pid: o.showPids ? l.pid : null,
        seconds: l.seconds,
        state: l.state,
        waitEvent: l.wait,
        application: l.app,
        query: l.query === null ? null : redactSql(l.query).slice(0, 300),
      })),
      replication,
      cacheHitRatio: cache?.ratio ?? null,
      problems,
    };
  } catch (err) {
    await c.query('ROLLBACK').catch(() => {});
    return down(pool, 'a health query failed', (err as Error).message.slice(0, 200));
  } finally {
    c.release();
  }
}

async function replicationStatus(
  c: pg.PoolClient,
  inRecovery: boolean,
): Promise<WarehouseHealth['replication']> {
  if (inRecovery) {
    const [lag] = await q<{ lag: number | null }>(
      c,
      `SELECT round(extract(epoch FROM now() - pg_last_xact_replay_timestamp()))::int AS lag`,
    );
    return { role: 'standby', replicas: [], replayLagSeconds: lag?.lag ?? null };
  }
  // Lag columns are only visible with pg_monitor / pg_read_all_stats; null otherwise.
  const replicas = await q<{ name: string | null; state: string | null; lag: number | null }>(
    c,
    `SELECT application_name AS name, state, extract(epoch FROM replay_lag)::float8 AS lag FROM pg_stat_replication ORDER BY 1`,
  );
  if (replicas.length === 0) return null;
  const lags = replicas.map((r) => r.lag).filter((l): l is number => l !== null);
  return {
    role: 'primary',
    replicas: replicas.map((r) => ({ name: r.name, state: r.state, replayLagSeconds: r.lag })),
    replayLagSeconds: lags.length ? Math.max(...lags) : null,
  };
}
