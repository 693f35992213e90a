// The checks a refund and a plan change must pass against Stripe's current state: before a human is
// ever asked (the beforeApproval step, so nobody approves what Stripe would refuse) and again right
// before the change is sent (the state may have changed while the request waited). Pure functions of
// what Stripe said and the arguments; the step and the tools call them.
import { ToolError } from '@mcp-fleet/core';
import { boundsOf } from './call.js';
import type { BillingConfig } from './config.js';
import type { BillingConnector, PaymentFacts, PriceFacts, SubscriptionFacts } from './connector.js';
import { capFor, formatMinor } from './currency.js';

/** A check that failed: the ToolError code and the message for the model (and the audit). */
export interface Problem {
  code: string;
  message: string;
}

/** The arguments of issue_refund. */
export interface RefundArgs {
  payment_intent: string;
  amount: number;
  currency: string;
  reason: 'duplicate' | 'fraudulent' | 'requested_by_customer';
}

/** The arguments of change_subscription_plan. */
export interface PlanArgs {
  subscription: string;
  price: string;
}

/** What the payment still allows to refund. */
export const refundableOf = (p: PaymentFacts) => Math.max(0, p.amountReceived - p.amountRefunded);

/** Why this refund must not be asked for, or undefined. */
export function refundProblem(
  p: PaymentFacts,
  a: RefundArgs,
  config: Pick<BillingConfig, 'refundMaxMinor'>,
): Problem | undefined {
  if (p.status !== 'succeeded' || p.charge === null)
    return {
      code: 'payment_not_refundable',
      message: `payment ${p.id} has no successful charge to refund (its status is ${p.status})`,
    };
  if (a.currency !== p.currency)
    return {
      code: 'currency_mismatch',
      message: `payment ${p.id} was made in ${p.currency.toUpperCase()}, not ${a.currency.toUpperCase()}; amounts are in the payment's currency's minor units`,
    };
  const refundable = refundableOf(p);
  if (refundable === 0)
    return { code: 'already_refunded', message: `payment ${p.id} has already been refunded in full` };
  if (!Number.isSafeInteger(a.amount) || a.amount < 1)
    return { code: 'invalid_amount', message: 'amount must be a positive integer in minor units' };
  if (a.amount > refundable)
    return {
      code: 'amount_exceeds_refundable',
      message: `amount ${a.amount} (${formatMinor(a.amount, p.currency)}) is more than payment ${p.id} still allows to refund: ${refundable} (${formatMinor(refundable, p.currency)}; received ${formatMinor(p.amountReceived, p.currency)}, refunded ${formatMinor(p.amountRefunded, p.currency)})`,
    };
  const cap = capFor(config.refundMaxMinor, p.currency);
  if (a.amount > cap)
    return {
      code: 'amount_exceeds_cap',
      message: `amount ${a.amount} (${formatMinor(a.amount, p.currency)}) is above the largest refund this server makes in one call, ${cap} (${formatMinor(cap, p.currency)}); a larger refund is done by a person in Stripe`,
    };
  return undefined;
}

/** Why this plan change must not be asked for, or undefined. */
export function planProblem(
  sub: SubscriptionFacts,
  price: PriceFacts | undefined,
  a: PlanArgs,
): Problem | undefined {
  if (sub.status !== 'active')
    return {
      code: 'subscription_not_changeable',
      message: `subscription ${sub.id} is ${sub.status}; only an active subscription's plan is changed here`,
    };
  if (sub.items.length !== 1 || sub.moreItems)
    return {
      code: 'subscription_not_changeable',
      message: `subscription ${sub.id} has ${sub.moreItems ? 'more than one page of' : sub.items.length} items; only a subscription with exactly one item (its plan) is changed here`,
    };
  if (!price)
    return { code: 'price_not_found', message: `no price ${a.price} on the company's Stripe account` };
  if (!price.active)
    return {
      code: 'price_not_allowed',
      message: `price ${price.id} is archived (inactive); choose an active price`,
    };
  if (price.type !== 'recurring' || price.recurring === null)
    return {
      code: 'price_not_allowed',
      message: `price ${price.id} is a one-time price; a plan is a recurring price`,
    };
  if (price.currency !== sub.currency)
    return {
      code: 'currency_mismatch',
      message: `price ${price.id} is in ${price.currency.toUpperCase()} but subscription ${sub.id} bills in ${sub.currency.toUpperCase()}`,
    };
  if (sub.items[0]?.price === price.id)
    return { code: 'price_unchanged', message: `subscription ${sub.id} is already on price ${price.id}` };
  return undefined;
}

/** What the billing tools and step need of the server's connectors. */
export interface BillingConnectors {
  /** Undefined when STRIPE_WRITE_KEY is not set (the tools are then unlisted). */
  billing?: BillingConnector | undefined;
}

/** A refused check as the ToolError the caller sees (nothing was sent, nothing put up for approval). */
export const problemError = (tool: string, p: Problem, when: 'before' | 'at') =>
  new ToolError(
    `${tool} was not run${when === 'before' ? ' and not put up for approval' : ''}: ${p.message}.`,
    p.code,
  );

/** The refund's checks against Stripe now. */
export async function checkRefund(
  billing: BillingConnector,
  config: Pick<BillingConfig, 'refundMaxMinor'>,
  a: RefundArgs,
  bounds: { signal: AbortSignal; deadline?: number },
): Promise<{ payment: PaymentFacts; problem: Problem | undefined }> {
  const payment = await billing.paymentIntent(a.payment_intent, boundsOf(bounds));
  return { payment, problem: refundProblem(payment, a, config) };
}

/** The plan change's checks against Stripe now (a price Stripe does not know is a problem, not a failure). */
export async function checkPlan(
  billing: BillingConnector,
  a: PlanArgs,
  bounds: { signal: AbortSignal; deadline?: number },
): Promise<{ subscription: SubscriptionFacts; problem: Problem | undefined }> {
  const b = boundsOf(bounds);
  const subscription = await billing.subscription(a.subscription, b);
  let price: PriceFacts | undefined;
  try {
    price = await billing.price(a.price, b);
  } catch (err) {
    if (!(err instanceof Error && 'kind' in err && err.kind === 'not_found')) throw err;
  }
  return { subscription, problem: planProblem(subscription, price, a) };
}
