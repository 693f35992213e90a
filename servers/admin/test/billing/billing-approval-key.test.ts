// Issue 15, the re-ask attack on the approval gate: refund → approve → Stripe applies it, the answer is
// lost (upstream_uncertain) → the agent asks again with byte-identical arguments → a person approves
// (nothing looks different) → the agent resumes with that approval id PLUS a fresh idempotency_key.
// issue_refund derives the Stripe Idempotency-Key from the caller key, so a fresh key would be a NEW
// refund the person never saw. The approval binds and shows the caller key, so that resume is refused
// as different arguments, nothing reaches Stripe, and the approval is not spent: resuming as approved
// replays the first refund. Counted at the real Stripe simulator through the stripe SDK.
import { STRIPE_DEMO } from '@mcp-fleet/simulators';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvalIdOf, type BillingFixture, bootBilling } from './harness.js';

const PI = STRIPE_DEMO.paymentIntents;

let f: BillingFixture;
beforeAll(async () => {
  f = await bootBilling('billing_approval_key');
});
afterAll(() => f?.close());

const refundsAt = (pi: string) =>
  f.sim.simulator.account('acme').refunds.filter((r) => r.payment_intent === pi);
const freshPosts = async () => (await f.posts('/v1/refunds', { fresh: true })).length;

describe('the re-ask attack: a fresh idempotency_key at the resume of an approval', () => {
  it.each([
    // [how the key travels at the first ask, at the re-ask, and what the attacker resumes with]
    ['no key, no key, then a fresh key', undefined, undefined, 'fresh-attack-key'],
    ['key k1, key k1, then a fresh key', 'k1-refund', 'k1-refund', 'fresh-attack-key-2'],
    ['key k1, key k1, then the key dropped', 'k1-refund-b', 'k1-refund-b', undefined],
  ])('%s: refused, no second refund, and the approved resume replays', async (_, first, reask, attack) => {
    const pi = PI.usd;
    const args = { payment_intent: pi, amount: 700, currency: 'usd', reason: 'requested_by_customer' };
    const withKey = (k: string | undefined, extra: Record<string, unknown> = {}) => ({
      ...args,
      ...extra,
      ...(k === undefined ? {} : { idempotency_key: k }),
    });
    const before = refundsAt(pi).length;
    const postsBefore = await freshPosts();
    const agent = await f.agent('dave');

    // 1. Ask, approve, the refund lands at Stripe and the answer is lost.
    const held = await f.call(agent, 'issue_refund', withKey(first));
    expect(held.code, held.text).toBe('awaiting_approval');
    const firstId = approvalIdOf(held) as string;
    expect(await f.decide(firstId, 'approve')).toBe(200);
    f.sim.simulator.failNext('refunds.create', { dropAfterCommit: true });
    const lost = await f.call(agent, 'issue_refund', withKey(first, { approval_id: firstId }));
    expect(lost.code, lost.text).toBe('upstream_uncertain');
    expect(refundsAt(pi).length).toBe(before + 1);

    // 2. Ask again with the same arguments: a new request, approved by a person.
    const again = await f.call(agent, 'issue_refund', withKey(reask));
    expect(again.code, again.text).toBe('awaiting_approval');
    const secondId = approvalIdOf(again) as string;
    expect(secondId).not.toBe(firstId);
    expect(await f.decide(secondId, 'approve')).toBe(200);

    // 3. The attack: resume it with another key than the approved one. Refused; Stripe untouched.
    const attacked = await f.call(agent, 'issue_refund', withKey(attack, { approval_id: secondId }));
    expect(attacked.isError, attacked.text).toBe(true);
    expect(attacked.code, attacked.text).toBe('approval_refused');
    expect(attacked.text).toMatch(/was given for different arguments/);
    expect(refundsAt(pi).length).toBe(before + 1);
    expect((await freshPosts()) - postsBefore).toBe(1);
    expect((await f.approvals('issue_refund')).find((a) => a.id === secondId)?.status).toBe('approved');

    // 4. Resumed as approved: no second refund either. Without a caller key Stripe replays the refund
    // that landed; with k1, core's idempotency store already refuses to run k1 again (unknown outcome).
    const honest = await f.call(agent, 'issue_refund', withKey(reask, { approval_id: secondId }));
    if (reask === undefined) {
      expect(honest.isError, honest.text).toBe(false);
      expect(honest.data?.replayed).toBe(true);
    } else {
      expect(honest.isError, honest.text).toBe(true);
      expect(honest.text).toMatch(/outcome is unknown/);
    }
    expect(refundsAt(pi).length).toBe(before + 1);
    expect((await freshPosts()) - postsBefore).toBe(1);
  });

  it('the approver is shown the caller key the approval binds', async () => {
    const agent = await f.agent('dave');
    const args = { payment_intent: PI.jpy, amount: 300, currency: 'jpy', reason: 'duplicate' };
    const held = await f.call(agent, 'issue_refund', { ...args, idempotency_key: 'shown-key-1' });
    const id = approvalIdOf(held) as string;
    const res = await fetch(`${f.s.baseUrl}/approvals/${id}`, {
      headers: { authorization: `Bearer ${await approverToken()}` },
    });
    const body = (await res.json()) as { argumentsJson: string; arguments: unknown };
    expect(body.arguments).toEqual({ ...args, idempotency_key: 'shown-key-1' });
    expect(body.argumentsJson).toContain('"idempotency_key":"shown-key-1"');
  });
});

const approverToken = () =>
  f.s.issuer.mintApprover({
    sub: 'alice',
    aud: `${f.s.baseUrl}/approvals`,
    preferredUsername: 'alice',
    tenant: 'acme',
  });
