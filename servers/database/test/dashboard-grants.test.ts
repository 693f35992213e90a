// get_dashboard obeys grants (REVIEW F2): each panel is a governed call of its saved query, made as
// the viewer: the same decision, except lists, constraints, limits, budget and audit as calling the
// saved query directly. A panel the viewer may not run never reaches the warehouse.
import { type BootedServer, connectClient, type TestClient } from '@mcp-fleet/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootDatabase, createWarehouse, data, examplePolicy, type TestWarehouse, textOf } from './helpers.js';

type Panel = { title: string; query: string; result: { rows: unknown[][] } | null; error: string | null };
type AuditRow = {
  id: string;
  tool: string;
  outcome: string;
  decision: string;
  details: Record<string, unknown> | null;
};

const exampleRoles = Object.keys((examplePolicy as { roles: Record<string, unknown> }).roles);

// The example policy plus the roles these tests need; the example roles are left as they are.
// Their grants say `database.schemas: "*"`: every schema (a grant leaving it unset would not cover
// the schema-constrained tools at all).
const allSchemas = { 'database.schemas': '*' };
const policy = structuredClone(examplePolicy) as { roles: Record<string, unknown> };
Object.assign(policy.roles, {
  // REVIEW F2's attacker: may open dashboards, may not call any saved query.
  viewer: {
    description: 'Opens dashboards only',
    grants: [{ servers: ['database'], tools: ['list_dashboards', 'get_dashboard'], constraints: allSchemas }],
  },
  no_subscriptions: {
    description: 'Reads the database, except the subscriptions summary',
    grants: [
      { servers: ['database'], access: 'read', except: ['summarize_subscriptions'], constraints: allSchemas },
    ],
  },
  metered: {
    description: 'Reads the database; one revenue query a minute',
    grants: [{ servers: ['database'], access: 'read', constraints: allSchemas }],
    limits: { perTool: { get_revenue_by_month: 1 } },
  },
  budgeted: {
    description: 'Reads the database; three cost units a session',
    grants: [{ servers: ['database'], access: 'read', constraints: allSchemas }],
    budget: { perSession: 3 },
  },
});

/** One panel of every saved query, with arguments that return rows in the demo warehouse. */
const everyQuery = [
  { title: 'Urgent tickets', query: 'count_open_tickets', params: { priority: 'urgent' } },
  { title: 'Revenue 2025', query: 'get_revenue_by_month', params: { from: '2025-01-01', to: '2025-12-31' } },
  { title: 'Customers with "a"', query: 'find_customers', params: { query: 'a', limit: 5 } },
  { title: 'Tickets of customer 1', query: 'list_customer_tickets', params: { customer_id: 1 } },
  { title: 'Subscriptions', query: 'summarize_subscriptions', params: {} },
];
const savedQueryNames = everyQuery.map((p) => p.query);

let wh: TestWarehouse;
let s: BootedServer;
let fleet: pg.Pool;

async function client(sub: string, role: string, o: { sid?: string } = {}): Promise<TestClient> {
  return connectClient('modern', s.url, await s.token({ sub, roles: [role], tenant: 'acme', ...o }));
}

async function open(sub: string, role: string, name: string, o: { sid?: string } = {}): Promise<Panel[]> {
  const c = await client(sub, role, o);
  try {
    const r = await c.callTool('get_dashboard', { name });
    expect(r.isError, textOf(r)).toBeFalsy();
    return data(r).panels as Panel[];
  } finally {
    await c.close();
  }
}

async function auditOf(agentId: string): Promise<AuditRow[]> {
  await s.server.runtime.audit.flush();
  return (
    await fleet.query<AuditRow>(
      'SELECT id, tool, outcome, decision, details FROM audit_records WHERE agent_id = $1 ORDER BY ts, tool',
      [agentId],
    )
  ).rows;
}

