// The fleet's own PostgreSQL: one pool per process, and migrations applied once under an advisory lock.
// Each store owns its tables' migrations and exports them; server.ts collects core's (CORE_MIGRATIONS).
import pg from 'pg';
import type { Logger } from '../observability/logger.js';
import { activeTracer, SpanKind, withSpan } from '../observability/tracing.js';

/**
 * One forward-only schema change. `id` sorts in application order and never changes once released.
 * A server's ids are stored as `<server>/<id>` (see {@link namespaceMigrations}), so two servers
 * can never collide; core's own ids carry no namespace.
 */
export interface Migration {
  id: string;
  sql: string;
  /**
   * The id this migration was recorded under before it was renamed (e.g. before server ids were
   * namespaced): a database that has it is not migrated again; its record is renamed instead.
   */
  previousId?: string;
  /** One of core's own migrations (audit, idempotency, approvals): its id carries no server namespace. */
  core?: boolean;
}

const SERVER_NAME = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
const BARE_ID = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/** Orders migration ids by UTF-16 code units: the same order in every locale ("Z" < "a", "aa" < "b"). */
export function compareMigrationIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * A server's migrations with their ids stored as `<server>/<id>`. An id may already carry the
 * prefix; one that names another server (or is not a plain id) is refused. A `previousId` is the
 * id the migration had before: a bare id (the server's records before ids were namespaced) or
 * `<server>/<id>` of this same server; never another server's namespace (and {@link migrate}
 * refuses one naming a core migration), so no server can take over another's record.
 */
export function namespaceMigrations(server: string, migrations: readonly Migration[]): Migration[] {
  if (!SERVER_NAME.test(server)) throw new Error(`invalid server name for migrations: "${server}"`);
  return migrations.map((m) => {
    const bare = m.id.startsWith(`${server}/`) ? m.id.slice(server.length + 1) : m.id;
    if (!BARE_ID.test(bare))
      throw new Error(
        `migration "${m.id}" of server ${server}: an id is "[${server}/]<letters, digits, _ . ->"`,
      );
    const out: Migration = { ...m, id: `${server}/${bare}`, core: false };
    if (m.previousId !== undefined) {
      const prev = m.previousId.startsWith(`${server}/`)
        ? m.previousId.slice(server.length + 1)
        : m.previousId;
      if (!BARE_ID.test(prev))
        throw new Error(
          `migration "${m.id}" of server ${server}: previousId "${m.previousId}" is neither a bare id nor "${server}/<id>" (another server's records are not its to rename)`,
        );
      out.previousId = m.previousId;
    }
    return out;
  });
}

/** The audit trail's table (core's; the other stores export theirs). */
export const AUDIT_MIGRATIONS: Migration[] = [
  {
    id: '0001_audit_records',
    core: true,
    sql: `
      CREATE TABLE IF NOT EXISTS audit_records (
        id uuid PRIMARY KEY,
        ts timestamptz NOT NULL,
        server text NOT NULL,
        request_id text NOT NULL,
        method text NOT NULL,
        tool text,
        agent_id text,
        agent_session text,
        user_invoker text,
        tenant text,
        roles text[] NOT NULL DEFAULT '{}',
        arguments jsonb,
        decision text NOT NULL,
        decision_reason text,
        outcome text NOT NULL,
        result_summary text,
        duration_ms double precision,
        policy_version text,
        protocol_version text,
        details jsonb
      );
      CREATE INDEX IF NOT EXISTS audit_records_ts_idx ON audit_records (ts DESC);
      CREATE INDEX IF NOT EXISTS audit_records_agent_idx ON audit_records (agent_id, ts DESC);
      CREATE INDEX IF NOT EXISTS audit_records_tool_idx ON audit_records (server, tool, ts DESC);
    `,
  },
  // The hash of a call's exact arguments (THREATS A15): a column, not a details key, so "every call
  // with these arguments" is one indexed query, the same for every outcome. Older rows stay NULL.
  {
    id: '0020_audit_args_hash',
    core: true,
    sql: `
      ALTER TABLE audit_records ADD COLUMN IF NOT EXISTS args_hash text;
      CREATE INDEX IF NOT EXISTS audit_records_args_hash_idx ON audit_records (args_hash) WHERE args_hash IS NOT NULL;
    `,
  },
  // The OpenTelemetry trace id of the request that wrote the record (issue 16): one call followed from
  // its record to its log lines (trace_id) and its spans. Older rows stay NULL.
  {
    id: '0031_audit_trace_id',
    core: true,
    sql: `
      ALTER TABLE audit_records ADD COLUMN IF NOT EXISTS trace_id text;
      CREATE INDEX IF NOT EXISTS audit_records_trace_id_idx ON audit_records (trace_id) WHERE trace_id IS NOT NULL;
    `,
  },
];

const LOCK_KEY = 0x6d6370666c; // "mcpfl": one advisory lock for all fleet migrations

/**
 * Creates the pool for the fleet database. Errors on idle clients are logged, never crash the process;
 * so are errors on a client a store has checked out for a transaction: a connection that dies between
 * two of its queries (the database restarted) emits 'error' on the client, which without a listener
 * killed the server (issue 17: the taint store's transaction, under test/faults/postgres-restart).
 * The transaction's next query fails and the store handles that as it handles any failure.
 */
