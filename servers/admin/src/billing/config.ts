// The billing part of the admin server's environment: the Stripe write key (a restricted key with
// refund and subscription write permissions, separate from vendor-apis' read key), Stripe's base URL,
// the refund cap, and how Stripe is called (per-attempt timeout, breaker). Parsed by billingConfig.
import { type Env, env, parseEnv, upstreamUrlProblem } from '@mcp-fleet/core';
import { z } from 'zod';
import { parseRefundCap, type RefundCap } from './currency.js';

/**
 * Why a Stripe base URL is refused, or undefined when it is acceptable: core's rules for an upstream URL
 * (the same as vendor-apis' STRIPE_API_URL: https, plain http only to this machine; no user name or
 * password, query or fragment; never quoted), and no path (the SDK adds /v1/...).
 */
export const stripeUrlProblem = (v: string): string | undefined =>
  upstreamUrlProblem(v, { noPath: 'must be an origin without a path (the SDK adds /v1/...)' });

/**
 * Why STRIPE_WRITE_KEY is refused (THREATS V4), or undefined: it must be a restricted key (`rk_test_…`
 * or `rk_live_…`), which the operator limits to refunds (write), subscriptions (write), payment
 * intents, charges and prices (read). A full secret key, a publishable key or a webhook secret is
 * refused. The reason never repeats the key.
 */
export function writeKeyProblem(key: string): string | undefined {
  if (/^rk_(test|live)_[A-Za-z0-9_]{8,247}$/.test(key)) return undefined;
  const kind = /^(pk|whsec|sk|rk)_/.exec(key)?.[1];
  return kind === 'sk'
    ? 'STRIPE_WRITE_KEY is a full secret key (sk_…); use a restricted key (rk_…) limited to refunds and subscriptions (write) and payment intents, charges and prices (read)'
    : kind === 'pk'
      ? 'STRIPE_WRITE_KEY is a publishable key (pk_…); use a restricted key (rk_…)'
      : kind === 'whsec'
        ? 'STRIPE_WRITE_KEY is a webhook signing secret (whsec_…), not an API key; use a restricted key (rk_…)'
        : 'STRIPE_WRITE_KEY is not a Stripe restricted key (rk_…)';
}

const optional = env.text();

/** The billing variables (core's and the other admin variables are parsed elsewhere). */
export const billingSchema = env.config('ADMIN_', {
  /** Stripe restricted key for refunds and plan changes; unset: the billing tools are not offered. */
  STRIPE_WRITE_KEY: optional.superRefine((v, ctx) => {
    const why = v === undefined ? undefined : writeKeyProblem(v);
    if (why) ctx.addIssue({ code: 'custom', message: why });
  }),
  /** Stripe's API origin; unset: https://api.stripe.com. */
  STRIPE_API_URL: optional
    .superRefine((v, ctx) => {
      const why = v === undefined ? undefined : stripeUrlProblem(v);
      if (why) ctx.addIssue({ code: 'custom', message: `STRIPE_API_URL ${why}` });
    })
    .transform((v) => v ?? 'https://api.stripe.com'),
  /**
   * Largest refund one call may ask for: an integer in the minor units of a two-decimal currency
   * (100000 = 1,000.00 USD), applied to every currency as the same number of major units (1,000 EUR,
   * ¥1,000, 1,000.000 KWD); or entries `<currency>:<minor units>` (`usd:100000,jpy:150000`) that set
   * a currency's cap exactly, with an optional bare integer for the others.
   */
  ADMIN_REFUND_MAX_MINOR: z
    .string()
    .optional()
    .transform((v, ctx) => {
      const parsed = parseRefundCap(v);
      if (typeof parsed === 'string') {
        ctx.addIssue({ code: 'custom', message: `ADMIN_REFUND_MAX_MINOR ${parsed}` });
        return z.NEVER;
      }
      return parsed;
    }),
  /** Timeout of one request to Stripe (ms). */
  ADMIN_STRIPE_TIMEOUT_MS: env.int(10_000, 100, 120_000),
  /** Consecutive Stripe outages (5xx, timeouts) that open the breaker. */
  ADMIN_STRIPE_BREAKER_THRESHOLD: env.int(5, 1, 1_000),
  /** How long the breaker stays open before one trial request (ms). */
  ADMIN_STRIPE_BREAKER_HALF_OPEN_MS: env.int(30_000, 100, 3_600_000),
});

/** The parsed billing configuration. */
export interface BillingConfig {
  stripeWriteKey: string | undefined;
  stripeApiUrl: string;
  refundMaxMinor: RefundCap;
  stripeTimeoutMs: number;
  stripeBreakerThreshold: number;
  stripeBreakerHalfOpenMs: number;
}

/** Parses the billing variables; throws FLEET_ERR_CONFIG naming the bad ones (never their values). */
export function billingConfig(vars: Env): BillingConfig {
  return parseEnv(billingSchema, vars, 'admin billing');
}

/** Why the billing tools are not offered by this configuration (tool name → reason), for `unlisted`. */
export function billingUnlisted(config: BillingConfig): Record<string, string> {
  if (config.stripeWriteKey !== undefined) return {};
  const why = 'STRIPE_WRITE_KEY is not set';
  return { issue_refund: why, change_subscription_plan: why };
}
