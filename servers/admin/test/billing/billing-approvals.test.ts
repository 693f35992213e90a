// A held refund or plan change, approved by a person through /approvals, runs exactly once: two
// concurrent resumes send one POST; a 5xx after the refund landed is `uncertain` and never re-sent; a
// replay with the caller's idempotency key refunds nothing more; a plan change resumed with another
// price than the one approved is refused (argument swap, A6); a denial, or a payment refunded while
// the request waited, sends nothing. Every POST carries a Stripe Idempotency-Key derived from the
// operation (tenant, agent, user, tool, arguments, the caller's key hashed) and metadata naming it and
// the agent (re-requests after an uncertain answer: billing-rerequest.test.ts).
import { STRIPE_DEMO, STRIPE_SIM } from '@mcp-fleet/simulators';
import { eventually } from '@mcp-fleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stripeIdempotencyKey } from '../../src/billing/tools.js';
import { approvalIdOf, type BillingFixture, bootBilling } from './harness.js';

const PI = STRIPE_DEMO.paymentIntents;
const PRICE = STRIPE_DEMO.prices;
const SUB = STRIPE_DEMO.subscriptions;

let f: BillingFixture;
beforeAll(async () => {
  // A short per-attempt timeout, so a hung Stripe is seen quickly.
  f = await bootBilling('billing_approvals', { ADMIN_STRIPE_TIMEOUT_MS: '1500' });
});
afterAll(() => f?.close());

const refundsAtSim = (pi: string) =>
  f.sim.simulator.account('acme').refunds.filter((r) => r.payment_intent === pi);

/** The finished issue_refund records of an agent, once `done` says they are all there. */
async function auditOf(agentId: string, done: (rs: Awaited<ReturnType<BillingFixture['audit']>>) => boolean) {
  let rs: Awaited<ReturnType<BillingFixture['audit']>> = [];
  await eventually(async () => {
    rs = (await f.audit('issue_refund')).filter((r) => r.agent_id === agentId);
    return done(rs);
  });
  return rs;
}

/** Opens a request with a call, approves it as alice; returns the agent and the approval id. */
async function approved(tool: string, args: Record<string, unknown>, user = 'carol') {
  const agent = await f.agent(user);
  const held = await f.call(agent, tool, args);
  expect(held.code, held.text).toBe('awaiting_approval');
  const id = approvalIdOf(held) as string;
  expect(id).toBeTruthy();
  expect(await f.decide(id, 'approve')).toBe(200);
  return { agent, id };
}

