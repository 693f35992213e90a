// Dashboards: save_dashboard is the one write (analysts only), idempotent per tenant + name;
// get_dashboard runs the panels' saved queries with the viewer's own token and policy.
import { type BootedServer, connectClient } from '@mcp-fleet/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootDatabase, createWarehouse, data, type TestWarehouse, textOf } from './helpers.js';

let wh: TestWarehouse;
let s: BootedServer;

const dashboard = {
  name: 'support-overview',
  title: 'Support overview',
  description: 'Open work and revenue',
  panels: [
    { title: 'Urgent open tickets', query: 'count_open_tickets', params: { priority: 'urgent' } },
    {
      title: 'Revenue Q1 2025',
      query: 'get_revenue_by_month',
      params: { from: '2025-01-01', to: '2025-03-31' },
    },
  ],
};

async function storedRows(): Promise<{ name: string; version: number; tenant: string }[]> {
  const c = new pg.Client({ connectionString: wh.fleetUrl });
  await c.connect();
  try {
    return (await c.query('SELECT name, version, tenant FROM database_dashboards ORDER BY tenant, name'))
      .rows;
  } finally {
    await c.end();
  }
}

beforeAll(async () => {
  wh = await createWarehouse();
  s = await bootDatabase(wh);
});
afterAll(async () => {
  await s?.close();
  await wh?.cleanup();
});

describe('dashboards', () => {
  it('saves idempotently: the same content twice is one version', async () => {
    const analyst = await connectClient(
      'modern',
      s.url,
      await s.token({ sub: 'analyst-1', roles: ['analyst'], tenant: 'acme' }),
    );
    try {
      const first = await analyst.callTool('save_dashboard', dashboard);
      expect(first.isError, textOf(first)).toBeFalsy();
      expect(first.structuredContent).toEqual({ name: 'support-overview', status: 'created', version: 1 });
      const again = await analyst.callTool('save_dashboard', {
        ...dashboard,
        panels: dashboard.panels.map((p) => ({ params: p.params, query: p.query, title: p.title })),
      });
      expect(again.structuredContent).toEqual({ name: 'support-overview', status: 'unchanged', version: 1 });
      const changed = await analyst.callTool('save_dashboard', {
        ...dashboard,
        title: 'Support overview (weekly)',
      });
      expect(changed.structuredContent).toEqual({ name: 'support-overview', status: 'updated', version: 2 });
      expect(await storedRows()).toEqual([{ name: 'support-overview', version: 2, tenant: 'acme' }]);

      const listed = await analyst.callTool('list_dashboards', {});
      expect(
        (data(listed).dashboards as { name: string; panelCount: number }[]).map((d) => [
          d.name,
          d.panelCount,
        ]),
      ).toEqual([['support-overview', 2]]);
    } finally {
      await analyst.close();
    }
  });

  it('checks panels against the saved queries before storing anything', async () => {
    const analyst = await connectClient(
      'legacy',
      s.url,
      await s.token({ sub: 'analyst-2', roles: ['analyst'], tenant: 'acme' }),
    );
    try {
      const unknown = await analyst.callTool('save_dashboard', {
        ...dashboard,
        name: 'broken',
        panels: [{ title: 'x', query: 'drop_everything', params: {} }],
      });
      expect(unknown.isError).toBe(true);
      expect(textOf(unknown)).toMatch(/"drop_everything" is not a saved query/);
      const badParams = await analyst.callTool('save_dashboard', {
        ...dashboard,
        name: 'broken',
        panels: [{ title: 'x', query: 'count_open_tickets', params: { priority: 'blocker' } }],
      });
      expect(badParams.isError).toBe(true);
      expect(textOf(badParams)).toMatch(/invalid params: priority/);
      expect((await storedRows()).map((r) => r.name)).not.toContain('broken');
    } finally {
      await analyst.close();
    }
  });

  it('is denied to support, and a support viewer only gets the panels its schemas allow', async () => {
    const support = await connectClient(
      'modern',
      s.url,
      await s.token({ sub: 'support-1', roles: ['support'], tenant: 'acme' }),
    );
    try {
      const { tools } = await support.listTools();
      expect(tools.map((t) => t.name)).not.toContain('save_dashboard');
      await expect(support.callTool('save_dashboard', { ...dashboard, name: 'by-support' })).rejects.toThrow(
        /not available/,
      );
      expect((await storedRows()).map((r) => r.name)).not.toContain('by-support');

      const viewed = await support.callTool('get_dashboard', { name: 'support-overview' });
      expect(viewed.isError).toBeFalsy();
      const [urgent, revenue] = data(viewed).panels as {
        result: { rows: unknown[][] } | null;
        error: string | null;
      }[];
      // The panel is support's own call of count_open_tickets: the same rows as calling it directly.
      const direct = await support.callTool('count_open_tickets', { priority: 'urgent' });
      expect(urgent?.error).toBeNull();
      expect(urgent?.result?.rows).toEqual(data(direct).rows);
      expect(urgent?.result?.rows.length).toBeGreaterThan(0);
      expect(revenue?.result).toBeNull();
      expect(revenue?.error).toMatch(/not allowed by policy: get_revenue_by_month reads schema billing/);
    } finally {
      await support.close();
    }
  });

  it('keeps tenants apart', async () => {
    const other = await connectClient(
      'modern',
      s.url,
      await s.token({ sub: 'analyst-3', roles: ['analyst'], tenant: 'globex' }),
    );
    try {
      const listed = await other.callTool('list_dashboards', {});
      expect(data(listed).dashboards).toEqual([]);
      const missing = await other.callTool('get_dashboard', { name: 'support-overview' });
      expect(missing.isError).toBe(true);
      expect(textOf(missing)).toMatch(/not found. Call list_dashboards/);
    } finally {
      await other.close();
    }
  });
});
