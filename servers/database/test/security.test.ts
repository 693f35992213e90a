// The read-only promise, end to end: every corpus attack through run_query and explain_query is
// refused with a clear isError result, and the warehouse checksum is unchanged afterwards — also
// when the server is (deliberately, with the override) connected as a superuser, so the SQL guard
// and the READ ONLY transaction are shown to hold on their own.
import { existsSync } from 'node:fs';
import { type BootedServer, connectClient, type TestClient } from '@mcp-fleet/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Warehouse } from '../src/connectors/warehouse.js';
import {
  bootDatabase,
  createWarehouse,
  neverAborted,
  silentLogger,
  type TestWarehouse,
  textOf,
} from './helpers.js';
import { allAttacks, HARMLESS } from './sql-corpus.js';

let wh: TestWarehouse;
let before: string;
const servers: Record<'reader' | 'superuser', BootedServer | undefined> = {
  reader: undefined,
  superuser: undefined,
};

beforeAll(async () => {
  wh = await createWarehouse();
  // A function of the warehouse's own: only its pg_proc tells the guard that `x.fleet_probe` is a call.
  await wh.admin('CREATE FUNCTION public.fleet_probe(text) RETURNS text LANGUAGE sql AS $$ SELECT $1 $$');
  // A type of the warehouse's own: `x.fleet_probe_t` is a cast that runs its check; only pg_type names it.
  await wh.admin("CREATE DOMAIN public.fleet_probe_t AS text CHECK (VALUE <> 'boom')");
  before = await wh.checksum();
  servers.reader = await bootDatabase(wh);
  servers.superuser = await bootDatabase(wh, {
    url: wh.adminUrl,
    env: { WAREHOUSE_ALLOW_WRITABLE_ROLE: 'true' },
  });
});
afterAll(async () => {
  await servers.reader?.close();
  await servers.superuser?.close();
  await wh?.cleanup();
});

