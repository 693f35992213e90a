// The Stripe API simulator: the endpoints the vendor-apis Stripe tools use, as Stripe answers them —
// Bearer (or Basic) key auth, `Stripe-Account` selecting a connected account (another account's object
// is a 404 resource_missing), list and search result shapes with their pagination, Stripe's error
// bodies with `Request-Id`, 429 rate limits, and a restricted key that cannot write. Mounted at the
// root of its own app (the Stripe SDK has no base path). Seeded from the warehouse's demo customers.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Fault } from '../shared/faults.js';
import { HttpSimulator, type ListenOptions } from '../shared/http.js';
import type { RecordedRequest } from '../shared/records.js';
import { CUSTOMER_SEARCH_FIELDS, matchesSearch, parseSearchQuery, SearchQueryError } from './search.js';
import {
  currencyExponent,
  type SimAccount,
  type SimPaymentIntent,
  type SimPrice,
  type SimRefund,
  STRIPE_SIM,
  seedStripe,
  stableId,
} from './seed.js';

/** Which key a request carried (`write`: the admin server's restricted key of acme's own account). */
export type StripeKeyUsed = 'restricted' | 'secret' | 'write' | 'invalid' | 'none';

/** One request as the Stripe simulator saw it (credentials reduced to which key was used). */
export interface StripeRecordedRequest extends RecordedRequest {
  /** The query string as parsed. */
  query: Record<string, unknown>;
  /** The `Stripe-Account` header, if any. */
  account: string | undefined;
  key: StripeKeyUsed;
  /** The Idempotency-Key header of a POST, as sent. */
  idempotencyKey?: string;
  /** The answer was a stored one replayed for the same key and parameters (`Idempotent-Replayed: true`). */
  replayed?: boolean;
}

/** Stripe's error object. */
interface StripeErrorBody {
  type: 'api_error' | 'invalid_request_error' | 'permission_error' | 'card_error' | 'idempotency_error';
  code?: string;
  message: string;
  param?: string;
  doc_url?: string;
}

/** An error a handler throws; answered as Stripe's `{error: {...}}` with `status`. */
class StripeApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: StripeErrorBody,
    /** The parameters failed validation before the endpoint ran: no idempotent result is saved. */
    readonly validation = false,
  ) {
    super(body.message);
  }
}

const missing = (what: string, id: string, param: string) =>
  new StripeApiError(param === 'id' ? 404 : 400, {
    type: 'invalid_request_error',
    code: 'resource_missing',
    message: `No such ${what}: '${id}'`,
    param,
    doc_url: 'https://stripe.com/docs/error-codes/resource-missing',
  });

const invalidParam = (param: string, message: string) =>
  new StripeApiError(400, {
    type: 'invalid_request_error',
    code: 'parameter_invalid_integer',
    message,
    param,
  });

type Query = Record<string, string | string[] | undefined>;

interface Ctx {
  account: SimAccount;
  query: Query;
  params: Record<string, string>;
  path: string;
  /** A POST's form body (flat keys as sent: `metadata[approval]`, `items[0][price]`). */
  body: Record<string, string>;
}

/** A stored answer of an idempotent POST. */
interface StoredAnswer {
  method: string;
  path: string;
  /** The request's parameters, canonical, for "same parameters". */
  params: string;
  status: number;
  body: unknown;
}

const one = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);

/** Simulates Stripe's API for the platform and its tenants' connected accounts. */
export class StripeSimulator extends HttpSimulator {
  protected readonly standalonePrefix = '';
  /** Every connected account (and the platform's own) with its objects; tests may change them. */
  readonly accounts: Map<string, SimAccount> = seedStripe();
  readonly restrictedKey: string = STRIPE_SIM.restrictedKey;
  readonly secretKey: string = STRIPE_SIM.secretKey;
  readonly writeKey: string = STRIPE_SIM.writeKey;
  readonly #log: StripeRecordedRequest[] = [];
  /** Idempotent POST answers by API key, account and Idempotency-Key. */
  readonly #idempotent = new Map<string, StoredAnswer>();
  /** Operations whose next write is applied and then answered with this 5xx (see failAfterApply). */
  readonly #afterApply = new Map<string, number[]>();
  #objectSeq = 0;
  #requestSeq = 0;
  /** The request being answered (read by faultReply, which runs synchronously inside intercept). */
  #current: { requestId: string; account: string } = { requestId: '', account: '' };

