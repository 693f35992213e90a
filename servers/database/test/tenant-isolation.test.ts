// Tenant isolation holds for any SQL, not only for saved queries that bind `tenant` from the token:
// every call's transaction carries the token's tenant, and row-level security in the warehouse
// shows a tenant's token only that tenant's rows. A connection that did not come through the fleet
// sees no rows at all; a token without a tenant claim (analysts, admins) sees every tenant.
import type { BootedServer, TestClient } from '@mcp-fleet/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootDatabase, connectAs, createWarehouse, data, type TestWarehouse, textOf } from './helpers.js';

let wh: TestWarehouse;
let s: BootedServer;
let acme: TestClient;
let initech: TestClient;
let analyst: TestClient;

beforeAll(async () => {
  wh = await createWarehouse();
  s = await bootDatabase(wh);
  acme = await connectAs(s, { sub: 'support-acme', roles: ['support'], tenant: 'acme' });
  initech = await connectAs(s, { sub: 'analyst-initech', roles: ['analyst'], tenant: 'initech' }, 'legacy');
  analyst = await connectAs(s, { sub: 'analyst-all', roles: ['analyst'] });
});
afterAll(async () => {
  await acme?.close();
  await initech?.close();
  await analyst?.close();
  await s?.close();
  await wh?.cleanup();
});

// Row sources that each yield a `tenant` column, reaching customers directly, through joins from
// the tenant's child tables, through views, scalar subqueries and outer joins (an outer join would
// show 'hidden' for another tenant's tickets if only customers were protected).
const sources = [
  'SELECT tenant FROM sales.customers',
  'SELECT c.tenant FROM support.tickets t JOIN sales.customers c ON c.id = t.customer_id',
  'SELECT c.tenant FROM sales.orders o JOIN sales.customers c ON c.id = o.customer_id',
  'SELECT c.tenant FROM product.events e JOIN sales.customers c ON c.id = e.customer_id',
  'SELECT c.tenant FROM support.open_tickets t JOIN sales.customers c ON c.id = t.customer_id',
  "SELECT coalesce(c.tenant, 'hidden') AS tenant FROM support.tickets t LEFT JOIN sales.customers c ON c.id = t.customer_id",
  "SELECT coalesce((SELECT c.tenant FROM sales.customers c WHERE c.id = o.customer_id), 'hidden') AS tenant FROM sales.orders o",
  "SELECT tenant FROM sales.customers WHERE tenant <> 'acme' OR true",
  "SELECT tenant FROM sales.customers WHERE tenant IN ('globex', 'initech')",
];
// Shapes the model might wrap them in.
const wrappers: [string, (src: string) => string][] = [
  ['GROUP BY', (src) => `SELECT tenant, count(*)::int AS n FROM (${src}) x GROUP BY tenant ORDER BY tenant`],
  ['CTE', (src) => `WITH x AS (${src}) SELECT tenant, count(*)::int AS n FROM x GROUP BY 1 ORDER BY 1`],
  [
    'UNION ALL + DISTINCT',
    (src) =>
      `SELECT tenant, count(*)::int AS n FROM (${src} UNION ALL SELECT tenant FROM sales.customers WHERE id < 0) x GROUP BY 1 ORDER BY 1`,
  ],
  [
    'window',
    (src) =>
      `SELECT DISTINCT tenant, (count(*) OVER (PARTITION BY tenant))::int AS n FROM (${src}) x ORDER BY 1`,
  ],
];
const cases = sources.flatMap((src) =>
  wrappers.map(([shape, wrap]) => ({ name: `${shape}: ${src}`, src, sql: wrap(src) })),
);

/** What a token of `tenant` must get: the same SQL run by the admin (who bypasses RLS), filtered to that tenant. */
async function expectedFor(src: string, tenant: string | null): Promise<[string, number][]> {
  const rows = await wh.admin<{ tenant: string; n: number }>(
    `SELECT tenant, count(*)::int AS n FROM (${src}) x WHERE $1::text IS NULL OR tenant = $1 GROUP BY 1 ORDER BY 1`,
    [tenant],
  );
  return rows.map((r) => [r.tenant, r.n]);
}