describe('approved billing calls', () => {
  it('an approved refund runs exactly once when the agent resumes twice at the same time', async () => {
    const args = { payment_intent: PI.jpy, amount: 700, currency: 'jpy', reason: 'requested_by_customer' };
    const before = refundsAtSim(PI.jpy).length;
    const { agent, id } = await approved('issue_refund', args);
    expect(await f.posts('/v1/refunds')).toHaveLength(0);
    const [a, b] = await Promise.all([
      f.call(agent, 'issue_refund', { ...args, approval_id: id }),
      f.call(agent, 'issue_refund', { ...args, approval_id: id }),
    ]);
    const ok = [a, b].filter((o) => !o.isError);
    expect(ok, JSON.stringify([a, b])).toHaveLength(1);
    expect(ok[0]?.data?.refund).toMatchObject({ amount: 700, currency: 'jpy', status: 'succeeded' });
    expect(ok[0]?.text).toContain('700 JPY');
    const posts = await f.posts('/v1/refunds');
    expect(posts).toHaveLength(1);
    const opKey = posts[0]?.idempotencyKey as string;
    expect(opKey).toMatch(/^fleet-refund-[0-9a-f]{48}$/);
    expect(opKey).not.toContain(id);
    expect(posts[0]).toMatchObject({
      key: 'write',
      params: {
        payment_intent: PI.jpy,
        amount: '700',
        'metadata[fleet_operation]': opKey,
        'metadata[fleet_agent]': agent.agentId,
      },
    });
    // Nothing of the approval or the request is in the parameters: a re-request sends the same ones.
    expect(Object.keys(posts[0]?.params ?? {}).filter((k) => /approval|request/.test(k))).toEqual([]);
    expect(refundsAtSim(PI.jpy).length).toBe(before + 1);
    // Resumed again later: the approval was used; nothing more reaches Stripe.
    const late = await f.call(agent, 'issue_refund', { ...args, approval_id: id });
    expect(late.isError).toBe(true);
    expect(await f.posts('/v1/refunds')).toHaveLength(1);
    // Audit writes may trail the answers: wait for the four (held, two resumes, the late one).
    const records = await auditOf(agent.agentId, (rs) => rs.length >= 4);
    expect(records.filter((r) => r.outcome === 'ok')).toHaveLength(1);
    expect(records.find((r) => r.outcome === 'ok')?.details).toMatchObject({
      approvalId: id,
      upstreamId: expect.stringMatching(/^re_/),
      stripeIdempotencyKey: opKey,
      replayed: false,
    });
  });

  it('a 5xx after the refund landed is uncertain, audited unknown, and never sent again', async () => {
    const args = {
      payment_intent: PI.eurPartlyRefunded,
      amount: 1_250,
      currency: 'eur',
      reason: 'duplicate',
    };
    const before = refundsAtSim(PI.eurPartlyRefunded).length;
    const postsBefore = (await f.posts('/v1/refunds')).length;
    const { agent, id } = await approved('issue_refund', args);
    f.sim.simulator.failAfterApply('refunds.create', 500);
    const out = await f.call(agent, 'issue_refund', { ...args, approval_id: id });
    expect(out.code, out.text).toBe('upstream_uncertain');
    expect(refundsAtSim(PI.eurPartlyRefunded).length).toBe(before + 1);
    expect((await f.posts('/v1/refunds')).length).toBe(postsBefore + 1);
    // The agent tries again with the same approval, and with the same approval and a key: nothing is sent.
    for (const extra of [{}, { idempotency_key: `again-${id}` }]) {
      const again = await f.call(agent, 'issue_refund', { ...args, approval_id: id, ...extra });
      expect(again.isError).toBe(true);
    }
    expect((await f.posts('/v1/refunds')).length).toBe(postsBefore + 1);
    expect(refundsAtSim(PI.eurPartlyRefunded).length).toBe(before + 1);
    const rec = await auditOf(agent.agentId, (rs) => rs.some((r) => r.outcome === 'unknown'));
    expect(rec.some((r) => r.outcome === 'unknown')).toBe(true);
  });

  it('a dropped connection after the refund landed is uncertain too, and not retried', async () => {
    const args = { payment_intent: PI.jpyPartlyRefunded, amount: 300, currency: 'jpy', reason: 'duplicate' };
    const postsBefore = (await f.posts('/v1/refunds')).length;
    const { agent, id } = await approved('issue_refund', args);
    f.sim.simulator.failNext('refunds.create', { dropAfterCommit: true });
    const out = await f.call(agent, 'issue_refund', { ...args, approval_id: id });
    expect(out.code, out.text).toBe('upstream_uncertain');
    expect((await f.posts('/v1/refunds')).length).toBe(postsBefore + 1);
  });

  it('a replay with the caller’s idempotency key refunds nothing more (and Stripe gets a hashed key)', async () => {
    const key = `agent-key-${Date.now()}`;
    const args = { payment_intent: PI.usd, amount: 125, currency: 'usd', reason: 'requested_by_customer' };
    const agent = await f.agent();
    const held = await f.call(agent, 'issue_refund', { ...args, idempotency_key: key });
    expect(held.code).toBe('awaiting_approval');
    const id = approvalIdOf(held) as string;
    expect(await f.decide(id, 'approve', 'bob')).toBe(200);
    const before = refundsAtSim(PI.usd).length;
    const postsBefore = (await f.posts('/v1/refunds')).length;
    const first = await f.call(agent, 'issue_refund', { ...args, idempotency_key: key, approval_id: id });
    expect(first.isError, first.text).toBe(false);
    const replay = await f.call(agent, 'issue_refund', { ...args, idempotency_key: key, approval_id: id });
    expect(replay.isError).toBe(false);
    expect(replay.meta?.['io.mcp-fleet/replayed']).toBe(true);
    expect(replay.data).toEqual(first.data);
    const posts = (await f.posts('/v1/refunds')).slice(postsBefore);
    expect(posts).toHaveLength(1);
    expect(posts[0]?.idempotencyKey).toMatch(/^fleet-refund-[0-9a-f]{48}$/);
    expect(posts[0]?.idempotencyKey).not.toContain(key);
    expect(refundsAtSim(PI.usd).length).toBe(before + 1);
  });

  it('a denied refund sends nothing', async () => {
    const args = { payment_intent: PI.jpy, amount: 11, currency: 'jpy', reason: 'fraudulent' };
    const agent = await f.agent();
    const held = await f.call(agent, 'issue_refund', args);
    const id = approvalIdOf(held) as string;
    const postsBefore = (await f.posts('/v1/refunds')).length;
    expect(await f.decide(id, 'deny')).toBe(200);
    const out = await f.call(agent, 'issue_refund', { ...args, approval_id: id });
    expect(out.isError).toBe(true);
    expect((await f.posts('/v1/refunds')).length).toBe(postsBefore);
  });

  it('a payment refunded while the request waited is refused at resume, and nothing is sent', async () => {
    const args = { payment_intent: PI.jpyPartlyRefunded, amount: 900, currency: 'jpy', reason: 'duplicate' };
    const { agent, id } = await approved('issue_refund', args);
    // Someone refunds most of it in Stripe directly meanwhile.
    const pi = f.sim.simulator.account('acme').paymentIntents.find((x) => x.id === PI.jpyPartlyRefunded);
    const left =
      (pi?.amount_received ?? 0) - refundsAtSim(PI.jpyPartlyRefunded).reduce((n, r) => n + r.amount, 0);
    const seededRefund = refundsAtSim(PI.jpyPartlyRefunded)[0];
    if (!seededRefund) throw new Error('the demo payment has a refund');
    f.sim.simulator
      .account('acme')
      .refunds.unshift({ ...seededRefund, id: 're_ByHandInTheDashboard', amount: left - 100 });
    const postsBefore = (await f.posts('/v1/refunds')).length;
    const out = await f.call(agent, 'issue_refund', { ...args, approval_id: id });
    expect(out.code, out.text).toBe('amount_exceeds_refundable');
    expect((await f.posts('/v1/refunds')).length).toBe(postsBefore);
  });

  it('a plan change resumed with another price than approved is refused; the approved one runs once', async () => {
    const args = { subscription: SUB.active, price: PRICE.growthMonthlyUsd };
    const { agent, id } = await approved('change_subscription_plan', args);
    const path = `/v1/subscriptions/${SUB.active}`;
    const swapped = [
      { ...args, price: PRICE.teamYearlyUsd },
      { ...args, subscription: SUB.twoItems },
    ];
    for (const a of swapped) {
      const out = await f.call(agent, 'change_subscription_plan', { ...a, approval_id: id });
      expect(out.isError, JSON.stringify(a)).toBe(true);
      expect(out.code).not.toBe('awaiting_approval');
    }
    expect(await f.posts(path)).toHaveLength(0);
    // Another agent cannot use the approval either.
    const thief = await f.agent();
    expect((await f.call(thief, 'change_subscription_plan', { ...args, approval_id: id })).isError).toBe(
      true,
    );
    expect(await f.posts(path)).toHaveLength(0);
    const ok = await f.call(agent, 'change_subscription_plan', { ...args, approval_id: id });
    expect(ok.isError, ok.text).toBe(false);
    expect(ok.data?.subscription).toMatchObject({ id: SUB.active, price: PRICE.growthMonthlyUsd });
    const posts = await f.posts(path);
    expect(posts).toHaveLength(1);
    expect(posts[0]?.idempotencyKey).toMatch(/^fleet-plan-[0-9a-f]{48}$/);
    expect(posts[0]).toMatchObject({
      params: { 'items[0][price]': PRICE.growthMonthlyUsd, proration_behavior: 'create_prorations' },
    });
    expect(ok.data?.replayed).toBe(false);
    const sub = f.sim.simulator.account('acme').subscriptions.find((x) => x.id === SUB.active);
    expect(sub?.items.data.map((i) => i.price.id)).toEqual([PRICE.growthMonthlyUsd]);
    expect(sub?.metadata.fleet_operation).toBe(posts[0]?.idempotencyKey);
    expect(sub?.metadata.fleet_agent).toBe(agent.agentId);
    // Now on that price: the same change again is refused before approval.
    const again = await f.call(await f.agent(), 'change_subscription_plan', args);
    expect(again.code).toBe('price_unchanged');
  });
});