  /** Requests received, oldest first: method, path, query, Stripe-Account and which key. */
  override get requests(): StripeRecordedRequest[] {
    return this.#log;
  }

  /** Forget the request log. */
  clearRequests(): void {
    this.#log.length = 0;
    this.recorder.clear();
  }

  /**
   * The next call of `operation` (`refunds.create`, `subscriptions.update`) is applied — the refund is
   * made, the plan changed — and then answered with `status` (a 5xx) and Stripe's api_error body, as
   * when Stripe fails after the change landed. The stored idempotent answer is that error too.
   */
  failAfterApply(operation: string, status = 500): void {
    const list = this.#afterApply.get(operation) ?? [];
    list.push(status);
    this.#afterApply.set(operation, list);
  }

  /** The account of a tenant (`acme`, `globex`, `initech`). */
  account(tenant: keyof typeof STRIPE_SIM.tenants): SimAccount {
    return this.accounts.get(STRIPE_SIM.tenants[tenant].account) as SimAccount;
  }

  protected routes(scope: FastifyInstance): void {
    scope.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string' },
      (_req, body, done) => done(null, Object.fromEntries(new URLSearchParams(String(body)))),
    );
    scope.addHook('onSend', async (_req, reply) => {
      reply.header('x-simulator', 'mcp-fleet stripe simulator');
    });
    const get = (url: string, operation: string, fn: (c: Ctx) => unknown) =>
      scope.get(url, (req, reply) => this.#handle(req, reply, operation, fn));
    get('/v1/customers/search', 'customers.search', (c) => this.#searchCustomers(c));
    get('/v1/customers/:id', 'customers.retrieve', (c) => {
      const cus = c.account.customers.find((x) => x.id === c.params.id);
      if (!cus) throw missing('customer', c.params.id ?? '', 'id');
      return cus;
    });
    get('/v1/customers', 'customers.list', (c) => {
      const email = one(c.query.email);
      return this.#list(
        c,
        c.account.customers.filter((x) => email === undefined || x.email === email),
        'customer',
      );
    });
    get('/v1/invoices', 'invoices.list', (c) => {
      const customer = this.#customerFilter(c);
      const status = one(c.query.status);
      if (status !== undefined && !['draft', 'open', 'paid', 'uncollectible', 'void'].includes(status))
        throw new StripeApiError(400, {
          type: 'invalid_request_error',
          code: 'parameter_invalid_string',
          message: `Invalid status: must be one of draft, open, paid, uncollectible, or void`,
          param: 'status',
        });
      const subscription = one(c.query.subscription);
      return this.#list(
        c,
        c.account.invoices.filter(
          (x) =>
            (customer === undefined || x.customer === customer) &&
            (status === undefined || x.status === status) &&
            (subscription === undefined || x.parent?.subscription_details.subscription === subscription),
        ),
        'invoice',
      );
    });
    get('/v1/payment_intents', 'payment_intents.list', (c) => {
      const customer = this.#customerFilter(c);
      return this.#list(
        c,
        c.account.paymentIntents.filter((x) => customer === undefined || x.customer === customer),
        'payment_intent',
      );
    });
    get('/v1/subscriptions/:id', 'subscriptions.retrieve', (c) => {
      const sub = c.account.subscriptions.find((x) => x.id === c.params.id);
      if (!sub) throw missing('subscription', c.params.id ?? '', 'id');
      return sub;
    });
    get('/v1/subscriptions', 'subscriptions.list', (c) => {
      const customer = this.#customerFilter(c);
      const status = one(c.query.status);
      return this.#list(
        c,
        c.account.subscriptions.filter(
          (x) =>
            (customer === undefined || x.customer === customer) &&
            (status === 'all'
              ? true
              : status === undefined
                ? x.status !== 'canceled' && x.status !== 'incomplete_expired'
                : x.status === status),
        ),
        'subscription',
      );
    });
    get('/v1/payment_intents/:id', 'payment_intents.retrieve', (c) => {
      const pi = c.account.paymentIntents.find((x) => x.id === c.params.id);
      if (!pi) throw missing('payment_intent', c.params.id ?? '', 'id');
      const expand = expandsOf(c.query, ['latest_charge', 'customer']);
      return {
        ...pi,
        latest_charge:
          expand.includes('latest_charge') && pi.latest_charge
            ? this.#charge(c.account, pi)
            : pi.latest_charge,
        ...(expand.includes('customer')
          ? { customer: c.account.customers.find((x) => x.id === pi.customer) ?? pi.customer }
          : {}),
      };
    });
    get('/v1/refunds/:id', 'refunds.retrieve', (c) => {
      const r = c.account.refunds.find((x) => x.id === c.params.id);
      if (!r) throw missing('refund', c.params.id ?? '', 'id');
      return r;
    });
    get('/v1/refunds', 'refunds.list', (c) => {
      const pi = one(c.query.payment_intent);
      const charge = one(c.query.charge);
      if (pi !== undefined && !c.account.paymentIntents.some((x) => x.id === pi))
        throw missing('payment_intent', pi, 'payment_intent');
      return this.#list(
        c,
        c.account.refunds.filter(
          (x) =>
            (pi === undefined || x.payment_intent === pi) && (charge === undefined || x.charge === charge),
        ),
        'refund',
      );
    });
    get('/v1/prices/:id', 'prices.retrieve', (c) => {
      const p = c.account.prices.find((x) => x.id === c.params.id);
      if (!p) throw missing('price', c.params.id ?? '', 'id');
      return p;
    });
    get('/v1/prices', 'prices.list', (c) => {
      const active = one(c.query.active);
      const currency = one(c.query.currency);
      return this.#list(
        c,
        c.account.prices.filter(
          (x) =>
            (active === undefined || String(x.active) === active) &&
            (currency === undefined || x.currency === currency),
        ),
        'price',
      );
    });
    const post = (url: string, operation: string, fn: (c: Ctx) => unknown) =>
      scope.post(url, (req, reply) => this.#handle(req, reply, operation, fn));
    post('/v1/refunds', 'refunds.create', (c) => this.#createRefund(c));
    post('/v1/subscriptions/:id', 'subscriptions.update', (c) => this.#updateSubscription(c));
    // Anything else: Stripe's unrecognized URL (a restricted key's write is refused before that).
    scope.setNotFoundHandler((req, reply) =>
      this.#handle(req, reply, 'unknown', () => {
        throw new StripeApiError(404, {
          type: 'invalid_request_error',
          message: `Unrecognized request URL (${req.method}: ${req.url.split('?')[0]}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.`,
        });
      }),
    );
  }

  protected faultReply(reply: FastifyReply, fault: Fault): FastifyReply {
    if ('rateLimit' in fault) {
      if (fault.rateLimit > 0) reply.header('retry-after', String(fault.rateLimit));
      return this.#error(reply, 429, {
        type: 'invalid_request_error',
        code: 'rate_limit',
        message:
          'Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits.',
        doc_url: 'https://stripe.com/docs/error-codes/rate-limit',
      });
    }
    if ('status' in fault) {
      const s = fault.status;
      const body: StripeErrorBody =
        s >= 500
          ? { type: 'api_error', message: fault.message ?? 'An unknown error occurred' }
          : s === 403
            ? { type: 'permission_error', message: fault.message ?? 'Permission denied' }
            : s === 404
              ? {
                  type: 'invalid_request_error',
                  code: 'resource_missing',
                  message: fault.message ?? 'No such object',
                }
              : { type: 'invalid_request_error', message: fault.message ?? 'Invalid request' };
      return this.#error(reply, s, body);
    }
    if ('error' in fault)
      return this.#error(reply, 400, {
        type: 'invalid_request_error',
        code: fault.error,
        message: `The request failed: ${fault.error}`,
      });
    return reply;
  }

  #error(reply: FastifyReply, status: number, body: StripeErrorBody): FastifyReply {
    return reply.code(status).send(this.#errorBody(body));
  }

  /** Stripe's error envelope of the request being answered. */
  #errorBody(body: StripeErrorBody) {
    const { requestId, account } = this.#current;
    const where = account && account !== STRIPE_SIM.platformAccount ? `${account}/` : '';
    return {
      error: {
        ...body,
        request_log_url: `https://dashboard.stripe.com/${where}test/logs/${requestId}?t=${Math.floor(Date.now() / 1000)}`,
      },
    };
  }

  async #handle(
    req: FastifyRequest,
    reply: FastifyReply,
    operation: string,
    fn: (c: Ctx) => unknown,
  ): Promise<FastifyReply> {
    const query = (req.query ?? {}) as Query;
    const body = (req.body && typeof req.body === 'object' ? req.body : {}) as Record<string, string>;
    const accountHeader = one(req.headers['stripe-account']);
    const key = keyOf(req.headers.authorization);
    const keyUsed: StripeKeyUsed =
      key === undefined
        ? 'none'
        : key === this.restrictedKey
          ? 'restricted'
          : key === this.secretKey
            ? 'secret'
            : key === this.writeKey
              ? 'write'
              : 'invalid';
    const write = req.method !== 'GET' && req.method !== 'HEAD';
    const idempotencyKey = write ? one(req.headers['idempotency-key']) : undefined;
    const requestId = `req_${(++this.#requestSeq).toString(36).padStart(8, '0')}Sim`;
    // A key's own account: the platform's for the platform keys, acme's for the write key.
    const ownAccount = keyUsed === 'write' ? STRIPE_SIM.writeKeyAccount : STRIPE_SIM.platformAccount;
    this.#current = { requestId, account: accountHeader ?? ownAccount };
    reply.header('request-id', requestId);
    const path = req.url.split('?')[0] ?? req.url;
    const entry: StripeRecordedRequest = {
      operation,
      method: req.method,
      path,
      params: { ...query, ...body },
      headers: {},
      at: new Date().toISOString(),
      query,
      account: accountHeader,
      key: keyUsed,
      ...(idempotencyKey !== undefined ? { idempotencyKey } : {}),
    };
    this.#log.push(entry);
    if (await this.intercept(req, reply, operation, query, [operation, accountHeader ?? 'platform']))
      return reply;
    // Another request may have been answered while a fault waited: this one's ids again.
    this.#current = { requestId, account: accountHeader ?? ownAccount };

    if (keyUsed === 'none')
      return this.#error(reply, 401, {
        type: 'invalid_request_error',
        message:
          "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
      });
    if (keyUsed === 'invalid')
      return this.#error(reply, 401, {
        type: 'invalid_request_error',
        message: `Invalid API Key provided: ${mask(key as string)}`,
      });
    // The platform's restricted key reads only; the write key may write refunds and subscriptions.
    const writable = keyUsed === 'secret' || (keyUsed === 'write' && WRITE_KEY_WRITES.has(operation));
    if (write && !writable)
      return this.#error(reply, 403, {
        type: 'permission_error',
        message: `The provided key '${mask(key as string)}' does not have the required permissions for this endpoint on account '${this.#current.account}'. Having the 'rak_${operation.split('.')[0]}_write' permission would allow this request to continue.`,
      });
    // The write key is a key of acme's own account: it cannot act on another account.
    const accountId = accountHeader ?? ownAccount;
    const account =
      keyUsed === 'write' && accountId !== STRIPE_SIM.writeKeyAccount
        ? undefined
        : this.accounts.get(accountId);
    if (!account)
      return this.#error(reply, 403, {
        type: 'invalid_request_error',
        code: 'account_invalid',
        message: `The provided key '${mask(key as string)}' does not have access to account '${accountHeader}' (or that account does not exist). Application access may have been revoked.`,
      });

    // Idempotency (Stripe's v1 semantics): per API key and account; the same key with the same
    // parameters replays the saved answer (Idempotent-Replayed: true) and changes nothing; with other
    // parameters it is an idempotency_error. Answers are saved once the endpoint began executing.
    let scope: string | undefined;
    const canonical = JSON.stringify(Object.entries(body).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    if (idempotencyKey !== undefined) {
      if (idempotencyKey.length > 255)
        return this.#error(reply, 400, {
          type: 'invalid_request_error',
          message: 'Idempotency keys can be at most 255 characters long.',
        });
      scope = `${key}\u0000${account.id}\u0000${idempotencyKey}`;
      const stored = this.#idempotent.get(scope);
      if (stored) {
        if (stored.method !== req.method || stored.path !== path || stored.params !== canonical)
          return this.#error(reply, 400, {
            type: 'idempotency_error',
            message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${idempotencyKey}' if you meant to execute a different request.`,
          });
        entry.replayed = true;
        reply.header('idempotent-replayed', 'true');
        return reply.code(stored.status).send(stored.body);
      }
    }
    const save = (status: number, out: unknown) => {
      if (scope !== undefined)
        this.#idempotent.set(scope, { method: req.method, path, params: canonical, status, body: out });
    };

    let status = 200;
    let out: unknown;
    try {
      out = fn({ account, query, params: (req.params ?? {}) as Record<string, string>, path, body });
    } catch (err) {
      let e: StripeApiError | undefined;
      if (err instanceof StripeApiError) e = err;
      else if (err instanceof SearchQueryError)
        e = new StripeApiError(400, {
          type: 'invalid_request_error',
          code: 'parameter_invalid_string',
          message: err.message,
          param: 'query',
          doc_url: 'https://stripe.com/docs/search#search-query-language',
        });
      else throw err;
      if (!e.validation) save(e.status, this.#errorBody(e.body));
      return this.#error(reply, e.status, e.body);
    }
    // A fault that lets the write land and spoils the answer: a 5xx (saved as the answer), or the
    // base simulator's dropAfterCommit / delayAfterCommit.
    const failed = write ? this.#afterApply.get(operation)?.shift() : undefined;
    if (failed !== undefined) {
      status = failed;
      out = this.#errorBody({ type: 'api_error', message: 'An unknown error occurred' });
    }
    save(status, out);
    if (write && (await this.afterCommit(req, reply))) return reply;
    return reply.code(status).send(out);
  }

  /** The `customer` filter of a list, checked to exist in the account (Stripe: "No such customer"). */
  #customerFilter(c: Ctx): string | undefined {
    const customer = one(c.query.customer);
    if (customer !== undefined && !c.account.customers.some((x) => x.id === customer))
      throw missing('customer', customer, 'customer');
    return customer;
  }

  #limit(c: Ctx): number {
    const raw = one(c.query.limit);
    if (raw === undefined) return 10;
    if (!/^-?\d+$/.test(raw)) throw invalidParam('limit', `Invalid integer: ${raw.slice(0, 40)}`);
    const n = Number(raw);
    if (n < 1) throw invalidParam('limit', 'This value must be greater than or equal to 1.');
    if (n > 100) throw invalidParam('limit', 'This value must be less than or equal to 100.');
    return n;
  }

  /** A Stripe list page (newest first) honouring limit and starting_after/ending_before. */
  #list<T extends { id: string; created: number }>(c: Ctx, items: T[], what: string) {
    const limit = this.#limit(c);
    const all = [...this.#allOf(c.account, what)] as { id: string; created: number }[];
    const after = one(c.query.starting_after);
    const before = one(c.query.ending_before);
    let rest = items;
    const order = (a: { id: string; created: number }, b: { id: string; created: number }) =>
      b.created - a.created || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
    if (after !== undefined) {
      const anchor = all.find((x) => x.id === after);
      if (!anchor) throw missing(what.replace('_', ' '), after, 'starting_after');
      rest = items.filter((x) => order(anchor, x) < 0);
    } else if (before !== undefined) {
      const anchor = all.find((x) => x.id === before);
      if (!anchor) throw missing(what.replace('_', ' '), before, 'ending_before');
      rest = items.filter((x) => order(x, anchor) < 0).slice(-limit);
    }
    return {
      object: 'list',
      data: rest.slice(0, limit),
      has_more: rest.length > limit,
      url: c.path,
    };
  }

  #allOf(a: SimAccount, what: string): readonly { id: string; created: number }[] {
    switch (what) {
      case 'customer':
        return a.customers;
      case 'invoice':
        return a.invoices;
      case 'payment_intent':
        return a.paymentIntents;
      case 'refund':
        return a.refunds;
      case 'price':
        return a.prices;
      default:
        return a.subscriptions;
    }
  }

  /** The charge of a succeeded payment intent, with what its refunds took back. */
  #charge(a: SimAccount, pi: SimPaymentIntent) {
    const refunded = refundedOf(a, pi.id);
    return {
      id: pi.latest_charge,
      object: 'charge',
      amount: pi.amount,
      amount_captured: pi.amount_received,
      amount_refunded: refunded,
      captured: true,
      created: pi.created,
      currency: pi.currency,
      customer: pi.customer,
      livemode: false,
      metadata: {},
      paid: true,
      payment_intent: pi.id,
      refunded: refunded >= pi.amount_received,
      status: 'succeeded',
    };
  }

  /** POST /v1/refunds: a refund of a payment intent's (or a charge's) unrefunded amount. */
  #createRefund(c: Ctx): SimRefund {
    const b = c.body;
    for (const k of Object.keys(b))
      if (
        !['payment_intent', 'charge', 'amount', 'reason'].includes(k) &&
        !/^(metadata|expand)\[[^\]]*\]$/.test(k)
      )
        throw unknownParam(k);
    const metadata = metadataOf(b);
    const piId = b.payment_intent;
    const chargeId = b.charge;
    if (piId === undefined && chargeId === undefined)
      throw new StripeApiError(
        400,
        {
          type: 'invalid_request_error',
          code: 'parameter_missing',
          message:
            'One of the following params should be provided for this request: payment_intent or charge.',
        },
        true,
      );
    let amount: number | undefined;
    if (b.amount !== undefined) {
      if (!/^-?\d{1,18}$/.test(b.amount))
        throw validation('amount', `Invalid integer: ${b.amount.slice(0, 40)}`);
      amount = Number(b.amount);
      if (amount < 1) throw validation('amount', 'Invalid positive integer');
    }
    const reason = b.reason;
    if (reason !== undefined && !['duplicate', 'fraudulent', 'requested_by_customer'].includes(reason))
      throw new StripeApiError(
        400,
        {
          type: 'invalid_request_error',
          code: 'parameter_invalid_string',
          message: 'Invalid reason: must be one of duplicate, fraudulent, or requested_by_customer',
          param: 'reason',
        },
        true,
      );
    const pi =
      piId !== undefined
        ? c.account.paymentIntents.find((x) => x.id === piId)
        : c.account.paymentIntents.find((x) => x.latest_charge === chargeId);
    if (!pi)
      throw piId !== undefined
        ? missing('payment_intent', piId, 'payment_intent')
        : missing('charge', chargeId ?? '', 'charge');
    if (pi.status !== 'succeeded' || !pi.latest_charge)
      throw new StripeApiError(400, {
        type: 'invalid_request_error',
        message: `This PaymentIntent (${pi.id}) does not have a successful charge to refund.`,
        param: piId !== undefined ? 'payment_intent' : 'charge',
      });
    const remaining = pi.amount_received - refundedOf(c.account, pi.id);
    if (remaining <= 0)
      throw new StripeApiError(400, {
        type: 'invalid_request_error',
        code: 'charge_already_refunded',
        message: `Charge ${pi.latest_charge} has already been refunded.`,
        doc_url: 'https://stripe.com/docs/error-codes/charge-already-refunded',
      });
    if (amount !== undefined && amount > remaining)
      throw new StripeApiError(400, {
        type: 'invalid_request_error',
        code: 'amount_too_large',
        message: `Refund amount (${money(amount, pi.currency)}) is greater than unrefunded amount on charge (${money(remaining, pi.currency)})`,
        param: 'amount',
        doc_url: 'https://stripe.com/docs/error-codes/amount-too-large',
      });
    const seq = ++this.#objectSeq;
    const refund: SimRefund = {
      id: stableId('re', `${c.account.id}:${pi.id}:${seq}:${Date.now()}`),
      object: 'refund',
      amount: amount ?? remaining,
      balance_transaction: stableId('txn', `${c.account.id}:${pi.id}:${seq}:${Date.now()}`),
      charge: pi.latest_charge,
      created: Math.floor(Date.now() / 1000),
      currency: pi.currency,
      metadata,
      payment_intent: pi.id,
      reason: (reason as SimRefund['reason']) ?? null,
      status: 'succeeded',
    };
    c.account.refunds.unshift(refund);
    return refund;
  }

  /** POST /v1/subscriptions/:id: items (price changes, additions, deletions), proration, metadata. */
  #updateSubscription(c: Ctx) {
    const b = c.body;
    const items = new Map<number, Record<string, string>>();
    for (const [k, v] of Object.entries(b)) {
      const m = /^items\[(\d{1,2})\]\[(id|price|quantity|deleted)\]$/.exec(k);
      if (m) {
        const i = Number(m[1]);
        items.set(i, { ...(items.get(i) ?? {}), [m[2] as string]: v });
        continue;
      }
      if (k === 'proration_behavior' || /^(metadata|expand)\[[^\]]*\]$/.test(k)) continue;
      throw unknownParam(k);
    }
    const metadata = metadataOf(b);
    const proration = b.proration_behavior;
    if (proration !== undefined && !['create_prorations', 'none', 'always_invoice'].includes(proration))
      throw new StripeApiError(
        400,
        {
          type: 'invalid_request_error',
          code: 'parameter_invalid_string',
          message: 'Invalid proration_behavior: must be one of create_prorations, none, or always_invoice',
          param: 'proration_behavior',
        },
        true,
      );
    const sub = c.account.subscriptions.find((x) => x.id === c.params.id);
    if (!sub) throw missing('subscription', c.params.id ?? '', 'id');
    if (sub.status === 'canceled' || sub.status === 'incomplete_expired')
      throw new StripeApiError(400, {
        type: 'invalid_request_error',
        message:
          'A canceled subscription can only update its cancellation_details, default_payment_method, and metadata.',
      });
    // Check everything first: a refused update changes nothing.
    const changes: {
      index: number;
      item?: (typeof sub.items.data)[number];
      price?: SimPrice;
      deleted: boolean;
      quantity?: number;
    }[] = [];
    for (const [index, it] of [...items].sort(([a], [b2]) => a - b2)) {
      const param = (f: string) => `items[${index}][${f}]`;
      const item = it.id !== undefined ? sub.items.data.find((x) => x.id === it.id) : undefined;
      if (it.id !== undefined && !item) throw missing('subscription_item', it.id, param('id'));
      const deleted = it.deleted === 'true';
      let price: SimPrice | undefined;
      if (it.price !== undefined) {
        price = c.account.prices.find((x) => x.id === it.price);
        if (!price) throw missing('price', it.price, param('price'));
        if (!price.active)
          throw new StripeApiError(400, {
            type: 'invalid_request_error',
            message: 'The price specified is inactive. This field only accepts active prices.',
            param: param('price'),
          });
        if (price.type !== 'recurring' || !price.recurring)
          throw new StripeApiError(400, {
            type: 'invalid_request_error',
            message:
              'The price specified is set to `type=one_time` but this field only accepts prices with `type=recurring`.',
            param: param('price'),
          });
        if (price.currency !== sub.currency)
          throw new StripeApiError(400, {
            type: 'invalid_request_error',
            message: `The price specified only supports \`${price.currency}\`. This doesn't match the expected currency: \`${sub.currency}\`.`,
            param: param('price'),
          });
      } else if (!item && !deleted) throw validation(param('price'), 'Missing required param: price.');
      let quantity: number | undefined;
      if (it.quantity !== undefined) {
        if (!/^\d{1,9}$/.test(it.quantity))
          throw validation(param('quantity'), `Invalid integer: ${it.quantity}`);
        quantity = Number(it.quantity);
      }
      changes.push({ index, item, price, deleted, quantity });
    }
    for (const ch of changes) {
      const shape = ch.price
        ? {
            id: ch.price.id,
            object: 'price' as const,
            product: ch.price.product,
            nickname: ch.price.nickname,
            unit_amount: ch.price.unit_amount,
            currency: ch.price.currency,
            recurring: ch.price.recurring
              ? { interval: ch.price.recurring.interval, interval_count: ch.price.recurring.interval_count }
              : null,
          }
        : undefined;
      if (ch.item && ch.deleted) sub.items.data = sub.items.data.filter((x) => x !== ch.item);
      else if (ch.item) {
        if (shape) ch.item.price = shape;
        if (ch.quantity !== undefined) ch.item.quantity = ch.quantity;
      } else if (shape) {
        const first = sub.items.data[0];
        sub.items.data.push({
          id: stableId('si', `${sub.id}:${++this.#objectSeq}:${Date.now()}`),
          object: 'subscription_item',
          quantity: ch.quantity ?? 1,
          current_period_start: first?.current_period_start ?? Math.floor(Date.now() / 1000),
          current_period_end: first?.current_period_end ?? Math.floor(Date.now() / 1000),
          price: shape,
        });
      }
    }
    Object.assign(sub.metadata, metadata);
    return sub;
  }

  #searchCustomers(c: Ctx) {
    const query = one(c.query.query);
    if (query === undefined)
      throw new StripeApiError(400, {
        type: 'invalid_request_error',
        code: 'parameter_missing',
        message: 'Missing required param: query.',
        param: 'query',
      });
    const parsed = parseSearchQuery(query, CUSTOMER_SEARCH_FIELDS);
    const limit = this.#limit(c);
    const page = one(c.query.page);
    let offset = 0;
    if (page !== undefined) {
      const m = /^off:(\d{1,6})$/.exec(Buffer.from(page, 'base64url').toString());
      if (!m)
        throw new StripeApiError(400, {
          type: 'invalid_request_error',
          message: 'Invalid page token.',
          param: 'page',
        });
      offset = Number(m[1]);
    }
    const hits = c.account.customers.filter((x) => matchesSearch(x as never, parsed));
    const data = hits.slice(offset, offset + limit);
    const more = hits.length > offset + limit;
    return {
      object: 'search_result',
      data,
      has_more: more,
      next_page: more ? Buffer.from(`off:${offset + limit}`).toString('base64url') : null,
      url: '/v1/customers/search',
    };
  }
}

