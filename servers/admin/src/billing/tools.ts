// issue_refund and change_subscription_plan: destructive (held for a human), strict schemas (no
// price override, no coupon, no `items` array, no deletion, no amount omitted: THREATS A6, A12, V1),
// checked against Stripe before a human is asked (step.ts) and again right before the one POST. The
// POST carries a Stripe Idempotency-Key derived from the OPERATION — tenant, agent, user, tool, the
// canonical arguments and the caller's idempotency_key — never from the approval: an agent that gets
// an uncertain answer and asks again (a new approval) sends the same key, so Stripe replays the first
// refund instead of making a second one (issue 15, V2). Its metadata is derived from the operation too
// (Stripe refuses a reused key with other parameters). A POST that may have reached Stripe without a
// clear answer is `uncertain`: audited `unknown`, never sent again by this call.
import { createHash } from 'node:crypto';
import { isUpstreamFailure, type ToolContext, ToolError, toolsFor, upstreamToolError } from '@mcp-fleet/core';
import { z } from 'zod';
import { boundsOf } from './call.js';
import { type BillingConnectors, checkPlan, checkRefund, problemError } from './checks.js';
import { formatMinor } from './currency.js';
import { paymentIntentId, priceId, subscriptionId } from './ids.js';
import { billingOf, STRIPE_NAMES } from './step.js';

const tool = toolsFor<BillingConnectors>();

/** How long one billing call may take (reads, the POST, a retry after a 429). */
const TIMEOUT_MS = 30_000;

/** JSON with object keys sorted at every level: the same arguments give the same text. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonicalJson(x)}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/**
 * The Stripe Idempotency-Key of one money move, derived from the operation: a SHA-256 of the tenant,
 * agent, user, tool, canonical arguments and the caller's idempotency key (or none). The same request
 * asked again — after an uncertain answer, under a new approval — gets the same key, so within Stripe's
 * 24 h key window it can land at most once; a genuinely second identical move needs a new
 * idempotency_key. The caller's key is hashed, never sent; two callers' operations never share a key.
 */
export function stripeIdempotencyKey(
  kind: 'refund' | 'plan',
  toolName: string,
  args: Record<string, unknown>,
  ctx: Pick<ToolContext, 'idempotencyKey' | 'identity'>,
): { key: string; from: 'operation' | 'operation+caller_key' } {
  const id = ctx.identity;
  const h = createHash('sha256')
    .update(
      JSON.stringify([
        'fleet-billing-op-v1',
        id.tenant ?? null,
        id.agentId,
        id.user ?? null,
        toolName,
        canonicalJson(args),
        ctx.idempotencyKey ?? null,
      ]),
    )
    .digest('hex');
  return {
    key: `fleet-${kind}-${h.slice(0, 48)}`,
    from: ctx.idempotencyKey === undefined ? 'operation' : 'operation+caller_key',
  };
}

/**
 * Metadata every write carries: the operation key, agent, user and tenant — all of the operation, none
 * of the approval or request (a re-request must send byte-identical parameters, or Stripe answers an
 * idempotency_error instead of the first refund). The audit record ties the approval to the key.
 */
function writeMetadata(operationKey: string, ctx: Pick<ToolContext, 'identity'>): Record<string, string> {
  const cut = (s: string) => s.slice(0, 500);
  return {
    fleet_operation: cut(operationKey),
    fleet_agent: cut(ctx.identity.agentId),
    fleet_user: cut(ctx.identity.user ?? ''),
    fleet_tenant: cut(ctx.identity.tenant ?? ''),
  };
}

const noKey = (name: string) =>
  new ToolError(
    `${name} was not run: a money move is sent to Stripe only with an idempotency key, from the human approval or from your idempotency_key; this call has neither.`,
    'idempotency_key_required',
  );

/** Runs a write, turning Stripe's failures into the caller's ToolError. */
async function upstream<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (isUpstreamFailure(err)) throw upstreamToolError(err, STRIPE_NAMES);
    throw err;
  }
}

