// Stripe through the official SDK: one breaker for the vendor, one SDK client per tenant with the
// tenant's connected account (`Stripe-Account`) fixed in it — the account comes from the tenant map,
// keyed by the token's tenant, never from arguments — every request through vendorCall (timeout,
// retries of reads, breaker), and Stripe's errors turned into short safe failures: never the key, the
// request-log URL, the request id, the raw error or the body.
import {
  type CallBounds,
  type Identity,
  type Logger,
  signalledFetch,
  UpstreamBreakers,
  UpstreamFailure,
} from '@mcp-fleet/core';
import Stripe from 'stripe';
import type { VendorApisConfig } from '../config.js';
import { SINGLE } from '../tenants.js';
import { vendorCall } from '../upstream/call.js';
import { knownStripeCode, knownStripeParam } from './errors.js';

/** How the configured key may be used: a restricted key, or a secret key when explicitly allowed. */
export type StripeKeyPosture = { ok: true; mode: 'restricted' | 'secret' } | { ok: false; reason: string };

/**
 * Checks STRIPE_API_KEY's kind (THREATS V4). A restricted key (`rk_…`) is the posture for read
 * tools; a full secret key (`sk_…`) only with STRIPE_ALLOW_SECRET_KEY=true; anything else (a
 * publishable key, a webhook secret, garbage) is refused. The reason never repeats the key.
 */
export function stripeKeyPosture(key: string | undefined, allowSecret: boolean): StripeKeyPosture {
  if (key === undefined || key.trim() === '') return { ok: false, reason: 'STRIPE_API_KEY is not set' };
  const k = key.trim();
  if (/^rk_(test|live)_[A-Za-z0-9]{8,247}$/.test(k)) return { ok: true, mode: 'restricted' };
  if (/^sk_(test|live)_[A-Za-z0-9]{8,247}$/.test(k))
    return allowSecret
      ? { ok: true, mode: 'secret' }
      : {
          ok: false,
          reason:
            'STRIPE_API_KEY is a full secret key (sk_…); use a restricted key (rk_…) with read permissions, ' +
            'or set STRIPE_ALLOW_SECRET_KEY=true to accept it',
        };
  const kind = /^(pk|whsec|rk|sk)_/.exec(k)?.[1];
  return {
    ok: false,
    reason:
      kind === 'pk'
        ? 'STRIPE_API_KEY is a publishable key (pk_…), which cannot read customers; use a restricted key (rk_…)'
        : kind === 'whsec'
          ? 'STRIPE_API_KEY is a webhook signing secret (whsec_…), not an API key; use a restricted key (rk_…)'
          : 'STRIPE_API_KEY is not a Stripe restricted (rk_…) or secret (sk_…) API key',
  };
}

/** What a not-found answer was about, for its message (`customer cus_…`). */
export type StripeSubject = string;

/**
 * Classifies whatever the Stripe SDK threw into an UpstreamFailure with a short safe message: built
 * from the status, Stripe's error code when it is a documented one and its param when it is one this
 * server sends (errors.ts; any other vendor string is dropped, attack B-F1), never its message (it may
 * quote the key), `raw`, `headers`, `requestId` or `request_log_url`; no cause is kept.
 */