/** What the write key may write (Stripe's restricted-key permissions: refunds and subscriptions). */
const WRITE_KEY_WRITES: ReadonlySet<string> = new Set(['refunds.create', 'subscriptions.update']);

/** What the refunds of a payment intent took back. */
const refundedOf = (a: SimAccount, pi: string) =>
  a.refunds
    .filter((r) => r.payment_intent === pi && r.status === 'succeeded')
    .reduce((n, r) => n + r.amount, 0);

/** An amount as Stripe's messages show it: `$12.34`, `¥1,200`, `€249.00`. */
function money(minor: number, currency: string): string {
  const exp = currencyExponent(currency);
  const sym: Record<string, string> = { usd: '$', eur: '€', gbp: '£', jpy: '¥' };
  const major = (minor / 10 ** exp).toLocaleString('en-US', {
    minimumFractionDigits: exp,
    maximumFractionDigits: exp,
  });
  return sym[currency] ? `${sym[currency]}${major}` : `${major} ${currency.toUpperCase()}`;
}

/** The values of `expand[]` / `expand[0]` parameters, each one that the object can expand. */
function expandsOf(query: Query, allowed: readonly string[]): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(query)) {
    if (!/^expand(\[\d*\])?$/.test(k)) continue;
    for (const x of Array.isArray(v) ? v : [v]) {
      if (x === undefined) continue;
      if (!allowed.includes(x))
        throw new StripeApiError(
          400,
          {
            type: 'invalid_request_error',
            message: `This property cannot be expanded (${x.slice(0, 60)}).`,
            param: 'expand',
          },
          true,
        );
      out.push(x);
    }
  }
  return out;
}

