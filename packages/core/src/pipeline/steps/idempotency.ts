// The idempotency step of a mutating call with a key: claim it, or answer with the stored result,
// a conflict, or "still running"; after the call, store its result under the key, or give the key
// back when nothing ran (a later step refused, or the pipeline failed before the handler) or when a
// tool that declares commits failed before its point of no return (nothing reached the upstream).

import type { IdempotencyRef } from '../../idempotency/idempotency-store.js';
import { userKey } from '../../identity/caller-keys.js';
import type { CallToolResult, StepAnswer } from '../../kernel/call.js';
import { sha256 } from '../../kernel/fingerprint.js';
import { REPLAYED_META_KEY } from '../../kernel/meta-keys.js';
import { refusal, storeDown } from '../refusals.js';
import { changedNothing, type GovernedCall, type Next } from '../runtime.js';

export { REPLAYED_META_KEY } from '../../kernel/meta-keys.js';

const ANSWERS = {
  mismatch: {
    outcome: 'invalid',
    status: 'idempotency_conflict',
    text: (tool: string) =>
      `${tool} was not run: this idempotency_key was already used for a call with different arguments. Use a new key for a different action, or resend the original arguments to get the original result.`,
  },
  in_progress: {
    outcome: 'error',
    status: 'idempotency_in_progress',
    text: (tool: string) =>
      `${tool} with this idempotency_key is still running in another call. Call again with the same key and arguments in a few seconds to get its result; do not use a new key.`,
  },
  unknown: {
    outcome: 'error',
    status: 'idempotency_unknown',
    text: (tool: string) =>
      `${tool} was not run again: the first call with this idempotency_key never reported how it ended (it was still running when it was cancelled or timed out, or the server running it stopped), so the first call's outcome is unknown. Check in the target system whether it took effect before retrying; use a new key only if it must run again.`,
  },
} as const;

/** Claims the key around the rest of the call (skipped without a key or without the fleet database). */
export async function idempotency(c: GovernedCall, next: Next): Promise<StepAnswer> {
  if (c.idempotencyKey === undefined || !c.gov.idempotency) return next();
  const claimed = await claimKey(c, c.idempotencyKey, c.timeoutMs);
  if ('answer' in claimed) return claimed.answer;
  const { ref } = claimed;
  let out: StepAnswer;
  try {
    out = await next();
  } catch (err) {
    releaseKey(c, ref);
    throw err;
  }
  // Nothing happened upstream (see changedNothing): the key is given back and a retry with it runs
  // the change, exactly as the approval step gives the approval back in this case.
  if (changedNothing(c, out)) releaseKey(c, ref);
  // It may have reached the upstream, but the tool says a rerun finds what it did there instead of
  // doing it again (ToolError rerunSafe): the key is given back, so a retry settles the uncertainty
  // rather than replaying it.
  else if (out.ran?.rerunSafe && out.outcome !== 'ok') releaseKey(c, ref);
  else if (out.ran?.stillRunning) await markKeyUnknown(c, ref);
  else await completeKey(c, ref, out.result, out.outcome);
  return out;
}

/** Claims the key for this call (returns its ref), or answers the call. */
async function claimKey(
  c: GovernedCall,
  key: string,
  timeoutMs: number,
): Promise<{ ref: IdempotencyRef } | { answer: StepAnswer }> {
  const store = c.gov.idempotency!;
  // Scoped to the user as well as tenant + agent: one agent acting for alice and for bob must never
  // hand bob alice's stored result (or tell him her key was used).
  const scope = userKey(c.req.identity);
  const ref: IdempotencyRef = { server: c.rt.server, scope, key };
  c.detail('idempotencyKey', sha256(key).slice(0, 16));
  let claim: Awaited<ReturnType<typeof store.claim>>;
  try {
    claim = await store.claim(ref, {
      tool: c.tool.name,
      argsHash: c.argsHash,
      auditId: c.auditId,
      leaseMs: timeoutMs + 30_000,
      waitMs: timeoutMs + 5_000,
      ...(c.req.cancellation ? { signal: c.req.cancellation.signal } : {}),
    });
  } catch (err) {
    return { answer: storeDown(c, err, 'idempotency_claim') };
  }
  if (claim.kind === 'claimed') return { ref };
  if (claim.kind === 'replay') {
    c.gov.metrics.idempotentReplays.inc({ tool: c.tool.name });
    c.detail('replayedOutcome', claim.outcome);
    const meta = {
      ...(claim.result._meta as Record<string, unknown> | undefined),
      [REPLAYED_META_KEY]: true,
    };
    return { answer: { outcome: 'replayed', result: { ...claim.result, _meta: meta } } };
  }
  const a = ANSWERS[claim.kind];
  return { answer: { outcome: a.outcome, result: refusal(c.tool, a.text(c.tool.name), a.status) } };
}

/** Gives the key back when nothing ran, so it stays usable. */
function releaseKey(c: GovernedCall, ref: IdempotencyRef): void {
  c.gov.idempotency?.release(ref, c.auditId).catch(() => {});
}

/** Keeps the key claimed as "outcome unknown" (awaited, like {@link completeKey}). */
async function markKeyUnknown(c: GovernedCall, ref: IdempotencyRef): Promise<void> {
  await c.gov.idempotency?.markUnknown(ref, c.auditId).catch((err: Error) => {
    c.gov.metrics.storeErrors.inc({ store: 'postgres', op: 'idempotency_complete' });
    c.rt.logger.error(
      { err: err.message, tool: c.tool.name },
      'idempotency key not marked unknown; it stays running until its lease ends, then reads as unknown',
    );
  });
}

/** Stores the call's result under its key (awaited: a retry right after must find it). */
async function completeKey(
  c: GovernedCall,
  ref: IdempotencyRef,
  result: CallToolResult,
  outcome: string,
): Promise<void> {
  await c.gov.idempotency?.complete(ref, c.auditId, result, outcome).catch((err: Error) => {
    c.gov.metrics.storeErrors.inc({ store: 'postgres', op: 'idempotency_complete' });
    c.rt.logger.error(
      { err: err.message, tool: c.tool.name },
      'idempotency result not stored; a retry with this key will be told the outcome is unknown',
    );
  });
}
