// Stripe as the billing tools use it: the official SDK with STRIPE_WRITE_KEY on the company's own
// account (no Stripe-Account: the key's account), the SDK's retries off and its HTTP client aborted
// per attempt, every request through stripeCall (timeout, breaker, retries of reads; writes only when
// Stripe said "not processed"), and every answer read back into the few fields the tools need.
import { type Logger, UpstreamBreakers, UpstreamFailure } from '@mcp-fleet/core';
import Stripe from 'stripe';
import { type CallBounds, signalledFetch, stripeCall } from './call.js';
import type { BillingConfig } from './config.js';
import { classifyStripeError } from './errors.js';

/** A payment intent and its charge, as the refund checks read them. */
export interface PaymentFacts {
  id: string;
  status: string;
  currency: string;
  amount: number;
  amountReceived: number;
  /** What refunds of its charge took back already (0 without a charge). */
  amountRefunded: number;
  charge: string | null;
}

/** A subscription as the plan-change checks read it. */
export interface SubscriptionFacts {
  id: string;
  status: string;
  currency: string;
  customer: string;
  items: { id: string; price: string }[];
  /** More items than the page held. */
  moreItems: boolean;
}

/** A price as the plan-change checks read it. */
export interface PriceFacts {
  id: string;
  active: boolean;
  currency: string;
  type: string;
  recurring: { interval: string; intervalCount: number } | null;
  unitAmount: number | null;
  nickname: string | null;
}

/** A refund as Stripe made it. */
export interface RefundFacts {
  id: string;
  amount: number;
  currency: string;
  status: string;
  paymentIntent: string | null;
  /** When Stripe made it (seconds since the epoch). */
  created: number;
  /** Stripe answered with the refund an earlier request with the same Idempotency-Key made. */
  replayed: boolean;
}

/** What every Stripe write carries: its idempotency key and the metadata naming the operation. */
export interface WriteOptions {
  idempotencyKey: string;
  metadata: Record<string, string>;
}

/** Stripe for the admin server's billing tools. */
export class BillingConnector {
  /** One breaker for reads and one for writes (a failing write endpoint is not reset by good reads). */
  readonly breakers: UpstreamBreakers;
  readonly config: BillingConfig;
  readonly #stripe: Stripe;