export function classifyStripeError(err: unknown, subject?: StripeSubject): UpstreamFailure {
  const e = (err ?? {}) as {
    type?: unknown;
    statusCode?: unknown;
    code?: unknown;
    param?: unknown;
    headers?: unknown;
    message?: unknown;
  };
  const type = typeof e.type === 'string' ? e.type : '';
  const status = typeof e.statusCode === 'number' ? e.statusCode : undefined;
  const code = knownStripeCode(e.code);
  // A code Stripe sent that is not on the list: said so, never repeated.
  const codeText =
    code ?? (e.code !== undefined && e.code !== null ? 'an error code this server does not know' : undefined);
  const param = knownStripeParam(e.param);
  const opts = { status, read: true };

  if (status === 429 || type === 'StripeRateLimitError' || code === 'rate_limit' || code === 'lock_timeout')
    return new UpstreamFailure('stripe', 'rate_limited', 'Stripe rate-limited the request', {
      ...opts,
      retryAfterMs: retryAfterOf(e.headers),
    });
  if (code === 'resource_missing' || status === 404)
    return new UpstreamFailure(
      'stripe',
      'not_found',
      subject
        ? `no ${subject} on your Stripe account`
        : `Stripe found nothing${param ? ` for ${param}` : ''} on your account`,
      opts,
    );
  if (status === 401 || type === 'StripeAuthenticationError')
    return new UpstreamFailure('stripe', 'auth', 'Stripe refused the API key (HTTP 401)', opts);
  if (status === 403 || type === 'StripePermissionError')
    return new UpstreamFailure(
      'stripe',
      'auth',
      `Stripe refused access (HTTP 403${codeText ? `, ${codeText}` : ''}): the key lacks a permission or the tenant's account is not connected`,
      opts,
    );
  if (type === 'StripeConnectionError') {
    const m = typeof e.message === 'string' ? e.message : '';
    return /timeout/i.test(m)
      ? new UpstreamFailure('stripe', 'timeout', 'Stripe did not answer in time', opts)
      : new UpstreamFailure('stripe', 'unavailable', 'Stripe could not be reached', opts);
  }
  if ((status !== undefined && status >= 500) || type === 'StripeAPIError')
    return new UpstreamFailure(
      'stripe',
      'unavailable',
      status ? `Stripe failed (HTTP ${status})` : 'Stripe answered something unreadable',
      opts,
    );
  if (status !== undefined && status >= 400)
    return new UpstreamFailure(
      'stripe',
      'rejected',
      `Stripe refused the request (HTTP ${status}${codeText ? `, ${codeText}` : ''}${param ? `, parameter ${param}` : ''})`,
      opts,
    );
  const name = (err as Error | undefined)?.name;
  if (name === 'TimeoutError')
    return new UpstreamFailure('stripe', 'timeout', 'Stripe did not answer in time', opts);
  return new UpstreamFailure('stripe', 'unavailable', 'Stripe could not be reached', opts);
}

/** Retry-After of an error's response headers (seconds), in ms. */
function retryAfterOf(headers: unknown): number | undefined {
  if (!headers || typeof headers !== 'object') return undefined;
  for (const [k, v] of Object.entries(headers as Record<string, unknown>)) {
    if (k.toLowerCase() !== 'retry-after') continue;
    const s = Array.isArray(v) ? v[0] : v;
    if (typeof s === 'string' && /^\d{1,5}(\.\d+)?$/.test(s.trim())) return Math.ceil(Number(s) * 1000);
  }
  return undefined;
}

/** A call's own bounds: the tool's signal and the time by which the last attempt must end. */
export type { CallBounds };

/** Stripe as the tools use it. */
export class StripeConnector {
  /** The vendor's circuit breaker (readiness and metrics show it). */
  readonly breakers: UpstreamBreakers;
  readonly #config: VendorApisConfig;
  readonly #logger: Logger;
  /** SDK clients by tenant (`''` for a single-tenant deployment), each fixed to its account. */
  readonly #clients = new Map<string, Stripe>();

  constructor(config: VendorApisConfig, logger: Logger) {
    this.#config = config;
    this.#logger = logger;
    this.breakers = new UpstreamBreakers('stripe', {
      threshold: config.breakerThreshold,
      halfOpenAfterMs: config.breakerHalfOpenMs,
    });
  }

  /** Classifies an SDK error (see {@link classifyStripeError}). */
  classify(err: unknown, subject?: StripeSubject): UpstreamFailure {
    return classifyStripeError(err, subject);
  }

