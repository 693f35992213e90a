// The billing tools' beforeApproval step: after limits, before a call is put up for approval, the
// refund or plan change is checked against Stripe's current state. A refund Stripe would refuse (more
// than is refundable, another currency, a payment without a successful charge) or one above the cap,
// and a plan change to a price that cannot be used, is refused here: no human is asked, nothing is
// sent. The step runs again when the agent resumes with its approval (the state may have changed);
// the tool checks once more right before it sends.
import {
  type GovernedCall,
  isUpstreamFailure,
  type Next,
  type ServerStep,
  type StepAnswer,
  ToolError,
  upstreamToolError,
} from '@mcp-fleet/core';
import {
  type BillingConnectors,
  checkPlan,
  checkRefund,
  type PlanArgs,
  problemError,
  type RefundArgs,
  refundableOf,
} from './checks.js';

/** The tools this step checks. */
export const BILLING_TOOLS: ReadonlySet<string> = new Set(['issue_refund', 'change_subscription_plan']);

/** Stripe's name as the model reads it in failures. */
export const STRIPE_NAMES = { stripe: 'Stripe' } as const;

/** The billing connector of the server, or the refusal when Stripe is not configured. */
export function billingOf(connectors: unknown, tool: string) {
  const billing = (connectors as BillingConnectors | undefined)?.billing;
  if (!billing)
    throw new ToolError(
      `${tool} was not run: Stripe is not configured on this server (STRIPE_WRITE_KEY). Tell the operator.`,
      'not_configured',
    );
  return billing;
}

/** The check step itself. */
export async function billingBeforeApproval(c: GovernedCall, next: Next): Promise<StepAnswer> {
  const tool = c.tool.name;
  if (!BILLING_TOOLS.has(tool)) return next();
  const billing = billingOf(c.rt.connectors, tool);
  // A money move is sent with a Stripe Idempotency-Key derived from its approval or from the caller's
  // key; a policy that lets it run without an approval must come with a key, or nothing is sent.
  if (!c.decision.approvalRequired && c.idempotencyKey === undefined)
    throw new ToolError(
      `${tool} was not run: without a human approval this server moves money only with an idempotency_key (so Stripe can never apply it twice); call again with an idempotency_key.`,
      'idempotency_key_required',
    );
  const bounds = {
    signal: c.req.cancellation?.signal ?? AbortSignal.timeout(c.timeoutMs),
    deadline: Date.now() + c.timeoutMs,
  };
  try {
    if (tool === 'issue_refund') {
      const args = c.args as RefundArgs;
      const { payment, problem } = await checkRefund(billing, billing.config, args, bounds);
      c.detail('payment', {
        currency: payment.currency,
        received: payment.amountReceived,
        refunded: payment.amountRefunded,
        refundable: refundableOf(payment),
      });
      if (problem) throw problemError(tool, problem, c.approvalId === undefined ? 'before' : 'at');
    } else {
      const args = c.args as PlanArgs;
      const { subscription, problem } = await checkPlan(billing, args, bounds);
      c.detail('subscription', {
        status: subscription.status,
        currency: subscription.currency,
        currentPrices: subscription.items.map((i) => i.price),
      });
      if (problem) throw problemError(tool, problem, c.approvalId === undefined ? 'before' : 'at');
    }
  } catch (err) {
    if (isUpstreamFailure(err)) throw upstreamToolError(err, STRIPE_NAMES);
    throw err;
  }
  return next();
}

/** The admin server's billing steps (export for its definition's `steps`). */
export const billingSteps: readonly ServerStep[] = [{ at: 'beforeApproval', step: billingBeforeApproval }];