/** `metadata[k]=v` parameters as an object, bounded as Stripe bounds them. */
function metadataOf(body: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(body)) {
    const m = /^metadata\[([^\]]*)\]$/.exec(k);
    if (!m) continue;
    const name = m[1] as string;
    if (name.length === 0 || name.length > 40)
      throw validation(k, 'Metadata keys must be between 1 and 40 characters long.');
    if (v.length > 500) throw validation(k, 'Metadata values can have up to 500 characters.');
    out[name] = v;
  }
  if (Object.keys(out).length > 50)
    throw validation('metadata', 'You can specify up to 50 keys in metadata.');
  return out;
}

const unknownParam = (k: string) =>
  new StripeApiError(
    400,
    {
      type: 'invalid_request_error',
      code: 'parameter_unknown',
      message: `Received unknown parameter: ${k.slice(0, 80)}`,
      param: k.slice(0, 80),
    },
    true,
  );

const validation = (param: string, message: string) =>
  new StripeApiError(
    400,
    { type: 'invalid_request_error', code: 'parameter_invalid_integer', message, param },
    true,
  );

/** The key of an Authorization header: `Bearer <key>` or Basic with the key as user name. */
function keyOf(auth: string | undefined): string | undefined {
  if (!auth) return undefined;
  if (auth.startsWith('Bearer ')) return auth.slice(7).trim() || undefined;
  if (auth.startsWith('Basic ')) {
    const user = Buffer.from(auth.slice(6), 'base64').toString().split(':')[0];
    return user || undefined;
  }
  return undefined;
}

/** Stripe's masking of a key in messages: prefix and last four characters. */
function mask(key: string): string {
  const prefix = /^[a-z]{2,4}_(test|live)_/.exec(key)?.[0] ?? '';
  return `${prefix}${'*'.repeat(Math.max(4, Math.min(20, key.length - prefix.length - 4)))}${key.slice(-4)}`;
}

/** A Stripe simulator started alone on its own port. */
export interface StartedStripeSimulator {
  /** Base URL (`http://127.0.0.1:<port>`): STRIPE_API_URL. */
  url: string;
  simulator: StripeSimulator;
  close(): Promise<void>;
}

/** Starts a Stripe simulator at the root of its own app. */
export async function startStripeSimulator(opts: ListenOptions = {}): Promise<StartedStripeSimulator> {
  const simulator = new StripeSimulator();
  const url = await simulator.start(opts);
  return { url, simulator, close: () => simulator.close() };
}
