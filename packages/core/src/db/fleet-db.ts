// The fleet's own PostgreSQL: one pool per process, and migrations applied once under an advisory lock.
// Each store owns its tables' migrations and exports them; server.ts collects core's (CORE_MIGRATIONS).
import pg from 'pg';
import type { Logger } from '../observability/logger.js';

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

/**
 * A server's migrations with their ids stored as `<server>/<id>`. An id may already carry the
 * prefix; one that names another server (or is not a plain id) is refused.
 */
export function namespaceMigrations(server: string, migrations: readonly Migration[]): Migration[] {
  if (!SERVER_NAME.test(server)) throw new Error(`invalid server name for migrations: "${server}"`);
  return migrations.map((m) => {
    const bare = m.id.startsWith(`${server}/`) ? m.id.slice(server.length + 1) : m.id;
    if (!/^[A-Za-z0-9_.-]+$/.test(bare))
      throw new Error(
        `migration "${m.id}" of server ${server}: an id is "[${server}/]<letters, digits, _ . ->"`,
      );
    return { ...m, id: `${server}/${bare}`, core: false };
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
];

const LOCK_KEY = 0x6d6370666c; // "mcpfl": one advisory lock for all fleet migrations

/** Creates the pool for the fleet database. Errors on idle clients are logged, never crash the process. */
export function createFleetPool(url: string, logger: Logger, max = 10): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max,
    connectionTimeoutMillis: 3_000,
    idleTimeoutMillis: 30_000,
    application_name: 'mcp-fleet',
  });
  pool.on('error', (err) => logger.warn({ err: err.message }, 'fleet database connection error'));
  return pool;
}

/** Applies pending migrations in id order; safe to run from many replicas at once. */
export async function migrate(
  pool: pg.Pool,
  migrations: readonly Migration[],
  logger: Logger,
): Promise<string[]> {
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
    const seen = new Set<string>();
    for (const m of [...migrations].sort((a, b) => a.id.localeCompare(b.id))) {
      if (!m.id.includes('/') && !m.core)
        throw new Error(
          `migration "${m.id}" has no server namespace: a server's ids are stored as "<server>/<id>" (namespaceMigrations)`,
        );
      if (seen.has(m.id)) continue;
      seen.add(m.id);
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