const refundOut = z.object({
  refund: z.object({
    id: z.string(),
    payment_intent: z.string(),
    amount: z.number().int(),
    currency: z.string(),
    status: z.string(),
    /** When Stripe made it (ISO 8601). */
    created: z.string(),
  }),
  refundable_after: z.number().int(),
  /**
   * True when Stripe answered with the refund an identical earlier request (same arguments, agent,
   * user and idempotency_key) already made: this call refunded NOTHING new.
   */
  replayed: z.boolean(),
});

/** What the agent reads of a refund result (a replay says plainly that nothing new was refunded). */
export function refundText(d: z.infer<typeof refundOut>): string {
  const r = d.refund;
  const left = `${formatMinor(d.refundable_after, r.currency)} remains refundable.`;
  if (!d.replayed)
    return `Refunded ${formatMinor(r.amount, r.currency)} of ${r.payment_intent} (refund ${r.id}, ${r.status}); ${left}`;
  return `NOTHING new was refunded by this call. An identical issue_refund (same payment, amount, currency and reason, same agent and user, same or no idempotency_key) was already sent to Stripe, and Stripe answered with that earlier refund: ${r.id}, ${formatMinor(r.amount, r.currency)} of ${r.payment_intent}, made at ${r.created} (${r.status}). ${left} If a second, separate refund of the same amount is really wanted, request it again with a new idempotency_key (it will need a new approval).`;
}

export const issueRefund = tool({
  name: 'issue_refund',
  title: 'Refund a payment',
  description:
    "Refunds part or all of a Stripe payment (payment intent pi_…) of the company's account. `amount` is an integer in the minor units of the payment's currency (usd 1250 = $12.50; jpy 1250 = ¥1,250: JPY has no decimals), at most what is still refundable and at most the server's cap; `currency` must be the payment's. The call is checked against Stripe first, then held for a human approver: you get an approval id; once a person has approved, call again with the same arguments and `approval_id`. Runs once. The same request asked again (same arguments, same or no idempotency_key) is the same refund for 24 h: after an uncertain answer, asking again never refunds twice — Stripe returns the earlier refund and the result says `replayed: true` (nothing new refunded). To refund the same amount a second time on purpose, pass a new idempotency_key.",
  input: z.strictObject({
    payment_intent: paymentIntentId,
    amount: z
      .number()
      .int()
      .min(1)
      .max(Number.MAX_SAFE_INTEGER)
      .describe("Integer amount in the payment currency's minor units (cents; whole yen for JPY)."),
    currency: z
      .string()
      .regex(/^[a-z]{3}$/, 'a lowercase ISO 4217 currency code, e.g. usd')
      .describe("The payment's currency (lowercase ISO code, e.g. usd, eur, jpy)."),
    reason: z.enum(['duplicate', 'fraudulent', 'requested_by_customer']).describe("Stripe's refund reason."),
  }),
  output: refundOut,
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
  governance: { readOnly: false, destructive: true, commits: true, openWorld: true, timeoutMs: TIMEOUT_MS },
  toText: refundText,
  handler: async (args, ctx) => {
    const billing = billingOf(ctx.connectors, 'issue_refund');
    if (ctx.approvalId === undefined && ctx.idempotencyKey === undefined) throw noKey('issue_refund');
    const idem = stripeIdempotencyKey('refund', 'issue_refund', args, ctx);
    // Checked again right before the POST: the payment may have been refunded while the call waited.
    const { payment, problem } = await upstream(() => checkRefund(billing, billing.config, args, ctx));
    if (problem) throw problemError('issue_refund', problem, 'at');
    ctx.detail('stripeIdempotencyKey', idem.key);
    ctx.detail('stripeIdempotencyKeyFrom', idem.from);
    ctx.commit();
    const refund = await upstream(() =>
      billing.refund(
        { paymentIntent: args.payment_intent, amount: args.amount, reason: args.reason },
        { idempotencyKey: idem.key, metadata: writeMetadata(idem.key, ctx) },
        boundsOf(ctx),
      ),
    );
    ctx.detail('upstreamId', refund.id);
    ctx.detail('replayed', refund.replayed);
    // A replayed refund is already in what the payment's charge shows as refunded.
    const refundedNow = payment.amountRefunded + (refund.replayed ? 0 : refund.amount);
    return {
      data: {
        refund: {
          id: refund.id,
          payment_intent: args.payment_intent,
          amount: refund.amount,
          currency: refund.currency,
          status: refund.status,
          created: new Date(refund.created * 1000).toISOString(),
        },
        refundable_after: Math.max(0, payment.amountReceived - refundedNow),
        replayed: refund.replayed,
      },
    };
  },
});

