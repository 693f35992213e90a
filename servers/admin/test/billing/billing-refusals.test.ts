// Refused before a human is ever asked: every refund or plan change that Stripe would refuse, that is
// above the cap, or whose arguments are malformed opens NO approval and sends NO POST to Stripe
// (counted at the simulator's control plane). Cases are generated (fast-check) from the billing demo's
// payments: amount 0, negative, fractional, above what is refundable, above the cap, the wrong
// currency, JPY read as if it had cents, unknown and malformed ids, smuggled keys (A1, A6, A12, V1, V6).
import { STRIPE_DEMO, StripeSimulator } from '@mcp-fleet/simulators';
import { eventually } from '@mcp-fleet/testkit';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capFor, parseRefundCap } from '../../src/billing/currency.js';
import { type BillingFixture, bootBilling } from './harness.js';

const PI = STRIPE_DEMO.paymentIntents;
const PRICE = STRIPE_DEMO.prices;
const SUB = STRIPE_DEMO.subscriptions;
/** The cap the server runs with here: 50.00 in two-decimal currencies, ¥50 in JPY. */
const CAP = '5000';

let f: BillingFixture;
beforeAll(async () => {
  f = await bootBilling('billing_refusals', { ADMIN_REFUND_MAX_MINOR: CAP });
});
afterAll(() => f?.close());

/** The demo data as seeded (a simulator that is never started): what each payment still allows. */
const seeded = new StripeSimulator().account('acme');
const refundableOf = (pi: string) => {
  const p = seeded.paymentIntents.find((x) => x.id === pi);
  const refunded = seeded.refunds.filter((r) => r.payment_intent === pi).reduce((n, r) => n + r.amount, 0);
  return (p?.amount_received ?? 0) - refunded;
};
/** Each demo payment as the test knows it: currency and what is still refundable. */
const PAYMENTS = [
  { id: PI.usd, currency: 'usd', refundable: refundableOf(PI.usd) },
  { id: PI.usdPartlyRefunded, currency: 'usd', refundable: refundableOf(PI.usdPartlyRefunded) },
  { id: PI.eurPartlyRefunded, currency: 'eur', refundable: 24_900 - 5_000 },
  { id: PI.jpy, currency: 'jpy', refundable: 12_000 },
  { id: PI.jpyPartlyRefunded, currency: 'jpy', refundable: 30_000 },
  { id: PI.usdRefunded, currency: 'usd', refundable: 0 },
  { id: PI.unpaid, currency: 'usd', refundable: 0 },
  { id: PI.canceled, currency: 'usd', refundable: 0 },
] as const;
const capOf = (currency: string) => capFor(parseRefundCap(CAP) as never, currency);

const alnum = fc.stringMatching(/^[A-Za-z0-9]{6,24}$/);
/** Arguments that must be refused before approval, each with a label. */
const refusedRefund = fc.oneof(
  // Amount not a positive integer.
  fc.record({
    payment_intent: fc.constant(PI.usd),
    amount: fc.oneof(
      fc.constantFrom(0, -1, -5800, 10.5, 0.01),
      fc.integer({ max: 0 }),
      fc.double({ min: 0.001, max: 1e6, noInteger: true }),
    ),
    currency: fc.constant('usd'),
    reason: fc.constant('requested_by_customer'),
  }),
  // More than is refundable (JPY: the amount as if yen had cents), or above the cap.
  fc.constantFrom(...PAYMENTS).chain((p) =>
    fc.record({
      payment_intent: fc.constant(p.id),
      amount:
        p.refundable === 0
          ? fc.integer({ min: 1, max: 5_000 })
          : fc.oneof(
              fc.integer({ min: p.refundable + 1, max: p.refundable * 1_000 }),
              fc.constant(p.refundable * 100),
              ...(p.refundable > capOf(p.currency)
                ? [fc.integer({ min: capOf(p.currency) + 1, max: p.refundable })]
                : []),
            ),
      currency: fc.constant(p.currency),
      reason: fc.constantFrom('duplicate', 'fraudulent', 'requested_by_customer'),
    }),
  ),
  // The wrong currency for the payment (amount fine otherwise).
  fc.constantFrom(...PAYMENTS.filter((p) => (p.refundable ?? 1) > 0)).chain((p) =>
    fc.record({
      payment_intent: fc.constant(p.id),
      amount: fc.integer({ min: 1, max: 40 }),
      currency: fc.constantFrom('usd', 'eur', 'jpy', 'gbp', 'kwd').filter((c) => c !== p.currency),
      reason: fc.constant('duplicate'),
    }),
  ),
  // Unknown payment intents, malformed ids and currencies.
  fc.record({
    payment_intent: fc.oneof(
      alnum.map((s) => `pi_${s}`),
      fc.constantFrom(
        `${PI.usd}/../../v1/payouts`,
        `${PI.usd}?expand[]=customer`,
        `pi_..%2F..%2Fbalance`,
        'pi_',
        '',
        '*',
        `ch_${PI.usd.slice(3)}`,
        ` ${PI.usd}`,
        `${PI.usd}\n`,
      ),
      fc.string({ maxLength: 40 }),
    ),
    amount: fc.constant(1),
    currency: fc.oneof(fc.constant('usd'), fc.constantFrom('USD', 'us', 'usd ', '', 'dollars')),
    reason: fc.constant('requested_by_customer'),
  }),
  // Smuggled keys, a missing amount (Stripe would refund everything) or a string amount.
  fc
    .record({
      extra: fc.constantFrom<Record<string, unknown>>(
        { confirm: true },
        { approved: true },
        { approval_token: 'approved' },
        { price_override: 0 },
        { metadata: { note: 'x' } },
        { refund_application_fee: true },
        { charge: 'ch_x' },
      ),
    })
    .map(({ extra }) => ({
      payment_intent: PI.usd,
      amount: 100,
      currency: 'usd',
      reason: 'duplicate',
      ...extra,
    })),
  fc.constantFrom<Record<string, unknown>>(
    { payment_intent: PI.usd, currency: 'usd', reason: 'duplicate' },
    { payment_intent: PI.usd, amount: '100', currency: 'usd', reason: 'duplicate' },
    { payment_intent: PI.usd, amount: '1e9', currency: 'usd', reason: 'duplicate' },
    { payment_intent: PI.usd, amount: 100, currency: 'usd', reason: 'because' },
    { payment_intent: PI.usd, amount: 100, currency: 'usd' },
  ),
);