/** Index + sequential scans the warehouse has counted on each table of `schema`. */
async function scans(schema: string): Promise<Record<string, number>> {
  const rows = await wh.admin<{ t: string; n: number }>(
    'SELECT relname AS t, (seq_scan + coalesce(idx_scan, 0))::int AS n FROM pg_stat_user_tables WHERE schemaname = $1 ORDER BY 1',
    [schema],
  );
  return Object.fromEntries(rows.map((r) => [r.t, r.n]));
}

const total = (m: Record<string, number>) => Object.values(m).reduce((a, b) => a + b, 0);

/**
 * Waits until everything the server's single warehouse connection did so far is in the statistics:
 * runs one new query on support.tickets through it and waits for that scan to be counted (a backend
 * reports all its pending counters at once).
 */
async function settleWarehouseStats(): Promise<void> {
  const before = total(await scans('support'));
  const c = await client('stats-barrier', 'analyst');
  try {
    const r = await c.callTool('run_query', {
      sql: `SELECT count(*) AS n FROM support.tickets WHERE id <> ${Math.floor(Math.random() * 1e9) + 1e6}`,
    });
    expect(r.isError, textOf(r)).toBeFalsy();
  } finally {
    await c.close();
  }
  const until = Date.now() + 15_000;
  while (total(await scans('support')) === before) {
    if (Date.now() > until) throw new Error('the warehouse never counted the barrier query');
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  wh = await createWarehouse();
  // One warehouse connection: the statistics barrier above relies on every query sharing one backend.
  s = await bootDatabase(wh, { policy, env: { WAREHOUSE_POOL_MAX: '1' } });
  fleet = new pg.Pool({ connectionString: wh.fleetUrl, max: 1 });
  fleet.on('error', () => {});
  const analyst = await client('analyst-author', 'analyst');
  try {
    const save = async (name: string, panels: unknown[]) => {
      const r = await analyst.callTool('save_dashboard', { name, title: name, panels });
      expect(r.isError, textOf(r)).toBeFalsy();
    };
    await save('finance', [
      { title: 'Revenue', query: 'get_revenue_by_month', params: { from: '2025-01-01', to: '2025-06-30' } },
      { title: 'MRR', query: 'summarize_subscriptions', params: {} },
    ]);
    await save('everything', everyQuery);
    await save('revenue-twice', [
      {
        title: 'Revenue H1',
        query: 'get_revenue_by_month',
        params: { from: '2025-01-01', to: '2025-06-30' },
      },
      {
        title: 'Revenue H2',
        query: 'get_revenue_by_month',
        params: { from: '2025-07-01', to: '2025-12-31' },
      },
      { title: 'Urgent tickets', query: 'count_open_tickets', params: { priority: 'urgent' } },
    ]);
  } finally {
    await analyst.close();
  }
});
afterAll(async () => {
  await fleet?.end();
  await s?.close();
  await wh?.cleanup();
});

