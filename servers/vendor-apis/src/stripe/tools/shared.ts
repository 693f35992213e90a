// What the Stripe tools share: the connector lookup, read governance, each call's bounds, and the
// trimmed shapes of customers, invoices, payments and subscriptions (ids, names, emails, amounts in
// minor units with their currency, statuses, ISO dates) with their output schemas.
import { callBounds, type ToolContext, ToolError } from '@mcp-fleet/core';
import type Stripe from 'stripe';
import { z } from 'zod';
import type { Connectors } from '../../connectors.js';
import { clampedLimit } from '../../tools/tool.js';
import type { CallBounds, StripeConnector } from '../connector.js';

/** The Stripe connector, or a clear refusal when Stripe is not configured (its tools are then unlisted). */
export function stripeOf(c: Connectors): StripeConnector {
  if (!c.stripe)
    throw new ToolError('Stripe is not configured on this server; ask an operator.', 'not_configured');
  return c.stripe;
}

/** Every Stripe tool reads, caches for 30 s and reaches outside the company. */
export { VENDOR_READ as READ, VENDOR_READ_HINTS as READ_HINTS } from '../../tools/tool.js';

/** The call's signal and a deadline a little before the call's own timeout. */
export const boundsOf = (ctx: Pick<ToolContext, 'signal' | 'deadline'>): CallBounds => callBounds(ctx);

/** Stripe's `limit` for a tool: 1..100 (Stripe's maximum), larger values clamped to 100, not refused. */
export const limitArg = (def: number, what: string) =>
  clampedLimit(
    def,
    100,
    `How many ${what} to return (1-100, default ${def}; values above 100 are treated as 100)`,
  );

/** Seconds since the epoch as an ISO string (null stays null). */
export const iso = (s: number | null | undefined) =>
  s === null || s === undefined ? null : new Date(s * 1000).toISOString();

const isoDate = z.string().describe('ISO 8601 date-time (UTC)');
const money = z.number().int().describe('Amount in the currency’s minor unit (e.g. cents)');
const currency = z.string().describe('Three-letter ISO currency code, lower case');

export const customerOut = z.object({
  id: z.string(),
  name: z.string().nullable(),
  email: z.string().nullable(),
  phone: z.string().nullable(),
  description: z.string().nullable(),
  created: isoDate,
  currency: currency.nullable(),
  balance: money.describe('Customer balance in minor units (negative: credit)'),
  delinquent: z.boolean().describe('Stripe considers the customer delinquent (an unpaid invoice)'),
});
export type CustomerOut = z.infer<typeof customerOut>;

export function trimCustomer(c: Stripe.Customer): CustomerOut {
  return {
    id: c.id,
    name: c.name ?? null,
    email: c.email ?? null,
    phone: c.phone ?? null,
    description: c.description ?? null,
    created: iso(c.created) as string,
    currency: c.currency ?? null,
    balance: c.balance ?? 0,
    delinquent: c.delinquent === true,
  };
}

export const invoiceOut = z.object({
  id: z.string(),
  number: z.string().nullable(),
  status: z.string().nullable().describe('draft, open, paid, uncollectible or void'),
  amountDue: money,
  amountPaid: money,
  amountRemaining: money,
  currency,
  created: isoDate,
  dueDate: isoDate.nullable(),
  paidAt: isoDate.nullable(),
  subscriptionId: z.string().nullable(),
});
export type InvoiceOut = z.infer<typeof invoiceOut>;

export function trimInvoice(i: Stripe.Invoice): InvoiceOut {
  const parent = (i as { parent?: { subscription_details?: { subscription?: unknown } | null } | null })
    .parent;
  const sub = parent?.subscription_details?.subscription;
  return {
    id: i.id as string,
    number: i.number ?? null,
    status: i.status ?? null,
    amountDue: i.amount_due,
    amountPaid: i.amount_paid,
    amountRemaining: i.amount_remaining,
    currency: i.currency,
    created: iso(i.created) as string,
    dueDate: iso(i.due_date),
    paidAt: iso(i.status_transitions?.paid_at),
    subscriptionId:
      typeof sub === 'string'
        ? sub
        : sub && typeof sub === 'object'
          ? String((sub as { id?: unknown }).id)
          : null,
  };
}

export const paymentOut = z.object({
  id: z.string(),
  amount: money,
  amountReceived: money,
  currency,
  status: z.string(),
  created: isoDate,
  description: z.string().nullable(),
  chargeId: z.string().nullable(),
});
export type PaymentOut = z.infer<typeof paymentOut>;

export function trimPayment(p: Stripe.PaymentIntent): PaymentOut {
  const ch = p.latest_charge;
  return {
    id: p.id,
    amount: p.amount,
    amountReceived: p.amount_received,
    currency: p.currency,
    status: p.status,
    created: iso(p.created) as string,
    description: p.description ?? null,
    chargeId: typeof ch === 'string' ? ch : (ch?.id ?? null),
  };
}

export const subscriptionOut = z.object({
  id: z.string(),
  customerId: z.string(),
  status: z.string().describe('active, trialing, past_due, unpaid, canceled, incomplete, paused…'),
  created: isoDate,
  startDate: isoDate,
  cancelAtPeriodEnd: z.boolean(),
  canceledAt: isoDate.nullable(),
  endedAt: isoDate.nullable(),
  currentPeriodEnd: isoDate.nullable(),
  items: z.array(
    z.object({
      priceId: z.string(),
      productId: z.string().nullable(),
      plan: z.string().nullable().describe('The price’s nickname (the plan name)'),
      unitAmount: money.nullable(),
      currency,
      interval: z.string().nullable(),
      quantity: z.number().int().nullable(),
    }),
  ),
});
export type SubscriptionOut = z.infer<typeof subscriptionOut>;

export function trimSubscription(s: Stripe.Subscription): SubscriptionOut {
  const items = s.items?.data ?? [];
  const ends = items
    .map((it) => (it as { current_period_end?: number }).current_period_end)
    .filter((x): x is number => typeof x === 'number');
  return {
    id: s.id,
    customerId: typeof s.customer === 'string' ? s.customer : s.customer.id,
    status: s.status,
    created: iso(s.created) as string,
    startDate: iso(s.start_date) as string,
    cancelAtPeriodEnd: s.cancel_at_period_end === true,
    canceledAt: iso(s.canceled_at),
    endedAt: iso(s.ended_at),
    currentPeriodEnd: ends.length ? iso(Math.max(...ends)) : null,
    items: items.map((it) => ({
      priceId: it.price.id,
      productId: typeof it.price.product === 'string' ? it.price.product : (it.price.product?.id ?? null),
      plan: it.price.nickname ?? null,
      unitAmount: it.price.unit_amount ?? null,
      currency: it.price.currency,
      interval: it.price.recurring?.interval ?? null,
      quantity: it.quantity ?? null,
    })),
  };
}

/** Money as text: `58.00 USD` for two-decimal currencies, the minor units otherwise. */
export function moneyText(amount: number, cur: string): string {
  const zeroDecimal = new Set(['jpy', 'krw', 'vnd', 'clp', 'isk', 'ugx', 'xaf', 'xof', 'pyg', 'rwf']);
  return zeroDecimal.has(cur.toLowerCase())
    ? `${amount} ${cur.toUpperCase()}`
    : `${(amount / 100).toFixed(2)} ${cur.toUpperCase()}`;
}