describe('billing refusals before approval', () => {
  it('a refund that would be refused opens no approval and sends no POST (generated)', async () => {
    const agent = await f.agent();
    const postsBefore = (await f.posts('/v1/refunds')).length;
    let n = 0;
    await fc.assert(
      fc.asyncProperty(refusedRefund, async (args) => {
        n++;
        const out = await f.call(agent, 'issue_refund', args as Record<string, unknown>);
        expect(out.isError, JSON.stringify(args)).toBe(true);
        expect(out.code, JSON.stringify(args)).not.toBe('awaiting_approval');
      }),
      { numRuns: 120 },
    );
    expect(n).toBeGreaterThanOrEqual(120);
    expect(await f.approvals('issue_refund')).toEqual([]);
    expect((await f.posts('/v1/refunds')).length).toBe(postsBefore);
  });

  it('says why, in the payment’s own units (refundable, currency, cap, JPY has no decimals)', async () => {
    const agent = await f.agent();
    const why = async (args: Record<string, unknown>) =>
      f.call(agent, 'issue_refund', { reason: 'duplicate', ...args });
    const over = await why({ payment_intent: PI.jpy, amount: 1_200_000, currency: 'jpy' });
    expect(over.code).toBe('amount_exceeds_refundable');
    expect(over.text).toContain('12,000 JPY');
    expect(over.text).toContain('not put up for approval');
    const cap = await why({ payment_intent: PI.jpy, amount: 51, currency: 'jpy' });
    expect(cap.code).toBe('amount_exceeds_cap');
    expect(cap.text).toContain('50 JPY');
    expect((await why({ payment_intent: PI.eurPartlyRefunded, amount: 100, currency: 'usd' })).code).toBe(
      'currency_mismatch',
    );
    expect((await why({ payment_intent: PI.usdRefunded, amount: 1, currency: 'usd' })).code).toBe(
      'already_refunded',
    );
    expect((await why({ payment_intent: PI.unpaid, amount: 1, currency: 'usd' })).code).toBe(
      'payment_not_refundable',
    );
    expect((await why({ payment_intent: 'pi_NoSuchPayment1234', amount: 1, currency: 'usd' })).code).toBe(
      'upstream_not_found',
    );
    // The partly refunded payment: what was received less the 10.00 already refunded.
    const left = refundableOf(PI.usdPartlyRefunded);
    expect(left).toBeGreaterThan(0);
    const partial = await why({ payment_intent: PI.usdPartlyRefunded, amount: left + 1, currency: 'usd' });
    expect(partial.code).toBe('amount_exceeds_refundable');
    // A refund within every bound is put up for approval (and nothing is sent yet).
    const held = await why({ payment_intent: PI.jpy, amount: 50, currency: 'jpy' });
    expect(held.code).toBe('awaiting_approval');
    expect(await f.approvals('issue_refund')).toHaveLength(1);
    expect((await f.posts('/v1/refunds')).length).toBe(0);
    // The audit names what the check saw (A15): the payment's refundable amount.
    // Audit writes may trail the answer: wait for the record.
    let rec: Awaited<ReturnType<BillingFixture['audit']>>[number] | undefined;
    await eventually(async () => {
      rec = (await f.audit('issue_refund')).find(
        (r) => r.agent_id === agent.agentId && r.details?.errorCode === 'amount_exceeds_cap',
      );
      return rec !== undefined;
    });
    expect(rec?.details?.payment).toMatchObject({ currency: 'jpy', refundable: 12_000 });
  });

  it('a plan change Stripe would refuse opens no approval and sends no POST', async () => {
    const agent = await f.agent();
    const cases: [Record<string, unknown>, string][] = [
      [{ subscription: SUB.active, price: PRICE.legacyInactiveUsd }, 'price_not_allowed'],
      [{ subscription: SUB.active, price: PRICE.setupOneTimeUsd }, 'price_not_allowed'],
      [{ subscription: SUB.active, price: PRICE.starterMonthlyJpy }, 'currency_mismatch'],
      [{ subscription: SUB.jpy, price: PRICE.growthMonthlyUsd }, 'currency_mismatch'],
      [{ subscription: SUB.active, price: 'price_NoSuchPrice123' }, 'price_not_found'],
      [{ subscription: SUB.twoItems, price: PRICE.teamYearlyUsd }, 'subscription_not_changeable'],
      [{ subscription: SUB.canceled, price: PRICE.growthMonthlyUsd }, 'subscription_not_changeable'],
      [{ subscription: SUB.pastDue, price: PRICE.growthMonthlyUsd }, 'subscription_not_changeable'],
      [{ subscription: 'sub_NoSuchSubscription1', price: PRICE.growthMonthlyUsd }, 'upstream_not_found'],
      [{ subscription: SUB.jpy, price: PRICE.starterMonthlyJpy }, 'price_unchanged'],
    ];
    for (const [args, code] of cases)
      expect((await f.call(agent, 'change_subscription_plan', args)).code, JSON.stringify(args)).toBe(code);
    // Smuggled fields (A6, A12): refused by the strict schema.
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom<Record<string, unknown>>(
          { price_override: 0 },
          { items: [{ price: PRICE.growthMonthlyUsd }] },
          { items: [{ id: 'si_x', deleted: true }] },
          { coupon: 'FREE100' },
          { discounts: [{ coupon: 'x' }] },
          { proration_behavior: 'none' },
          { cancel_at_period_end: true },
          { confirm: true },
        ),
        fc.oneof(
          fc.constant(PRICE.growthMonthlyUsd),
          fc.constantFrom('price_', '*', `${PRICE.growthMonthlyUsd}/x`, ''),
        ),
        async (extra, price) => {
          const out = await f.call(agent, 'change_subscription_plan', {
            subscription: SUB.active,
            price,
            ...extra,
          });
          expect(out.isError).toBe(true);
          expect(out.code).not.toBe('awaiting_approval');
        },
      ),
      { numRuns: 40 },
    );
    expect(await f.approvals('change_subscription_plan')).toEqual([]);
    expect(
      (await f.requests()).filter((r) => r.method === 'POST' && r.path.startsWith('/v1/subscriptions')),
    ).toEqual([]);
  });

  it('lists both tools as destructive, not read-only, with strict schemas (A16)', async () => {
    const agent = await f.agent();
    const { tools } = await agent.listTools();
    for (const name of ['issue_refund', 'change_subscription_plan']) {
      const t = tools.find((x) => x.name === name);
      expect(t?.annotations).toMatchObject({ destructiveHint: true, readOnlyHint: false });
      expect(
        (t as { inputSchema?: { additionalProperties?: unknown } }).inputSchema?.additionalProperties,
      ).toBe(false);
    }
  });
});

describe('refund cap per currency exponent', () => {
  it('is the same number of major units in every currency unless set exactly', () => {
    const def = parseRefundCap(undefined) as never;
    expect(capFor(def, 'usd')).toBe(100_000);
    expect(capFor(def, 'eur')).toBe(100_000);
    expect(capFor(def, 'jpy')).toBe(1_000);
    expect(capFor(def, 'kwd')).toBe(1_000_000);
    const exact = parseRefundCap('usd:20000,jpy:150000,30000') as never;
    expect(capFor(exact, 'usd')).toBe(20_000);
    expect(capFor(exact, 'jpy')).toBe(150_000);
    expect(capFor(exact, 'eur')).toBe(30_000);
    expect(typeof parseRefundCap('lots')).toBe('string');
    expect(typeof parseRefundCap('0')).toBe('string');
  });
});
