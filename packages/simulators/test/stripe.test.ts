// The Stripe simulator through the real `stripe` SDK (v23, fetch client, no SDK retries): key auth,
// connected accounts pinning objects, lists and their pagination, the search language, Stripe's error
// bodies, a restricted key that cannot write, the fault knobs and the request log.
import Stripe from 'stripe';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  parseSearchQuery,
  SearchQueryError,
  STRIPE_INJECTION_NAME,
  STRIPE_SIM,
  type StartedStripeSimulator,
  startStripeSimulator,
  stripeCustomerId,
  stripeSubscriptionId,
} from '../src/stripe/index.js';
import { DEMO_CUSTOMERS } from '../src/vendors/demo-customers.js';

let s: StartedStripeSimulator;
const sdk = (key: string = STRIPE_SIM.restrictedKey, stripeAccount?: string) => {
  const u = new URL(s.url);
  return new Stripe(key, {
    host: u.hostname,
    port: Number(u.port),
    protocol: 'http',
    httpClient: Stripe.createFetchHttpClient(),
    maxNetworkRetries: 0,
    ...(stripeAccount ? { stripeAccount } : {}),
  });
};
const ACME = STRIPE_SIM.tenants.acme.account;
const GLOBEX = STRIPE_SIM.tenants.globex.account;
const acme = () => sdk(STRIPE_SIM.restrictedKey, ACME);
const c1 = stripeCustomerId('acme', 1);
const c2 = stripeCustomerId('globex', 2);

beforeAll(async () => {
  s = await startStripeSimulator();
});
afterAll(() => s.close());
afterEach(() => s.simulator.clearFaults());

const errorOf = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (e) {
    return e as Stripe.errors.StripeError;
  }
  throw new Error('expected a Stripe error');
};

