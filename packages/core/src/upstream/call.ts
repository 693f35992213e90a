// One upstream request, governed — the engine every connector that calls out shares (vendor-apis'
// Stripe, HubSpot and Salesforce, admin's Stripe billing and its SCIM directory). Per request:
//
// - each attempt runs under its own timeout, which also aborts the HTTP request (the attempt's signal is
//   handed to `fn`, and to {@link signalledFetch} for SDKs that take a custom fetch), and under the call's
//   signal (the tool call's timeout or the client's cancel): no attempt starts and no wait continues
//   after it fires;
// - every attempt goes through the upstream's circuit breaker;
// - a read is retried after a 5xx, a timeout or a 429; a write only when the upstream said it processed
//   nothing and to wait (`retryWrite`; by default a 429 with a Retry-After) — so with the SAME idempotency
//   key, never a second change;
// - the wait before retry n (1-based) is a backoff of 200 ms · 2^(n-1) ±25 % jitter, or the upstream's
//   Retry-After when longer (never shorter: "0" or a past date does not make a tight loop); no retry
//   starts unless the wait and one more attempt fit before the call's deadline;
// - a failed write the upstream did not refuse as "not processed" (a 3xx, 408, 425, 5xx, a dropped
//   connection, no answer in time) is `uncertain`: its outcome is unknown, said and audited as such,
//   never "try again" (a retry with a new key could do it twice); a refused one gives its key back.
//
// Every failure comes out as an UpstreamFailure with a message that is safe for a model; the connector
// only supplies how its upstream's errors are classified (`classify`) and, where its protocol differs,
// what a failed write means (`settle`).
import { AsyncLocalStorage } from 'node:async_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { failed, injectTraceHeaders, SpanKind, withSpan } from '../observability/tracing.js';
import type { UpstreamBreaker } from './breaker.js';
import { isUpstreamFailure, UpstreamFailure } from './failure.js';

/** The signal and deadline a tool passes on to its connector. */
export interface CallBounds {
  signal: AbortSignal;
  /** When the last attempt must have ended (ms since the epoch); unset: no bound but the signal. */
  deadline?: number | undefined;
}

/** A second before the call itself times out (core's ctx.deadline, as policy sets the timeout). */
const DEADLINE_MARGIN_MS = 1_000;

/** The bounds of a tool call (or a step) for its connector: the call's signal, and a deadline just before its own. */
export function callBounds(ctx: { signal: AbortSignal; deadline: number }): CallBounds & { deadline: number };
export function callBounds(ctx: { signal: AbortSignal; deadline?: number | undefined }): CallBounds;
export function callBounds(ctx: { signal: AbortSignal; deadline?: number | undefined }): CallBounds {
  return {
    signal: ctx.signal,
    deadline: ctx.deadline === undefined ? undefined : ctx.deadline - DEADLINE_MARGIN_MS,
  };
}

/** How one upstream request is made. */
export interface UpstreamRequest {
  /** The upstream's id (UpstreamFailure.system of the timeout and cancel failures). */
  system: string;
  /** How the cancel message names the upstream: "the vendor", "Stripe", "the directory". */
  who: string;
  breaker: UpstreamBreaker;
  /** Timeout of one attempt (ms). */
  timeoutMs: number;
  /** The call's signal (timeout, client cancel). */
  signal: AbortSignal;
  /** Absolute time (ms since epoch) by which the last attempt must have ended (unset: only the signal bounds it). */
  deadline?: number | undefined;
  kind: 'read' | 'write';
  /** Most retries after the first attempt (reads: retried failures as above; writes: see `retryWrite`). */
  retries: number;
  /** Turns whatever the SDK or fetch threw into a safe UpstreamFailure (no URL, token, session id, body). */
  classify: (err: unknown) => UpstreamFailure;
  /**
   * Whether a failed write may be sent again: the upstream said it processed nothing and to wait.
   * Default: a 429 (rate_limited) that came with a Retry-After.
   */
  retryWrite?: (f: UpstreamFailure) => boolean;
  /**
   * The failure the caller gets once no retry follows. Default: a read's as it is, a write's through
   * {@link writeOutcome}.
   */
  settle?: (f: UpstreamFailure) => UpstreamFailure;
  /** A read cancelled by the call's signal is marked `notSent` (default false). */
  cancelledReadNotSent?: boolean;
}

