// The flow guard's declarations of the vendor-apis server (issue 17). Every tool of the registry is
// decided: a read names the vendor object its result holds (`ctx.source('object', '<vendor>.<object>')`),
// a write sends outside the company (`sends: 'external'`). A new tool without a decision fails. With
// the Stripe simulator, a policy labelling each object by its name shows, in each call's audit
// record, which object the call named.
import {
  STRIPE_SIM,
  type StartedStripeSimulator,
  startStripeSimulator,
  stripeCustomerId,
} from '@mcp-fleet/simulators';
import type { TestClient } from '@mcp-fleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tools } from '../src/tools/index.js';
import {
  bootVendor,
  callTool,
  VENDOR_TEST_POLICY,
  type VendorServer,
  WRITE_TOOLS,
  writeTenantMap,
} from './vendor-server.js';

/** Each tool's decision: the object its result holds (for Salesforce, the `object` argument), or an external send. */
const DECISIONS: Record<string, { object: string } | { sends: 'external' }> = {
  stripe_search_customers: { object: 'stripe.customer' },
  stripe_get_customer: { object: 'stripe.customer' },
  stripe_list_invoices: { object: 'stripe.invoice' },
  stripe_list_payments: { object: 'stripe.payment_intent' },
  stripe_get_subscription: { object: 'stripe.subscription' },
  hubspot_search_contacts: { object: 'hubspot.contact' },
  hubspot_get_contact: { object: 'hubspot.contact' },
  hubspot_get_company: { object: 'hubspot.company' },
  hubspot_list_deals: { object: 'hubspot.deal' },
  hubspot_create_note: { sends: 'external' },
  salesforce_query: { object: 'salesforce.<object>' },
  salesforce_get_record: { object: 'salesforce.<object>' },
  salesforce_update_record: { sends: 'external' },
  salesforce_create_task: { sends: 'external' },
};

describe('every vendor-apis tool has a flow decision', () => {
  it('is listed here; writes (and only writes) send external; none declares static labels', () => {
    expect(tools.map((t) => t.name).sort()).toEqual(Object.keys(DECISIONS).sort());
    for (const t of tools) {
      const d = DECISIONS[t.name]!;
      expect(t.governance.sends, t.name).toBe('sends' in d ? d.sends : undefined);
      expect(t.governance.readOnly, t.name).toBe(!('sends' in d));
      expect(t.governance.labels, t.name).toBeUndefined();
    }
    expect(
      Object.entries(DECISIONS)
        .flatMap(([n, d]) => ('sends' in d ? [n] : []))
        .sort(),
    ).toEqual([...WRITE_TOOLS].sort());
  });
});

describe('objects named by a call (Stripe simulator)', () => {
  let sim: StartedStripeSimulator;
  let f: VendorServer;
  let acme: TestClient;
  const objects = ['customer', 'invoice', 'payment_intent', 'subscription'];

  beforeAll(async () => {
    sim = await startStripeSimulator();
    f = await bootVendor({
      prefix: 'vendor_flow',
      upstreams: [sim],
      policy: {
        ...VENDOR_TEST_POLICY,
        flow: {
          labels: {
            sources: {
              'vendor-apis.object': Object.fromEntries(objects.map((o) => [`stripe.${o}`, [`v-${o}`]])),
            },
          },
        },
      },
      env: {
        STRIPE_API_KEY: STRIPE_SIM.restrictedKey,
        STRIPE_API_URL: sim.url,
        VENDOR_TENANTS_FILE: writeTenantMap({
          tenants: { acme: { stripe: { account: STRIPE_SIM.tenants.acme.account } } },
        }),
      },
    });
    acme = await f.clientFor({ role: 'support', tenant: 'acme' });
  }, 60_000);
  afterAll(() => f?.close());

  /** The labels the tool's latest audit record says it recorded. */
  async function labelsOf(tool: string, args: Record<string, unknown>): Promise<string[]> {
    const r = await callTool(acme, tool, args);
    expect(r.isError, r.text).toBe(false);
    await f.server.runtime.audit.flush();
    const rec = (await f.audit(tool)).at(-1);
    const flow = rec?.details?.flow as { labels?: string[] } | undefined;
    return [...(flow?.labels ?? [])].sort();
  }

  // Vendor records carry text their customers wrote: every read is `untrusted` as well.
  it('names the Stripe object each read returns', async () => {
    const customer = stripeCustomerId('acme', 1);
    expect(await labelsOf('stripe_get_customer', { customer_id: customer })).toEqual([
      'untrusted',
      'v-customer',
    ]);
    expect(await labelsOf('stripe_list_invoices', { customer_id: customer })).toEqual([
      'untrusted',
      'v-invoice',
    ]);
    expect(await labelsOf('stripe_list_payments', { customer_id: customer })).toEqual([
      'untrusted',
      'v-payment_intent',
    ]);
  });
});
