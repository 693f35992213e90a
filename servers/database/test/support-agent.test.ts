// A support agent, through real MCP clients of both protocol eras, discovers the warehouse schema
// and answers "how many open tickets by priority" — and sees only what the example policy allows.
import { type BootedServer, connectClient } from '@mcp-fleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootDatabase, createWarehouse, data, type TestWarehouse, textOf } from './helpers.js';

let wh: TestWarehouse;
let s: BootedServer;
let expected: Record<string, number>;

beforeAll(async () => {
  wh = await createWarehouse();
  s = await bootDatabase(wh);
  const rows = await wh.admin<{ priority: string; n: number }>(
    `SELECT priority::text, count(*)::int AS n FROM support.tickets WHERE status IN ('new', 'open', 'pending', 'on_hold') GROUP BY 1`,
  );
  expected = Object.fromEntries(rows.map((r) => [r.priority, r.n]));
});
afterAll(async () => {
  await s?.close();
  await wh?.cleanup();
});

describe.each(['modern', 'legacy'] as const)('support agent with a %s client', (era) => {
  it('discovers the schema and counts open tickets by priority', async () => {
    const client = await connectClient(
      era,
      s.url,
      await s.token({ sub: `support-${era}`, roles: ['support'] }),
    );
    try {
      const { tools } = await client.listTools();
      const names = tools.map((t) => t.name);
      expect(names).toEqual(
        expect.arrayContaining([
          'list_schemas',
          'list_tables',
          'describe_table',
          'run_query',
          'explain_query',
          'count_open_tickets',
          'database_health',
        ]),
      );
      // Not granted to support: the write, and the saved queries that read billing.
      expect(names).not.toContain('save_dashboard');
      expect(names).not.toContain('get_revenue_by_month');
      expect(tools.find((t) => t.name === 'run_query')?.annotations).toMatchObject({ readOnlyHint: true });

      const schemas = await client.callTool('list_schemas', {});
      expect(schemas.isError).toBeFalsy();
      const schemaNames = (data(schemas).schemas as { name: string }[]).map((x) => x.name);
      expect(schemaNames.sort()).toEqual(['product', 'sales', 'support']); // billing is filtered out by policy

      const tables = await client.callTool('list_tables', { schema: 'support' });
      const listed = data(tables).tables as {
        name: string;
        rowEstimate: number | null;
        comment: string | null;
      }[];
      const tickets = listed.find((t) => t.name === 'tickets');
      expect(tickets?.rowEstimate).toBe(1000);
      expect(tickets?.comment).toMatch(/Open work/);

      const described = await client.callTool('describe_table', { schema: 'support', table: 'tickets' });
      const columns = data(described).columns as {
        name: string;
        type: string;
        enumValues: string[] | null;
      }[];
      expect(columns.find((c) => c.name === 'priority')?.enumValues).toEqual([
        'low',
        'normal',
        'high',
        'urgent',
      ]);
      expect(columns.find((c) => c.name === 'status')?.enumValues).toContain('on_hold');
      expect(data(described).primaryKey).toEqual(['id']);
      expect(data(described).foreignKeys).toEqual([
        {
          name: 'tickets_customer_id_fkey',
          columns: ['customer_id'],
          references: 'sales.customers',
          referencedColumns: ['id'],
        },
      ]);
      expect(textOf(described)).toMatch(/priority support\.ticket_priority/);

      const answer = await client.callTool('run_query', {
        sql: `SELECT priority, count(*) AS tickets FROM support.tickets
              WHERE status IN ('new', 'open', 'pending', 'on_hold') GROUP BY priority ORDER BY priority`,
      });
      expect(answer.isError).toBeFalsy();
      expect(data(answer).columns).toEqual([
        { name: 'priority', type: 'support.ticket_priority' },
        { name: 'tickets', type: 'bigint' },
      ]);
      const got = Object.fromEntries((data(answer).rows as [string, number][]).map(([p, n]) => [p, n]));
      expect(got).toEqual(expected);
      expect(data(answer).truncated).toBe(false);
      expect(textOf(answer)).toMatch(/^priority\s+\| tickets/);

      // The saved query gives the same totals.
      const saved = await client.callTool('count_open_tickets', {});
      const totals: Record<string, number> = {};
      for (const [, priority, n] of data(saved).rows as [string, string, number][])
        totals[priority] = (totals[priority] ?? 0) + n;
      expect(totals).toEqual(expected);
    } finally {
      await client.close();
    }
  });
});

