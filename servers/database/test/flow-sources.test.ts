// The flow guard's sources of the database server (issue 17). Every tool of the registry is decided:
// it names the schemas whose rows it returns, or it is metadata only (the list below says which; a new
// tool without a decision fails). On a real warehouse, a policy that labels each schema by its name
// shows what each call named, in its audit record: the schemas of a query's tables; a view followed
// to the schemas it reads; every readable schema when a view calls a warehouse function (fail toward
// more labels); a saved query's schemas; nothing for metadata. Every tool that takes SQL in its input
// (found from the input schemas, not listed by hand) names the schemas that SQL reads before it runs
// it: explain_query too, with or without analyze, and when the statement fails with the rows in its
// error text (R2a-2: an explain_query cast error echoed every row of billing, unlabelled).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BootedServer, TestClient } from '@mcp-fleet/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { loadSavedQueries } from '../src/saved-queries/saved-query.js';
import { BUILT_IN_TOOL_NAMES, databaseTools } from '../src/tools/index.js';
import {
  bootDatabase,
  connectAs,
  createWarehouse,
  eventually,
  examplePolicy,
  type TestWarehouse,
  textOf,
} from './helpers.js';

const SAVED_FILE = new URL('../saved-queries.yaml', import.meta.url).pathname;

/**
 * Each built-in tool's decision. `sources`: names `ctx.source('schema', …)` for the rows it returns;
 * `metadata`: returns no warehouse rows (names, comments, plans, health), so it names none.
 * Every saved query is `sources` (each runs through runChecked, which names them).
 */
const DECISIONS: Record<(typeof BUILT_IN_TOOL_NAMES)[number], 'sources' | 'metadata'> = {
  list_schemas: 'metadata',
  list_tables: 'metadata',
  describe_table: 'metadata',
  run_query: 'sources',
  // Runs the caller's SELECT (analyze) or plans it: its error text, row counts and plan carry data.
  explain_query: 'sources',
  list_dashboards: 'metadata',
  get_dashboard: 'sources',
  save_dashboard: 'metadata',
  database_health: 'metadata',
};

/**
 * The input fields of a tool that carry SQL: string properties named `sql`, or described as SQL or a
 * SELECT, at any depth of the input's JSON Schema (what tools/list shows the model).
 */
function sqlFields(t: { input: z.ZodType }): string[] {
  const found: string[] = [];
  const walk = (node: unknown, path: string): void => {
    if (typeof node !== 'object' || node === null) return;
    const n = node as { type?: unknown; description?: unknown; properties?: unknown; items?: unknown };
    if (n.type === 'string' && path !== '') {
      const name = path.split('.').at(-1);
      const said = typeof n.description === 'string' ? n.description : '';
      if (name === 'sql' || /\bSQL\b|\bSELECT\b/.test(said)) found.push(path);
    }
    if (typeof n.properties === 'object' && n.properties !== null)
      for (const [k, v] of Object.entries(n.properties)) walk(v, path === '' ? k : `${path}.${k}`);
    if (n.items !== undefined) walk(n.items, `${path}[]`);
    for (const key of ['anyOf', 'oneOf', 'allOf'] as const) {
      const alts = (node as Record<string, unknown>)[key];
      if (Array.isArray(alts)) for (const a of alts) walk(a, path);
    }
  };
  walk(z.toJSONSchema(t.input, { io: 'input', unrepresentable: 'any' }), '');
  return found;
}

/** The registry's tools whose input carries SQL, with those fields. */
function sqlTools(): { name: string; fields: string[] }[] {
  const saved = loadSavedQueries(SAVED_FILE, BUILT_IN_TOOL_NAMES);
  return databaseTools(saved, { queryTimeoutMs: 1000 })
    .map((t) => ({ name: t.name, fields: sqlFields(t as unknown as { input: z.ZodType }) }))
    .filter((t) => t.fields.length > 0);
}

