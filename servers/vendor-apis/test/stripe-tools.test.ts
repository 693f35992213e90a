// The Stripe tools end to end: a real MCP client, the server (its Stripe tools and connector, booted
// with the vendor-apis test fixture: the real definition, Stripe its only configured vendor), the real stripe SDK and the Stripe simulator on real sockets.
// Lookups per tenant, inert injection text (V15), id smuggling refused before Stripe (V6), tenant
// pinning (V5), limits clamped (V7), errors without key or request log (V16), retries of reads.
import {
  DEMO_CUSTOMERS,
  STRIPE_INJECTION_NAME,
  STRIPE_SIM,
  type StartedStripeSimulator,
  startStripeSimulator,
  stripeCustomerId,
  stripeSubscriptionId,
} from '@mcp-fleet/simulators';
import type { TestClient } from '@mcp-fleet/testkit';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bootVendor, callTool, type VendorServer, writeTenantMap } from './vendor-server.js';

let sim: StartedStripeSimulator;
let f: VendorServer;
let acme: TestClient;
let globex: TestClient;
let initech: TestClient;
let noTenant: TestClient;

const ACME = STRIPE_SIM.tenants.acme.account;
const acmeRows = DEMO_CUSTOMERS.filter((d) => d.tenant === 'acme');
const c1 = stripeCustomerId('acme', 1);
const c2 = stripeCustomerId('globex', 2);
/** A fresh acme customer id per call (results are cached 30 s per arguments). */
let nextRow = 1;
const freshAcme = () => {
  const row = acmeRows[nextRow++ % acmeRows.length] as (typeof acmeRows)[number];
  return { id: stripeCustomerId('acme', row.id), row };
};

beforeAll(async () => {
  sim = await startStripeSimulator();
  f = await bootVendor({
    prefix: 'vendor_stripe',
    upstreams: [sim],
    env: {
      STRIPE_API_KEY: STRIPE_SIM.restrictedKey,
      STRIPE_API_URL: sim.url,
      VENDOR_TENANTS_FILE: writeTenantMap({
        tenants: {
          acme: { stripe: { account: ACME } },
          globex: { stripe: { account: STRIPE_SIM.tenants.globex.account } },
        },
      }),
      VENDOR_APIS_STRIPE_TIMEOUT_MS: '1500',
      VENDOR_APIS_PROBE_TTL_MS: '0',
      VENDOR_APIS_READ_RETRIES: '2',
      VENDOR_APIS_BREAKER_THRESHOLD: '10',
    },
  });
  acme = await f.clientFor({ role: 'support', tenant: 'acme' });
  globex = await f.clientFor({ role: 'analyst', tenant: 'globex', era: 'legacy' });
  initech = await f.clientFor({ role: 'support', tenant: 'initech' });
  noTenant = await f.clientFor({ role: 'support' });
});
afterAll(() => f?.close());
afterEach(() => sim.simulator.clearFaults());

/** The structured result's array field (empty when absent). */
const listOf = <T>(o: { data?: Record<string, unknown> }, key: string) => (o.data?.[key] ?? []) as T[];

/** Runs `fn` and returns its result with the requests it caused at the simulator. */
async function traced<T>(fn: () => Promise<T>) {
  const n = sim.simulator.requests.length;
  const out = await fn();
  return { out, requests: sim.simulator.requests.slice(n) };
}