  /** The tenant's client: the platform key on the tenant's connected account (from the tenant map). */
  #client(tenant: string | null, account: string | undefined): Stripe {
    const name = tenant ?? '';
    let c = this.#clients.get(name);
    if (!c) {
      const u = new URL(this.#config.stripeApiUrl);
      const protocol = u.protocol === 'http:' ? 'http' : 'https';
      c = new Stripe(this.#config.stripeApiKey as string, {
        host: u.hostname.replace(/^\[|\]$/g, ''),
        port: u.port ? Number(u.port) : protocol === 'http' ? 80 : 443,
        protocol,
        httpClient: Stripe.createFetchHttpClient(signalledFetch),
        maxNetworkRetries: 0,
        timeout: this.#config.stripeTimeoutMs,
        telemetry: false,
        ...(account ? { stripeAccount: account } : {}),
      });
      this.#clients.set(name, c);
      this.#logger.debug(
        { vendor: 'stripe', tenant, connectedAccount: account !== undefined },
        'Stripe client created',
      );
    }
    return c;
  }

  /** One request for the caller's tenant, governed by vendorCall. */
  async #call<T>(
    identity: Pick<Identity, 'tenant'>,
    bounds: CallBounds,
    subject: StripeSubject | undefined,
    fn: (stripe: Stripe) => Promise<T>,
  ): Promise<T> {
    const t = this.#config.tenants.resolve(identity, 'stripe');
    const stripe = this.#client(t.tenant, t.account);
    return vendorCall(
      {
        vendor: 'stripe',
        breaker: this.breakers.of(t.tenant ?? SINGLE),
        timeoutMs: this.#config.stripeTimeoutMs,
        signal: bounds.signal,
        kind: 'read',
        classify: (err) => classifyStripeError(err, subject),
        retries: this.#config.readRetries,
        deadline: bounds.deadline,
      },
      () => fn(stripe),
    );
  }

  /** Cheap probe: one customer of the first configured tenant's account (or the key's own account). */
  async readiness(): Promise<void> {
    const t = this.#config.tenants.all().find((x) => x.stripe !== undefined);
    if (!t) throw new UpstreamFailure('stripe', 'auth', 'no tenant is configured for Stripe');
    const stripe = this.#client(t.tenant, t.stripe?.account);
    await vendorCall(
      {
        vendor: 'stripe',
        breaker: this.breakers.of(t.tenant ?? SINGLE),
        timeoutMs: this.#config.stripeTimeoutMs,
        signal: AbortSignal.timeout(this.#config.stripeTimeoutMs * 2),
        kind: 'read',
        classify: (err) => classifyStripeError(err),
        retries: 0,
      },
      () => stripe.customers.list({ limit: 1 }),
    );
  }

  /** One customer of the caller's account. */
  async getCustomer(identity: Pick<Identity, 'tenant'>, id: string, bounds: CallBounds) {
    const c = await this.#call(identity, bounds, `customer ${id}`, (s) => s.customers.retrieve(id));
    if ((c as { deleted?: boolean }).deleted)
      throw new UpstreamFailure('stripe', 'not_found', `customer ${id} was deleted`, { read: true });
    return c as Stripe.Customer;
  }

  /** Customers matching a search query (Stripe's search language; built by the tool, never by the model). */
  searchCustomers(identity: Pick<Identity, 'tenant'>, query: string, limit: number, bounds: CallBounds) {
    return this.#call(identity, bounds, undefined, (s) => s.customers.search({ query, limit }));
  }

  /** A page of a customer's invoices, newest first. */
  listInvoices(
    identity: Pick<Identity, 'tenant'>,
    p: { customer: string; status?: Stripe.InvoiceListParams.Status; limit: number; startingAfter?: string },
    bounds: CallBounds,
  ) {
    return this.#call(identity, bounds, subjectOf(p.customer, p.startingAfter, 'invoice'), (s) =>
      s.invoices.list({
        customer: p.customer,
        limit: p.limit,
        ...(p.status ? { status: p.status } : {}),
        ...(p.startingAfter ? { starting_after: p.startingAfter } : {}),
      }),
    );
  }

  /** A page of a customer's payments (payment intents), newest first. */
  listPaymentIntents(
    identity: Pick<Identity, 'tenant'>,
    p: { customer: string; limit: number; startingAfter?: string },
    bounds: CallBounds,
  ) {
    return this.#call(identity, bounds, subjectOf(p.customer, p.startingAfter, 'payment'), (s) =>
      s.paymentIntents.list({
        customer: p.customer,
        limit: p.limit,
        ...(p.startingAfter ? { starting_after: p.startingAfter } : {}),
      }),
    );
  }

  /** One subscription of the caller's account. */
  getSubscription(identity: Pick<Identity, 'tenant'>, id: string, bounds: CallBounds) {
    return this.#call(identity, bounds, `subscription ${id}`, (s) => s.subscriptions.retrieve(id));
  }

  /** A customer's subscriptions, every status (newest first, at most `limit`). */
  listSubscriptions(identity: Pick<Identity, 'tenant'>, customer: string, limit: number, bounds: CallBounds) {
    return this.#call(identity, bounds, `customer ${customer}`, (s) =>
      s.subscriptions.list({ customer, status: 'all', limit }),
    );
  }
}

/** A list's not-found subject: the customer, or (with a cursor) the customer or the cursor's object. */
const subjectOf = (customer: string, startingAfter: string | undefined, what: string) =>
  startingAfter ? `customer ${customer} or ${what} ${startingAfter}` : `customer ${customer}`;
