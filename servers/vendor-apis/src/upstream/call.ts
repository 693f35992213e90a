// One vendor request, governed by core's upstreamCall (per-attempt timeout, the vendor's circuit
// breaker, retries with backoff that honour Retry-After — reads after a 5xx, a timeout or a 429; writes
// only after a 429 with a Retry-After (the vendor said it did not process the request) — never past the
// call's own deadline; a write's unclear failure is `uncertain`). What is vendor-apis' own: the failure
// names the vendor, a read is retried `retries` times (default 2), a write at most once.
import { type UpstreamBreaker, type UpstreamFailure, upstreamCall } from '@mcp-fleet/core';
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
  deadline?: number | undefined;
}

/** Runs `fn` under the request's rules; `fn` gets the attempt's signal (pass it to the SDK where it takes one). */
export function vendorCall<T>(req: VendorRequest, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const { vendor, retries, ...rest } = req;
  return upstreamCall(
    { ...rest, system: vendor, who: 'the vendor', retries: req.kind === 'read' ? (retries ?? 2) : 1 },
    fn,
  );
}
