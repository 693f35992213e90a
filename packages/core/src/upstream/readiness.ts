// Readiness of an upstream a server calls: its breaker on every /readyz and /metrics scrape (so an
// alert sees it open), and a cheap probe of the upstream whose answer is reused for a while so that
// /readyz polling does not hammer a vendor API. Both are non-critical: a down vendor degrades the
// server, it does not take it out of the load balancer.
import type { ReadinessCheck } from '../kernel/call.js';
import { UpstreamBreaker, UpstreamBreakers } from './breaker.js';
import { isUpstreamFailure } from './failure.js';

/** How long one readiness probe's answer is reused by default. */
export const PROBE_TTL_MS = 15_000;

/**
 * `breaker_<system>`: fails while calls are paused — open within its pause, or half-open with the trial
 * in flight (every other call fails fast); a group names the keys (tenants) paused. Runs on /readyz and
 * on every /metrics scrape.
 */
export function breakerCheck(
  breaker: UpstreamBreaker | UpstreamBreakers,
  label: string = breaker.system,
): ReadinessCheck {
  return {
    name: `breaker_${breaker.system}`,
    critical: false,
    onScrape: true,
    breaker: { upstream: breaker.system, state: () => breakerGauge(breaker) },
    check: async () => {
      if (!breaker.paused) return;
      const which =
        breaker instanceof UpstreamBreakers
          ? ` for ${breaker
              .pausedKeys()
              .map((k) => `${k.key} (${k.state.replace('_', '-')})`)
              .join(', ')}`
          : '';
      throw new Error(
        breaker.state === 'half_open' && !(breaker instanceof UpstreamBreakers)
          ? `${label} circuit breaker is half-open: one trial request is testing it, other calls are paused`
          : `${label} circuit breaker is paused${which}: calls fail fast until a trial request succeeds`,
      );
    },
  };
}

/**
 * The breaker as `mcp_breaker_state` shows it: 2 while calls are paused by an open breaker, 1 while a
 * trial is running or due (half-open, or open past its pause: the next call is the trial), 0 closed.
 * A group (one breaker per tenant) shows its worst breaker.
 */
function breakerGauge(breaker: UpstreamBreaker | UpstreamBreakers): 0 | 1 | 2 {
  const state = breaker.state;
  if (state === 'closed') return 0;
  const paused =
    breaker instanceof UpstreamBreakers
      ? breaker.pausedKeys().some((k) => k.state === 'open')
      : state === 'open' && breaker.paused;
  return paused ? 2 : 1;
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
      // One breaker: open means the probe would be refused. A group (one per tenant) is reported by
      // breakerCheck; the probe then says whether the upstream answers its own tenant.
      if (breaker instanceof UpstreamBreaker && breaker.paused)
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
