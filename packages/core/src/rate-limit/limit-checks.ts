// The counters one call is checked against, in one round of limiter updates: rate limits (per caller,
// per caller and tool, per tool) and budgets (per agent session, per window: each call spends its
// tool's cost; a spent budget stops the agent, the runaway-agent guard). Keyed on the verified identity
// (tenant + agent), never on an IP address.

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

/** Appends the budget checks that apply to this call. `session` is the agent session key. */
export function budgetChecks(
  out: LimitCheck[],
  server: string,
  caller: string,
  session: string,
  g: ResolvedGovernance,
): void {
  const cost = g.cost.value;
  if (g.perSession) {
    out.push({
      kind: 'session',
      key: compositeKey(server, caller, session),
      points: g.perSession.value.cost,
      windowSeconds: g.perSession.value.hours * 3600,
      cost,
    });
  }
  if (g.perWindow) {
    out.push({
      kind: 'window',
      key: compositeKey(server, caller),
      points: g.perWindow.value.cost,
      windowSeconds: g.perWindow.value.minutes * 60,
      cost,
    });
  }
}
