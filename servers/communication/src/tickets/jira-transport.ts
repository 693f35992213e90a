// The HTTP transport jira.js's endpoint functions run on: fetch with the call's abort signal and a
// per-request timeout (jira.js's own client has neither), failing with jira.js's own error types.
import { withUpstreamSpan } from '@mcp-fleet/core';
import {
  ApiError,
  AuthError,
  type Client,
  ForbiddenError,
  NetworkError,
  NotFoundError,
  RateLimitError,
  type SendRequestOptions,
  ServerError,
} from 'jira.js/core';
import { parseRetryAfter } from '../upstream/failures.js';

/** Thrown when a request ran past the transport's timeout (the caller's own abort is rethrown as is). */
export class JiraTimeout extends Error {
  constructor() {
    super('the Jira request timed out');
    this.name = 'JiraTimeout';
  }
}

/** Connection settings of the transport. */
export interface JiraTransportOptions {
  /** Site URL without credentials, e.g. https://acme.atlassian.net (a path prefix is kept). */
  url: string;
  email: string;
  apiToken: string;
  timeoutMs: number;
}

/** Most bytes of one response body read; Jira answers far less for what these tools ask. */
const MAX_BODY = 8 * 1024 * 1024;

/** The query string of jira.js search parameters (undefined values left out, arrays comma-joined). */
function query(params: Record<string, unknown> | undefined): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params ?? {})) {
    if (v === undefined || v === null) continue;
    q.append(k, Array.isArray(v) ? v.join(',') : String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** Builds the jira.js error of a failed response; the body is kept on the error, never in a message. */
function apiError(res: Response, body: unknown): ApiError {
  const msg = `Jira answered ${res.status}`;
  switch (res.status) {
    case 401:
      return new AuthError(msg, res.statusText, body);
    case 403:
      return new ForbiddenError(msg, res.statusText, body);
    case 404:
      return new NotFoundError(msg, res.statusText, body);
    case 429:
      return new RateLimitError(msg, res.statusText, body, {
        retryAfterMs: parseRetryAfter(res.headers.get('retry-after')),
      });
    default:
      return res.status >= 500
        ? new ServerError(msg, res.status, res.statusText, body)
        : new ApiError(msg, res.status, res.statusText, body);
  }
}

/** The first error code in a fetch failure's cause chain (ECONNREFUSED, UND_ERR_SOCKET...). */
function causeCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let i = 0; i < 5 && e instanceof Error; i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = e.cause;
  }
  return undefined;
}

/** Creates jira.js `Client`s bound to one call's abort signal, over one site and account. */
export class JiraTransport {
  readonly #base: string;
  readonly #auth: string;
  readonly #timeoutMs: number;

  constructor(opts: JiraTransportOptions) {
    const u = new URL(opts.url);
    if (u.username || u.password) throw new Error('JIRA_URL must not contain credentials');
    if (u.search || u.hash) throw new Error('JIRA_URL must not have a query or fragment');
    this.#base = `${u.origin}${u.pathname.replace(/\/+$/, '')}`;
    this.#auth = `Basic ${Buffer.from(`${opts.email}:${opts.apiToken}`, 'utf8').toString('base64')}`;
    this.#timeoutMs = opts.timeoutMs;
  }

  /** A jira.js client whose requests stop when `signal` fires or the timeout passes. */
  client(signal: AbortSignal): Client {
    return { sendRequest: <T>(o: SendRequestOptions<T>) => this.#send(o, signal) };
  }

  async #send<T>(o: SendRequestOptions<T>, signal: AbortSignal): Promise<T> {
    signal.throwIfAborted();
    const timer = AbortSignal.timeout(this.#timeoutMs);
    const both = AbortSignal.any([signal, timer]);
    const path = o.url.startsWith('/') ? o.url : `/${o.url}`;
    const hasBody = o.body !== undefined && o.body !== null;
    let res: Response;
    let text: string;
    try {
      const method = o.method ?? 'GET';
      res = await withUpstreamSpan(
        `jira ${method}`,
        { 'upstream.system': 'jira', 'http.request.method': method },
        () =>
          fetch(this.#base + path + query(o.searchParams), {
            method: o.method ?? 'GET',
            headers: {
              Accept: 'application/json',
              Authorization: this.#auth,
              ...(hasBody ? { 'Content-Type': 'application/json' } : {}),
              ...o.headers,
            },
            body: hasBody ? JSON.stringify(o.body) : undefined,
            signal: both,
            redirect: 'error',
          }),
      );
      text = await res.text();
    } catch (err) {
      if (signal.aborted) throw signal.reason ?? err;
      if (timer.aborted) throw new JiraTimeout();
      const code = causeCode(err);
      throw new NetworkError(`the request to Jira failed${code ? ` (${code})` : ''}`, {
        cause: err,
        code,
        transient: true,
      });
    }
    if (text.length > MAX_BODY) throw new ServerError('Jira answered too much', 502, 'Too large', undefined);
    let data: unknown;
    try {
      data = text === '' ? undefined : JSON.parse(text);
    } catch {
      data = text;
    }
    if (!res.ok) throw apiError(res, data);
    if (res.status === 204 || data === undefined) return undefined as T;
    // Used as sent, not through jira.js's schema (which strips keys it does not know, such as the
    // properties of a comment): the backend reads every field defensively.
    return data as T;
  }
}
