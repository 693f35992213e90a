// One Stripe request of the billing tools, governed by core's upstreamCall: a per-attempt timeout that
// also aborts the HTTP request, the breaker, and retries — reads after a 5xx, a timeout or a 429 (twice
// at most) — never past the call's deadline; a write's failure after it was sent, without an answer that
// says "not processed", is `uncertain`: never retried, never "try again". Billing's own rule: a write is
// sent again (once, with the SAME Idempotency-Key; the SDK's own retries are off) when Stripe said it
// processed nothing and to slow down — a 429, or a 409 for a concurrent request with the same key.
import {
  type CallBounds,
  callBounds,
  signalledFetch,
  type UpstreamBreaker,
  type UpstreamFailure,
  upstreamCall,
} from '@mcp-fleet/core';

/** signalledFetch: a fetch that aborts with the current attempt (Stripe.createFetchHttpClient takes it). */
export { type CallBounds, signalledFetch };

/** The bounds of a tool call (or a step) for the connector: a deadline a second before the call's own. */
export const boundsOf = (ctx: { signal: AbortSignal; deadline?: number }): CallBounds => callBounds(ctx);

/** How one request is made. */
export interface StripeRequest {
  breaker: UpstreamBreaker;
  timeoutMs: number;
  bounds: CallBounds;
  kind: 'read' | 'write';
  classify: (err: unknown) => UpstreamFailure;
  /** Most retries (default: reads 2, writes 1). */
  retries?: number;
}

/** Stripe said "not processed": slow down (429) or the same key is still being processed (409). */
const stripeNotProcessed = (f: UpstreamFailure) =>
  f.kind === 'rate_limited' || (f.status === 409 && /idempotency_key_in_use|lock_timeout/.test(f.message));

/** Runs `fn` under the request's rules. */
export function stripeCall<T>(req: StripeRequest, fn: () => Promise<T>): Promise<T> {
  return upstreamCall(
    {
      system: 'stripe',
      who: 'Stripe',
      breaker: req.breaker,
      timeoutMs: req.timeoutMs,
      signal: req.bounds.signal,
      deadline: req.bounds.deadline,
      kind: req.kind,
      classify: req.classify,
      retries: req.retries ?? (req.kind === 'read' ? 2 : 1),
      retryWrite: stripeNotProcessed,
    },
    () => fn(),
  );
}