  constructor(config: BillingConfig, logger: Logger) {
    if (config.stripeWriteKey === undefined) throw new Error('BillingConnector needs STRIPE_WRITE_KEY');
    this.config = config;
    this.breakers = new UpstreamBreakers('stripe', {
      threshold: config.stripeBreakerThreshold,
      halfOpenAfterMs: config.stripeBreakerHalfOpenMs,
    });
    const u = new URL(config.stripeApiUrl);
    const protocol = u.protocol === 'http:' ? 'http' : 'https';
    this.#stripe = new Stripe(config.stripeWriteKey, {
      host: u.hostname.replace(/^\[|\]$/g, ''),
      port: u.port ? Number(u.port) : protocol === 'http' ? 80 : 443,
      protocol,
      httpClient: Stripe.createFetchHttpClient(signalledFetch),
      maxNetworkRetries: 0,
      timeout: config.stripeTimeoutMs,
      telemetry: false,
    });
    logger.debug({ vendor: 'stripe', host: u.host }, 'Stripe billing client created');
  }

  #read<T>(bounds: CallBounds, subject: string | undefined, fn: (s: Stripe) => Promise<T>): Promise<T> {
    return stripeCall(
      {
        breaker: this.breakers.of('read'),
        timeoutMs: this.config.stripeTimeoutMs,
        bounds,
        kind: 'read',
        classify: (err) => classifyStripeError(err, true, subject),
      },
      () => fn(this.#stripe),
    );
  }

  #write<T>(bounds: CallBounds, subject: string | undefined, fn: (s: Stripe) => Promise<T>): Promise<T> {
    return stripeCall(
      {
        breaker: this.breakers.of('write'),
        timeoutMs: this.config.stripeTimeoutMs,
        bounds,
        kind: 'write',
        classify: (err) => classifyStripeError(err, false, subject),
      },
      () => fn(this.#stripe),
    );
  }

  /** Readiness: one price of the account (the cheapest read the write key is allowed). */
  async probe(): Promise<void> {
    await this.#read({ signal: AbortSignal.timeout(this.config.stripeTimeoutMs * 2) }, undefined, (s) =>
      s.prices.list({ limit: 1 }),
    );
  }

  /** A payment intent with its charge's refunded amount. */
  async paymentIntent(id: string, bounds: CallBounds): Promise<PaymentFacts> {
    const pi = await this.#read(bounds, `payment intent ${id}`, (s) =>
      s.paymentIntents.retrieve(id, { expand: ['latest_charge'] }),
    );
    if (pi.id !== id) throw unreadable(`payment intent ${id}`);
    const charge = pi.latest_charge;
    const refunded = charge && typeof charge === 'object' ? charge.amount_refunded : 0;
    if (
      !isMinor(pi.amount) ||
      !isMinor(pi.amount_received) ||
      !isMinor(refunded) ||
      typeof pi.currency !== 'string'
    )
      throw unreadable(`payment intent ${id}`);
    return {
      id: pi.id,
      status: String(pi.status),
      currency: pi.currency.toLowerCase(),
      amount: pi.amount,
      amountReceived: pi.amount_received,
      amountRefunded: refunded,
      charge: charge === null ? null : typeof charge === 'string' ? charge : charge.id,
    };
  }

  /** A subscription and its items' prices. */
  async subscription(id: string, bounds: CallBounds): Promise<SubscriptionFacts> {
    const sub = await this.#read(bounds, `subscription ${id}`, (s) => s.subscriptions.retrieve(id));
    if (sub.id !== id || typeof sub.currency !== 'string') throw unreadable(`subscription ${id}`);
    return {
      id: sub.id,
      status: String(sub.status),
      currency: sub.currency.toLowerCase(),
      customer: typeof sub.customer === 'string' ? sub.customer : sub.customer.id,
      items: sub.items.data.map((i) => ({ id: i.id, price: i.price.id })),
      moreItems: sub.items.has_more,
    };
  }

  /** A price of the catalog. */
  async price(id: string, bounds: CallBounds): Promise<PriceFacts> {
    const p = await this.#read(bounds, `price ${id}`, (s) => s.prices.retrieve(id));
    if (p.id !== id || typeof p.currency !== 'string') throw unreadable(`price ${id}`);
    return {
      id: p.id,
      active: p.active === true,
      currency: p.currency.toLowerCase(),
      type: String(p.type),
      recurring: p.recurring
        ? { interval: String(p.recurring.interval), intervalCount: Number(p.recurring.interval_count) }
        : null,
      unitAmount: typeof p.unit_amount === 'number' ? p.unit_amount : null,
      nickname: p.nickname ?? null,
    };
  }

  /** Refunds `amount` of a payment intent (one POST /v1/refunds, with the idempotency key). */
  async refund(
    p: { paymentIntent: string; amount: number; reason: Stripe.RefundCreateParams.Reason },
    w: WriteOptions,
    bounds: CallBounds,
  ): Promise<RefundFacts> {
    const r = await this.#write(bounds, `payment intent ${p.paymentIntent}`, (s) =>
      s.refunds.create(
        { payment_intent: p.paymentIntent, amount: p.amount, reason: p.reason, metadata: w.metadata },
        { idempotencyKey: w.idempotencyKey },
      ),
    );
    // A 2xx is a refund only when it is Stripe's answer: a refund of this payment for this amount.
    if (
      typeof r?.id !== 'string' ||
      !/^(re|pyr)_[A-Za-z0-9]+$/.test(r.id) ||
      r.amount !== p.amount ||
      (r.payment_intent !== null &&
        (typeof r.payment_intent === 'string' ? r.payment_intent : r.payment_intent?.id) !== p.paymentIntent)
    )
      throw new UpstreamFailure(
        'stripe',
        'uncertain',
        'Stripe answered the refund with something that is not a refund of it',
      );
    return {
      id: r.id,
      amount: r.amount,
      currency: String(r.currency),
      status: String(r.status),
      paymentIntent: typeof r.payment_intent === 'string' ? r.payment_intent : (r.payment_intent?.id ?? null),
      created: typeof r.created === 'number' ? r.created : 0,
      replayed: replayedOf(r),
    };
  }

  /** Moves a subscription's item to another price (one POST /v1/subscriptions/:id, with the key). */
  async changePrice(
    p: { subscription: string; item: string; price: string },
    w: WriteOptions,
    bounds: CallBounds,
  ): Promise<SubscriptionFacts & { replayed: boolean }> {
    const sub = await this.#write(bounds, `subscription ${p.subscription}`, (s) =>
      s.subscriptions.update(
        p.subscription,
        {
          items: [{ id: p.item, price: p.price }],
          proration_behavior: 'create_prorations',
          metadata: w.metadata,
        },
        { idempotencyKey: w.idempotencyKey },
      ),
    );
    const item = sub?.items?.data?.find((i) => i.id === p.item);
    if (sub?.id !== p.subscription || item?.price?.id !== p.price)
      throw new UpstreamFailure(
        'stripe',
        'uncertain',
        'Stripe answered the plan change with something that does not show it',
      );
    return {
      id: sub.id,
      status: String(sub.status),
      currency: String(sub.currency),
      customer: typeof sub.customer === 'string' ? sub.customer : sub.customer.id,
      items: sub.items.data.map((i) => ({ id: i.id, price: i.price.id })),
      moreItems: sub.items.has_more,
      replayed: replayedOf(sub),
    };
  }
}

/** Stripe's `Idempotent-Replayed: true` on the answer (the SDK's lastResponse; fetch Headers or a record). */
function replayedOf(r: unknown): boolean {
  const headers = (r as { lastResponse?: { headers?: unknown } } | null)?.lastResponse?.headers;
  if (!headers || typeof headers !== 'object') return false;
  const v =
    typeof (headers as Headers).get === 'function'
      ? (headers as Headers).get('idempotent-replayed')
      : (headers as Record<string, unknown>)['idempotent-replayed'];
  return String(v).toLowerCase() === 'true';
}

const isMinor = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;

const unreadable = (what: string) =>
  new UpstreamFailure('stripe', 'unavailable', `Stripe's answer about ${what} could not be read`, {
    read: true,
  });