describe('Stripe tools: lookups', () => {
  it('lists the five tools with output schemas and read-only hints', async () => {
    const tools = (await acme.listTools()).tools.filter((t) => t.name.startsWith('stripe_'));
    expect(tools.map((t) => t.name).sort()).toEqual([
      'stripe_get_customer',
      'stripe_get_subscription',
      'stripe_list_invoices',
      'stripe_list_payments',
      'stripe_search_customers',
    ]);
    for (const t of tools) {
      expect(t.outputSchema, t.name).toBeDefined();
      expect(t.annotations).toMatchObject({ readOnlyHint: true, openWorldHint: true });
    }
  });

  it('probes Stripe for /readyz on the first tenant’s account', async () => {
    const { out, requests } = await traced(() => f.readyz());
    expect(out.checks.upstream_stripe, JSON.stringify(out)).toBe('ok');
    expect(requests.map((r) => `${r.operation} ${r.account}`)).toEqual([`customers.list ${ACME}`]);
    sim.simulator.failNext('customers.list', { status: 401, message: `bad ${STRIPE_SIM.restrictedKey}` });
    const bad = await f.readyz();
    expect(bad.checks.upstream_stripe).not.toBe('ok');
    expect(JSON.stringify(bad)).not.toContain(STRIPE_SIM.restrictedKey);
  });

  it('finds a warehouse customer by email and reads its invoices, payments and subscription', async () => {
    const demo = acmeRows.find((d) => d.id === 1) as (typeof acmeRows)[number];
    const { out: found, requests } = await traced(() =>
      callTool(acme, 'stripe_search_customers', { email: demo.email }),
    );
    expect(found.isError, found.text).toBe(false);
    expect(found.meta?.['io.mcp-fleet/untrusted']).toMatchObject({ source: 'stripe' });
    const customers = found.data?.customers as { id: string; name: string; email: string }[];
    expect(customers).toEqual([expect.objectContaining({ id: c1, name: demo.name, email: demo.email })]);
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatchObject({ account: ACME, key: 'restricted' });
    expect(requests[0]?.query.query).toBe(`email:"${demo.email}"`);

    const cus = await callTool(acme, 'stripe_get_customer', { customer_id: c1 });
    expect(cus.data?.customer).toMatchObject({ id: c1, email: demo.email, currency: 'usd' });

    const inv = await callTool(acme, 'stripe_list_invoices', { customer_id: c1, limit: 100 });
    const invoices = inv.data?.invoices as { amountDue: number; status: string; created: string }[];
    expect(invoices).toHaveLength(demo.invoices.length);
    expect(invoices[0]).toMatchObject({ amountDue: 5800, status: 'open', currency: 'usd' });
    expect(invoices[0]?.created).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(inv.data?.hasMore).toBe(false);

    const pays = await callTool(acme, 'stripe_list_payments', { customer_id: c1, limit: 100 });
    expect(listOf<unknown>(pays, 'payments').length).toBe(
      demo.invoices.filter((i) => i.status === 'paid').length,
    );

    const byCustomer = await callTool(acme, 'stripe_get_subscription', { customer_id: c1 });
    const subs = byCustomer.data?.subscriptions as {
      id: string;
      status: string;
      items: { plan: string; unitAmount: number }[];
    }[];
    expect(subs).toEqual([
      expect.objectContaining({
        id: stripeSubscriptionId('acme', 1),
        status: 'active',
        items: [expect.objectContaining({ plan: 'starter', unitAmount: 5800 })],
      }),
    ]);
    const byId = await callTool(acme, 'stripe_get_subscription', {
      subscription_id: stripeSubscriptionId('acme', 1),
    });
    expect(listOf<{ id: string }>(byId, 'subscriptions')[0]?.id).toBe(stripeSubscriptionId('acme', 1));
  });

  it('pages invoices with starting_after and filters by status', async () => {
    const p1 = await callTool(acme, 'stripe_list_invoices', { customer_id: c1, limit: 2 });
    expect(p1.data?.hasMore).toBe(true);
    const after = p1.data?.nextStartingAfter as string;
    const p2 = await callTool(acme, 'stripe_list_invoices', {
      customer_id: c1,
      limit: 2,
      starting_after: after,
    });
    const ids1 = listOf<{ id: string }>(p1, 'invoices').map((i) => i.id);
    const ids2 = listOf<{ id: string }>(p2, 'invoices').map((i) => i.id);
    expect(ids2).toHaveLength(2);
    expect(ids2.some((i) => ids1.includes(i))).toBe(false);
    const paid = await callTool(acme, 'stripe_list_invoices', { customer_id: c1, status: 'paid', limit: 50 });
    expect(listOf<{ status: string }>(paid, 'invoices').every((i) => i.status === 'paid')).toBe(true);
  });

  it('returns a customer whose name is an instruction as data, and does nothing else (V15)', async () => {
    const { out, requests } = await traced(() =>
      callTool(acme, 'stripe_search_customers', { name_contains: 'previous instructions' }),
    );
    expect(out.isError, out.text).toBe(false);
    expect(listOf<{ name: string }>(out, 'customers')[0]?.name).toBe(STRIPE_INJECTION_NAME);
    expect(out.meta?.['io.mcp-fleet/untrusted']).toBeDefined();
    expect(requests.map((r) => `${r.method} ${r.operation}`)).toEqual(['GET customers.search']);
  });

  it('refuses a search without a selective filter, with nothing sent', async () => {
    for (const args of [
      {},
      { limit: 5 },
      { name_contains: 'ab' },
      { email: '' },
      { name: 'a\u0000b' },
      { query: 'email~"a"' },
    ]) {
      const { out, requests } = await traced(() => callTool(acme, 'stripe_search_customers', args));
      expect(out.isError, JSON.stringify(args)).toBe(true);
      expect(requests).toEqual([]);
    }
  });

  it('quotes hostile search values: one clause reaches Stripe and finds nobody else', async () => {
    const hostile = [
      'x" OR email:"billing@customer2.example.com',
      'x\\" OR name~"Works',
      'Juniper" OR -name:"nobody',
      '*',
    ];
    for (const name of hostile) {
      const { out, requests } = await traced(() => callTool(acme, 'stripe_search_customers', { name }));
      expect(out.isError, out.text).toBe(false);
      expect(out.data?.customers).toEqual([]);
      expect(requests).toHaveLength(1);
    }
  });
});

