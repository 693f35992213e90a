// Per-session and per-window budgets: each call spends its tool's cost; a spent budget stops the
// agent (the runaway-agent guard). Counted with the same limiters as rate limits, so shared via Redis.
import type { ResolvedGovernance } from '../governance/resolve.js';
import { compositeKey } from '../identity/caller-keys.js';
import type { LimitCheck } from '../rate-limit/limiter-pool.js';

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
