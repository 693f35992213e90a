// One tenant's dashboards are capped (DASHBOARDS_MAX_PER_TENANT), so one analyst cannot bury the
// others' dashboards under hundreds of new ones (list_dashboards shows the 500 newest).
import type { BootedServer, TestClient } from '@mcp-fleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootDatabase, connectAs, createWarehouse, data, type TestWarehouse, textOf } from './helpers.js';

let wh: TestWarehouse;
let s: BootedServer;
let acme: TestClient;
let globex: TestClient;

const panels = [
  { title: 'Urgent open tickets', query: 'count_open_tickets', params: { priority: 'urgent' } },
];

beforeAll(async () => {
  wh = await createWarehouse(0.01);
  s = await bootDatabase(wh, { env: { DASHBOARDS_MAX_PER_TENANT: '3' } });
  acme = await connectAs(s, { sub: 'analyst-acme', roles: ['analyst'], tenant: 'acme' });
  globex = await connectAs(s, { sub: 'analyst-globex', roles: ['analyst'], tenant: 'globex' });
});
afterAll(async () => {
  await acme?.close();
  await globex?.close();
  await s?.close();
  await wh?.cleanup();
});

describe('dashboards per tenant', () => {
  it('refuses a new dashboard past the cap, still replaces existing ones, and other tenants are not affected', async () => {
    for (const n of [1, 2, 3]) {
      const r = await acme.callTool('save_dashboard', { name: `board-${n}`, title: `Board ${n}`, panels });
      expect(r.isError, textOf(r)).toBeFalsy();
    }
    const refused = await acme.callTool('save_dashboard', { name: 'board-4', title: 'Board 4', panels });
    expect(refused.isError).toBe(true);
    expect(textOf(refused)).toMatch(/already has 3 dashboards, the most it may keep \(3\)/);
    const replaced = await acme.callTool('save_dashboard', { name: 'board-2', title: 'Board two', panels });
    expect(data(replaced)).toMatchObject({ status: 'updated', version: 2 });
    const other = await globex.callTool('save_dashboard', { name: 'board-1', title: 'Globex board', panels });
    expect(data(other)).toMatchObject({ status: 'created' });
    const list = await acme.callTool('list_dashboards', {});
    expect((data(list).dashboards as { name: string }[]).map((d) => d.name).sort()).toEqual([
      'board-1',
      'board-2',
      'board-3',
    ]);
  });
});
