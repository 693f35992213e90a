// The results a call gets instead of (or after failing in) its tool: invalid arguments, policy
// denials, rate limited, budget spent, awaiting approval, refused approval, idempotency conflicts,
// stores down, timeouts, internal errors. Text for the model; the stable code (kernel/errors.ts) in
// `_meta["io.mcp-fleet/error"]` always; governance facts in `_meta` and in structuredContent when the
// tool has no output schema of its own (clients check structuredContent against a declared output
// schema, and ours would not match it).
import type { CallToolResult, StepAnswer } from '../kernel/call.js';
import { type CallErrorCode, FLEET_ERRORS, type ToolError } from '../kernel/errors.js';
import { ERROR_META_KEY, GOVERNANCE_META_KEY, RETRY_AFTER_META_KEY } from '../kernel/meta-keys.js';
import type { LimitRefusal } from '../rate-limit/limiter-pool.js';
import type { AnyTool } from '../tools/tool.js';
import type { GovernedCall } from './runtime.js';

export { GOVERNANCE_META_KEY, RETRY_AFTER_META_KEY } from '../kernel/meta-keys.js';

/**
 * An error result with its code (a {@link CallErrorCode}, or a tool's own `ToolError` code): what every
 * failed call answers with, whatever stopped it.
 */
export function errorResult(text: string, code: CallErrorCode | (string & {})): CallToolResult {
  return { content: [{ type: 'text', text }], isError: true, _meta: { [ERROR_META_KEY]: { code } } };
}

/** The result of a ToolError (a handler's or a server step's): its text and code, and when to retry if it says. */
export function toolErrorResult(err: ToolError): CallToolResult {
  const result = errorResult(err.message, err.code);
  if (err.retryAfterMs !== undefined)
    result._meta = { ...(result._meta as Record<string, unknown>), [RETRY_AFTER_META_KEY]: err.retryAfterMs };
  return result;
}

/** The code of an error or refusal result, if it carries one. */
export function errorCodeOf(result: CallToolResult): string | undefined {
  const meta = result._meta as Record<string, { code?: unknown } | undefined> | undefined;
  const code = meta?.[ERROR_META_KEY]?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Which codes of the call-error catalogue are refusals: the call was stopped by the fleet (governance,
 * validation, a store it needs) before its tool ran. Exhaustive: a code added to the catalogue must be
 * classified here. Failures of a call that ran (timeout, cancelled, tool errors) are not refusals.
 */
export const REFUSAL_CODES: Readonly<Record<CallErrorCode, boolean>> = {
  invalid_arguments: true,
  agent_suspended: true,
  constraint_denied: true,
  rate_limited: true,
  budget_exceeded: true,
  awaiting_approval: true,
  approval_refused: true,
  too_many_pending: true,
  arguments_too_large: true,
  approvals_unavailable: true,
  idempotency_conflict: true,
  idempotency_in_progress: true,
  idempotency_unknown: true,
  store_unavailable: true,
  audit_unavailable: true,
  flow_denied: true,
  flow_unavailable: false,
  timeout: false,
  cancelled: false,
  outcome_unknown: false,
  tool_error: false,
  internal: false,
};

/**
 * The `reason` label of `mcp_refusals_total` for a call that ended with `code` (its audit record's
 * `details.errorCode`), or undefined when that is not a refusal. A refusal of the call-error catalogue
 * keeps its code; a process or protocol refusal (tool not available, refused by the protocol host) its
 * FLEET_ERR_* code, except FLEET_ERR_INTERNAL. A tool's own codes are not refusals (they ran).
 */
export function refusalReason(code: unknown): string | undefined {
  if (typeof code !== 'string') return undefined;
  if (Object.hasOwn(REFUSAL_CODES, code)) return REFUSAL_CODES[code as CallErrorCode] ? code : undefined;
  if (Object.hasOwn(FLEET_ERRORS, code)) return code === 'FLEET_ERR_INTERNAL' ? undefined : code;
  return undefined;
}

function build(
  tool: AnyTool,
  text: string,
  isError: boolean,
  facts: { status: CallErrorCode } & Record<string, unknown>,
  extraMeta: Record<string, unknown> = {},
): CallToolResult {
  const result: CallToolResult = {
    content: [{ type: 'text', text }],
    _meta: { [GOVERNANCE_META_KEY]: facts, [ERROR_META_KEY]: { code: facts.status }, ...extraMeta },
  };
  if (!tool.output) result.structuredContent = facts;
  if (isError) result.isError = true;
  return result;
}

function seconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.ceil(ms / 1000)} s`;
}

const LIMIT_WORDS: Record<string, string> = {
  caller: 'calls per minute by this caller on this server',
  caller_tool: 'calls per minute to this tool by this caller',
  tool_global: 'calls per minute to this tool by all callers together',
  destination: 'sends per minute to this destination by all callers together',
};

/** A rate limit or budget refused the call. */
export function limitResult(tool: AnyTool, r: LimitRefusal): CallToolResult {
  const retryAt = new Date(Date.now() + r.retryAfterMs).toISOString();
  if (r.kind === 'session' || r.kind === 'window') {
    const what =
      r.kind === 'session'
        ? `this agent session's budget of ${r.points} cost units`
        : `this caller's budget of ${r.points} cost units per ${r.windowSeconds / 60} minutes`;
    return build(
      tool,
      `${tool.name} was not run: it costs ${r.cost} and would exceed ${what}. Stop and report what you have so far, or ask the user to continue later (the budget resets after ${retryAt}).`,
      true,
      {
        status: 'budget_exceeded',
        budget: r.kind,
        limit: r.points,
        cost: r.cost,
        retryAfterMs: r.retryAfterMs,
        retryAt,
      },
      { [RETRY_AFTER_META_KEY]: r.retryAfterMs },
    );
  }
  return build(
    tool,
    `Rate limit reached for ${tool.name}: at most ${r.points} ${LIMIT_WORDS[r.kind]}. Nothing was run. Retry after ${seconds(r.retryAfterMs)} (at ${retryAt}); calling earlier is refused again.`,
    true,
    { status: 'rate_limited', limit: r.kind, perMinute: r.points, retryAfterMs: r.retryAfterMs, retryAt },
    { [RETRY_AFTER_META_KEY]: r.retryAfterMs },
  );
}

