// The vendor-apis server's judged journey on `pnpm start`'s fleet: a support agent of tenant acme finds
// a warehouse customer with the database server, then the same customer (same email) in Stripe
// (invoices, subscription), HubSpot (contact, deals) and Salesforce (account, open tasks), through real
// MCP clients of both protocol eras, against the clearly labelled local simulators. An initech agent
// (left out of the local tenant map on purpose) is refused.
import { connectClient, type TestClient } from '@mcp-fleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalFleet, startLocalFleet } from './local-fleet.js';

let fleet: LocalFleet;
let db: TestClient;
let vendors: TestClient;
const AGENT = 'e2e-vendor-journey';

const token = (server: string, ...more: string[]) =>
  fleet
    .fleet('token', '--agent', AGENT, '--role', 'support', '--server', server, ...more)
    .then((t) => t.trim());

beforeAll(async () => {
  fleet = await startLocalFleet();
  db = await connectClient('modern', fleet.urls.database!, await token('database'));
  vendors = await connectClient('legacy', fleet.urls['vendor-apis']!, await token('vendor-apis'));
}, 300_000);

afterAll(async () => {
  await db?.close();
  await vendors?.close();
  await fleet?.stop();
});

/** Calls a vendor tool and returns its structured content (failing with its text when it is an error). */
async function call(tool: string, args: Record<string, unknown>): Promise<Record<string, unknown>> {
  const r = await vendors.callTool(tool, args);
  expect(r.isError, `${tool}: ${JSON.stringify(r.content)}`).toBeFalsy();
  const meta = (r as { _meta?: Record<string, unknown> })._meta;
  expect(meta?.['io.mcp-fleet/untrusted'], `${tool} marks vendor data untrusted`).toBeDefined();
  return r.structuredContent as Record<string, unknown>;
}

describe('a support agent of acme on the local fleet', () => {
  it('is told the vendors are simulated, with the tenant map', () => {
    expect(fleet.output()).toMatch(/vendor-apis\s+SIMULATED stripe, hubspot, salesforce/);
    expect(fleet.output()).toContain('initech left out on purpose');
  });

  it('looks a warehouse customer up in Stripe, HubSpot and Salesforce', async () => {
    const found = await db.callTool('run_query', {
      sql: "SELECT id, name, email FROM sales.customers WHERE tenant = 'acme' ORDER BY id LIMIT 1",
    });
    expect(found.isError, JSON.stringify(found.content)).toBeFalsy();
    const [, name, email] = (found.structuredContent!.rows as [number, string, string][])[0]!;

    // Stripe: the customer by email, their invoices and subscription.
    const customers = (await call('stripe_search_customers', { email })).customers as {
      id: string;
      email: string;
    }[];
    expect(customers).toHaveLength(1);
    expect(customers[0]!.email).toBe(email);
    const cus = customers[0]!.id;
    const invoices = (await call('stripe_list_invoices', { customer_id: cus })).invoices as unknown[];
    expect(invoices.length).toBeGreaterThan(0);
    const subs = (await call('stripe_get_subscription', { customer_id: cus })).subscriptions as unknown[];
    expect(Array.isArray(subs)).toBe(true);

    // HubSpot: the contact by email, their company and its deals.
    const contacts = (await call('hubspot_search_contacts', { email })).contacts as {
      id: string;
      email?: string;
    }[];
    expect(contacts).toHaveLength(1);
    expect(contacts[0]!.email).toBe(email);
    const contact = await call('hubspot_get_contact', { contact_id: contacts[0]!.id });
    const companyIds = contact.companyIds as string[];
    expect(companyIds.length).toBeGreaterThan(0);
    const company = await call('hubspot_get_company', { company_id: companyIds[0] });
    expect(company.name).toBe(name);
    expect((company.dealIds as string[]).length).toBeGreaterThan(0);
    if (typeof company.ownerId === 'string') {
      const deals = (await call('hubspot_list_deals', { owner_id: company.ownerId })).deals as {
        id: string;
      }[];
      expect(deals.map((d) => d.id)).toEqual(expect.arrayContaining([(company.dealIds as string[])[0]]));
    }

    // Salesforce: the account by name, its billing contact by email, its open tasks.
    const accounts = (
      await call('salesforce_query', {
        object: 'Account',
        fields: ['Name'],
        where: [{ field: 'Name', op: 'eq', value: name }],
      })
    ).records as { Id: string; Name: string }[];
    expect(accounts).toHaveLength(1);
    const accountId = accounts[0]!.Id;
    const sfContacts = (
      await call('salesforce_query', {
        object: 'Contact',
        fields: ['Name', 'Email'],
        where: [{ field: 'Email', op: 'eq', value: email }],
      })
    ).records as { Id: string }[];
    expect(sfContacts).toHaveLength(1);
    const tasks = (
      await call('salesforce_query', {
        object: 'Task',
        fields: ['Subject', 'Status'],
        where: [
          { field: 'WhatId', op: 'eq', value: accountId },
          { field: 'IsClosed', op: 'eq', value: false },
        ],
      })
    ).records as unknown[];
    expect(Array.isArray(tasks)).toBe(true);
    const account = await call('salesforce_get_record', { object: 'Account', id: accountId });
    expect((account.record as { Name?: string }).Name).toBe(name);
  });

  it('an initech agent (left out of the tenant map) is refused by every vendor', async () => {
    const initech = await connectClient(
      'modern',
      fleet.urls['vendor-apis']!,
      await token('vendor-apis', '--tenant', 'initech'),
    );
    try {
      for (const [tool, args] of [
        ['stripe_search_customers', { email: 'billing@customer3.example.com' }],
        ['hubspot_search_contacts', { email: 'billing@customer3.example.com' }],
        ['salesforce_query', { object: 'Account', fields: ['Name'], where: [] }],
      ] as const) {
        const r = await initech.callTool(tool, args as Record<string, unknown>);
        expect(r.isError, tool).toBe(true);
        const meta = (r as { _meta?: Record<string, { code?: string }> })._meta;
        expect(meta?.['io.mcp-fleet/error']?.code, tool).toBe('tenant_not_configured');
      }
    } finally {
      await initech.close();
    }
  });
});