describe('Stripe tools: ids and limits (V6, V7)', () => {
  const idArgs: [string, string, string, Record<string, unknown>][] = [
    ['stripe_get_customer', 'customer_id', 'cus', {}],
    ['stripe_list_invoices', 'customer_id', 'cus', {}],
    ['stripe_list_invoices', 'starting_after', 'in', { customer_id: c1 }],
    ['stripe_list_payments', 'customer_id', 'cus', {}],
    ['stripe_list_payments', 'starting_after', 'pi', { customer_id: c1 }],
    ['stripe_get_subscription', 'subscription_id', 'sub', {}],
    ['stripe_get_subscription', 'customer_id', 'cus', {}],
  ];
  const hostile = fc.constantFrom(
    '/',
    '?',
    '#',
    '%2F',
    '%2e%2e',
    '..',
    '.',
    '\\',
    '&',
    '=',
    ' ',
    '\t',
    '\n',
    '\u00e9',
    '\u2215',
    '１',
    '[]',
  );
  const text = fc.string({ unit: 'grapheme', maxLength: 20 }).filter((s) => !s.includes('\u0000'));

  it('refuses smuggled ids with nothing reaching Stripe', async () => {
    const fixed = [
      'cus_123/../../v1/payouts',
      'cus_123?expand[]=sources',
      'pi_..%2F..%2Fbalance',
      'cus_123#frag',
      ' cus_123',
      'cus_123 ',
      'CUS_123',
      'acct_1McpFleetGlobex000',
      `cus_${'a'.repeat(300)}`,
    ];
    const before = sim.simulator.requests.length;
    for (const [tool, arg, , rest] of idArgs)
      for (const id of fixed) {
        const out = await callTool(acme, tool, { ...rest, [arg]: id });
        expect(out.isError, `${tool} ${arg}=${id}`).toBe(true);
      }
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...idArgs),
        fc.stringMatching(/^[A-Za-z0-9]{0,12}$/),
        hostile,
        text,
        async ([tool, arg, prefix, rest], a, h, b) => {
          const out = await callTool(acme, tool, { ...rest, [arg]: `${prefix}_${a}${h}${b}` });
          expect(out.isError).toBe(true);
        },
      ),
      { numRuns: 80 },
    );
    expect(sim.simulator.requests.slice(before)).toEqual([]);
  });

  it('refuses an account, tenant or unknown argument (strict inputs)', async () => {
    const before = sim.simulator.requests.length;
    for (const extra of [
      { stripe_account: 'acct_1McpFleetGlobex000' },
      { tenant: 'globex' },
      { expand: ['sources'] },
    ]) {
      const out = await callTool(acme, 'stripe_get_customer', { customer_id: c1, ...extra });
      expect(out.isError).toBe(true);
    }
    expect(sim.simulator.requests.slice(before)).toEqual([]);
  });

  it('clamps limits above 100 to Stripe’s maximum and refuses limits below 1', async () => {
    const { id } = freshAcme();
    const { out, requests } = await traced(() =>
      callTool(acme, 'stripe_list_invoices', { customer_id: id, limit: 1_000_000 }),
    );
    expect(out.isError, out.text).toBe(false);
    expect(requests.map((r) => r.query.limit)).toEqual(['100']);
    const s = await traced(() =>
      callTool(acme, 'stripe_search_customers', { email: 'nobody@example.com', limit: 500 }),
    );
    expect(s.requests.map((r) => r.query.limit)).toEqual(['100']);
    const p = await traced(() => callTool(acme, 'stripe_list_payments', { customer_id: id, limit: 101 }));
    expect(p.requests.map((r) => r.query.limit)).toEqual(['100']);
    for (const limit of [0, -1, 1.5]) {
      const r = await traced(() => callTool(acme, 'stripe_list_invoices', { customer_id: id, limit }));
      expect(r.out.isError).toBe(true);
      expect(r.requests).toEqual([]);
    }
  });
});