describe('policy on warehouse schemas', () => {
  it('refuses support a schema outside its grant, on every tool that names one', async () => {
    const client = await connectClient(
      'modern',
      s.url,
      await s.token({ sub: 'support-1', roles: ['support'] }),
    );
    try {
      for (const [tool, args] of [
        ['list_tables', { schema: 'billing' }],
        ['describe_table', { schema: 'billing', table: 'invoices' }],
        ['run_query', { sql: 'SELECT count(*) FROM billing.invoices' }],
        ['explain_query', { sql: 'SELECT * FROM billing.invoices' }],
      ] as const) {
        const r = await client.callTool(tool, args);
        expect(r.isError, tool).toBe(true);
        expect(textOf(r), tool).toMatch(/schema billing is not one your role may read/);
      }
      // Hidden inside a subquery, a CTE or a view, and by search_path tricks: still refused.
      for (const sql of [
        'SELECT * FROM support.tickets WHERE customer_id IN (SELECT customer_id FROM billing.invoices)',
        'WITH x AS (SELECT * FROM "billing"."invoices") SELECT count(*) FROM x',
        'SELECT count(*) FROM billing.monthly_revenue',
        'SELECT count(*) FROM pg_catalog.pg_stats',
        'SELECT count(*) FROM pg_stats',
      ]) {
        const r = await client.callTool('run_query', { sql });
        expect(r.isError, sql).toBe(true);
        expect(textOf(r), sql).toMatch(/not one your role may read/);
      }
    } finally {
      await client.close();
    }
  });

  it('lets an analyst read every schema', async () => {
    const client = await connectClient(
      'legacy',
      s.url,
      await s.token({ sub: 'analyst-1', roles: ['analyst'] }),
    );
    try {
      const r = await client.callTool('run_query', {
        sql: "SELECT count(*) AS paid FROM billing.invoices WHERE status = 'paid'",
      });
      expect(r.isError).toBeFalsy();
      const [[paid]] = data(r).rows as [[number]];
      const [direct] = await wh.admin<{ n: number }>(
        "SELECT count(*)::int AS n FROM billing.invoices WHERE status = 'paid'",
      );
      expect(paid).toBe(direct?.n);
      const revenue = await client.callTool('get_revenue_by_month', { from: '2025-01-01', to: '2025-03-31' });
      expect((data(revenue).rows as unknown[][]).map((row) => row[0])).toEqual([
        '2025-01',
        '2025-02',
        '2025-03',
      ]);
    } finally {
      await client.close();
    }
  });

  it('binds a claim-scoped saved query to the token, never to arguments', async () => {
    const [one] = await wh.admin<{ id: number; name: string }>(
      "SELECT id, name FROM sales.customers WHERE tenant = 'initech' ORDER BY id LIMIT 1",
    );
    const fragment = (one?.name ?? '').split(' ')[0] as string;
    const initech = await connectClient(
      'modern',
      s.url,
      await s.token({ sub: 'support-2', roles: ['support'], tenant: 'initech' }),
    );
    const noTenant = await connectClient(
      'modern',
      s.url,
      await s.token({ sub: 'support-3', roles: ['support'] }),
    );
    try {
      const { tools } = await initech.listTools();
      const schema = (
        tools.find((t) => t.name === 'find_customers') as {
          inputSchema?: { properties?: Record<string, unknown> };
        }
      ).inputSchema;
      expect(Object.keys(schema?.properties ?? {}).sort()).toEqual(['limit', 'query']);

      const found = await initech.callTool('find_customers', { query: fragment, limit: 50 });
      expect(found.isError).toBeFalsy();
      const ids = (data(found).rows as [number][]).map((r) => r[0]);
      expect(ids).toContain(one?.id);
      const tenants = await wh.admin<{ tenant: string }>(
        'SELECT DISTINCT tenant FROM sales.customers WHERE id = ANY($1)',
        [ids],
      );
      expect(tenants.map((t) => t.tenant)).toEqual(['initech']);

      const smuggled = await initech.callTool('find_customers', { query: fragment, tenant: 'globex' });
      expect(smuggled.isError).toBe(true); // not an argument of the tool at all

      const missing = await noTenant.callTool('find_customers', { query: fragment });
      expect(missing.isError).toBe(true);
      expect(textOf(missing)).toMatch(/"tenant" claim/);

      // The same role also has run_query over sales (REVIEW F6): the scope holds there too.
      const raw = await initech.callTool('run_query', {
        sql: 'SELECT tenant, count(*)::int AS n, min(email) AS first FROM sales.customers GROUP BY 1 ORDER BY 1',
      });
      const [own] = await wh.admin<{ n: number; first: string }>(
        "SELECT count(*)::int AS n, min(email) AS first FROM sales.customers WHERE tenant = 'initech'",
      );
      expect(data(raw).rows).toEqual([['initech', own?.n, own?.first]]);
    } finally {
      await initech.close();
      await noTenant.close();
    }
  });

  it('reports warehouse health', async () => {
    const client = await connectClient(
      'modern',
      s.url,
      await s.token({ sub: 'support-4', roles: ['support'] }),
    );
    try {
      const r = await client.callTool('database_health', {});
      expect(r.isError).toBeFalsy();
      expect(r.structuredContent).toMatchObject({
        status: expect.stringMatching(/ok|degraded/),
        replication: null,
      });
      expect(data(r).latencyMs).toBeGreaterThan(0);
      expect((data(r).connections as { total: number }).total).toBeGreaterThan(0);
      expect(textOf(r)).toMatch(/^status: /);
    } finally {
      await client.close();
    }
  });
});
