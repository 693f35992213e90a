// The rate-limit counters one call is checked against: per caller, per caller and tool, per tool.
// Keyed on the verified identity (tenant + agent), never on an IP address.

import type { ResolvedGovernance } from '../governance/resolve.js';
import { compositeKey } from '../identity/caller-keys.js';
import type { LimitCheck } from './limiter-pool.js';

/** Appends the rate-limit checks that apply to this call. */
export function rateLimitChecks(
  out: LimitCheck[],
  server: string,
  tool: string,
  caller: string,
  g: ResolvedGovernance,
): void {
  if (g.perCallerPerMinute) {
    out.push({
      kind: 'caller',
      key: compositeKey(server, caller),
      points: g.perCallerPerMinute.value,
      windowSeconds: 60,
      cost: 1,
    });
  }
  if (g.perCallerToolPerMinute) {
    out.push({
      kind: 'caller_tool',
      key: compositeKey(server, tool, caller),
      points: g.perCallerToolPerMinute.value,
      windowSeconds: 60,
      cost: 1,
    });
  }
  if (g.globalPerMinute) {
    out.push({
      kind: 'tool_global',
      key: compositeKey(server, tool),
      points: g.globalPerMinute.value,
      windowSeconds: 60,
      cost: 1,
    });
  }
}