describe('retries and readiness', () => {
  it('a write Stripe answered 429 (not processed) is retried once with the same key, and lands once', async () => {
    const args = { payment_intent: PI.jpy, amount: 40, currency: 'jpy', reason: 'duplicate' };
    const before = refundsAtSim(PI.jpy).length;
    const postsBefore = (await f.posts('/v1/refunds')).length;
    const { agent, id } = await approved('issue_refund', args);
    f.sim.simulator.failNext('refunds.create', { rateLimit: 0 });
    const out = await f.call(agent, 'issue_refund', { ...args, approval_id: id });
    expect(out.isError, out.text).toBe(false);
    const posts = (await f.posts('/v1/refunds')).slice(postsBefore);
    expect(posts).toHaveLength(2);
    expect(posts[0]?.idempotencyKey).toMatch(/^fleet-refund-[0-9a-f]{48}$/);
    expect(posts[1]?.idempotencyKey).toBe(posts[0]?.idempotencyKey);
    expect(refundsAtSim(PI.jpy).length).toBe(before + 1);
  });

  it('a read that failed with a 5xx is retried; a write that failed with a 5xx before landing is not', async () => {
    const args = { payment_intent: PI.jpy, amount: 41, currency: 'jpy', reason: 'duplicate' };
    const agent = await f.agent();
    f.sim.simulator.failNext('payment_intents.retrieve', { status: 503 });
    const held = await f.call(agent, 'issue_refund', args);
    expect(held.code, held.text).toBe('awaiting_approval');
    const id = approvalIdOf(held) as string;
    expect(await f.decide(id, 'approve')).toBe(200);
    const postsBefore = (await f.posts('/v1/refunds')).length;
    f.sim.simulator.failNext('refunds.create', { status: 502 });
    const out = await f.call(agent, 'issue_refund', { ...args, approval_id: id });
    expect(out.code, out.text).toBe('upstream_uncertain');
    expect((await f.posts('/v1/refunds')).length).toBe(postsBefore + 1);
  });

  it('a refund Stripe never answers is uncertain after one attempt, not sent again', async () => {
    const args = { payment_intent: PI.jpy, amount: 42, currency: 'jpy', reason: 'duplicate' };
    const { agent, id } = await approved('issue_refund', args);
    const postsBefore = (await f.posts('/v1/refunds')).length;
    f.sim.simulator.failNext('refunds.create', { hang: true });
    const out = await f.call(agent, 'issue_refund', { ...args, approval_id: id });
    expect(out.code, out.text).toBe('upstream_uncertain');
    expect((await f.posts('/v1/refunds')).length).toBe(postsBefore + 1);
  });

  it('shows Stripe in /readyz, and never writes the key into a result, the audit or the simulator log', async () => {
    const ready = (await (await fetch(`${f.s.baseUrl}/readyz`)).json()) as { checks: Record<string, string> };
    expect(ready.checks).toMatchObject({ breaker_stripe: 'ok', upstream_stripe: 'ok' });
    const all = JSON.stringify([
      await f.audit('issue_refund'),
      await f.audit('change_subscription_plan'),
      await f.requests(),
    ]);
    expect(all).not.toContain(STRIPE_SIM.writeKey);
  });
});

