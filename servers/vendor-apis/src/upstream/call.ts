// One vendor request, governed: a per-vendor timeout, the vendor's circuit breaker, and retries with
// backoff that honour Retry-After — for reads after a 5xx, a timeout or a 429; for writes only after a
// 429 (the vendor said it did not process the request) — and never past the call's own deadline.
// Every failure comes out as core's UpstreamFailure with a message that is safe for a model.
import { AsyncLocalStorage } from 'node:async_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { isUpstreamFailure, type UpstreamBreaker, UpstreamFailure } from '@mcp-fleet/core';
import type { Vendor } from '../tenants.js';

/** How one vendor request is made. */
export interface VendorRequest {
  vendor: Vendor;
  breaker: UpstreamBreaker;
  /** Timeout of one attempt (ms). */
  timeoutMs: number;
  /** The tool call's signal (timeout, client cancel): no attempt starts and no wait continues after it fires. */
  signal: AbortSignal;
  /** A read (retried after 5xx, timeout, 429) or a write (retried only after a 429 with a Retry-After that fits). */
  kind: 'read' | 'write';
  /** Turns whatever the SDK threw into a safe UpstreamFailure of this vendor (no URL, token, session id, body). */
  classify: (err: unknown) => UpstreamFailure;
  /** Most retries of a read (default 2). */
  retries?: number;
  /** Absolute time (ms since epoch) by which the last attempt must have ended (default: no bound but the signal). */
  deadline?: number;
}

/** The signal of the attempt in progress, for SDKs whose HTTP client reads it (see {@link signalledFetch}). */
const attemptSignal = new AsyncLocalStorage<AbortSignal>();

/**
 * A fetch that aborts with the current attempt (timeout or the call's cancel), for SDKs that take a
 * custom fetch (Stripe's createFetchHttpClient, HubSpot, jsforce's fetch transport...).
 */
export const signalledFetch: typeof fetch = (input, init) => {
  const current = attemptSignal.getStore();
  const signal =
    current && init?.signal ? AbortSignal.any([current, init.signal]) : (current ?? init?.signal);
  return fetch(input, { ...init, signal: signal ?? undefined });
};

/** The signal and deadline a tool passes on to its connector. */
export interface CallBounds {
  signal: AbortSignal;
  /** When the last attempt must have ended (ms since the epoch). */
  deadline: number;
}

/** A second before the call itself times out (core's ctx.deadline, as policy sets the timeout). */
export const DEADLINE_MARGIN_MS = 1_000;

/** The bounds of a tool call for its connector: the call's signal, and a deadline just before its own. */
export const callBounds = (ctx: { signal: AbortSignal; deadline: number }): CallBounds => ({
  signal: ctx.signal,
  deadline: ctx.deadline - DEADLINE_MARGIN_MS,
});

/** Backoff before retry `n` (1-based): 200 ms, 400 ms, 800 ms... with ±25 % jitter. */
const backoff = (n: number) => 200 * 2 ** (n - 1) * (0.75 + Math.random() * 0.5);

/** Runs `fn` under the request's rules; `fn` gets the attempt's signal (pass it to the SDK where it takes one). */
export async function vendorCall<T>(req: VendorRequest, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const retries = req.kind === 'read' ? (req.retries ?? 2) : 1;
  for (let attempt = 0; ; attempt++) {
    if (req.signal.aborted) throw cancelled(req);
    let failure: UpstreamFailure;
    try {
      return await req.breaker.execute(() => once(req, fn));
    } catch (err) {
      failure = isUpstreamFailure(err) ? err : req.classify(err);
    }
    const wait = retryWait(req, failure, attempt, retries);
    const final = req.kind === 'write' ? writeOutcome(failure) : failure;
    if (wait === undefined) throw final;
    try {
      await sleep(wait, undefined, { signal: req.signal });
    } catch {
      throw final;
    }
  }
}

/**
 * The answers by which a vendor says it processed nothing: a request it refused as such (bad request,
 * credentials, permission, not found, conflict, validation, too large) or a 429. Anything else after a
 * write was sent — a 3xx, a 408 or 425 (a proxy may have forwarded it), a 5xx, a dropped connection, no
 * answer in time — leaves its outcome unknown.
 */
const NOT_PROCESSED = new Set([400, 401, 402, 403, 404, 405, 409, 410, 411, 413, 414, 415, 422, 429]);

/**
 * What a failed write means for its caller. The vendor refused it (one of {@link NOT_PROCESSED}) or
 * nothing was sent (a paused breaker): nothing happened, and the idempotency key is given back. Any other
 * answer, or none: the change may have landed — its outcome is unknown, said as such and audited as
 * `unknown`, never "unavailable, try again later" or "change the arguments" (a retry with a new key
 * could do it twice).
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

/** How long to wait before retrying after `f`, or undefined when it must not be retried. */
function retryWait(
  req: VendorRequest,
  f: UpstreamFailure,
  attempt: number,
  retries: number,
): number | undefined {
  if (attempt >= retries || req.breaker.state !== 'closed') return undefined;
  if (req.kind === 'write') {
    // A write is retried only when the vendor said "not processed, slow down" and said for how long.
    if (f.kind !== 'rate_limited' || f.retryAfterMs === undefined) return undefined;
  } else if (f.kind !== 'unavailable' && f.kind !== 'timeout' && f.kind !== 'rate_limited') return undefined;
  // Retry-After is honoured, but never below the backoff: "0" or a past date does not make a tight loop.
  const wait = Math.max(f.retryAfterMs ?? 0, backoff(attempt + 1));
  // The wait and one more attempt must fit before the deadline; otherwise the caller hears it now.
  if (req.deadline !== undefined && Date.now() + wait + Math.min(req.timeoutMs, 1_000) > req.deadline)
    return undefined;
  return wait;
}

/** One attempt: the SDK call under a timeout that also aborts its HTTP request. */
async function once<T>(req: VendorRequest, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
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

const timedOut = (req: VendorRequest) =>
  new UpstreamFailure(req.vendor, 'timeout', `no answer within ${Math.round(req.timeoutMs / 100) / 10} s`, {
    read: req.kind === 'read',
  });

/** The call itself was cancelled or timed out (core answers for it); not an upstream failure the breaker counts. */
const cancelled = (req: VendorRequest) =>
  new UpstreamFailure(req.vendor, 'rejected', 'the call was cancelled before the vendor answered', {
    read: req.kind === 'read',
  });
