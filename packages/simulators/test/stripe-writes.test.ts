// The Stripe simulator's writes through the real `stripe` SDK (fetch client, no SDK retries), as the
// admin server meets them: the write key of acme's own account may refund and change plans, the
// platform's read key may not; refunds refused like Stripe (amount_too_large, charge_already_refunded,
// a payment without a charge); plan changes refused for unknown, inactive, one-time and
// other-currency prices; Idempotency-Key semantics (replay with Idempotent-Replayed, idempotency_error,
// per-key scope); the billing demo's data; faults that let a write land and spoil its answer.
import fc from 'fast-check';
import Stripe from 'stripe';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  STRIPE_DEMO,
  STRIPE_SIM,
  type StartedStripeSimulator,
  startStripeSimulator,
} from '../src/stripe/index.js';

let s: StartedStripeSimulator;
const sdk = (key: string = STRIPE_SIM.writeKey, stripeAccount?: string) => {
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
const PI = STRIPE_DEMO.paymentIntents;
const PRICE = STRIPE_DEMO.prices;
const SUB = STRIPE_DEMO.subscriptions;

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
/** The Idempotent-Replayed header of an SDK answer (the fetch client keeps a Headers object). */
const replayedHeader = (x: { lastResponse: { headers: unknown } }) => {
  const h = x.lastResponse.headers;
  return h instanceof Headers
    ? h.get('idempotent-replayed')
    : (h as Record<string, string>)['idempotent-replayed'];
};
const posts = (path: string) => s.simulator.requests.filter((r) => r.method === 'POST' && r.path === path);
const refundsOf = (pi: string) => s.simulator.account('acme').refunds.filter((r) => r.payment_intent === pi);

describe('Stripe simulator writes (stripe SDK)', () => {
  it('serves a payment intent with its charge: amount, received, currency, status, refunded', async () => {
    const pi = await sdk().paymentIntents.retrieve(PI.usdPartlyRefunded, { expand: ['latest_charge'] });
    expect(pi).toMatchObject({ id: PI.usdPartlyRefunded, status: 'succeeded', currency: 'usd' });
    const ch = pi.latest_charge as Stripe.Charge;
    expect(ch).toMatchObject({
      object: 'charge',
      amount_refunded: 1000,
      payment_intent: pi.id,
      refunded: false,
    });
    // Unexpanded, the charge is its id.
    expect(typeof (await sdk().paymentIntents.retrieve(PI.jpy)).latest_charge).toBe('string');
    const jpy = await sdk().paymentIntents.retrieve(PI.jpyPartlyRefunded, { expand: ['latest_charge'] });
    expect(jpy).toMatchObject({ currency: 'jpy', amount_received: 50_000 });
    expect((jpy.latest_charge as Stripe.Charge).amount_refunded).toBe(20_000);
    const full = await sdk().paymentIntents.retrieve(PI.usdRefunded, { expand: ['latest_charge'] });
    expect((full.latest_charge as Stripe.Charge).refunded).toBe(true);
    expect((await sdk().paymentIntents.retrieve(PI.unpaid)).latest_charge).toBeNull();
    // The write key's own account is acme's: the read key sees its platform account, without these.
    expect((await errorOf(sdk(STRIPE_SIM.restrictedKey).paymentIntents.retrieve(PI.jpy))).statusCode).toBe(
      404,
    );
    // The write key cannot reach another account.
    const other = await errorOf(sdk(STRIPE_SIM.writeKey, STRIPE_SIM.tenants.globex.account).prices.list());
    expect(other.statusCode).toBe(403);
  });

  it('refunds with the write key, and lists the refunds of a payment', async () => {
    const before = refundsOf(PI.eurPartlyRefunded).length;
    const r = await sdk().refunds.create({
      payment_intent: PI.eurPartlyRefunded,
      amount: 900,
      reason: 'requested_by_customer',
      metadata: { fleet_approval_id: 'apr_1' },
    });
    expect(r).toMatchObject({ object: 'refund', amount: 900, currency: 'eur', status: 'succeeded' });
    expect(r.metadata).toEqual({ fleet_approval_id: 'apr_1' });
    const list = await sdk().refunds.list({ payment_intent: PI.eurPartlyRefunded, limit: 100 });
    expect(list.data.length).toBe(before + 1);
    expect(list.data[0]?.id).toBe(r.id);
    const pi = await sdk().paymentIntents.retrieve(PI.eurPartlyRefunded, { expand: ['latest_charge'] });
    expect((pi.latest_charge as Stripe.Charge).amount_refunded).toBe(5_000 + 900);
  });

  it('refuses the read key’s writes with a permission error, and changes nothing', async () => {
    const before = refundsOf(PI.usd).length;
    const e = await errorOf(
      sdk(STRIPE_SIM.restrictedKey, STRIPE_SIM.tenants.acme.account).refunds.create({
        payment_intent: PI.usd,
        amount: 1,
      }),
    );
    expect(e.statusCode).toBe(403);
    expect(e.type).toBe('StripePermissionError');
    expect(refundsOf(PI.usd).length).toBe(before);
  });

  it('refuses a refund above what is refundable, of a refunded payment, of an unpaid one, like Stripe', async () => {
    const over = await errorOf(sdk().refunds.create({ payment_intent: PI.jpy, amount: 12_001 }));
    expect(over).toMatchObject({ statusCode: 400, code: 'amount_too_large', param: 'amount' });
    expect(over.message).toContain('¥12,000');
    const done = await errorOf(sdk().refunds.create({ payment_intent: PI.usdRefunded, amount: 1 }));
    expect(done).toMatchObject({ statusCode: 400, code: 'charge_already_refunded' });
    const unpaid = await errorOf(sdk().refunds.create({ payment_intent: PI.unpaid, amount: 1 }));
    expect(unpaid.statusCode).toBe(400);
    const unknown = await errorOf(sdk().refunds.create({ payment_intent: 'pi_NoSuchPayment000', amount: 1 }));
    expect(unknown).toMatchObject({ statusCode: 400, code: 'resource_missing', param: 'payment_intent' });
    expect(refundsOf(PI.jpy)).toEqual([]);
  });

  it('refuses malformed amounts and unknown parameters before anything happens', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.integer({ max: 0 }).map(String), fc.constantFrom('1.5', '1e3', '', 'abc', ' 1', '0x10')),
        async (amount) => {
          const res = await fetch(`${s.url}/v1/refunds`, {
            method: 'POST',
            headers: {
              authorization: `Bearer ${STRIPE_SIM.writeKey}`,
              'content-type': 'application/x-www-form-urlencoded',
            },
            body: new URLSearchParams({ payment_intent: PI.jpy, amount }).toString(),
          });
          expect(res.status).toBe(400);
        },
      ),
      { numRuns: 30 },
    );
    const e = await errorOf(
      sdk().refunds.create({
        payment_intent: PI.jpy,
        amount: 1,
        instructions_email: 'x@example.com',
      } as never),
    );
    expect(e).toMatchObject({ statusCode: 400, code: 'parameter_unknown' });
    expect(refundsOf(PI.jpy)).toEqual([]);
  });

  it('replays the same key with the same parameters (Idempotent-Replayed) and refunds once', async () => {
    const key = `k-${Date.now()}`;
    const before = refundsOf(PI.jpyPartlyRefunded).length;
    const a = await sdk().refunds.create(
      { payment_intent: PI.jpyPartlyRefunded, amount: 100 },
      { idempotencyKey: key },
    );
    const b = await sdk().refunds.create(
      { payment_intent: PI.jpyPartlyRefunded, amount: 100 },
      { idempotencyKey: key },
    );
    expect(b.id).toBe(a.id);
    expect(replayedHeader(b)).toBe('true');
    expect(replayedHeader(a)).toBeNull();
    expect(refundsOf(PI.jpyPartlyRefunded).length).toBe(before + 1);
    expect(posts('/v1/refunds').at(-1)).toMatchObject({ idempotencyKey: key, replayed: true });
    // Other parameters with the same key: idempotency_error, nothing applied.
    const e = await errorOf(
      sdk().refunds.create({ payment_intent: PI.jpyPartlyRefunded, amount: 101 }, { idempotencyKey: key }),
    );
    expect(e.type).toBe('StripeIdempotencyError');
    expect(e.statusCode).toBe(400);
    expect(refundsOf(PI.jpyPartlyRefunded).length).toBe(before + 1);
    // The key is scoped to the API key: the platform's secret key with the same key is a new request.
    const other = await sdk(STRIPE_SIM.secretKey, STRIPE_SIM.tenants.acme.account).refunds.create(
      { payment_intent: PI.jpyPartlyRefunded, amount: 100 },
      { idempotencyKey: key },
    );
    expect(other.id).not.toBe(a.id);
    expect(refundsOf(PI.jpyPartlyRefunded).length).toBe(before + 2);
  });

  it('a refused request is replayed as refused, not run again', async () => {
    const key = `refused-${Date.now()}`;
    const e1 = await errorOf(
      sdk().refunds.create({ payment_intent: PI.usdRefunded, amount: 5 }, { idempotencyKey: key }),
    );
    const e2 = await errorOf(
      sdk().refunds.create({ payment_intent: PI.usdRefunded, amount: 5 }, { idempotencyKey: key }),
    );
    expect(e1.code).toBe('charge_already_refunded');
    expect(e2.code).toBe('charge_already_refunded');
    expect(posts('/v1/refunds').at(-1)?.replayed).toBe(true);
  });

  it('a 5xx after the refund landed: the refund exists once, and the same key replays that answer', async () => {
    const key = `after-${Date.now()}`;
    const before = refundsOf(PI.usd).length;
    s.simulator.failAfterApply('refunds.create', 500);
    const e = await errorOf(
      sdk().refunds.create({ payment_intent: PI.usd, amount: 100 }, { idempotencyKey: key }),
    );
    expect(e.statusCode).toBe(500);
    expect(refundsOf(PI.usd).length).toBe(before + 1);
    const again = await errorOf(
      sdk().refunds.create({ payment_intent: PI.usd, amount: 100 }, { idempotencyKey: key }),
    );
    expect(again.statusCode).toBe(500);
    expect(refundsOf(PI.usd).length).toBe(before + 1);
    // dropAfterCommit (the base knob): it lands, the connection is cut.
    s.simulator.failNext('refunds.create', { dropAfterCommit: true });
    await errorOf(
      sdk().refunds.create({ payment_intent: PI.usd, amount: 50 }, { idempotencyKey: `${key}-2` }),
    );
    expect(refundsOf(PI.usd).length).toBe(before + 2);
  });

  it('serves prices and changes a plan; refuses unknown, inactive, one-time and other-currency prices', async () => {
    expect(await sdk().prices.retrieve(PRICE.legacyInactiveUsd)).toMatchObject({
      active: false,
      currency: 'usd',
    });
    const refusals: [string, string, Record<string, unknown>][] = [
      [SUB.active, 'price_NoSuchPrice00000', { code: 'resource_missing', param: 'items[0][price]' }],
      [SUB.active, PRICE.legacyInactiveUsd, { param: 'items[0][price]' }],
      [SUB.active, PRICE.setupOneTimeUsd, { param: 'items[0][price]' }],
      [SUB.active, PRICE.starterMonthlyJpy, { param: 'items[0][price]' }],
      [SUB.jpy, PRICE.growthMonthlyUsd, { param: 'items[0][price]' }],
    ];
    for (const [sub, price, expected] of refusals) {
      const before = JSON.stringify(await sdk().subscriptions.retrieve(sub));
      const item = (await sdk().subscriptions.retrieve(sub)).items.data[0]?.id as string;
      const e = await errorOf(sdk().subscriptions.update(sub, { items: [{ id: item, price }] }));
      expect(e.statusCode, price).toBe(400);
      expect(e, price).toMatchObject(expected);
      expect(JSON.stringify(await sdk().subscriptions.retrieve(sub))).toBe(before);
    }
    const canceled = await sdk().subscriptions.retrieve(SUB.canceled);
    const e = await errorOf(
      sdk().subscriptions.update(SUB.canceled, {
        items: [{ id: canceled.items.data[0]?.id as string, price: PRICE.growthMonthlyUsd }],
      }),
    );
    expect(e.statusCode).toBe(400);
    // The read key cannot change a plan.
    const ro = await errorOf(
      sdk(STRIPE_SIM.restrictedKey, STRIPE_SIM.tenants.acme.account).subscriptions.update(SUB.active, {
        proration_behavior: 'none',
      }),
    );
    expect(ro.statusCode).toBe(403);

    const sub = await sdk().subscriptions.retrieve(SUB.active);
    const item = sub.items.data[0]?.id as string;
    const key = `plan-${Date.now()}`;
    const updated = await sdk().subscriptions.update(
      SUB.active,
      { items: [{ id: item, price: PRICE.growthMonthlyUsd }], proration_behavior: 'create_prorations' },
      { idempotencyKey: key },
    );
    expect(updated.items.data.map((i) => i.price.id)).toEqual([PRICE.growthMonthlyUsd]);
    const replay = await sdk().subscriptions.update(
      SUB.active,
      { items: [{ id: item, price: PRICE.growthMonthlyUsd }], proration_behavior: 'create_prorations' },
      { idempotencyKey: key },
    );
    expect(replayedHeader(replay)).toBe('true');
    expect(posts(`/v1/subscriptions/${SUB.active}`).filter((r) => !r.replayed).length).toBeGreaterThan(0);
  });

  it('the control plane shows every request, writes with their idempotency key', async () => {
    const body = (await (await fetch(`${s.url}/_simulator/requests`)).json()) as {
      requests: { method: string; path: string; key: string; idempotencyKey?: string }[];
    };
    const writes = body.requests.filter((r) => r.method === 'POST' && r.path === '/v1/refunds');
    expect(writes.length).toBe(posts('/v1/refunds').length);
    expect(writes.some((r) => r.key === 'write' && r.idempotencyKey !== undefined)).toBe(true);
    expect(JSON.stringify(body)).not.toContain(STRIPE_SIM.writeKey);
  });
});