describe('Stripe tools: tenant pinning (V5)', () => {
  it('answers another tenant’s customer as not found, asked on the caller’s own account', async () => {
    for (const [tool, args] of [
      ['stripe_get_customer', { customer_id: c2 }],
      ['stripe_list_invoices', { customer_id: c2 }],
      ['stripe_list_payments', { customer_id: c2 }],
      ['stripe_get_subscription', { customer_id: c2 }],
      ['stripe_get_subscription', { subscription_id: stripeSubscriptionId('globex', 2) }],
    ] as const) {
      const { out, requests } = await traced(() => callTool(acme, tool, args));
      expect(out.code, `${tool} ${out.text}`).toBe('upstream_not_found');
      expect(requests.length).toBeGreaterThan(0);
      expect(requests.every((r) => r.account === ACME)).toBe(true);
    }
    // globex sees its own customer; a search by globex's email from acme finds nobody.
    const own = await callTool(globex, 'stripe_get_customer', { customer_id: c2 });
    expect(own.data?.customer).toMatchObject({ id: c2 });
    expect(sim.simulator.requests.at(-1)?.account).toBe(STRIPE_SIM.tenants.globex.account);
    const s = await callTool(acme, 'stripe_search_customers', { email: 'billing@customer2.example.com' });
    expect(s.data?.customers).toEqual([]);
  });

  it('refuses a tenant missing from the map, and a token without tenant, with nothing sent', async () => {
    const initechCustomer = stripeCustomerId('initech', 3);
    for (const client of [initech, noTenant]) {
      const { out, requests } = await traced(() =>
        callTool(client, 'stripe_get_customer', { customer_id: initechCustomer }),
      );
      expect(out.isError).toBe(true);
      expect(out.code).toBe('tenant_not_configured');
      expect(requests).toEqual([]);
    }
  });
});