export const changeSubscriptionPlan = tool({
  name: 'change_subscription_plan',
  title: 'Change a subscription plan',
  description:
    "Moves an active Stripe subscription (sub_…) with exactly one item to another recurring price (price_…) of the same currency, with Stripe's default prorations. No coupons, discounts, price overrides or item lists. Checked against Stripe first, then held for a human approver: you get an approval id; once a person has approved, call again with the same arguments and `approval_id`. Runs once. The same request asked again (same arguments, same or no idempotency_key) is the same change for 24 h: Stripe returns the earlier answer and the result says `replayed: true` (nothing changed by that call).",
  input: z.strictObject({
    subscription: subscriptionId,
    price: priceId.describe('The recurring price (price_…) the subscription moves to.'),
  }),
  output: z.object({
    subscription: z.object({
      id: z.string(),
      status: z.string(),
      price: z.string(),
      previous_price: z.string(),
    }),
    /** True when Stripe answered with an identical earlier change: this call changed NOTHING. */
    replayed: z.boolean(),
  }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
  governance: { readOnly: false, destructive: true, commits: true, openWorld: true, timeoutMs: TIMEOUT_MS },
  toText: (d) =>
    d.replayed
      ? `NOTHING was changed by this call. An identical change_subscription_plan (same subscription and price, same agent and user, same or no idempotency_key) was already sent to Stripe, and Stripe answered with that earlier change of ${d.subscription.id} to ${d.subscription.price}. Just before this call the subscription was on ${d.subscription.previous_price}; check it before asking again, and use a new idempotency_key if another change is really wanted.`
      : `Subscription ${d.subscription.id} moved from ${d.subscription.previous_price} to ${d.subscription.price} (${d.subscription.status}).`,
  handler: async (args, ctx) => {
    const billing = billingOf(ctx.connectors, 'change_subscription_plan');
    if (ctx.approvalId === undefined && ctx.idempotencyKey === undefined)
      throw noKey('change_subscription_plan');
    const idem = stripeIdempotencyKey('plan', 'change_subscription_plan', args, ctx);
    const { subscription, problem } = await upstream(() => checkPlan(billing, args, ctx));
    if (problem) throw problemError('change_subscription_plan', problem, 'at');
    const item = subscription.items[0];
    if (!item)
      throw problemError(
        'change_subscription_plan',
        { code: 'subscription_not_changeable', message: `subscription ${args.subscription} has no item` },
        'at',
      );
    ctx.detail('stripeIdempotencyKey', idem.key);
    ctx.detail('stripeIdempotencyKeyFrom', idem.from);
    ctx.detail('previousPrice', item.price);
    ctx.commit();
    const updated = await upstream(() =>
      billing.changePrice(
        { subscription: args.subscription, item: item.id, price: args.price },
        { idempotencyKey: idem.key, metadata: writeMetadata(idem.key, ctx) },
        boundsOf(ctx),
      ),
    );
    ctx.detail('upstreamId', updated.id);
    ctx.detail('replayed', updated.replayed);
    return {
      data: {
        subscription: {
          id: updated.id,
          status: updated.status,
          price: args.price,
          previous_price: item.price,
        },
        replayed: updated.replayed,
      },
    };
  },
});

/** The billing tools, in the order tools/list shows them. */
export const billingTools = [issueRefund, changeSubscriptionPlan];
