// Readiness of the directory: its circuit breaker (on every /readyz and /metrics scrape) and a cheap
// probe (/ServiceProviderConfig with the token, cached). Non-critical: a down directory degrades the
// admin server, it does not take the console out of the load balancer.
import { breakerCheck, upstreamCheck } from '@mcp-fleet/core';
import type { ScimConnector } from './connector.js';

/** The readiness checks of the directory (none when SCIM is not configured). */
export function scimReadiness(scim: ScimConnector | undefined, o: { ttlMs?: number } = {}) {
  if (!scim) return [];
  const label = 'SCIM directory';
  return [
    breakerCheck(scim.client.breaker, label),
    upstreamCheck(scim.client.breaker, () => scim.client.probe(), {
      label,
      ...(o.ttlMs !== undefined ? { ttlMs: o.ttlMs } : {}),
    }),
  ];
}
