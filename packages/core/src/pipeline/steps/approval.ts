// The approval gate of a call that policy or the tool marks as needing a human: a call without an
// approval id opens (or finds) a request and stops; a call with one uses it, atomically and once, for
// exactly the approved arguments and caller. Arguments like `confirm: true` play no part. The human is
// shown exactly the canonical JSON that the approval binds; a call too large to show in full is refused.
// What it binds is every input that changes what runs: the validated arguments AND the caller's
// idempotency key (core strips it before validation, but a tool such as issue_refund derives its
// upstream idempotency key from it: with a fresh key the same arguments are a NEW refund). So a call
// with a key is bound and shown as its arguments plus `"idempotency_key": "<as sent>"`; resuming with
// another key, adding one or dropping one is refused as different arguments.

import { approverSettings, DEFAULT_MAX_PENDING_PER_AGENT } from '../../approvals/approvers.js';
import type { StepAnswer } from '../../kernel/call.js';
import { canonicalJson, sha256 } from '../../kernel/fingerprint.js';
import { IDEMPOTENCY_ARG, ownedReserved } from '../../tools/reserved-listing.js';
import { approvalRefusedResult, awaitingApprovalResult, refusal, storeDown } from '../refusals.js';
import { callerOf, changedNothing, type GovernedCall, type Next } from '../runtime.js';

/**
 * First step (before idempotency): a call needing approval without an approval id opens (or finds) a
 * request and is answered "awaiting approval"; one with an id goes on, to use it right before the handler.
 */
export async function approvalRequest(c: GovernedCall, next: Next): Promise<StepAnswer> {
  c.approvalGateReached = true;
  if (!c.decision.approvalRequired) return next();
  // The fingerprint of the validated arguments without any reserved key (the record's argsHash is of
  // the arguments as sent, approval_id and idempotency_key included): what lets an approver find the
  // same operation asked before by any caller, whatever key or approval it came with.
  c.detail('argumentsHash', c.argsHash);
  return (await openOrResume(c, c.approvalId)) ?? next();
}

/**
 * Second step (after audit-before-mutation, before the handler): use the approval atomically, once.
 * If nothing ran (a later step refused or the pipeline failed), or a tool that declares its point of
 * no return failed before it, the approval is given back: nothing reached the upstream, and the
 * human's approval is not spent by a transient failure. Otherwise it is (the change may have run).
 */
export async function approvalUse(c: GovernedCall, next: Next): Promise<StepAnswer> {
  const id = c.approvalId;
  if (id === undefined) return next();
  const refused = await useApproval(c, id);
  if (refused) return refused;
  c.approvalVerified = true;
  let out: StepAnswer;
  try {
    out = await next();
  } catch (err) {
    await returnApproval(c, id);
    throw err;
  }
  if (changedNothing(c, out)) await returnApproval(c, id);
  else await finishApproval(c, id, out.outcome);
  return out;
}

/** Without an approval id, open a request and answer "awaiting approval"; with one, go on. */
async function openOrResume(
  c: GovernedCall,
  approvalId: string | undefined,
): Promise<StepAnswer | undefined> {
  const store = c.gov.approvals;
  if (!store) {
    return {
      outcome: 'error',
      result: refusal(
        c.tool,
        `${c.tool.name} needs a human approval, and approvals need the fleet database, which this server does not have. Tell the operator.`,
        'approvals_unavailable',
      ),
    };
  }
  if (approvalId !== undefined) {
    c.detail('approvalId', approvalId);
    return undefined;
  }
  // The text whose hash the approval binds is what the approver is shown, whole.
  const subject = approvalSubject(c);
  if ('problem' in subject) return subjectRefused(c, subject.problem);
  const argumentsJson = subject.json;
  if (sha256(argumentsJson) !== subject.hash) {
    // The shown text must be exactly what the approval binds; if hashing ever changes, fail closed.
    c.rt.logger.error({ tool: c.tool.name }, 'approval refused: shown arguments do not match the bound hash');
    return {
      outcome: 'error',
      result: refusal(
        c.tool,
        `${c.tool.name} was not run: its approval request could not be prepared. Tell the operator.`,
        'approvals_unavailable',
      ),
    };
  }
  const settings = approverSettings(c.rt.config);
  const bytes = Buffer.byteLength(argumentsJson, 'utf8');
  const limit = settings.maxArgumentBytes;
  if (bytes > limit) {
    c.detail('approvalRefused', 'arguments_too_large');
    c.detail('argumentBytes', bytes);
    return {
      outcome: 'denied',
      result: refusal(
        c.tool,
        `${c.tool.name} was not run and not put up for approval: the arguments are too large to show an approver in full (${bytes} bytes, limit ${limit}); call with smaller arguments (split the work into several calls).`,
        'arguments_too_large',
      ),
    };
  }
  try {
    const opened = await store.request({
      server: c.rt.server,
      tool: c.tool.name,
      argsHash: subject.hash,
      argumentsJson,
      caller: callerOf(c),
      session: c.req.identity.session ?? null,
      roles: c.req.identity.roles,
      ttlSeconds: c.gov.config.approvalTtlSeconds,
      auditId: c.auditId,
      maxPending: settings.maxPendingPerAgent ?? DEFAULT_MAX_PENDING_PER_AGENT,
      requiredApprovals: c.settings.approvers.value,
      // Why it is held, for the person deciding (API, CLI, console): the policy's reason and each
      // hold reason a check step gave (requireApproval appends them), as the audit record will say.
      reason: c.record.decisionReason,
    });
    if ('refused' in opened) {
      // One agent may not bury everyone else's requests: refused, audited, nothing opened or run.
      c.gov.metrics.approvals.inc({ tool: c.tool.name, event: 'refused_too_many_pending' });
      c.detail('approvalRefused', 'too_many_pending');
      c.detail('pendingApprovals', opened.pending);
      return {
        outcome: 'denied',
        result: refusal(
          c.tool,
          `${c.tool.name} was not run and not put up for approval: ${opened.pending} approval requests are already waiting for a human decision for this caller (this agent, tenant and user; limit ${opened.limit}). Wait for those to be decided or to expire, or resume one with its approval_id; tell the user.`,
          'too_many_pending',
        ),
      };
    }
    c.gov.metrics.approvals.inc({ tool: c.tool.name, event: 'requested' });
    c.detail('approvalId', opened.id);
    if (c.settings.approvers.value > 1) c.detail('requiredApprovals', c.settings.approvers.value);
    if (opened.reused) c.detail('approvalReused', true);
    return {
      outcome: 'awaiting_approval',
      result: awaitingApprovalResult(c.tool, opened.id, opened.expiresAt),
    };
  } catch (err) {
    return storeDown(c, err, 'approval_request');
  }
}

