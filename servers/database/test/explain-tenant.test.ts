// explain_query must not count other tenants' rows for a caller bound to a tenant. Row-level
// security filters after index conditions run and statistics cover every tenant, so a plan's
// numbers (Rows Removed by Filter, Actual Rows, Plan Rows, costs, buffers, timings) told a support
// agent of acme whether an email existed at globex; the attacker recovered a hidden email in 73 calls.
// Property: the plan a tenant sees is identical whether or not another tenant has matching rows.
import type { BootedServer, TestClient } from '@mcp-fleet/testkit';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootDatabase, connectAs, createWarehouse, data, type TestWarehouse, textOf } from './helpers.js';

let wh: TestWarehouse;
let s: BootedServer;
let acme: TestClient;
let analyst: TestClient;

beforeAll(async () => {
  wh = await createWarehouse(0.02);
  s = await bootDatabase(wh);
  acme = await connectAs(s, { sub: 'support-acme', roles: ['support'], tenant: 'acme' });
  analyst = await connectAs(s, { sub: 'analyst-all', roles: ['analyst'] });
});
afterAll(async () => {
  await acme?.close();
  await analyst?.close();
  await s?.close();
  await wh?.cleanup();
});

let nonce = 0;
/** The plan as the caller sees it; a fresh comment each time so no cached answer is reused. */
async function plan(c: TestClient, sql: string, analyze: boolean): Promise<Record<string, unknown>> {
  nonce += 1;
  const r = await c.callTool('explain_query', { sql: `${sql} /* probe ${nonce} */`, analyze });
  expect(r.isError, textOf(r)).toBeFalsy();
  return { ...data(r), text: textOf(r) };
}

const word = fc.stringMatching(/^[a-z0-9]{1,10}$/);
/** A probe and the row of another tenant (globex) that matches it. */
const probe = fc.record({
  kind: fc.constantFrom('email=', 'email range', 'name like', 'id=', 'email in'),
  value: word,
  analyze: fc.boolean(),
});

describe('explain_query for a tenant-bound caller', () => {
  it('shows the same plan whether or not another tenant has matching rows', async () => {
    let id = 5_000_000;
    await fc.assert(
      fc.asyncProperty(probe, async ({ kind, value, analyze }) => {
        id += 1;
        const email = `${value}@probe.example`;
        const name = `Probe ${value}`;
        const sql = {
          'email=': `select id from sales.customers where email = '${email}'`,
          'email range': `select id from sales.customers where email >= '${value}' and email < '${value}~'`,
          'name like': `select id, name from sales.customers where name like 'Probe ${value}%'`,
          'id=': `select id from sales.customers where id = ${id}`,
          'email in': `select count(*) from sales.customers where email in ('${email}', 'nobody@x')`,
        }[kind];
        const without = await plan(acme, sql, analyze);
        await wh.admin(
          `INSERT INTO sales.customers (id, tenant, name, email, country, segment, created_at)
           VALUES ($1, 'globex', $2, $3, 'US', 'smb', now())`,
          [id, name, email],
        );
        try {
          const withRow = await plan(acme, sql, analyze);
          expect(withRow).toEqual(without);
        } finally {
          await wh.admin('DELETE FROM sales.customers WHERE id = $1', [id]);
        }
      }),
      { numRuns: 30 },
    );
  });

  it('keeps the plan shape and conditions, and no number at all', async () => {
    const p = await plan(
      acme,
      "select c.id, count(*) from sales.customers c join sales.orders o on o.customer_id = c.id where c.email like 'b%' group by c.id order by 2",
      true,
    );
    expect(p).toMatchObject({ analyzed: true, totalCost: null, planRows: null, executionMs: null });
    const json = JSON.stringify(p.plan);
    expect(json).toContain('"Node Type"');
    expect(json).toContain('customers');
    expect(json).not.toMatch(
      /Rows|Cost|Time|Loops|Blocks|Buffers|Memory|Batches|Workers|Heap|Width|:\s*-?\d/,
    );
    expect(p.text).not.toMatch(/\d+(\.\d+)? ms|rows=|cost=/);
  });

  it('still gives callers of every tenant the full plan with numbers', async () => {
    const p = await plan(analyst, 'select id from sales.customers where id < 10', true);
    expect(p.totalCost).toEqual(expect.any(Number));
    expect(JSON.stringify(p.plan)).toContain('Actual Rows');
  });
});