describe('every database tool has a flow decision', () => {
  it('every tool that takes SQL in its input names sources (found from the input schemas)', () => {
    const tools = sqlTools();
    // The detector finds the two known ones (so an empty list cannot pass this test by accident).
    expect(tools.map((t) => t.name).sort()).toEqual(expect.arrayContaining(['explain_query', 'run_query']));
    for (const t of tools) {
      expect(
        DECISIONS[t.name as keyof typeof DECISIONS],
        `${t.name} takes SQL (${t.fields.join(', ')}) and must name the schemas it reads`,
      ).toBe('sources');
    }
  });

  it('built-ins are listed; everything else is a saved query; none declares static labels or sends', () => {
    const saved = loadSavedQueries(SAVED_FILE, BUILT_IN_TOOL_NAMES);
    const tools = databaseTools(saved, { queryTimeoutMs: 1000 });
    const savedNames = new Set(saved.map((q) => q.name));
    for (const t of tools) {
      const decided = t.name in DECISIONS || savedNames.has(t.name);
      expect(decided, `${t.name} has no flow decision in this test`).toBe(true);
      expect(t.governance.sends, t.name).toBeUndefined();
      expect(t.governance.labels, t.name).toBeUndefined();
    }
    expect(Object.keys(DECISIONS).sort()).toEqual([...BUILT_IN_TOOL_NAMES].sort());
  });
});

