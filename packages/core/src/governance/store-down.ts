// The answer when a governance store (the fleet database) fails mid-call: refuse, change nothing.

import type { GovernedCall, StepAnswer } from './governed-call.js';
import { refusal } from './results.js';

/** Logs and counts the failure, and answers the call with a refusal. */
export function storeDown(c: GovernedCall, err: unknown, op: string): StepAnswer {
  c.gov.metrics.storeErrors.inc({ store: 'postgres', op });
  c.rt.logger.error(
    { err: (err as Error).message, tool: c.tool.name, op },
    'governance store unavailable; call refused',
  );
  return {
    outcome: 'audit_unavailable',
    result: refusal(
      c.tool,
      `${c.tool.name} was not performed: the fleet database is unavailable. Nothing was changed. Retry in a minute.`,
      'store_unavailable',
    ),
  };
}
