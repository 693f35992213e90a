// describe_table and list_tables name nothing outside the caller's schemas and count no other
// tenant's rows. Support (schemas sales, support, product) saw `billing.invoices` and
// `billing.subscriptions` in the referencedBy of sales.customers, and row estimates of every tenant.
import type { BootedServer, TestClient } from '@mcp-fleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootDatabase, connectAs, createWarehouse, data, type TestWarehouse, textOf } from './helpers.js';

const ALLOWED = ['sales', 'support', 'product'];

let wh: TestWarehouse;
let s: BootedServer;
let support: TestClient;
let analyst: TestClient;

beforeAll(async () => {
  wh = await createWarehouse(0.02);
  // Statistics, so row estimates exist to hide.
  await wh.admin('ANALYZE');
  s = await bootDatabase(wh);
  support = await connectAs(s, { sub: 'support-acme', roles: ['support'], tenant: 'acme' });
  analyst = await connectAs(s, { sub: 'analyst-all', roles: ['analyst'] });
});
afterAll(async () => {
  await support?.close();
  await analyst?.close();
  await s?.close();
  await wh?.cleanup();
});

/** Every schema of the warehouse the support role may not see, and the names of their tables. */
async function forbiddenNames(): Promise<string[]> {
  const rows = await wh.admin<{ schema: string; table: string }>(
    `SELECT n.nspname AS schema, c.relname AS table FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema' AND NOT n.nspname = ANY($1)`,
    [ALLOWED],
  );
  return [...new Set(rows.flatMap((r) => [`${r.schema}.`, `"${r.schema}"`, `${r.schema}.${r.table}`]))];
}

describe('describe_table and list_tables for a constrained, tenant-bound caller', () => {
  it('never name a table of a forbidden schema, for every table the role may describe', async () => {
    const forbidden = await forbiddenNames();
    expect(forbidden).toContain('billing.invoices');
    let described = 0;
    for (const schema of ALLOWED) {
      const list = await support.callTool('list_tables', { schema });
      expect(list.isError, textOf(list)).toBeFalsy();
      for (const t of data(list).tables as { name: string }[]) {
        const r = await support.callTool('describe_table', { schema, table: t.name });
        expect(r.isError, textOf(r)).toBeFalsy();
        const out = `${JSON.stringify(r.structuredContent)}\n${textOf(r)}`;
        for (const name of forbidden) expect(out, `${schema}.${t.name}`).not.toContain(name);
        described += 1;
      }
    }
    expect(described).toBeGreaterThan(3);
  });

  it('give no row estimates to a tenant-bound caller, and keep them for one of every tenant', async () => {
    const mine = await support.callTool('describe_table', { schema: 'sales', table: 'customers' });
    expect(data(mine).rowEstimate).toBeNull();
    expect(textOf(mine)).not.toMatch(/~\d+ rows/);
    const list = await support.callTool('list_tables', { schema: 'sales' });
    for (const t of data(list).tables as { rowEstimate: number | null }[]) expect(t.rowEstimate).toBeNull();
    const all = await analyst.callTool('describe_table', { schema: 'sales', table: 'customers' });
    expect(data(all).rowEstimate).toEqual(expect.any(Number));
    expect(JSON.stringify(data(all).referencedBy)).toContain('billing.invoices');
  });
});