describe('row-level security bound to the token', () => {
  it.each(cases)('a support token of acme sees only acme rows ($name)', async ({ src, sql }) => {
    const r = await acme.callTool('run_query', { sql });
    expect(r.isError, textOf(r)).toBeFalsy();
    expect(data(r).rows).toEqual(await expectedFor(src, 'acme'));
  });

  it('the other tenants exist and a token without a tenant claim sees all of them', async () => {
    const r = await analyst.callTool('run_query', {
      sql: 'SELECT tenant, count(*)::int AS n FROM sales.customers GROUP BY 1 ORDER BY 1',
    });
    const all = await expectedFor('SELECT tenant FROM sales.customers', null);
    expect(all.map(([t]) => t)).toEqual(['acme', 'globex', 'initech']);
    expect(data(r).rows).toEqual(all);
  });

  it('initech sees its own rows, through run_query and a saved query', async () => {
    const r = await initech.callTool('run_query', {
      sql: 'SELECT c.tenant, count(*)::int AS n FROM support.tickets t JOIN sales.customers c ON c.id = t.customer_id GROUP BY 1',
    });
    expect(data(r).rows).toEqual(
      await expectedFor(
        'SELECT c.tenant FROM support.tickets t JOIN sales.customers c ON c.id = t.customer_id',
        'initech',
      ),
    );
    const open = await initech.callTool('count_open_tickets', {});
    expect(open.isError, textOf(open)).toBeFalsy();
    const [expectedOpen] = await wh.admin<{ n: number }>(
      `SELECT count(*)::int AS n FROM support.open_tickets t JOIN sales.customers c ON c.id = t.customer_id WHERE c.tenant = 'initech'`,
    );
    const total = (data(open).rows as unknown[][]).reduce((sum, row) => sum + Number(row.at(-1)), 0);
    expect(total).toBe(expectedOpen?.n);
  });

  it('the call reads its own tenant from the settings, and cannot change them', async () => {
    const read = await acme.callTool('run_query', {
      sql: "SELECT current_setting('fleet.tenant', true) AS tenant, current_setting('fleet.user', true) AS usr",
    });
    expect(data(read).rows).toEqual([['acme', '']]);
    for (const sql of [
      "SET fleet.tenant = '*'",
      "SELECT set_config('fleet.tenant', '*', true)",
      "SELECT count(*) FROM sales.customers, set_config('fleet.tenant', '*', true) AS s",
      'RESET fleet.tenant',
    ]) {
      const r = await acme.callTool('run_query', { sql });
      expect(r.isError, sql).toBe(true);
    }
  });

  it('a tenant claim is a value, never SQL, and "*" cannot be claimed', async () => {
    for (const tenant of [
      "acme' OR true OR tenant = '",
      "x'; SET LOCAL fleet.tenant = '*'; --",
      "ac\\me'",
      '*',
    ]) {
      const c = await connectAs(s, { sub: 'odd', roles: ['support'], tenant });
      try {
        const r = await c.callTool('run_query', {
          sql: "SELECT count(*)::int AS n, current_setting('fleet.tenant', true) AS t FROM sales.customers",
        });
        if (tenant === '*') {
          expect(r.isError).toBe(true);
          expect(textOf(r)).toMatch(/reserved/);
        } else {
          expect(r.isError, textOf(r)).toBeFalsy();
          expect(data(r).rows).toEqual([[0, tenant]]);
        }
      } finally {
        await c.close();
      }
    }
  });

  it('explain_query with analyze shows a tenant no row counts at all (they would count other tenants)', async () => {
    const r = await acme.callTool('explain_query', {
      sql: "SELECT id FROM sales.customers WHERE tenant = 'globex'",
      analyze: true,
    });
    const plan = data(r).plan as { Plan: Record<string, unknown> }[];
    expect(plan[0]?.Plan['Node Type']).toEqual(expect.any(String));
    expect(JSON.stringify(plan)).not.toMatch(/Rows|Loops|Time|Cost/);
    const all = await analyst.callTool('explain_query', {
      sql: 'SELECT id FROM sales.customers',
      analyze: true,
    });
    const [everyRow] = await wh.admin<{ n: number }>('SELECT count(*)::int AS n FROM sales.customers');
    expect((data(all).plan as { Plan: { 'Actual Rows': number } }[])[0]?.Plan['Actual Rows']).toBe(
      everyRow?.n,
    );
  });

  it('table sizes (which count every tenant) are refused to a tenant, in run_query and explain_query', async () => {
    const sql =
      "SELECT pg_relation_size('sales.customers') AS s, pg_total_relation_size('sales.orders') AS t";
    for (const [tool, args] of [
      ['run_query', { sql }],
      ['explain_query', { sql, analyze: true }],
    ] as const) {
      const r = await acme.callTool(tool, args);
      expect(r.isError, tool).toBe(true);
      expect(textOf(r), tool).toMatch(/bound to a tenant/);
    }
    const all = await analyst.callTool('run_query', { sql });
    expect(all.isError, textOf(all)).toBeFalsy();
  });

  it('a connection that did not come through the fleet sees no rows, and the reader cannot set the tenant with set_config', async () => {
    const c = new pg.Client({ connectionString: wh.readerUrl });
    await c.connect();
    try {
      for (const table of [
        'sales.customers',
        'sales.orders',
        'support.tickets',
        'support.open_tickets',
        'product.events',
      ]) {
        const { rows } = await c.query(`SELECT count(*)::int AS n FROM ${table}`);
        expect(rows[0].n, table).toBe(0);
      }
      await expect(c.query("SELECT set_config('fleet.tenant', '*', false)")).rejects.toThrow(
        /permission denied for function set_config/,
      );
    } finally {
      await c.end();
    }
  });
});
