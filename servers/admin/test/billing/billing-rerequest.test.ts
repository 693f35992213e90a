// Issue 15: an approved refund whose POST got no clear answer (the refund landed, the answer was lost
// or late) is `upstream_uncertain`; the agent then asks again with the same arguments, gets a NEW
// approval, a person approves it, the agent resumes — and no second refund may land. The Stripe
// Idempotency-Key is the operation's (tenant, agent, user, tool, arguments, caller key), so the second
// POST is answered by Stripe with the first refund (Idempotent-Replayed) and the agent is told plainly
// that nothing new was refunded. A new idempotency_key is a new operation and refunds again. Counted at
// the real simulator (its request log and its state), through the stripe SDK.
import { STRIPE_DEMO } from '@mcp-fleet/simulators';
import { eventually } from '@mcp-fleet/testkit';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvalIdOf, type BillingFixture, bootBilling } from './harness.js';

const PI = STRIPE_DEMO.paymentIntents;

let f: BillingFixture;
beforeAll(async () => {
  // A short per-attempt timeout, so a late answer (delayAfterCommit) is seen as uncertain quickly.
  f = await bootBilling('billing_rerequest', { ADMIN_STRIPE_TIMEOUT_MS: '1500' });
});
afterAll(() => f?.close());

type Agent = Awaited<ReturnType<BillingFixture['agent']>>;
type Fault = { dropAfterCommit: true } | { delayAfterCommit: number } | { afterApply: 500 } | null;

const refundsAt = (pi: string) =>
  f.sim.simulator.account('acme').refunds.filter((r) => r.payment_intent === pi);
/** Refunds POSTs that reached the simulator and were executed (not answered from the key store). */
const freshPosts = async () => (await f.posts('/v1/refunds', { fresh: true })).length;

function inject(fault: Fault) {
  if (fault === null) return;
  if ('afterApply' in fault) f.sim.simulator.failAfterApply('refunds.create', fault.afterApply);
  else f.sim.simulator.failNext('refunds.create', fault);
}

/** Asks, has alice approve, (sets the fault,) resumes: the documented flow, one round of it. */
async function round(agent: Agent, args: Record<string, unknown>, fault: Fault = null) {
  const held = await f.call(agent, 'issue_refund', args);
  expect(held.code, held.text).toBe('awaiting_approval');
  const id = approvalIdOf(held) as string;
  expect(await f.decide(id, 'approve')).toBe(200);
  inject(fault);
  const out = await f.call(agent, 'issue_refund', { ...args, approval_id: id });
  return { id, out };
}

const recordsOf = async (agentId: string, n: number) => {
  let rs: Awaited<ReturnType<BillingFixture['audit']>> = [];
  await eventually(async () => {
    rs = (await f.audit('issue_refund')).filter((r) => r.agent_id === agentId);
    return rs.length >= n;
  });
  return rs;
};

describe('re-requesting a refund after an uncertain answer', () => {
  it.each([
    ['the connection dropped after the refund landed', { dropAfterCommit: true } as const, PI.usd, 'usd'],
    ['the answer came after the per-attempt timeout', { delayAfterCommit: 5_000 } as const, PI.jpy, 'jpy'],
  ])(
    '%s: a new approval and resume land no second refund, and the agent is told so',
    async (_, fault, pi, currency) => {
      const args = { payment_intent: pi, amount: 1_000, currency, reason: 'requested_by_customer' };
      const before = refundsAt(pi).length;
      const postsBefore = await freshPosts();
      const agent = await f.agent('dave');

      const first = await round(agent, args, fault);
      expect(first.out.code, first.out.text).toBe('upstream_uncertain');
      expect(refundsAt(pi).length).toBe(before + 1);
      const landed = refundsAt(pi).at(-1);
      if (!landed) throw new Error('the first refund landed');

      // The attacker's move: the same arguments again (no idempotency_key), a new approval, approved.
      const second = await round(agent, args);
      expect(second.id).not.toBe(first.id);
      expect(second.out.isError, second.out.text).toBe(false);
      // No second refund: one executed POST, Stripe's state holds one refund more than before.
      expect(refundsAt(pi).length).toBe(before + 1);
      expect((await freshPosts()) - postsBefore).toBe(1);
      const posts = (await f.posts('/v1/refunds')).filter((p) => p.params.payment_intent === pi);
      const last2 = posts.slice(-2);
      expect(last2.map((p) => p.replayed ?? false)).toEqual([false, true]);
      expect(last2[1]?.idempotencyKey).toBe(last2[0]?.idempotencyKey);
      // The agent is told plainly: nothing new, this is the earlier refund (id, when), a new key for another.
      expect(second.out.data).toMatchObject({
        replayed: true,
        refund: { id: landed.id, amount: 1_000, created: new Date(landed.created * 1000).toISOString() },
      });
      expect(second.out.text).toContain('NOTHING new was refunded');
      expect(second.out.text).toContain(landed.id);
      expect(second.out.text).toContain(new Date(landed.created * 1000).toISOString());
      expect(second.out.text).toContain('new idempotency_key');
      // Audit: the uncertain one unknown, the replay ok with replayed: true and the same Stripe key.
      const rs = await recordsOf(agent.agentId, 4);
      const unknown = rs.find((r) => r.outcome === 'unknown');
      const ok = rs.find((r) => r.outcome === 'ok');
      expect(unknown?.details).toMatchObject({ approvalId: first.id });
      expect(ok?.details).toMatchObject({ approvalId: second.id, replayed: true, upstreamId: landed.id });
      expect(ok?.details?.stripeIdempotencyKey).toBe(unknown?.details?.stripeIdempotencyKey);
    },
  );

  it('a second identical refund WITH a new idempotency_key is a new operation and refunds again', async () => {
    const pi = PI.eurPartlyRefunded;
    const args = { payment_intent: pi, amount: 1_000, currency: 'eur', reason: 'duplicate' };
    const before = refundsAt(pi).length;
    const agent = await f.agent('dave');
    const first = await round(agent, args, { dropAfterCommit: true });
    expect(first.out.code, first.out.text).toBe('upstream_uncertain');
    const replay = await round(agent, args);
    expect(replay.out.data?.replayed).toBe(true);
    expect(refundsAt(pi).length).toBe(before + 1);
    const again = await round(agent, { ...args, idempotency_key: 'second-refund-on-purpose' });
    expect(again.out.isError, again.out.text).toBe(false);
    expect(again.out.data).toMatchObject({ replayed: false, refund: { amount: 1_000 } });
    expect(again.out.text).toMatch(/^Refunded /);
    expect(refundsAt(pi).length).toBe(before + 2);
    const [a, b] = refundsAt(pi).slice(-2);
    expect(a?.metadata.fleet_operation).not.toBe(b?.metadata.fleet_operation);
  });

  it('a plan change re-requested after an uncertain answer is refused before approval (it landed)', async () => {
    const sub = STRIPE_DEMO.subscriptions.active;
    const args = { subscription: sub, price: STRIPE_DEMO.prices.teamYearlyUsd };
    const agent = await f.agent('dave');
    const held = await f.call(agent, 'change_subscription_plan', args);
    expect(held.code, held.text).toBe('awaiting_approval');
    const id = approvalIdOf(held) as string;
    expect(await f.decide(id, 'approve')).toBe(200);
    f.sim.simulator.failNext('subscriptions.update', { dropAfterCommit: true });
    const out = await f.call(agent, 'change_subscription_plan', { ...args, approval_id: id });
    expect(out.code, out.text).toBe('upstream_uncertain');
    const path = `/v1/subscriptions/${sub}`;
    const n = (await f.posts(path)).length;
    const again = await f.call(agent, 'change_subscription_plan', args);
    expect(again.code, again.text).toBe('price_unchanged');
    expect((await f.posts(path)).length).toBe(n);
  });
});

