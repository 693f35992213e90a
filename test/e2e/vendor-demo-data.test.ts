// The vendor simulators seed Stripe, HubSpot and Salesforce from DEMO_CUSTOMERS, rows copied out of the
// demo warehouse so that an agent finds the same customers everywhere. This test seeds a real warehouse
// with the database server's dataset and checks the copy row by row: a change to the dataset that is
// not carried to the simulators fails here, not in a demo.
import { createTestDatabase } from '@mcp-fleet/testkit';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  DEMO_CUSTOMERS,
  DEMO_DATASET_VERSION,
} from '../../packages/simulators/src/vendors/demo-customers.js';
import { DATASET_VERSION, demoDatasetSql } from '../../servers/database/src/demo/dataset.js';

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let client: pg.Client;
beforeAll(async () => {
  db = await createTestDatabase('vendor_demo');
  client = new pg.Client({ connectionString: db.url });
  await client.connect();
  await client.query('BEGIN');
  // Customers 1..60 are the same at every scale (each row depends only on its id): the smallest that has them.
  for (const sql of demoDatasetSql(0.02)) await client.query(sql);
  await client.query('COMMIT');
}, 120_000);
afterAll(async () => {
  await client?.end();
  await db?.drop();
});

it('is taken from the dataset version the warehouse is built from', () => {
  expect(DEMO_DATASET_VERSION).toBe(DATASET_VERSION);
});

it('has exactly the warehouse rows: customers 1-60, their subscription and their invoices since 2025-06', async () => {
  const customers = await client.query(
    `SELECT c.id, c.tenant, c.name, c.email, trim(c.country) AS country, c.segment,
            to_char(c.created_at, 'YYYY-MM-DD') AS created, s.plan, s.status, s.mrr_cents,
            to_char(s.started_at, 'YYYY-MM-DD') AS started, to_char(s.cancelled_at, 'YYYY-MM-DD') AS cancelled
       FROM sales.customers c LEFT JOIN billing.subscriptions s ON s.customer_id = c.id
      WHERE c.id <= 60 ORDER BY c.id`,
  );
  const invoices = await client.query(
    `SELECT id, customer_id, to_char(issued_at, 'YYYY-MM-DD') AS issued, to_char(due_at, 'YYYY-MM-DD') AS due,
            to_char(paid_at, 'YYYY-MM-DD') AS paid, amount_cents, status
       FROM billing.invoices WHERE customer_id <= 60 AND issued_at >= date '2025-06-01' ORDER BY id`,
  );
  const fromWarehouse = customers.rows.map((r) => ({
    id: r.id,
    tenant: r.tenant,
    name: r.name,
    email: r.email,
    country: r.country,
    segment: r.segment,
    created: r.created,
    subscription: r.plan
      ? { plan: r.plan, status: r.status, mrrCents: r.mrr_cents, started: r.started, cancelled: r.cancelled }
      : null,
    invoices: invoices.rows
      .filter((i) => i.customer_id === r.id)
      .map((i) => ({
        id: i.id,
        issued: i.issued,
        due: i.due,
        paid: i.paid,
        amountCents: i.amount_cents,
        status: i.status,
      })),
  }));
  expect(DEMO_CUSTOMERS).toEqual(fromWarehouse);
  // The local tenant map's three tenants all have customers here (initech's are the ones refused).
  expect(new Set(DEMO_CUSTOMERS.map((c) => c.tenant))).toEqual(new Set(['acme', 'globex', 'initech']));
});
