// Readiness of an upstream a server calls: its breaker on every /readyz and /metrics scrape (so an
// alert sees it open), and a cheap probe of the upstream whose answer is reused for a while so that
// /readyz polling does not hammer a vendor API. Both are non-critical: a down vendor degrades the
// server, it does not take it out of the load balancer.
import type { ReadinessCheck } from '../kernel/call.js';
import { type UpstreamBreaker, UpstreamBreakers } from './breaker.js';
import { isUpstreamFailure } from './failure.js';

/** How long one readiness probe's answer is reused by default. */
export const PROBE_TTL_MS = 15_000;

/**
 * `breaker_<system>`: fails while the breaker is open or half-open (one trial request is testing the
 * upstream, every other call fails fast); runs on /readyz and on every /metrics scrape.
 */
export function breakerCheck(
  breaker: UpstreamBreaker | UpstreamBreakers,
  label: string = breaker.system,
): ReadinessCheck {
  return {
    name: `breaker_${breaker.system}`,
    critical: false,
    onScrape: true,
    check: async () => {
      if (breaker.state === 'closed') return;
      const which =
        breaker instanceof UpstreamBreakers
          ? ` for ${breaker
              .notClosed()
              .map((k) => `${k.key} (${k.state.replace('_', '-')})`)
              .join(', ')}`
          : '';
      throw new Error(
        breaker.state === 'open'
          ? `${label} circuit breaker is open${which}: calls are paused`
          : `${label} circuit breaker is half-open${which}: one trial request is testing it, other calls are paused`,
      );
    },
  };
}

/**
 * `upstream_<system>`: the breaker's state and a cheap probe (cached `ttlMs`). An open breaker fails the
 * check at once, whatever the cached probe said before it opened.
 */
export function upstreamCheck(
  breaker: UpstreamBreaker | UpstreamBreakers,
  probe: () => Promise<void>,
  opts: { label?: string; ttlMs?: number } = {},
): ReadinessCheck {
  const label = opts.label ?? breaker.system;
  const ttl = opts.ttlMs ?? PROBE_TTL_MS;
  let last: { at: number; result: Promise<void> } | undefined;
  return {
    name: `upstream_${breaker.system}`,
    critical: false,
    check: () => {
      if (breaker.state === 'open')
        return Promise.reject(new Error(`${label} upstream: circuit breaker is open, calls are paused`));
      const now = Date.now();
      if (!last || now - last.at > ttl) {
        const result = probe().catch((err: unknown) => {
          const why = isUpstreamFailure(err) ? `${err.kind}: ${err.message}` : 'probe failed';
          throw new Error(`${label} upstream (breaker ${breaker.state}): ${why}`);
        });
        result.catch(() => {});
        last = { at: now, result };
      }
      return last.result;
    },
  };
}