describe('generated: refunds that land never exceed the distinct operations asked for', () => {
  // A small pool of operations, so that sequences ask for the same one again (the attack) as well as
  // for different ones (another amount; the same arguments with a caller key).
  const op = fc.constantFrom(
    { amount: 1, reason: 'duplicate', key: undefined },
    { amount: 1, reason: 'duplicate', key: 'k1' },
    { amount: 2, reason: 'requested_by_customer', key: undefined },
  );
  const fault = fc.constantFrom<Fault>(null, null, { dropAfterCommit: true }, { afterApply: 500 });
  const step = fc.record({ op, fault, approve: fc.boolean() });

  it('over sequences of request / approve / fault / resume by one agent', async () => {
    const pi = PI.jpyPartlyRefunded;
    const seen = { landed: 0, uncertain: 0, replayed: 0 };
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 6 }), async (steps) => {
        const agent = await f.agent('dave');
        const before = refundsAt(pi).length;
        const asked = new Set<string>();
        for (const s of steps) {
          const args = {
            payment_intent: pi,
            amount: s.op.amount,
            currency: 'jpy',
            reason: s.op.reason,
            ...(s.op.key === undefined ? {} : { idempotency_key: s.op.key }),
          };
          const held = await f.call(agent, 'issue_refund', args);
          const id = approvalIdOf(held);
          if (held.code !== 'awaiting_approval' || !id) continue;
          if (!s.approve) {
            expect(await f.decide(id, 'deny')).toBe(200);
            await f.call(agent, 'issue_refund', { ...args, approval_id: id });
            continue;
          }
          expect(await f.decide(id, 'approve')).toBe(200);
          inject(s.fault);
          asked.add(JSON.stringify([s.op.amount, s.op.reason, s.op.key ?? null]));
          const out = await f.call(agent, 'issue_refund', { ...args, approval_id: id });
          if (out.code === 'upstream_uncertain') seen.uncertain++;
          if (out.data?.replayed === true) seen.replayed++;
        }
        const landed = refundsAt(pi).slice(before);
        seen.landed += landed.length;
        expect(landed.length).toBeLessThanOrEqual(asked.size);
        // Per operation at most one: each landed refund carries its own operation key.
        expect(new Set(landed.map((r) => r.metadata.fleet_operation)).size).toBe(landed.length);
      }),
      {
        numRuns: 20,
        // Fixed sequences first, so the run is never vacuous whatever the seed: the same operation
        // landed then asked again (a replay), and one whose answer is lost then asked again.
        examples: [
          [
            [
              {
                op: { amount: 2, reason: 'requested_by_customer', key: undefined },
                fault: null,
                approve: true,
              },
              {
                op: { amount: 2, reason: 'requested_by_customer', key: undefined },
                fault: null,
                approve: true,
              },
            ],
          ],
          [
            [
              {
                op: { amount: 1, reason: 'duplicate', key: undefined },
                fault: { dropAfterCommit: true },
                approve: true,
              },
              { op: { amount: 1, reason: 'duplicate', key: undefined }, fault: null, approve: true },
            ],
          ],
        ],
      },
    );
    // Not vacuous: refunds landed, some answers were uncertain, and some re-requests were replays.
    expect(seen.landed).toBeGreaterThan(0);
    expect(seen.uncertain).toBeGreaterThan(0);
    expect(seen.replayed).toBeGreaterThan(0);
  });
});
