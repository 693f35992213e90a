// Creates the demo warehouse database (idempotently) and its read-only login role.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { DATASET_VERSION, DEMO_SCHEMAS, demoDatasetSql } from './dataset.js';
import { readerRoleSql } from './grants.js';
import { demoTenantIsolationSql } from './tenant-isolation.js';

/** Options for {@link buildDemoWarehouse}. */
export interface BuildOptions {
  /** Superuser URL of the PostgreSQL server. */
  adminUrl: string;
  database?: string;
  readerRole?: string;
  /** Reader password; random when not given. */
  readerPassword?: string;
  /** 1 = 400,000 product events; tests use less. */
  scale?: number;
  /** The reader's temp_file_limit (default 1GB; tests use less to see it stop a query). */
  tempFileLimit?: string;
  log?: (message: string) => void;
}

/** What was built. */
export interface BuiltWarehouse {
  /** URL of the warehouse as the read-only role. */
  readerUrl: string;
  /** URL of the warehouse as the admin (tests use it for checksums). */
  adminUrl: string;
  database: string;
  readerRole: string;
  /** False when an identical dataset was already there. */
  rebuilt: boolean;
  ms: number;
}

const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;

function withDatabase(url: string, database: string, user?: { name: string; password: string }): string {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(database)}`;
  if (user) {
    u.username = encodeURIComponent(user.name);
    u.password = encodeURIComponent(user.password);
  }
  return u.toString();
}

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url, application_name: 'mcp-fleet-demo-setup' });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/**
 * Creates `database` if missing, fills it with the demo dataset unless the same version and scale
 * is already there, and (re)creates the read-only role with the documented GRANTs.
 */
export async function buildDemoWarehouse(o: BuildOptions): Promise<BuiltWarehouse> {
  const started = performance.now();
  const database = o.database ?? 'warehouse';
  const readerRole = o.readerRole ?? 'warehouse_reader';
  const scale = o.scale ?? 1;
  const log = o.log ?? (() => {});
  const marker = `mcp-fleet demo warehouse v${DATASET_VERSION} scale ${scale}`;

  await withClient(o.adminUrl, async (c) => {
    const exists = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (exists.rowCount === 0) await c.query(`CREATE DATABASE ${ident(database)}`);
  });
  const adminUrl = withDatabase(o.adminUrl, database);
  const password = o.readerPassword ?? randomBytes(18).toString('base64url');
  let rebuilt = false;
  await withClient(adminUrl, async (c) => {
    const current = await c.query<{ d: string | null }>(
      `SELECT shobj_description(oid, 'pg_database') AS d FROM pg_database WHERE datname = current_database()`,
    );
    if (current.rows[0]?.d !== marker) {
      log(`building the demo warehouse "${database}" (scale ${scale})`);
      await c.query('BEGIN');
      try {
        // JIT compiling these one-off INSERTs costs more than running them.
        await c.query(
          "SET LOCAL jit = off; SET LOCAL synchronous_commit = off; SET LOCAL maintenance_work_mem = '256MB'",
        );
        for (const statement of demoDatasetSql(scale)) await c.query(statement);
        await c.query(`COMMENT ON DATABASE ${ident(database)} IS ${pg.escapeLiteral(marker)}`);
        await c.query('COMMIT');
      } catch (err) {
        await c.query('ROLLBACK');
        throw err;
      }
      // Row estimates for list_tables, and sane plans from the first query on.
      await c.query('ANALYZE');
      rebuilt = true;
    }
    // Every build, so a warehouse built before row-level security existed gets it too.
    for (const statement of demoTenantIsolationSql()) await c.query(statement);
    const role = await c.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [readerRole]);
    if (role.rowCount === 0) await c.query(`CREATE ROLE ${ident(readerRole)} LOGIN`);
    await c.query(`ALTER ROLE ${ident(readerRole)} PASSWORD ${pg.escapeLiteral(password)}`);
    const grants = readerRoleSql({
      role: readerRole,
      database,
      schemas: DEMO_SCHEMAS,
      ...(o.tempFileLimit ? { tempFileLimit: o.tempFileLimit } : {}),
    });
    for (const statement of grants) await c.query(statement);
  });
  return {
    readerUrl: withDatabase(o.adminUrl, database, { name: readerRole, password }),
    adminUrl,
    database,
    readerRole,
    rebuilt,
    ms: Math.round(performance.now() - started),
  };
}
