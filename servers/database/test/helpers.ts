// Test helpers: a small demo warehouse on the test PostgreSQL with its read-only role, a checksum
// of everything in it, and a booted database server with the example policy.
import { randomBytes } from 'node:crypto';
import {
  type BootedServer,
  bootServer,
  createTestDatabase,
  examplePolicy as readExamplePolicy,
} from '@mcp-fleet/testkit';
import pg from 'pg';
import definition from '../src/definition.js';
import { type BuiltWarehouse, buildDemoWarehouse } from '../src/demo/build-warehouse.js';

export { connectAs, dataOf as data, eventually, silentLogger, textOf } from '@mcp-fleet/testkit';

/** A signal that never aborts, for calls made directly on the connector. */
export const neverAborted: AbortSignal = new AbortController().signal;

/** The policy `pnpm start` loads (grants and constraints; not its rate limits), so these tests also check its database lines. */
export const examplePolicy = readExamplePolicy();

/** A warehouse for one test file. */
export interface TestWarehouse extends BuiltWarehouse {
  /** Fleet database (dashboards, audit). */
  fleetUrl: string;
  /** Runs SQL as the superuser on the warehouse. */
  admin<R extends pg.QueryResultRow = Record<string, unknown>>(sql: string, values?: unknown[]): Promise<R[]>;
  /** A digest of every table's rows, every relation, function, large object and the database comment. */
  checksum(): Promise<string>;
  cleanup(): Promise<void>;
}

/** Builds a small demo warehouse (scale 0.05: 20,000 events) and a fleet database. */
export async function createWarehouse(
  scale = 0.05,
  o: { tempFileLimit?: string } = {},
): Promise<TestWarehouse> {
  const adminRoot = process.env.FLEET_TEST_PG_URL as string;
  const wh = await createTestDatabase('wh');
  const fleet = await createTestDatabase('fleet');
  const database = new URL(wh.url).pathname.slice(1);
  const readerRole = `wh_reader_${randomBytes(4).toString('hex')}`;
  const built = await buildDemoWarehouse({ adminUrl: adminRoot, database, readerRole, scale, ...o });
  const pool = new pg.Pool({ connectionString: built.adminUrl, max: 2 });
  // pool.end() resolves before its clients' sockets close, so the forced DROP DATABASE in cleanup
  // can terminate a backend the pool is still closing (FATAL 57P01). pg-pool hands an idle
  // client's error to the pool, which throws it uncaught when nobody listens there.
  pool.on('error', () => {});
  const admin = async <R extends pg.QueryResultRow>(sql: string, values: unknown[] = []) =>
    (await pool.query<R>(sql, values)).rows;
  return {
    ...built,
    fleetUrl: fleet.url,
    admin,
    async checksum() {
      const tables = await admin<{ t: string }>(
        `SELECT format('%I.%I', n.nspname, c.relname) AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relkind IN ('r', 'p', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%'
         ORDER BY 1`,
      );
      const parts: string[] = [];
      for (const { t } of tables) {
        const [row] = await admin<{ h: string; n: number }>(
          `SELECT md5(coalesce(string_agg(x::text, E'\\n' ORDER BY x::text), '')) AS h, count(*)::int AS n FROM ${t} x`,
        );
        parts.push(`${t}:${row?.n}:${row?.h}`);
      }
      const [meta] = await admin<{ rels: string; funcs: string; los: number; comment: string | null }>(
        `SELECT (SELECT string_agg(format('%s.%s:%s', n.nspname, c.relname, c.relkind), ',' ORDER BY n.nspname, c.relname) FROM pg_class c
                   JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
                   AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%') AS rels,
                (SELECT coalesce(string_agg(p.oid::regprocedure::text, ',' ORDER BY p.oid::regprocedure::text), '') FROM pg_proc p
                   JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')) AS funcs,
                (SELECT count(*)::int FROM pg_largeobject_metadata) AS los,
                shobj_description((SELECT oid FROM pg_database WHERE datname = current_database()), 'pg_database') AS comment`,
      );
      parts.push(
        `rels=${meta?.rels}`,
        `funcs=${meta?.funcs}`,
        `los=${meta?.los}`,
        `comment=${meta?.comment}`,
      );
      return parts.join('\n');
    },
    async cleanup() {
      await pool.end();
      await wh.drop();
      await fleet.drop();
      const c = new pg.Client({ connectionString: adminRoot });
      await c.connect();
      try {
        await c.query(`DROP ROLE IF EXISTS "${readerRole}"`);
      } finally {
        await c.end();
      }
    },
  };
}

/** Boots the database server on `wh` as its read-only role (or `url`), with the example policy. */
export async function bootDatabase(
  wh: TestWarehouse,
  o: {
    env?: Record<string, string>;
    /** Shorthands for SAVED_QUERIES_FILE and WAREHOUSE_QUERY_TIMEOUT_MS. */
    definition?: { savedQueriesFile?: string; queryTimeoutMs?: number };
    policy?: unknown;
    url?: string;
  } = {},
): Promise<BootedServer> {
  const { savedQueriesFile, queryTimeoutMs } = o.definition ?? {};
  return bootServer(definition, {
    policy: o.policy ?? examplePolicy,
    databaseUrl: wh.fleetUrl,
    env: {
      WAREHOUSE_URL: o.url ?? wh.readerUrl,
      ...(savedQueriesFile ? { SAVED_QUERIES_FILE: savedQueriesFile } : {}),
      ...(queryTimeoutMs ? { WAREHOUSE_QUERY_TIMEOUT_MS: String(queryTimeoutMs) } : {}),
      ...o.env,
    },
  });
}
