// The limits step of a call: rate limits and budgets in one round of counter updates.
import type { StepAnswer } from '../../kernel/call.js';
import { budgetChecks, rateLimitChecks } from '../../rate-limit/limit-checks.js';
import { isBudget, type LimitCheck } from '../../rate-limit/limiter-pool.js';
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