/** The signal of the attempt in progress, for SDKs whose HTTP client reads it (see {@link signalledFetch}). */
const attemptSignal = new AsyncLocalStorage<AbortSignal>();

/**
 * A fetch that aborts with the current attempt (its timeout or the call's cancel), for SDKs that take a
 * custom fetch (Stripe's createFetchHttpClient, HubSpot, jsforce's fetch transport...).
 */
export const signalledFetch: typeof fetch = (input, init) => {
  const current = attemptSignal.getStore();
  const signal =
    current && init?.signal ? AbortSignal.any([current, init.signal]) : (current ?? init?.signal);
  const method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
  let url: URL | undefined;
  try {
    url = new URL(input instanceof Request ? input.url : String(input));
  } catch {
    url = undefined;
  }
  // A CLIENT span per HTTP request; its W3C traceparent goes with the request, so the upstream (or a
  // proxy in front of it) continues the call's trace. No query string: it can carry tokens.
  return withSpan(
    `HTTP ${method}`,
    {
      kind: SpanKind.CLIENT,
      attributes: {
        'http.request.method': method,
        ...(url ? { 'server.address': url.hostname, 'url.path': url.pathname.slice(0, 256) } : {}),
        ...(url?.port ? { 'server.port': Number(url.port) } : {}),
      },
    },
    async (span) => {
      let headers = init?.headers;
      if (span) {
        const traced = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
        const carrier: Record<string, string> = {};
        injectTraceHeaders(carrier);
        for (const [k, v] of Object.entries(carrier)) traced.set(k, v);
        headers = traced;
      }
      const res = await fetch(input, {
        ...init,
        ...(headers ? { headers } : {}),
        signal: signal ?? undefined,
      });
      if (span) {
        span.setAttribute('http.response.status_code', res.status);
        if (res.status >= 500) failed(span, new Error(`HTTP ${res.status}`));
      }
      return res;
    },
  );
};

/** Backoff before retry `n` (1-based): 200 ms, 400 ms, 800 ms... with ±25 % jitter. */
const backoff = (n: number) => 200 * 2 ** (n - 1) * (0.75 + Math.random() * 0.5);

/** Runs `fn` under the request's rules; `fn` gets the attempt's signal (pass it to the SDK where it takes one). */
export async function upstreamCall<T>(
  req: UpstreamRequest,
  fn: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const settle = req.settle ?? (req.kind === 'write' ? writeOutcome : (f: UpstreamFailure) => f);
  for (let attempt = 0; ; attempt++) {
    if (req.signal.aborted) throw cancelled(req);
    let failure: UpstreamFailure;
    try {
      return await withSpan(
        `upstream ${req.system}`,
        {
          kind: SpanKind.CLIENT,
          attributes: {
            'upstream.system': req.system,
            'upstream.kind': req.kind,
            'upstream.attempt': attempt + 1,
          },
        },
        () => req.breaker.execute(() => once(req, fn)),
      );
    } catch (err) {
      failure = isUpstreamFailure(err) ? err : req.classify(err);
    }
    const wait = retryWait(req, failure, attempt);
    if (wait === undefined) throw settle(failure);
    try {
      await sleep(wait, undefined, { signal: req.signal });
    } catch {
      throw settle(failure);
    }
  }
}

/**
 * The answers by which an upstream says it processed nothing: a request it refused as such (bad request,
 * credentials, payment required, permission, not found, conflict, validation, too large) or a 429.
 * Anything else after a write was sent — a 3xx, a 408 or 425 (a proxy may have forwarded it), a 5xx, a
 * dropped connection, no answer in time — leaves its outcome unknown.
 */