describe('get_dashboard obeys the grants of the saved queries it runs', () => {
  it("refuses a viewer the analyst's revenue panels, and the warehouse runs none of them", async () => {
    const viewer = await client('viewer-1', 'viewer');
    try {
      expect((await viewer.listTools()).tools.map((t) => t.name).sort()).toEqual([
        'get_dashboard',
        'list_dashboards',
      ]);
      await expect(viewer.callTool('get_revenue_by_month', {})).rejects.toThrow(/not available/);
    } finally {
      await viewer.close();
    }

    await settleWarehouseStats();
    const billingBefore = await scans('billing');
    const panels = await open('viewer-1', 'viewer', 'finance');
    await settleWarehouseStats();
    expect(await scans('billing')).toEqual(billingBefore);
    expect(panels.map((p) => [p.query, p.result])).toEqual([
      ['get_revenue_by_month', null],
      ['summarize_subscriptions', null],
    ]);
    for (const p of panels) expect(p.error).toMatch(/^not allowed by policy/);

    // The same measurement does see the panels when an analyst opens the dashboard.
    const analystPanels = await open('analyst-viewer', 'analyst', 'finance');
    expect(analystPanels.map((p) => p.error)).toEqual([null, null]);
    await settleWarehouseStats();
    expect(total(await scans('billing'))).toBeGreaterThan(total(billingBefore));
  });

  it('records one audit record per panel, linked to the get_dashboard call', async () => {
    await open('viewer-audit', 'viewer', 'finance');
    const viewerRows = await auditOf('viewer-audit');
    const parent = viewerRows.find((r) => r.tool === 'get_dashboard');
    expect(parent?.outcome).toBe('ok');
    expect(
      viewerRows.filter((r) => r.tool !== 'get_dashboard').map((r) => [r.tool, r.decision, r.outcome]),
    ).toEqual([
      ['get_revenue_by_month', 'deny', 'denied'],
      ['summarize_subscriptions', 'deny', 'denied'],
    ]);

    await open('analyst-audit', 'analyst', 'everything');
    const rows = await auditOf('analyst-audit');
    const top = rows.filter((r) => r.tool === 'get_dashboard');
    expect(top).toHaveLength(1);
    const children = rows.filter((r) => r.tool !== 'get_dashboard');
    expect(children.map((r) => r.tool).sort()).toEqual([...savedQueryNames].sort());
    for (const r of children) {
      expect(r.details?.parentCallId).toBe(top[0]?.id);
      expect(['ok', 'cached']).toContain(r.outcome);
    }
    for (const r of viewerRows.filter((x) => x.tool !== 'get_dashboard'))
      expect(r.details?.parentCallId).toBe(parent?.id);
  });

  it('honours except: lists', async () => {
    const panels = await open('no-subs-1', 'no_subscriptions', 'finance');
    expect(panels[0]?.error).toBeNull();
    expect(panels[0]?.result?.rows.length).toBeGreaterThan(0);
    expect(panels[1]?.result).toBeNull();
    expect(panels[1]?.error).toMatch(/^not allowed by policy.*summarize_subscriptions/);
  });

  it('counts each panel against the caller’s rate limits and session budget', async () => {
    const metered = await open('metered-1', 'metered', 'revenue-twice');
    expect(metered.map((p) => p.error === null)).toEqual([true, false, true]);
    expect(metered[1]?.error).toMatch(/Rate limit reached for get_revenue_by_month/);
    expect(metered[1]?.result).toBeNull();
    const limitedRows = await auditOf('metered-1');
    expect(limitedRows.filter((r) => r.tool === 'get_revenue_by_month').map((r) => r.outcome)).toEqual([
      'ok',
      'rate_limited',
    ]);

    // Budget 3: get_dashboard (1) + two panels (1 each); the third panel is over budget.
    const budgeted = await open('budgeted-1', 'budgeted', 'revenue-twice', { sid: 'session-b1' });
    expect(budgeted.map((p) => p.error === null)).toEqual([true, true, false]);
    expect(budgeted[2]?.error).toMatch(/budget/);
  });

  it('runs a panel exactly when the role may call its saved query directly (every example role)', async () => {
    for (const role of [...exampleRoles, 'viewer', 'no_subscriptions']) {
      const sub = `matrix-${role}`;
      const c = await client(sub, role);
      try {
        const listed = new Set((await c.listTools()).tools.map((t) => t.name));
        const direct = new Map<string, unknown[][] | null>();
        for (const p of everyQuery) {
          const r = await c.callTool(p.query, p.params).catch(() => null);
          direct.set(p.query, r && !r.isError ? ((r.structuredContent?.rows as unknown[][]) ?? null) : null);
          // The same decision answers tools/list and tools/call.
          expect(listed.has(p.query), `${role} ${p.query}`).toBe(direct.get(p.query) !== null);
        }
        if (!listed.has('get_dashboard')) continue;
        const panels = await open(sub, role, 'everything');
        for (const p of panels) {
          const expected = direct.get(p.query) ?? null;
          expect(p.error === null, `${role} ${p.query}: ${p.error}`).toBe(expected !== null);
          expect(p.result?.rows ?? null, `${role} ${p.query}`).toEqual(expected);
        }
      } finally {
        await c.close();
      }
    }
  });
});
