// The PostgreSQL the governed fleet server audits to: TEST_DATABASE_URL when set, else an embedded
// PostgreSQL from testkit; a fresh database per run, dropped at the end.
import { randomBytes } from 'node:crypto';
import { startTestPostgres } from '@mcp-fleet/testkit';
import pg from 'pg';

/** A fleet database a governed server audits to. */
export interface AuditDatabase {
  url: string;
  /** Audit rows stored for one agent, by outcome. */
  auditCounts(agentId: string): Promise<{ total: number; ok: number; byOutcome: Record<string, number> }>;
}

/** A database for one bench run. */
export interface BenchDatabase extends AuditDatabase {
  /** Superuser URL of the server (for the db section's warehouse). */
  adminUrl: string;
  source: string;
  serverVersion: string;
  /**
   * Another fresh database on the same server, dropped with this one: the baseline server (older
   * code, its own migrations) audits there, so the two never share a migrations table.
   */
  sibling(suffix: string): Promise<AuditDatabase>;
  close(): Promise<void>;
}

export async function openBenchDatabase(): Promise<BenchDatabase> {
  const handle = await startTestPostgres();
  const name = `mcp_fleet_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: handle.url });
  await admin.connect();
  let serverVersion: string;
  try {
    await admin.query(`CREATE DATABASE ${name}`);
    serverVersion = (await admin.query<{ server_version: string }>('SHOW server_version')).rows[0]!
      .server_version;
  } finally {
    await admin.end();
  }
  const names = [name];
  const pools: pg.Pool[] = [];
  const open = (dbName: string): AuditDatabase => {
    const url = new URL(handle.url);
    url.pathname = `/${dbName}`;
    const pool = new pg.Pool({ connectionString: url.toString(), max: 2 });
    // pool.end() resolves before its sockets close, and the forced DROP DATABASE in close() can
    // terminate one of them (FATAL 57P01): an idle client's error reaches the pool, which would throw.
    pool.on('error', () => {});
    pools.push(pool);
    return {
      url: url.toString(),
      async auditCounts(agentId) {
        const { rows } = await pool.query<{ outcome: string; n: number }>(
          'SELECT outcome, count(*)::int AS n FROM audit_records WHERE agent_id = $1 GROUP BY outcome',
          [agentId],
        );
        const byOutcome = Object.fromEntries(rows.map((r) => [r.outcome, r.n]));
        const total = rows.reduce((s, r) => s + r.n, 0);
        return { total, ok: byOutcome.ok ?? 0, byOutcome };
      },
    };
  };
  return {
    ...open(name),
    adminUrl: handle.url,
    source: handle.source,
    serverVersion,
    async sibling(suffix) {
      const other = `${name}_${suffix.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}`;
      const c = new pg.Client({ connectionString: handle.url });
      await c.connect();
      try {
        await c.query(`CREATE DATABASE ${other}`);
      } finally {
        await c.end();
      }
      names.push(other);
      return open(other);
    },
    async close() {
      await Promise.all(pools.map((p) => p.end()));
      const c = new pg.Client({ connectionString: handle.url });
      await c.connect();
      try {
        for (const n of names) await c.query(`DROP DATABASE IF EXISTS ${n} WITH (FORCE)`);
      } finally {
        await c.end();
      }
      await handle.stop();
    },
  };
}