export function createFleetPool(url: string, logger: Logger, max = 10): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max,
    connectionTimeoutMillis: 3_000,
    idleTimeoutMillis: 30_000,
    application_name: 'mcp-fleet',
  });
  pool.on('error', (err) => logger.warn({ err: err.message }, 'fleet database connection error'));
  pool.query = tracedQuery(pool.query);
  pool.on('connect', (client) => {
    client.query = tracedQuery(client.query);
    client.on('error', (err) => logger.warn({ err: err.message }, 'fleet database connection error'));
  });
  return pool;
}

/**
 * `query` of a pool or client with a CLIENT span per statement (`pg SELECT`, `pg INSERT`...) under a
 * traced request. The callback form is left as it is: it is the pool's own use of a client inside
 * `pool.query` (already one span), and a streamed query (a Submittable) is not a statement of ours.
 */
function tracedQuery<F extends (...args: never[]) => unknown>(original: F): F {
  const call = original as unknown as (...a: unknown[]) => unknown;
  return function (this: unknown, ...args: unknown[]) {
    const first = args[0] as { text?: unknown; submit?: unknown } | string | undefined;
    if (
      typeof args[args.length - 1] === 'function' ||
      (typeof first === 'object' && first !== null && typeof first.submit === 'function') ||
      !activeTracer()
    )
      return call.apply(this, args);
    const text = typeof first === 'string' ? first : typeof first?.text === 'string' ? first.text : '';
    const operation = /^\s*([A-Za-z]+)/.exec(text)?.[1]?.toUpperCase() ?? 'QUERY';
    return withSpan(
      `pg ${operation}`,
      {
        kind: SpanKind.CLIENT,
        attributes: {
          'db.system.name': 'postgresql',
          'db.operation.name': operation,
          'db.namespace': 'fleet',
        },
      },
      () => call.apply(this, args),
    );
  } as unknown as F;
}

/**
 * The migrations to apply, once each, in id order; throws on what no run may apply: a server
 * migration without its namespace, two different migrations under one id (the same one listed
 * twice, as core's are by `fleet migrate`, is one), a previousId naming a core migration, another
 * server's namespace or a migration of this run, or one previousId claimed twice.
 */
function checkedMigrations(migrations: readonly Migration[]): Migration[] {
  const byId = new Map<string, Migration>();
  for (const m of migrations) {
    if (!m.id.includes('/') && !m.core)
      throw new Error(
        `migration "${m.id}" has no server namespace: a server's ids are stored as "<server>/<id>" (namespaceMigrations)`,
      );
    const other = byId.get(m.id);
    if (other) {
      if (other.sql !== m.sql || other.previousId !== m.previousId || Boolean(other.core) !== Boolean(m.core))
        throw new Error(`two different migrations have the id "${m.id}": an id names one migration`);
      continue;
    }
    byId.set(m.id, m);
  }
  const coreIds = new Set([...byId.values()].filter((m) => m.core).map((m) => m.id));
  const claimed = new Map<string, string>();
  for (const m of byId.values()) {
    if (m.previousId === undefined) continue;
    const server = m.core ? undefined : m.id.slice(0, m.id.indexOf('/'));
    const prev = m.previousId;
    const slash = prev.indexOf('/');
    const problem = m.core
      ? 'core migrations are not renamed'
      : coreIds.has(prev)
        ? 'it names a core migration'
        : slash >= 0 && prev.slice(0, slash) !== server
          ? "it names another server's migration"
          : !BARE_ID.test(slash >= 0 ? prev.slice(slash + 1) : prev)
            ? 'it is not an id'
            : byId.has(prev)
              ? 'it is the id of another migration of this run'
              : claimed.has(prev)
                ? `migration "${claimed.get(prev)}" claims it too`
                : undefined;
    if (problem) throw new Error(`migration "${m.id}": previousId "${prev}" refused: ${problem}`);
    claimed.set(prev, m.id);
  }
  return [...byId.values()].sort((a, b) => compareMigrationIds(a.id, b.id));
}

/** Applies pending migrations in id order; safe to run from many replicas at once. */
export async function migrate(
  pool: pg.Pool,
  migrations: readonly Migration[],
  logger: Logger,
): Promise<string[]> {
  const ordered = checkedMigrations(migrations);
  const client = await pool.connect();
  const applied: string[] = [];
  try {
    await client.query('SELECT pg_advisory_lock($1)', [LOCK_KEY]);
    await client.query(
      'CREATE TABLE IF NOT EXISTS fleet_migrations (id text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())',
    );
    const done = new Set(
      (await client.query<{ id: string }>('SELECT id FROM fleet_migrations')).rows.map((r) => r.id),
    );
    for (const m of ordered) {
      if (done.has(m.id)) continue;
      if (m.previousId && done.has(m.previousId)) {
        // Applied under its old id: rename the record, do not run it again.
        await client.query('UPDATE fleet_migrations SET id = $1 WHERE id = $2', [m.id, m.previousId]);
        done.delete(m.previousId);
        done.add(m.id);
        logger.info({ migration: m.id, previousId: m.previousId }, 'migration record renamed');
        continue;
      }
      await client.query('BEGIN');
      try {
        await client.query(m.sql);
        await client.query('INSERT INTO fleet_migrations (id) VALUES ($1)', [m.id]);
        await client.query('COMMIT');
        applied.push(m.id);
        logger.info({ migration: m.id }, 'migration applied');
      } catch (err) {
        await client.query('ROLLBACK');
        throw err;
      }
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [LOCK_KEY]).catch(() => {});
    client.release();
  }
  return applied;
}
