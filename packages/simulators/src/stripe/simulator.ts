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
import { type SimAccount, STRIPE_SIM, seedStripe } from './seed.js';

/** Which key a request carried. */
export type StripeKeyUsed = 'restricted' | 'secret' | 'invalid' | 'none';

/** One request as the Stripe simulator saw it (credentials reduced to which key was used). */
export interface StripeRecordedRequest extends RecordedRequest {
  /** The query string as parsed. */
  query: Record<string, unknown>;
  /** The `Stripe-Account` header, if any. */
  account: string | undefined;
  key: StripeKeyUsed;
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
}

const one = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);

/** Simulates Stripe's API for the platform and its tenants' connected accounts. */
export class StripeSimulator extends HttpSimulator {
  protected readonly standalonePrefix = '';
  /** Every connected account (and the platform's own) with its objects; tests may change them. */
  readonly accounts: Map<string, SimAccount> = seedStripe();
  readonly restrictedKey: string = STRIPE_SIM.restrictedKey;
  readonly secretKey: string = STRIPE_SIM.secretKey;
  readonly #log: StripeRecordedRequest[] = [];
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
    const { requestId, account } = this.#current;
    const where = account && account !== STRIPE_SIM.platformAccount ? `${account}/` : '';
    return reply.code(status).send({
      error: {
        ...body,
        request_log_url: `https://dashboard.stripe.com/${where}test/logs/${requestId}?t=${Math.floor(Date.now() / 1000)}`,
      },
    });
  }

  async #handle(
    req: FastifyRequest,
    reply: FastifyReply,
    operation: string,
    fn: (c: Ctx) => unknown,
  ): Promise<FastifyReply> {
    const query = (req.query ?? {}) as Query;
    const accountHeader = one(req.headers['stripe-account']);
    const key = keyOf(req.headers.authorization);
    const keyUsed: StripeKeyUsed =
      key === undefined
        ? 'none'
        : key === this.restrictedKey
          ? 'restricted'
          : key === this.secretKey
            ? 'secret'
            : 'invalid';
    const requestId = `req_${(++this.#requestSeq).toString(36).padStart(8, '0')}Sim`;
    this.#current = { requestId, account: accountHeader ?? STRIPE_SIM.platformAccount };
    reply.header('request-id', requestId);
    const path = req.url.split('?')[0] ?? req.url;
    this.#log.push({
      operation,
      method: req.method,
      path,
      params: { ...query, ...(req.body && typeof req.body === 'object' ? (req.body as object) : {}) },
      headers: {},
      at: new Date().toISOString(),
      query,
      account: accountHeader,
      key: keyUsed,
    });
    if (await this.intercept(req, reply, operation, query, [operation, accountHeader ?? 'platform']))
      return reply;

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
    if (keyUsed === 'restricted' && req.method !== 'GET' && req.method !== 'HEAD')
      return this.#error(reply, 403, {
        type: 'permission_error',
        message: `The provided key '${mask(key as string)}' does not have the required permissions for this endpoint on account '${this.#current.account}'. Having the 'rak_write' permission would allow this request to continue.`,
      });
    const account = this.accounts.get(accountHeader ?? STRIPE_SIM.platformAccount);
    if (!account)
      return this.#error(reply, 403, {
        type: 'invalid_request_error',
        code: 'account_invalid',
        message: `The provided key '${mask(key as string)}' does not have access to account '${accountHeader}' (or that account does not exist). Application access may have been revoked.`,
      });
    try {
      const out = fn({ account, query, params: (req.params ?? {}) as Record<string, string>, path });
      return reply.code(200).send(out);
    } catch (err) {
      if (err instanceof StripeApiError) return this.#error(reply, err.status, err.body);
      if (err instanceof SearchQueryError)
        return this.#error(reply, 400, {
          type: 'invalid_request_error',
          code: 'parameter_invalid_string',
          message: err.message,
          param: 'query',
          doc_url: 'https://stripe.com/docs/search#search-query-language',
        });
      throw err;
    }
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
      default:
        return a.subscriptions;
    }
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