describe.each(['reader', 'superuser'] as const)('connected as the %s role', (who) => {
  let client: TestClient;
  beforeAll(async () => {
    const s = servers[who] as BootedServer;
    client = await connectClient(
      who === 'reader' ? 'modern' : 'legacy',
      s.url,
      await s.token({ sub: `attacker-${who}`, roles: ['admin'] }),
    );
  });
  afterAll(async () => client?.close());

  it('refuses every attack in run_query with a message the model can act on', async () => {
    const failures: string[] = [];
    for (const a of allAttacks()) {
      const r = await client.callTool('run_query', { sql: a.sql });
      if (!r.isError || !a.why.test(textOf(r)))
        failures.push(`${a.kind}: ${a.sql} -> ${JSON.stringify(r).slice(0, 300)}`);
    }
    expect(failures).toEqual([]);
  });

  it('refuses every attack in explain_query, with and without analyze', async () => {
    const failures: string[] = [];
    for (const a of allAttacks()) {
      for (const analyze of [false, true]) {
        const r = await client.callTool('explain_query', { sql: a.sql, analyze });
        if (!r.isError) failures.push(`${a.kind} (analyze=${analyze}): ${a.sql}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('refuses attribute notation of functions only the warehouse catalog names', async () => {
    const sql = "SELECT x.fleet_probe FROM unnest(ARRAY['leak']) x";
    for (const [tool, args] of [
      ['run_query', { sql }],
      ['explain_query', { sql, analyze: true }],
    ] as const) {
      const r = await client.callTool(tool, args);
      expect(textOf(r), tool).toMatch(/function fleet_probe\(\) is not allowed/);
    }
  });

  it('refuses attribute notation of types only the warehouse catalog names', async () => {
    for (const sql of [
      "SELECT x.fleet_probe_t FROM unnest(ARRAY['leak']) x",
      "SELECT (x).fleet_probe_t FROM unnest(ARRAY['leak']) x",
      'SELECT x."fleet_probe_t" FROM unnest(ARRAY[\'leak\']) x',
    ]) {
      for (const [tool, args] of [
        ['run_query', { sql }],
        ['explain_query', { sql, analyze: true }],
      ] as const) {
        const r = await client.callTool(tool, args);
        expect(r.isError, `${tool}: ${sql}`).toBe(true);
        expect(textOf(r), `${tool}: ${sql}`).toMatch(/fleet_probe_t/);
      }
    }
  });

  it('runs harmless look-alikes as the single SELECT they are', async () => {
    for (const sql of HARMLESS) {
      const r = await client.callTool('run_query', { sql });
      expect(r.isError, `${sql}: ${textOf(r)}`).toBeFalsy();
    }
  });

  it('leaves the warehouse byte-for-byte unchanged', async () => {
    expect(await wh.checksum()).toBe(before);
    expect(existsSync('/tmp/mcp-fleet-pwned')).toBe(false);
  });
});

describe('a role limited to some schemas (support: sales, support, product)', () => {
  let client: TestClient;
  beforeAll(async () => {
    const s = servers.reader as BootedServer;
    client = await connectClient('modern', s.url, await s.token({ sub: 'support-1', roles: ['support'] }));
  });
  afterAll(async () => client?.close());

  // REVIEW F10: a relation named in a string is a relation, and the schema constraint applies to it.
  it.each([
    "SELECT pg_total_relation_size('billing.invoices')",
    "SELECT pg_relation_size('BILLING.invoices', 'main')",
    "SELECT obj_description('billing.invoices'::regclass)",
    'SELECT col_description(\'"billing".invoices\'::regclass, 1)',
    "SELECT 'billing.invoices'::regclass IS NOT NULL",
  ])('refuses sizes, comments and OIDs of a forbidden schema: %s', async (sql) => {
    for (const [tool, args] of [
      ['run_query', { sql }],
      ['explain_query', { sql, analyze: true }],
    ] as const) {
      const r = await client.callTool(tool, args);
      expect(r.isError, `${tool}: ${textOf(r)}`).toBe(true);
      expect(textOf(r)).toMatch(/billing/);
      expect(textOf(r)).not.toMatch(/Monthly subscription invoices|\b\d{4,}\b/);
    }
  });

  it('still reads sizes and comments of its own schemas', async () => {
    const r = await client.callTool('run_query', {
      sql: "SELECT pg_total_relation_size('support.tickets') > 0 AS sized, obj_description('support.tickets'::regclass) IS NOT NULL AS commented",
    });
    expect(r.isError, textOf(r)).toBeFalsy();
    expect(textOf(r)).toMatch(/true/);
  });
});

describe('the layers under the SQL guard', () => {
  // These call the connector directly, as a guard bug would: the transaction and role must still hold.
  it.each(['reader', 'superuser'] as const)(
    'a READ ONLY transaction refuses DML and DDL even for the %s role',
    async (who) => {
      const w = new Warehouse({
        url: who === 'reader' ? wh.readerUrl : wh.adminUrl,
        poolMax: 1,
        logger: silentLogger,
      });
      try {
        await w.init();
        for (const sql of [
          "UPDATE support.tickets SET status = 'closed'",
          'DELETE FROM sales.orders',
          'CREATE TABLE support.x (a int)',
          // The reader lost EXECUTE on large-object writers (grants.ts). A superuser keeps it, and
          // PostgreSQL 15 (unlike 18) lets a READ ONLY transaction create large objects, so for a superuser
          // only the SQL guard's function allow-list stops lo_* (see the corpus tests).
          ...(who === 'reader' ? ["SELECT lo_from_bytea(0, '\\x00'::bytea)"] : []),
        ]) {
          const run = w.readOnly({ signal: neverAborted, timeoutMs: 5_000 }, (s) => s.query(sql));
          await expect(run, sql).rejects.toThrow(
            /read-only transaction|PostgreSQL error|does not exist|permission denied/,
          );
        }
        // One statement per execution: the extended protocol refuses a second one outright.
        await expect(
          w.readOnly({ signal: neverAborted, timeoutMs: 5_000 }, (s) =>
            s.query('SELECT 1; DELETE FROM sales.orders'),
          ),
        ).rejects.toThrow(/cannot insert multiple commands into a prepared statement/);
        await expect(
          w.readOnly({ signal: neverAborted, timeoutMs: 5_000 }, (s) =>
            s.select('SELECT 1; DELETE FROM sales.orders', [], { maxRows: 5, maxBytes: 10_000 }),
          ),
        ).rejects.toThrow(/multiple commands/);
      } finally {
        await w.close();
      }
      expect(await wh.checksum()).toBe(before);
    },
  );

  it('the read-only role itself cannot write, even in a read-write transaction', async () => {
    const c = new pg.Client({ connectionString: wh.readerUrl });
    await c.connect();
    try {
      await expect(c.query("UPDATE support.tickets SET status = 'closed'")).rejects.toThrow(
        /read-only transaction/,
      ); // role default
      await c.query('BEGIN READ WRITE');
      await expect(c.query("UPDATE support.tickets SET status = 'closed'")).rejects.toThrow(
        /permission denied/,
      );
      await c.query('ROLLBACK');
      await c.query('BEGIN READ WRITE');
      await expect(c.query('CREATE TABLE support.x (a int)')).rejects.toThrow(/permission denied/);
      await c.query('ROLLBACK');
      await c.query('BEGIN READ WRITE');
      await expect(c.query('CREATE TEMP TABLE x (a int)')).rejects.toThrow(/permission denied/);
      await c.query('ROLLBACK');
    } finally {
      await c.end();
    }
    expect(await wh.checksum()).toBe(before);
  });
});
