// The limits step of a call: rate limits and budgets in one round of counter updates.
import type { StepAnswer } from '../../kernel/call.js';
import { budgetChecks, rateLimitChecks } from '../../rate-limit/limit-checks.js';
import { isBudget, type LimitCheck, type LimitRefusal } from '../../rate-limit/limiter-pool.js';
import { limitResult } from '../refusals.js';
import type { GovernedCall, Next } from '../runtime.js';

/** Counts the call; answers it when a limit or budget refuses. Skipped when nothing applies. */
export async function limits(c: GovernedCall, next: Next): Promise<StepAnswer> {
  if (!c.settings.limited) return next();
  const checks: LimitCheck[] = [];
  rateLimitChecks(checks, c.rt.server, c.tool.name, c.caller, c.settings);
  budgetChecks(checks, c.rt.server, c.caller, c.session, c.settings);
  const refused = await c.gov.limiters.consume(checks);
  if (!refused) return next();
  const budget = isBudget(refused.kind);
  if (budget) c.gov.metrics.budgetExceeded.inc({ tool: c.tool.name, budget: refused.kind });
  else c.gov.metrics.rateLimited.inc({ tool: c.tool.name, limit: refused.kind });
  c.detail('limit', {
    kind: refused.kind,
    limit: refused.points,
    windowSeconds: refused.windowSeconds,
    retryAfterMs: refused.retryAfterMs,
  });
  return { outcome: budget ? 'budget_exceeded' : 'rate_limited', result: limitResult(c.tool, refused) };
}

const SERVER_LIMIT_KEY = /^[\x21-\x7e]{1,300}$/;

/**
 * A server step's own shared counters (`GovernedCall.limit`): e.g. sends per destination from all
 * callers together. Sliding windows (they hold over any span of the window, not per clock minute),
 * keys scoped to the server; a full counter answers `rate_limited`.
 */
export async function serverLimits(
  c: GovernedCall,
  checks: readonly { key: string; points: number; windowSeconds: number }[],
): Promise<StepAnswer | undefined> {
  const counted = checks.map((x) => {
    if (!SERVER_LIMIT_KEY.test(x.key)) throw new Error('limit: a key is printable ASCII, 1-300 characters');
    if (
      !(
        Number.isInteger(x.points) &&
        x.points > 0 &&
        Number.isInteger(x.windowSeconds) &&
        x.windowSeconds > 0
      )
    )
      throw new Error('limit: points and windowSeconds are positive integers');
    return { key: `${c.rt.server}:${x.key}`, points: x.points, windowSeconds: x.windowSeconds };
  });
  if (counted.length === 0) return undefined;
  const full = await c.gov.windows.consume(counted);
  if (full.ok) return undefined;
  const refused: LimitRefusal = {
    kind: 'destination',
    points: full.check.points,
    windowSeconds: full.check.windowSeconds,
    cost: 1,
    retryAfterMs: full.retryAfterMs,
  };
  c.gov.metrics.rateLimited.inc({ tool: c.tool.name, limit: refused.kind });
  c.detail('limit', {
    kind: refused.kind,
    limit: refused.points,
    windowSeconds: refused.windowSeconds,
    retryAfterMs: refused.retryAfterMs,
  });
  return { outcome: 'rate_limited', result: limitResult(c.tool, refused) };
}