describe('schemas named by a call (real warehouse)', () => {
  let wh: TestWarehouse;
  let s: BootedServer;
  let labelled: unknown;
  let fleet: pg.Pool;
  const clients: TestClient[] = [];
  let n = 0;

  beforeAll(async () => {
    wh = await createWarehouse(0.02);
    // A view in sales reading billing, and a view calling a warehouse function (which could read anything).
    await wh.admin(`CREATE VIEW sales.plan_of_customer AS SELECT s.plan FROM billing.subscriptions s`);
    await wh.admin(
      `CREATE FUNCTION product.answer() RETURNS bigint LANGUAGE sql STABLE AS 'SELECT 42::bigint'`,
    );
    await wh.admin(`CREATE VIEW product.answer_view AS SELECT product.answer() AS n`);
    await wh.admin(`GRANT SELECT ON sales.plan_of_customer, product.answer_view TO "${wh.readerRole}"`);
    const policy = structuredClone(examplePolicy) as {
      flow: { labels: { sources: Record<string, unknown> } };
    };
    // Each schema labelled by its own name: the labels recorded are the sources named.
    policy.flow.labels.sources['database.schema'] = {
      billing: ['s-billing'],
      sales: ['s-sales'],
      support: ['s-support'],
      product: ['s-product'],
    };
    labelled = policy;
    s = await bootDatabase(wh, { policy, definition: { savedQueriesFile: SAVED_FILE } });
    fleet = new pg.Pool({ connectionString: wh.fleetUrl, max: 1 });
  }, 180_000);
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await fleet?.end();
    await s?.close();
    await wh?.cleanup();
  });

  /** One call: its text, whether it failed, and the labels its audit record says it recorded (sorted). */
  async function call(
    role: string,
    tool: string,
    args: Record<string, unknown>,
    o: { sub?: string; on?: BootedServer } = {},
  ): Promise<{ labels: string[]; text: string; isError: boolean }> {
    const on = o.on ?? s;
    const sub = o.sub ?? `flow-src-${++n}`;
    const c = await connectAs(on, { sub, roles: [role], sid: `${sub}-session-${++n}` });
    clients.push(c);
    const r = await c.callTool(tool, args);
    await on.server.runtime.audit.flush();
    const { rows } = await fleet.query<{ labels: string[] | null }>(
      `SELECT details->'flow'->'labels' AS labels FROM audit_records WHERE agent_id = $1 AND tool = $2 AND outcome <> 'started' ORDER BY ts`,
      [sub, tool],
    );
    return {
      labels: [...(rows.at(-1)?.labels ?? [])].sort(),
      text: textOf(r as { content: { type: string; text?: string }[] }),
      isError: r.isError === true,
    };
  }

  /** The labels a successful call recorded (sorted; [] when none). */
  async function labelsOf(
    role: string,
    tool: string,
    args: Record<string, unknown>,
    sub = `flow-src-${++n}`,
  ): Promise<string[]> {
    const r = await call(role, tool, args, { sub });
    expect(r.isError, r.text).toBe(false);
    return r.labels;
  }

  it('names the schema of each table a query reads', async () => {
    expect(
      await labelsOf('admin', 'run_query', {
        sql: 'SELECT c.name, s.plan FROM sales.customers c JOIN billing.subscriptions s ON s.customer_id = c.id LIMIT 3',
      }),
    ).toEqual(['s-billing', 's-sales']);
    expect(await labelsOf('admin', 'run_query', { sql: 'SELECT count(*) FROM support.tickets' })).toEqual([
      's-support',
    ]);
  });

  it('follows views to the schemas they read', async () => {
    expect(await labelsOf('admin', 'run_query', { sql: 'SELECT * FROM billing.monthly_revenue' })).toEqual([
      's-billing',
    ]);
    expect(
      await labelsOf('admin', 'run_query', { sql: 'SELECT plan FROM sales.plan_of_customer LIMIT 1' }),
    ).toEqual(['s-billing', 's-sales']);
  });

  it('names every schema the caller could read when a view calls a warehouse function', async () => {
    expect(await labelsOf('admin', 'run_query', { sql: 'SELECT n FROM product.answer_view' })).toEqual([
      's-billing',
      's-product',
      's-sales',
      's-support',
    ]);
    // support may read sales, support and product only: those are the schemas it could have read.
    expect(await labelsOf('support', 'run_query', { sql: 'SELECT n FROM product.answer_view' })).toEqual([
      's-product',
      's-sales',
      's-support',
    ]);
  });

  it('names a saved query’s schemas, and nothing for a query without tables or a metadata tool', async () => {
    expect(await labelsOf('admin', 'summarize_subscriptions', {})).toEqual(['s-billing']);
    expect(await labelsOf('admin', 'run_query', { sql: 'SELECT 1 AS one' })).toEqual([]);
    expect(await labelsOf('admin', 'list_tables', { schema: 'billing' })).toEqual([]);
    expect(await labelsOf('admin', 'describe_table', { schema: 'billing', table: 'invoices' })).toEqual([]);
  });

  it('a result served from the cache names its sources too (a second session of the same caller)', async () => {
    const sql = 'SELECT count(*) FROM billing.invoices';
    expect(await labelsOf('admin', 'run_query', { sql }, 'flow-cached')).toEqual(['s-billing']);
    expect(await labelsOf('admin', 'run_query', { sql }, 'flow-cached')).toEqual(['s-billing']);
    const { rows } = await fleet.query<{ cached: unknown }>(
      `SELECT details->'cache' AS cached FROM audit_records WHERE agent_id = 'flow-cached' ORDER BY ts`,
    );
    expect(rows).toHaveLength(2);
    expect(rows[1]?.cached, 'the second call was served from the cache').toBeTruthy();
  });
  it('every tool that takes SQL names the schemas of that SQL (generated over the registry)', async () => {
    const sql = 'SELECT count(*) FROM billing.invoices';
    for (const t of sqlTools()) {
      const args = Object.fromEntries(t.fields.map((f) => [f, sql]));
      expect(await labelsOf('admin', t.name, args), `${t.name} ${JSON.stringify(args)}`).toEqual([
        's-billing',
      ]);
    }
  });

  it('explain_query names the schemas it plans and runs, with or without analyze', async () => {
    const sql =
      'SELECT c.name FROM sales.customers c JOIN billing.subscriptions s ON s.customer_id = c.id WHERE s.mrr_cents > 10000';
    expect(await labelsOf('admin', 'explain_query', { sql })).toEqual(['s-billing', 's-sales']);
    expect(await labelsOf('admin', 'explain_query', { sql, analyze: true })).toEqual([
      's-billing',
      's-sales',
    ]);
    // A view is followed to what it reads, as for run_query.
    expect(
      await labelsOf('admin', 'explain_query', {
        sql: 'SELECT plan FROM sales.plan_of_customer',
        analyze: true,
      }),
    ).toEqual(['s-billing', 's-sales']);
    expect(await labelsOf('admin', 'explain_query', { sql: 'SELECT 1 AS one', analyze: true })).toEqual([]);
  });

  // The example policy's labels (billing: financial, pii; sales: pii): what a real session gets.
  describe('with the example policy', () => {
    let ex: BootedServer;
    beforeAll(async () => {
      ex = await bootDatabase(wh);
    }, 120_000);
    afterAll(async () => {
      await ex?.close();
    });

    // R2a-2: the cast fails while ANALYZE runs the SELECT, and PostgreSQL's error quotes the whole
    // string_agg: every customer's name, e-mail and billing amount.
    const leak =
      "SELECT string_agg(c.name || '|' || c.email || '|' || s.mrr_cents, ';')::int " +
      'FROM sales.customers c JOIN billing.subscriptions s ON s.customer_id = c.id';

    it('explain_query with analyze over billing labels the call financial', async () => {
      const r = await call(
        'admin',
        'explain_query',
        {
          sql: 'SELECT count(*) FROM billing.subscriptions WHERE customer_id = 6 AND mrr_cents > 20000',
          analyze: true,
        },
        { on: ex },
      );
      expect(r.isError, r.text).toBe(false);
      expect(r.labels).toEqual(['financial', 'pii']);
    });

    it('an explain_query analyze that fails with the rows in its error text is labelled (admin: billing)', async () => {
      const [row] = await wh.admin<{ email: string; mrr: number }>(
        'SELECT c.email, s.mrr_cents AS mrr FROM sales.customers c JOIN billing.subscriptions s ON s.customer_id = c.id LIMIT 1',
      );
      const r = await call('admin', 'explain_query', { sql: leak, analyze: true }, { on: ex });
      expect(r.isError).toBe(true);
      // The error text does carry the rows (what makes labelling it necessary).
      expect(r.text).toContain(String(row?.email));
      expect(r.labels).toEqual(['financial', 'pii']);
    });

    it('the same through a support token (sales only) is labelled pii', async () => {
      const r = await call(
        'support',
        'explain_query',
        { sql: "SELECT string_agg(name || '|' || email, ';')::int FROM sales.customers", analyze: true },
        { on: ex },
      );
      expect(r.isError).toBe(true);
      expect(r.text).toMatch(/@/);
      expect(r.labels).toEqual(['pii']);
    });
  });
  // A dashboard panel whose saved query fails with rows in its error text: get_dashboard returns that
  // text, so its own record names the query's schemas too (the panel's call names them for its own).
  describe('a dashboard panel that fails with rows in its error', () => {
    let dash: BootedServer;
    beforeAll(async () => {
      const file = join(mkdtempSync(join(tmpdir(), 'flow-dash-')), 'saved.yaml');
      writeFileSync(
        file,
        [
          'queries:',
          '  customers_as_number:',
          '    title: Customers as one number',
          '    description: A saved query that fails at run time, quoting every customer in its error.',
          '    statement: |',
          "      SELECT string_agg(name || '|' || email, ';')::int AS n FROM sales.customers",
          '',
        ].join('\n'),
      );
      dash = await bootDatabase(wh, { policy: labelled, definition: { savedQueriesFile: file } });
    }, 120_000);
    afterAll(async () => {
      await dash?.close();
    });

    it('get_dashboard names the failed panel’s schemas', async () => {
      const saved = await call(
        'admin',
        'save_dashboard',
        { name: 'flow-failing', title: 'Failing', panels: [{ title: 'All', query: 'customers_as_number' }] },
        { on: dash },
      );
      expect(saved.isError, saved.text).toBe(false);
      // The saved query's schemas are known once the server has inspected the warehouse.
      let r = await call('admin', 'get_dashboard', { name: 'flow-failing' }, { on: dash });
      await eventually(async () => {
        r = await call('admin', 'get_dashboard', { name: 'flow-failing' }, { on: dash });
        return !/not ready yet/.test(r.text);
      });
      expect(r.text).toMatch(/invalid input syntax for type integer: ".*@/);
      expect(r.labels).toEqual(['s-sales']);
    });
  });
});