/** The call waits for a human approval. Not an error for tools without an output schema. */
export function awaitingApprovalResult(tool: AnyTool, approvalId: string, expiresAt: string): CallToolResult {
  return build(
    tool,
    `${tool.name} needs a human approval and has NOT run yet. Approval id: ${approvalId} (expires ${expiresAt}). ` +
      `Tell the user that a person with approver rights must approve it (\`fleet approvals approve ${approvalId}\` or the server's approvals API). ` +
      `Once approved, call ${tool.name} again with exactly the same arguments plus "approval_id": "${approvalId}". ` +
      'Approving it yourself is not possible, and arguments such as confirm=true do not replace an approval.',
    Boolean(tool.output),
    {
      status: 'awaiting_approval',
      approvalId,
      expiresAt,
      resume: { tool: tool.name, argument: 'approval_id', meta: 'io.mcp-fleet/approvalId' },
    },
  );
}

const REFUSALS: Record<string, string> = {
  not_found:
    'is not a valid approval for this caller. Call again without approval_id to request a new approval',
  mismatch:
    'was given for different arguments or another tool; an approval covers exactly the arguments that were approved, including the idempotency_key sent with them (or its absence). Call again without approval_id to request approval for these arguments',
  denied: 'was denied by a human. Do not retry this action; tell the user it was declined',
  expired: 'has expired. Call again without approval_id to request a new approval',
  used: 'has already been used; each approval runs the action once. Call again without approval_id if the action must run again',
};

/** A resumed call whose approval does not allow it. `pending`: still waiting for the human. */
export function approvalRefusedResult(
  tool: AnyTool,
  approvalId: string,
  why: string,
  expiresAt?: string,
): CallToolResult {
  if (why === 'pending') {
    return build(
      tool,
      `${tool.name} has NOT run: approval ${approvalId} is still waiting for a human decision${expiresAt ? ` (expires ${expiresAt})` : ''}. Ask the user to get it approved, then call again with the same arguments and approval_id.`,
      Boolean(tool.output),
      { status: 'awaiting_approval', approvalId, ...(expiresAt ? { expiresAt } : {}) },
    );
  }
  return build(
    tool,
    `${tool.name} was not run: approval ${approvalId} ${REFUSALS[why] ?? REFUSALS.not_found}.`,
    true,
    {
      status: 'approval_refused',
      approvalId,
      reason: why,
    },
  );
}

/** A plain refusal from a governance step (idempotency conflicts, stores unavailable). */
export function refusal(tool: AnyTool, text: string, status: CallErrorCode): CallToolResult {
  return build(tool, text, true, { status });
}

/** Logs and counts a governance store (the fleet database) failing mid-call; refuses, changes nothing. */
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