describe('the Stripe idempotency key', () => {
  const identity = (agentId: string, user = 'carol', tenant = 'acme') =>
    ({ agentId, user, tenant }) as Parameters<typeof stripeIdempotencyKey>[3]['identity'];
  const args = { payment_intent: 'pi_1', amount: 100, currency: 'usd', reason: 'duplicate' };
  const keyOf = (
    a: Record<string, unknown> = args,
    idempotencyKey: string | undefined = undefined,
    who = identity('a'),
    tool = 'issue_refund',
  ) => stripeIdempotencyKey('refund', tool, a, { idempotencyKey, identity: who }).key;

  it('is the operation’s: the same for the same request (any key order), never the approval’s', () => {
    expect(keyOf()).toMatch(/^fleet-refund-[0-9a-f]{48}$/);
    expect(keyOf({ reason: 'duplicate', currency: 'usd', amount: 100, payment_intent: 'pi_1' })).toBe(
      keyOf(),
    );
    expect(
      stripeIdempotencyKey('plan', 'issue_refund', args, {
        idempotencyKey: undefined,
        identity: identity('a'),
      }),
    ).toMatchObject({ from: 'operation' });
    expect(
      stripeIdempotencyKey('refund', 'issue_refund', args, { idempotencyKey: 'k', identity: identity('a') }),
    ).toMatchObject({ from: 'operation+caller_key' });
  });

  it('differs with anything of the operation: tenant, agent, user, tool, an argument, the caller’s key', () => {
    const keys = [
      keyOf(),
      keyOf(args, 'k1'),
      keyOf(args, 'k2'),
      keyOf(args, undefined, identity('b')),
      keyOf(args, undefined, identity('a', 'dave')),
      keyOf(args, undefined, identity('a', 'carol', 'globex')),
      keyOf(args, undefined, identity('a'), 'change_subscription_plan'),
      keyOf({ ...args, amount: 101 }),
      keyOf({ ...args, reason: 'fraudulent' }),
      keyOf({ ...args, payment_intent: 'pi_2' }),
    ];
    expect(new Set(keys).size).toBe(keys.length);
    // The caller's key is hashed, never sent.
    expect(keyOf(args, 'visible-key')).not.toContain('visible-key');
  });
});
