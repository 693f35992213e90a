// The fleet's own PostgreSQL: one pool per process, and migrations applied once under an advisory lock.
import pg from 'pg';
import {
  APPROVALS_EXACT_ARGUMENTS_MIGRATION_SQL,
  APPROVALS_MIGRATION_SQL,
  APPROVALS_REVOCATION_MIGRATION_SQL,
} from '../approvals/approval-store.js';
import { IDEMPOTENCY_MIGRATION_SQL } from '../idempotency/idempotency-store.js';
import type { Logger } from '../observability/logger.js';

/** One forward-only schema change. `id` sorts in application order and never changes once released. */
export interface Migration {
  id: string;
  sql: string;
}

/** Core's own tables. Servers append theirs through `createFleetServer({ migrations })`. */
export const CORE_MIGRATIONS: Migration[] = [
  {
    id: '0001_audit_records',
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
  { id: '0010_idempotency_records', sql: IDEMPOTENCY_MIGRATION_SQL },
  { id: '0011_approvals', sql: APPROVALS_MIGRATION_SQL },
  { id: '0012_approvals_exact_arguments', sql: APPROVALS_EXACT_ARGUMENTS_MIGRATION_SQL },
  { id: '0013_approvals_revocation', sql: APPROVALS_REVOCATION_MIGRATION_SQL },
  // The hash of a call's exact arguments (THREATS A15): a column, not a details key, so "every call
  // with these arguments" is one indexed query, the same for every outcome. Older rows stay NULL.
  {
    id: '0020_audit_args_hash',
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
      if (seen.has(m.id)) continue;
      seen.add(m.id);
      if (done.has(m.id)) continue;
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