/**
 * What an approval binds and shows for this call: the canonical JSON of the validated arguments plus,
 * when the call carries an idempotency key core uses (mutating tools), `"idempotency_key": "<key>"`,
 * and its SHA-256. Without a key it is exactly the arguments (hash = c.argsHash), as before.
 * Unambiguous: core strips `idempotency_key` from the arguments of a tool that does not declare it, so
 * the member can only be the caller's key; a tool that declares it receives the same value as its own
 * argument. A combination that would not be unambiguous is refused, never bound.
 */
function approvalSubject(
  c: Pick<GovernedCall, 'args' | 'argsHash' | 'idempotencyKey' | 'tool'>,
): { json: string; hash: string } | { problem: string } {
  const key = c.idempotencyKey;
  if (key === undefined) return { json: canonicalJson(c.args), hash: c.argsHash };
  const args = c.args;
  if (args === null || typeof args !== 'object' || Array.isArray(args))
    return { problem: `arguments that are not an object cannot carry \`${IDEMPOTENCY_ARG}\`` };
  const rec = args as Record<string, unknown>;
  const inArgs = Object.hasOwn(rec, IDEMPOTENCY_ARG) ? rec[IDEMPOTENCY_ARG] : undefined;
  if (inArgs !== undefined && inArgs !== key)
    return {
      problem: `\`${IDEMPOTENCY_ARG}\` in the arguments differs from the one core uses; send it once`,
    };
  // A tool that declares the key but got it only in _meta would not see it: the bound text would read
  // like a call that passed it as an argument. Ask for it in the arguments instead.
  if (inArgs === undefined && ownedReserved(c.tool).idempotency)
    return {
      problem: `${c.tool.name} declares \`${IDEMPOTENCY_ARG}\` itself; send it in the arguments, not only in _meta`,
    };
  const json = canonicalJson({ ...rec, [IDEMPOTENCY_ARG]: key });
  return { json, hash: sha256(json) };
}

/** A call whose approval subject cannot be bound unambiguously: refused, nothing opened, used or run. */
function subjectRefused(c: GovernedCall, problem: string): StepAnswer {
  c.detail('approvalRefused', 'unbindable_arguments');
  return {
    outcome: 'invalid',
    result: refusal(c.tool, `Invalid arguments for ${c.tool.name}: ${problem}.`, 'invalid_arguments'),
  };
}

/** Uses the approval, or answers why not. */
async function useApproval(c: GovernedCall, approvalId: string): Promise<StepAnswer | undefined> {
  const subject = approvalSubject(c);
  if ('problem' in subject) return subjectRefused(c, subject.problem);
  let used: Awaited<ReturnType<NonNullable<GovernedCall['gov']['approvals']>['consume']>>;
  try {
    used = await c.gov.approvals!.consume(approvalId, {
      server: c.rt.server,
      tool: c.tool.name,
      argsHash: subject.hash,
      caller: callerOf(c),
      session: c.req.identity.session ?? null,
      auditId: c.auditId,
    });
  } catch (err) {
    return storeDown(c, err, 'approval_consume');
  }
  if (used.ok) {
    c.gov.metrics.approvals.inc({ tool: c.tool.name, event: 'executed' });
    return undefined;
  }
  c.gov.metrics.approvals.inc({ tool: c.tool.name, event: 'refused' });
  c.detail('approvalRefused', used.why);
  return {
    outcome: used.why === 'pending' ? 'awaiting_approval' : 'approval_denied',
    result: approvalRefusedResult(c.tool, approvalId, used.why, used.expiresAt),
  };
}

/** Records how the approved call ended. */
async function finishApproval(c: GovernedCall, approvalId: string, outcome: string): Promise<void> {
  await c.gov.approvals
    ?.finish(approvalId, outcome)
    .catch((err: Error) => c.rt.logger.warn({ err: err.message }, 'approval outcome not stored'));
}

/** Puts a used approval back to `approved` (the call never reached the upstream system). */
async function returnApproval(c: GovernedCall, approvalId: string): Promise<void> {
  try {
    await c.gov.approvals?.unconsume(approvalId, c.auditId);
    c.detail('approvalReturned', true);
  } catch (err) {
    c.rt.logger.warn({ err: (err as Error).message }, 'approval not given back; it stays used');
  }
}
