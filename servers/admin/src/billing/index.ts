// The admin server's billing on Stripe: issue_refund and change_subscription_plan with their
// beforeApproval checks, the connector (STRIPE_WRITE_KEY, STRIPE_API_URL), its configuration and its
// readiness checks. The admin definition wires these: `tools` gets billingTools (unlisted by
// billingUnlisted when no key is set), `steps` gets billingSteps, `connect` puts connectBilling's
// connector at `connectors.billing`, `readiness` adds billingReadiness.
import { breakerCheck, type Env, type Logger, upstreamCheck } from '@mcp-fleet/core';
import { type BillingConfig, billingConfig } from './config.js';
import { BillingConnector } from './connector.js';

export { type CallBounds, stripeCall } from './call.js';
export { type BillingConnectors, type Problem, planProblem, refundProblem } from './checks.js';
export {
  type BillingConfig,
  billingConfig,
  billingSchema,
  billingUnlisted,
  stripeUrlProblem,
  writeKeyProblem,
} from './config.js';
export {
  BillingConnector,
  type PaymentFacts,
  type PriceFacts,
  type RefundFacts,
  type SubscriptionFacts,
} from './connector.js';
export {
  capFor,
  DEFAULT_REFUND_CAP,
  exponentOf,
  formatMinor,
  parseRefundCap,
  type RefundCap,
} from './currency.js';
export { classifyStripeError } from './errors.js';
export { billingBeforeApproval, billingSteps } from './step.js';
export { billingTools, changeSubscriptionPlan, issueRefund, stripeIdempotencyKey } from './tools.js';

/**
 * The billing connector for a configuration (or the environment), or undefined when STRIPE_WRITE_KEY
 * is not set (the billing tools are then unlisted).
 */
export function connectBilling(config: BillingConfig | Env, logger: Logger): BillingConnector | undefined {
  const c =
    'stripeApiUrl' in config && typeof config.stripeApiUrl === 'string'
      ? (config as BillingConfig)
      : billingConfig(config as Env);
  return c.stripeWriteKey === undefined ? undefined : new BillingConnector(c, logger);
}

/** Readiness of Stripe for the billing tools: its breakers (every scrape) and a cached cheap probe. */
export function billingReadiness(billing: BillingConnector | undefined): ReturnType<typeof breakerCheck>[] {
  if (!billing) return [];
  return [
    breakerCheck(billing.breakers, 'Stripe'),
    upstreamCheck(billing.breakers, () => billing.probe(), { label: 'Stripe' }),
  ];
}