const NOT_PROCESSED = new Set([400, 401, 402, 403, 404, 405, 409, 410, 411, 413, 414, 415, 422, 429]);

/**
 * What a failed write means for its caller. The upstream refused it (one of {@link NOT_PROCESSED}) or
 * nothing was sent (a paused breaker): nothing happened, and the idempotency key is given back. A status
 * outside that list, or no answer at all (unavailable, timeout): the change may have landed — `uncertain`.
 * Any other failure (e.g. a cancel before an answer) is passed on as it is.
 */
function writeOutcome(f: UpstreamFailure): UpstreamFailure {
  if (f.notSent || f.kind === 'uncertain') return f;
  if (f.kind === 'rate_limited' || (f.status !== undefined && NOT_PROCESSED.has(f.status)))
    return new UpstreamFailure(f.system, f.kind, f.message, {
      retryAfterMs: f.retryAfterMs,
      status: f.status,
      notSent: true,
    });
  if (f.status !== undefined || f.kind === 'unavailable' || f.kind === 'timeout')
    return new UpstreamFailure(f.system, 'uncertain', `no clear answer to the change (${f.message})`, {
      ...(f.status === undefined ? {} : { status: f.status }),
    });
  return f;
}

/** The default write retry: the upstream said "not processed, slow down" and said for how long. */
const rateLimitedWithRetryAfter = (f: UpstreamFailure) =>
  f.kind === 'rate_limited' && f.retryAfterMs !== undefined;

/** How long to wait before retrying after `f`, or undefined when it must not be retried. */
function retryWait(req: UpstreamRequest, f: UpstreamFailure, attempt: number): number | undefined {
  if (attempt >= req.retries || req.breaker.state !== 'closed') return undefined;
  if (req.kind === 'write') {
    if (!(req.retryWrite ?? rateLimitedWithRetryAfter)(f)) return undefined;
  } else if (f.kind !== 'unavailable' && f.kind !== 'timeout' && f.kind !== 'rate_limited') return undefined;
  const wait = Math.max(f.retryAfterMs ?? 0, backoff(attempt + 1));
  // The wait and one more attempt must fit before the deadline; otherwise the caller hears it now.
  if (req.deadline !== undefined && Date.now() + wait + Math.min(req.timeoutMs, 1_000) > req.deadline)
    return undefined;
  return wait;
}

/** One attempt: `fn` under a timeout that also aborts its HTTP request. */
async function once<T>(req: UpstreamRequest, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const timeout = AbortSignal.timeout(req.timeoutMs);
  const signal = AbortSignal.any([req.signal, timeout]);
  let onAbort: (() => void) | undefined;
  // The SDK may not honour the signal: the race ends the attempt anyway (a write's outcome is then unknown).
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(timeout.aborted ? timedOut(req) : cancelled(req));
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([
      attemptSignal
        .run(signal, () => fn(signal))
        .catch((err: unknown) => {
          if (timeout.aborted) throw timedOut(req);
          if (req.signal.aborted) throw cancelled(req);
          throw isUpstreamFailure(err) ? err : req.classify(err);
        }),
      aborted,
    ]);
  } finally {
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}

const timedOut = (req: UpstreamRequest) =>
  new UpstreamFailure(req.system, 'timeout', `no answer within ${Math.round(req.timeoutMs / 100) / 10} s`, {
    read: req.kind === 'read',
  });

/** The call itself was cancelled or timed out (core answers for it); not an upstream failure the breaker counts. */
const cancelled = (req: UpstreamRequest) =>
  new UpstreamFailure(req.system, 'rejected', `the call was cancelled before ${req.who} answered`, {
    read: req.kind === 'read',
    ...(req.cancelledReadNotSent && req.kind === 'read' ? { notSent: true } : {}),
  });