describe('Stripe tools: failures (V16, resilience)', () => {
  it('never shows the key, the request log URL, the request id or Stripe’s message anywhere', async () => {
    const key = STRIPE_SIM.restrictedKey;
    const leaky = `Invalid API Key provided: ${key}; see https://dashboard.stripe.com/${ACME}/test/logs/req_leak`;
    const seen: string[] = [];
    for (const status of [400, 401, 403, 404, 500]) {
      const { id } = freshAcme();
      sim.simulator.setFault('customers.retrieve', { status, message: leaky });
      const out = await callTool(acme, 'stripe_get_customer', { customer_id: id });
      sim.simulator.setFault('customers.retrieve', null);
      expect(out.isError).toBe(true);
      seen.push(out.text, JSON.stringify(out.meta ?? {}));
    }
    const records = await f.auditOf('stripe_get_customer', 5);
    seen.push(JSON.stringify(records), ...f.auditLines(), ...f.logs());
    const all = seen.join('\n');
    expect(all).not.toContain(key.slice(8));
    expect(all).not.toContain('Invalid API Key');
    expect(all).not.toMatch(/dashboard\.stripe\.com|request_log_url|req_leak|req_[0-9a-z]{8}Sim/);
    expect(f.logs().length).toBeGreaterThan(0);
  });

  it('retries a read after a 5xx and after a 429 with Retry-After, then answers', async () => {
    const a = freshAcme();
    sim.simulator.failNext('customers.retrieve', { status: 503 });
    const r1 = await traced(() => callTool(acme, 'stripe_get_customer', { customer_id: a.id }));
    expect(r1.out.isError, r1.out.text).toBe(false);
    expect(r1.requests).toHaveLength(2);

    const b = freshAcme();
    sim.simulator.failNext('invoices.list', { rateLimit: 1 });
    const r2 = await traced(() => callTool(acme, 'stripe_list_invoices', { customer_id: b.id }));
    expect(r2.out.isError, r2.out.text).toBe(false);
    expect(r2.requests).toHaveLength(2);

    const c = freshAcme();
    sim.simulator.failNext('payment_intents.list', { drop: true });
    const r3 = await traced(() => callTool(acme, 'stripe_list_payments', { customer_id: c.id }));
    expect(r3.out.isError, r3.out.text).toBe(false);
    expect(r3.requests).toHaveLength(2);
  });

  it('gives up after the read retries with a clear result', async () => {
    const a = freshAcme();
    sim.simulator.setFault('customers.retrieve', { status: 500 });
    const r1 = await traced(() => callTool(acme, 'stripe_get_customer', { customer_id: a.id }));
    sim.simulator.setFault('customers.retrieve', null);
    expect(r1.out.code).toBe('upstream_unavailable');
    expect(r1.out.text).toMatch(/^Stripe: /);
    expect(r1.requests).toHaveLength(3);

    const b = freshAcme();
    sim.simulator.setFault('subscriptions.list', { rateLimit: 0 });
    const r2 = await traced(() => callTool(acme, 'stripe_get_subscription', { customer_id: b.id }));
    sim.simulator.setFault('subscriptions.list', null);
    expect(r2.out.code).toBe('upstream_rate_limited');
    expect(r2.requests).toHaveLength(3);

    // A refusal (4xx) is an answer: not retried.
    const c = freshAcme();
    sim.simulator.failNext('customers.retrieve', { status: 400 });
    const r3 = await traced(() => callTool(acme, 'stripe_get_customer', { customer_id: c.id }));
    expect(r3.out.code).toBe('upstream_rejected');
    expect(r3.requests).toHaveLength(1);
  });

  it('times out a hung Stripe and answers upstream_timeout', async () => {
    const a = freshAcme();
    sim.simulator.setFault('customers.retrieve', { hang: true });
    const r = await traced(() => callTool(acme, 'stripe_get_customer', { customer_id: a.id }));
    sim.simulator.setFault('customers.retrieve', null);
    expect(r.out.code).toBe('upstream_timeout');
    expect(r.out.text).toContain('nothing was changed');
    expect(r.requests.length).toBe(3);
  });
});