describe('Stripe simulator (stripe SDK)', () => {
  it('serves a warehouse customer in its tenant’s connected account, labelled', async () => {
    const c = await acme().customers.retrieve(c1);
    const demo = DEMO_CUSTOMERS.find((d) => d.id === 1);
    expect(c).toMatchObject({ id: c1, object: 'customer', name: demo?.name, email: demo?.email });
    const res = await fetch(`${s.url}/v1/customers/${c1}`, {
      headers: { authorization: `Bearer ${STRIPE_SIM.restrictedKey}`, 'stripe-account': ACME },
    });
    expect(res.headers.get('x-simulator')).toBe('mcp-fleet stripe simulator');
    expect(res.headers.get('request-id')).toMatch(/^req_/);
    const last = s.simulator.requests.at(-1);
    expect(last).toMatchObject({ operation: 'customers.retrieve', account: ACME, key: 'restricted' });
  });

  it('pins objects to their account: another account’s customer is 404 resource_missing', async () => {
    const e = await errorOf(acme().customers.retrieve(c2));
    expect(e.type).toBe('StripeInvalidRequestError');
    expect(e.statusCode).toBe(404);
    expect(e.code).toBe('resource_missing');
    expect(e.raw).toMatchObject({ request_log_url: expect.stringContaining(ACME) });
    expect(await sdk(STRIPE_SIM.restrictedKey, GLOBEX).customers.retrieve(c2)).toMatchObject({ id: c2 });
    // The platform's own account has none of them.
    expect((await errorOf(sdk().customers.retrieve(c1))).statusCode).toBe(404);
    // An account that is not connected.
    const e2 = await errorOf(sdk(STRIPE_SIM.restrictedKey, 'acct_1NotConnected000').customers.retrieve(c1));
    expect(e2.statusCode).toBe(403);
  });

  it('refuses a bad key with 401 and Stripe’s error body, masking the key', async () => {
    const e = await errorOf(sdk('rk_test_wrongwrongwrongwrong1234', ACME).customers.retrieve(c1));
    expect(e.type).toBe('StripeAuthenticationError');
    expect(e.statusCode).toBe(401);
    expect(e.message).toContain('1234');
    expect(e.message).not.toContain('wrongwrongwrong');
    expect(s.simulator.requests.at(-1)?.key).toBe('invalid');
  });

  it('lets the restricted key read but not write; the secret key gets past the permission check', async () => {
    const e = await errorOf(acme().customers.update(c1, { name: 'x' }));
    expect(e.type).toBe('StripePermissionError');
    expect(e.statusCode).toBe(403);
    const e2 = await errorOf(sdk(STRIPE_SIM.secretKey, ACME).customers.update(c1, { name: 'x' }));
    expect(e2.statusCode).toBe(404);
    expect(s.simulator.requests.at(-1)?.key).toBe('secret');
  });

  it('lists invoices newest first with limit, status and starting_after; limit > 100 is a 400', async () => {
    const all = await acme().invoices.list({ customer: c1, limit: 100 });
    expect(all.object).toBe('list');
    expect(all.data.length).toBe(DEMO_CUSTOMERS.find((d) => d.id === 1)?.invoices.length);
    expect(all.data.map((i) => i.created)).toEqual([...all.data.map((i) => i.created)].sort((a, b) => b - a));
    const p1 = await acme().invoices.list({ customer: c1, limit: 3 });
    expect(p1.has_more).toBe(true);
    const p2 = await acme().invoices.list({ customer: c1, limit: 3, starting_after: p1.data[2]?.id });
    expect(p2.data.map((i) => i.id)).toEqual(all.data.slice(3, 6).map((i) => i.id));
    const open = await acme().invoices.list({ customer: c1, status: 'open' });
    expect(open.data.every((i) => i.status === 'open')).toBe(true);
    expect(open.data.length).toBeGreaterThan(0);
    const e = await errorOf(acme().invoices.list({ customer: c1, limit: 101 }));
    expect(e.statusCode).toBe(400);
    expect(e.param).toBe('limit');
    const e2 = await errorOf(acme().invoices.list({ customer: c2 }));
    expect(e2.code).toBe('resource_missing');
    expect(e2.param).toBe('customer');
  });

  it('lists payments and subscriptions of a customer', async () => {
    const pis = await acme().paymentIntents.list({ customer: c1, limit: 100 });
    expect(pis.data.length).toBe(
      DEMO_CUSTOMERS.find((d) => d.id === 1)?.invoices.filter((i) => i.status === 'paid').length,
    );
    expect(pis.data[0]).toMatchObject({ object: 'payment_intent', status: 'succeeded', customer: c1 });
    const subs = await acme().subscriptions.list({ customer: c1, status: 'all' });
    expect(subs.data.map((x) => x.id)).toEqual([stripeSubscriptionId('acme', 1)]);
    const sub = await acme().subscriptions.retrieve(stripeSubscriptionId('acme', 1));
    expect(sub.items.data[0]?.price).toMatchObject({ nickname: 'starter', unit_amount: 5800 });
    // A cancelled warehouse subscription is canceled, and hidden from the default list.
    const cancelled = DEMO_CUSTOMERS.find(
      (d) => d.tenant === 'acme' && d.subscription?.status === 'cancelled',
    );
    if (cancelled) {
      const id = stripeCustomerId('acme', cancelled.id);
      expect((await acme().subscriptions.list({ customer: id })).data).toEqual([]);
      expect((await acme().subscriptions.list({ customer: id, status: 'all' })).data[0]?.status).toBe(
        'canceled',
      );
    }
  });

  it('searches customers with the query language', async () => {
    const r = await acme().customers.search({ query: 'email:"billing@customer1.example.com"' });
    expect(r.object).toBe('search_result');
    expect(r.data.map((c) => c.id)).toEqual([c1]);
    const sub = await acme().customers.search({ query: 'name~"juniper"', limit: 100 });
    expect(sub.data.length).toBeGreaterThan(0);
    expect(sub.data.every((c) => c.name?.toLowerCase().includes('juniper'))).toBe(true);
    const meta = await acme().customers.search({ query: 'metadata["warehouse_id"]:"1"' });
    expect(meta.data.map((c) => c.id)).toEqual([c1]);
    const inj = await acme().customers.search({ query: 'name~"ignore previous"' });
    expect(inj.data[0]?.name).toBe(STRIPE_INJECTION_NAME);
    // Another tenant's customer is not found by a search on acme's account.
    expect((await acme().customers.search({ query: 'email:"billing@customer2.example.com"' })).data).toEqual(
      [],
    );
    const paged = await acme().customers.search({ query: 'email~"customer"', limit: 2 });
    expect(paged.has_more).toBe(true);
    const next = await acme().customers.search({
      query: 'email~"customer"',
      limit: 2,
      page: paged.next_page as string,
    });
    expect(next.data[0]?.id).not.toBe(paged.data[0]?.id);
    for (const bad of [
      'name~"ab"',
      'name:juniper',
      'email:"a" AND name:"b" OR phone:"c"',
      'secret:"x"',
      'name:"x',
      '',
    ]) {
      const e = await errorOf(acme().customers.search({ query: bad }));
      expect(e.statusCode, bad).toBe(400);
      expect(e.type).toBe('StripeInvalidRequestError');
    }
  });

  it('parses quoting and escapes exactly', () => {
    expect(parseSearchQuery('name:"a \\"b\\" \\\\ c" OR -email~"xyz"')).toEqual({
      join: 'OR',
      clauses: [
        { field: 'name', op: ':', value: 'a "b" \\ c', negated: false },
        { field: 'email', op: '~', value: 'xyz', negated: true },
      ],
    });
    expect(() => parseSearchQuery('name:"\\n"')).toThrow(SearchQueryError);
    expect(() => parseSearchQuery('name:"x"name:"y"')).toThrow(SearchQueryError);
    expect(parseSearchQuery('created>1700000000').clauses[0]).toMatchObject({ op: '>', value: 1700000000 });
  });

  it('answers faults: 5xx with Stripe’s body, 429 with and without Retry-After, per operation or account', async () => {
    s.simulator.failNext('customers.retrieve', { status: 500, message: 'boom' });
    const e = await errorOf(acme().customers.retrieve(c1));
    expect(e.type).toBe('StripeAPIError');
    expect(e.statusCode).toBe(500);
    s.simulator.failNext('customers.retrieve', { rateLimit: 3 });
    const r = await errorOf(acme().customers.retrieve(c1));
    expect(r.type).toBe('StripeRateLimitError');
    expect(r.headers?.['retry-after']).toBe('3');
    s.simulator.failNext('customers.retrieve', { rateLimit: 0 });
    const r0 = await errorOf(acme().customers.retrieve(c1));
    expect(r0.code).toBe('rate_limit');
    expect(r0.headers?.['retry-after']).toBeUndefined();
    s.simulator.failNext(GLOBEX, { status: 503 });
    expect((await acme().customers.retrieve(c1)).id).toBe(c1);
    expect((await errorOf(sdk(STRIPE_SIM.restrictedKey, GLOBEX).customers.retrieve(c2))).statusCode).toBe(
      503,
    );
    s.simulator.failNext('invoices.list', { drop: true });
    expect((await errorOf(acme().invoices.list({ customer: c1 }))).type).toBe('StripeConnectionError');
  });
});
