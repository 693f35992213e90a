// tools/call: the governed path every tool call takes, whichever protocol era or code path it came in on.
// Admission (decision -> argument bounds -> reserved arguments -> validation -> constraints) builds the
// call; then ONE fixed chain of (c, next) steps runs it: [checks slot] -> flow guard -> limits + budgets -> cache ->
// [beforeApproval slot] -> approval request -> idempotency -> audit-before-mutation -> approval use -> [beforeExecute slot] ->
// handler (timeout, cancellation). Exactly one audit record per call, whatever ends it.
import {
  type AuditOutcome,
  type AuditRecord,
  auditRecord,
  auditSafe,
  redactArguments,
  summarize,
} from '../audit/audit-record.js';
import { flowGuard } from '../flow/flow-step.js';
import { resolveGovernance } from '../governance/resolve.js';
import { callerKey, sessionKey } from '../identity/caller-keys.js';
import type { CallToolResult, StepAnswer, ToolCallRequest } from '../kernel/call.js';
import { CallCancellation } from '../kernel/cancellation.js';
import { FleetError, type FleetErrorCode, ToolError } from '../kernel/errors.js';
import { fingerprint } from '../kernel/fingerprint.js';
import { type Span, startSpan, withSpan } from '../observability/tracing.js';
import { type Decision, decide, toolFacts } from '../policy/decide.js';
import { withdrawSuspendedApprovals } from '../suspensions/agent-desk.js';
import type { SuspensionView } from '../suspensions/suspension-store.js';
import type { AnyTool } from '../tools/tool.js';
import { argumentsProblem } from './argument-bounds.js';
import { nestedCaller } from './nested-call.js';
import { errorCodeOf, errorResult, refusalReason, toolErrorResult } from './refusals.js';
import { takeReserved } from './reserved-args.js';
import { runHandler } from './run-handler.js';
import type { FleetRuntime, GovernedCall, ServerStep, SlotName, Step } from './runtime.js';
import { approvalRequest, approvalUse } from './steps/approval.js';
import { cache } from './steps/cache.js';
import { idempotency } from './steps/idempotency.js';
import { limits, serverLimits } from './steps/limits.js';

export type { CallToolResult, ToolCallRequest } from '../kernel/call.js';
export { CACHE_META_KEY } from './steps/cache.js';
export { REPLAYED_META_KEY } from './steps/idempotency.js';

/** The tool is unknown or not granted: answered as a JSON-RPC error, identical in both cases. */
export class ToolNotAvailableError extends FleetError {
  constructor(name: string) {
    super(
      'FLEET_ERR_TOOL_NOT_AVAILABLE',
      `Tool "${name}" is not available to this caller. Call tools/list to see the tools you can use.`,
    );
  }
}

function describeIssues(issues: readonly { path: readonly PropertyKey[]; message: string }[]): string {
  return issues
    .slice(0, 10)
    .map((i) => (i.path.length ? `\`${i.path.map(String).join('.')}\`: ${i.message}` : i.message))
    .join('; ');
}

/** How far one call got: what the last-resort handler in {@link callTool} needs to finish it. */
interface CallState {
  finish?: (outcome: AuditOutcome, result: CallToolResult | null) => void;
  finished: boolean;
  /** The call's `mcp.tool <name>` span (undefined outside a traced request). */
  span?: Span | undefined;
  /** Its final record's commit, when the answer must wait for it (see {@link answersAfterCommit}). */
  durable?: Promise<boolean> | undefined;
}

/**
 * Calls whose answer waits until their final audit record is committed (issue 16, H-1): a mutation
 * whose `started` record was stored, i.e. every mutation that may have reached its upstream. A server
 * killed right after answering must not leave it with only its `started` record. Everything else
 * (reads, and mutations refused or replayed before that step) stays batched: a SIGKILL may cost up to
 * AUDIT_FLUSH_MS of those records in the database (they are on stdout: docs/operating.md).
 */
const answersAfterCommit = new WeakSet<GovernedCall>();

/**
 * Runs one governed tool call and returns its result; records exactly one audit record, whatever
 * happens: an exception anywhere in the pipeline still ends in a record (outcome `error`) and an
 * `isError` result naming the request, never in a 500 without a trace.
 */
export function callTool(rt: FleetRuntime, req: ToolCallRequest): Promise<CallToolResult> {
  // The tool's name is the client's until the registry knows it: an unknown one is not a span name.
  const name = rt.registry.get(req.name) ? req.name : '(unknown)';
  return withSpan(
    `mcp.tool ${name}`,
    { attributes: { 'mcp.tool': name, 'mcp.server': rt.server, 'mcp.agent': req.identity.agentId } },
    (span) => tracedCall(rt, req, span),
  );
}

async function tracedCall(
  rt: FleetRuntime,
  req: ToolCallRequest,
  span: Span | undefined,
): Promise<CallToolResult> {
  const call: CallState = { finished: false, span };
  try {
    const result = await governedCall(rt, req, call);
    // Bounded (AuditLog.recordDurable): the answer goes out even when PostgreSQL does not take it.
    await call.durable;
    return result;
  } catch (err) {
    await call.durable;
    if (err instanceof ToolNotAvailableError || call.finished || !call.finish) throw err;
    rt.logger.error(
      {
        err: (err as Error).message,
        stack: (err as Error).stack,
        tool: req.name.slice(0, 128),
        requestId: req.requestId,
      },
      'tool call failed in the pipeline',
    );
    // The steps holding something (an idempotency claim, an approval) gave it back on the way out.
    const result = errorResult(
      `${req.name.slice(0, 128)} failed with an internal error (reference ${req.requestId}). Retrying may help; if not, report the reference.`,
      'internal',
    );
    call.finish('error', result);
    await call.durable;
    return result;
  }
}

async function governedCall(
  rt: FleetRuntime,
  req: ToolCallRequest,
  call: CallState,
): Promise<CallToolResult> {
  const started = performance.now();
  const reg = rt.registry.get(req.name);
  const decision: Decision = withSpan('mcp.policy', {}, () =>
    reg
      ? decide(rt.policy.current, req.identity, rt.server, toolFacts(reg.tool))
      : { allowed: false, reason: 'unknown tool', viaRoles: [], constraints: [], approvalRequired: false },
  );
  // Argument bounds, reserved arguments, the input schema and policy constraints (ended when they pass).
  let validating: Span | undefined;
  const validated = () => {
    validating?.end();
    validating = undefined;
  };

  const record = callRecord(rt, req, decision.allowed ? 'allow' : 'deny', decision.reason, 'started');
  if (req.nested) record.details = { ...record.details, parentCallId: req.nested.parentCallId };
  // An approval id the client sent is only "approvalId" once the gate verified and used it; a call that
  // ended before (an idempotency replay, a refusal) records it as what it is: a claim.
  let c: GovernedCall | undefined;
  const metricTool = reg ? reg.tool.name : '(unknown)';
  let untrack: (() => void) | undefined;
  const finish = (outcome: AuditOutcome, result: CallToolResult | null): void => {
    untrack?.();
    validated();
    call.span?.setAttributes({ 'mcp.outcome': outcome, 'mcp.audit_id': record.id });
    const durationMs = performance.now() - started;
    record.outcome = outcome;
    if (req.nested) req.nested.outcome = outcome;
    record.durationMs = Math.round(durationMs * 1000) / 1000;
    record.resultSummary = result ? summarize(result.content[0]?.text) : null;
    const code = result ? errorCodeOf(result) : undefined;
    if (code !== undefined) {
      record.details ??= {};
      record.details.errorCode = code;
    }
    const claimedApprovalId = c?.approvalId;
    if (
      claimedApprovalId !== undefined &&
      !c?.approvalVerified &&
      record.details?.approvalId === claimedApprovalId
    ) {
      const { approvalId: _claimed, ...rest } = record.details;
      record.details = { ...rest, claimedApprovalId: auditSafe(claimedApprovalId.slice(0, 200)) };
    }
    scrubRecord(rt, record);
    if (c && answersAfterCommit.has(c)) call.durable = rt.audit.recordDurable(record);
    else rt.audit.record(record);
    rt.metrics.toolCalls.inc({ tool: metricTool, outcome });
    rt.metrics.toolDuration.observe({ tool: metricTool }, durationMs / 1000);
    const refusedAs = refusalReason(record.details?.errorCode);
    if (refusedAs) rt.metrics.refusals.inc({ tool: metricTool, reason: refusedAs });
    call.finished = true;
  };
  call.finish = finish;
  const done = ({ outcome, result }: StepAnswer): CallToolResult => {
    finish(outcome, result);
    return result;
  };

  // A suspended agent (the kill switch: suspensions/) is refused first, before anything else is
  // looked at or counted: no limits, cache, idempotency replay or approval use, nothing reaches the
  // handler, whatever tool (known or not) and arguments it sends. Nested calls come through here too.
  const suspended = withSpan('mcp.suspension', {}, () =>
    rt.governance.suspensions?.suspensionOf(req.identity),
  );
  if (suspended) {
    record.decision = 'deny';
    record.decisionReason = 'agent_suspended';
    record.details = { ...record.details, suspension: suspensionDetail(suspended, 'admission') };
    rt.metrics.policyDenials.inc({ tool: metricTool });
    return done({
      outcome: 'denied',
      result: errorResult(
        `${auditSafe(req.name.slice(0, 128))} was not run: this agent is suspended (since ${suspended.suspendedAt}). ` +
          'Every call is refused until a person resumes the agent. Stop and tell the user.',
        'agent_suspended',
      ),
    });
  }

  if (!reg || !decision.allowed) {
    rt.metrics.policyDenials.inc({ tool: metricTool });
    const refused = new ToolNotAvailableError(req.name);
    record.details = { ...record.details, errorCode: refused.code };
    finish('denied', null);
    throw refused;
  }
  const { tool } = reg;
  validating = startSpan('mcp.validate');

  // Bounded before anything walks them (fingerprint, redaction, the schema): deep or huge arguments
  // are a clear refusal with a record, not a RangeError.
  const shapeProblem = argumentsProblem(req.arguments);
  if (shapeProblem) {
    return done({
      outcome: 'invalid',
      result: errorResult(
        `Invalid arguments for ${tool.name}: ${shapeProblem}. Send an object matching the tool's input schema.`,
        'invalid_arguments',
      ),
    });
  }

  // Core's own arguments (idempotency_key, approval_id) and _meta keys come off before validation.
  const reserved = takeReserved(tool, req.arguments, req.meta);
  if (reserved.problem) {
    return done({
      outcome: 'invalid',
      result: errorResult(`Invalid arguments for ${tool.name}: ${reserved.problem}.`, 'invalid_arguments'),
    });
  }
  if (reserved.args !== req.arguments) record.arguments = redactArguments(reserved.args);
  const parsed = tool.input.safeParse(reserved.args ?? {});
  if (!parsed.success) {
    return done({
      outcome: 'invalid',
      result: errorResult(
        `Invalid arguments for ${tool.name}: ${describeIssues(parsed.error.issues)}. Fix the arguments to match the tool's input schema and call again.`,
        'invalid_arguments',
      ),
    });
  }
  const args = parsed.data;

  if (decision.constraints !== null && tool.constraint) {
    let violation: string | null = 'no constraint value allows this call';
    for (const value of decision.constraints) {
      violation = tool.constraint.check(args, value);
      if (violation === null) break;
    }
    if (violation !== null) {
      record.decision = 'deny';
      record.decisionReason = `constraint: ${violation}`;
      rt.metrics.policyDenials.inc({ tool: tool.name });
      return done({
        outcome: 'denied',
        result: errorResult(`Not allowed by policy: ${violation}`, 'constraint_denied'),
      });
    }
  }

  validated();
  // Governance: everything below keys on the verified identity, never on anything the model sent.
  const gov = rt.governance;
  const gc: GovernedCall = {
    rt,
    gov,
    tool,
    req,
    decision,
    settings: resolveGovernance(rt.policy.current, req.identity.roles, rt.server, tool),
    args,
    argsHash: fingerprint(args),
    caller: callerKey(req.identity),
    session: sessionKey(req.identity),
    auditId: record.id,
    record,
    timeoutMs: tool.governance.timeoutMs ?? rt.config.toolTimeoutMs,
    approvalId: decision.approvalRequired ? reserved.approvalId : undefined,
    approvalVerified: false,
    approvalGateReached: false,
    idempotencyKey: tool.governance.readOnly ? undefined : reserved.idempotencyKey,
    detail: (key, value) => {
      record.details ??= {};
      record.details[key] = value;
    },
    requireApproval: (reason) => {
      if (gc.approvalGateReached)
        throw new Error('requireApproval: only a step at the checks slot may ask for one');
      if (!gc.decision.approvalRequired) {
        gc.decision = { ...gc.decision, approvalRequired: true };
        gc.approvalId = reserved.approvalId;
      }
      const why = reason.slice(0, 500);
      record.decisionReason = `${record.decisionReason}; approval: ${why}`;
      const held = (record.details?.approvalReasons as string[] | undefined) ?? [];
      gc.detail('approvalReasons', [...held, why]);
    },
    limit: (checks) => serverLimits(gc, checks),
    sends: undefined,
    sources: [],
    outbound: (o) => {
      if (gc.approvalGateReached) throw new Error('outbound: only a step at the checks slot may declare it');
      gc.sends = {
        destinations: [...(gc.sends?.destinations ?? []), ...o.destinations],
        content: [...(gc.sends?.content ?? []), ...o.content],
      };
    },
  };
  c = gc;
  untrack = stopOnSuspension(gc);
  if (gov.redundant.observe(c.session, tool.name, c.argsHash)) {
    gov.metrics.redundantCalls.inc({ tool: tool.name });
    c.detail('redundant', true);
  }
  let answer: StepAnswer;
  try {
    answer = await run(chainOf(rt, tool), 0, c);
  } catch (err) {
    // A server's step refuses by throwing a ToolError (the steps it passed gave back what they held).
    if (!(err instanceof ToolError)) throw err;
    c.detail('refusedByStep', true);
    answer = { outcome: 'denied', result: toolErrorResult(err) };
  }
  answer = await suspendedWhileRequesting(c, answer);
  await withdrawReturnedApproval(c);
  return done(answer);
}

/** Runs the chain from step `i`; each step's `next` is the rest of it. */
function run(chain: readonly Step[], i: number, c: GovernedCall): Promise<StepAnswer> {
  return chain[i]!(c, () => run(chain, i + 1, c));
}

/** A mutation is refused, never run, while its audit record cannot be made durable first. */
const auditBeforeMutation: Step = async (c, next) => {
  try {
    scrubRecord(c.rt, c.record);
    await c.rt.audit.persistBeforeMutation(c.record);
    answersAfterCommit.add(c);
  } catch (err) {
    c.rt.logger.error(
      { err: (err as Error).message, tool: c.tool.name },
      'mutation refused: audit store unavailable',
    );
    return {
      outcome: 'audit_unavailable',
      result: errorResult(
        `${c.tool.name} was not performed: the audit store is unavailable, and no change runs unaudited. Retry in a minute.`,
        'audit_unavailable',
      ),
    };
  }
  return next();
};

/** What an audit record says of the suspension that refused or stopped a call, and where it did. */
function suspensionDetail(
  s: SuspensionView,
  at: 'admission' | 'approval_request' | 'before_handler' | 'commit' | 'running' | 'after_commit',
): Record<string, unknown> {
  return {
    id: s.id,
    tenant: s.tenant,
    suspendedAt: s.suspendedAt,
    suspendedBy: { issuer: s.suspendedByIssuer, subject: s.suspendedBy },
    at,
  };
}

/**
 * A call admitted before its agent was suspended that opened an approval request after the suspension
 * withdrew the agent's (it waited in a step before the gate): the request is withdrawn too, and the
 * call answered as refused by the suspension, so no request of a suspended agent outlives the
 * suspension (a resume would bring it back).
 */
async function suspendedWhileRequesting(c: GovernedCall, answer: StepAnswer): Promise<StepAnswer> {
  if (answer.outcome !== 'awaiting_approval') return answer;
  const s = c.gov.suspensions?.suspensionOf(c.req.identity);
  if (!s) return answer;
  c.detail('suspension', suspensionDetail(s, 'approval_request'));
  c.record.decision = 'deny';
  c.record.decisionReason = 'agent_suspended';
  if (c.gov.approvals)
    try {
      await withdrawSuspendedApprovals(c.gov.approvals, {
        agentId: c.req.identity.agentId,
        by: { issuer: s.suspendedByIssuer, subject: s.suspendedBy, user: null, tenant: s.tenant },
        suspensionId: s.id,
        server: c.rt.server,
        requestId: c.req.requestId,
        policyVersion: c.rt.policy.version || null,
        audit: (r) => c.rt.audit.record(r),
      });
      c.detail('approvalWithdrawn', true);
    } catch (err) {
      c.rt.logger.error({ err: (err as Error).message }, 'withdrawing a suspended agent request failed');
    }
  return {
    outcome: 'denied',
    result: errorResult(
      `${c.tool.name} was not run: this agent was suspended while the call waited, and its approval request was withdrawn. ` +
        'Every call is refused until a person resumes the agent. Stop and tell the user.',
      'agent_suspended',
    ),
  };
}

/**
 * A call stopped by a suspension after it used its approval gave the approval back (nothing ran); the
 * suspension withdraws it, as it withdrew the agent's other approvals when it was made (the approval
 * was `executing` then), in the name of the person who suspended the agent.
 */
async function withdrawReturnedApproval(c: GovernedCall): Promise<void> {
  const d = c.record.details;
  const s = d?.suspension as
    | { id: string; tenant: string | null; suspendedBy: { issuer: string | null; subject: string } }
    | undefined;
  if (!s || !d?.approvalReturned || c.record.decisionReason !== 'agent_suspended' || !c.gov.approvals) return;
  try {
    await withdrawSuspendedApprovals(c.gov.approvals, {
      agentId: c.req.identity.agentId,
      by: { ...s.suspendedBy, user: null, tenant: s.tenant },
      suspensionId: s.id,
      server: c.rt.server,
      requestId: c.req.requestId,
      policyVersion: c.rt.policy.version || null,
      audit: (r) => c.rt.audit.record(r),
    });
    c.detail('approvalWithdrawn', true);
  } catch (err) {
    c.rt.logger.error({ err: (err as Error).message }, 'withdrawing a suspended agent approval failed');
  }
}

const SUSPENDED = new FleetError('FLEET_ERR_CANCELLED', 'the agent was suspended');

/**
 * The kill switch holds for a call already admitted too (THREATS: a slow upstream, a wait on an
 * idempotency claim or an approval must not let a suspended agent write after the suspension). The
 * call is tracked by the server's suspension watcher until it finishes: when a reload finds its agent
 * suspended, the call's cancellation is cancelled (source `suspension`: the handler's signal aborts,
 * and a call that has not started its handler never starts it: see `execute`); a call already past
 * ctx.commit() finishes, and its record says so (`details.suspension.at = after_commit`). At
 * ctx.commit() the suspension is checked once more, so a change never starts once the agent is known
 * suspended here. Returns the function that stops tracking (called when the call's record is written).
 */
function stopOnSuspension(c: GovernedCall): (() => void) | undefined {
  const watcher = c.gov.suspensions;
  if (!watcher) return undefined;
  c.req.cancellation ??= new CallCancellation();
  const run = c.req.cancellation;
  const stop = (s: SuspensionView, at: 'running' | 'commit') => {
    if (run.cancel('suspension', SUSPENDED)) c.detail('suspension', suspensionDetail(s, at));
    else if (run.committed && run.source === undefined)
      c.detail('suspension', suspensionDetail(s, 'after_commit'));
  };
  run.beforeCommit(() => {
    const s = watcher.suspensionOf(c.req.identity);
    if (s) stop(s, 'commit');
  });
  return watcher.track(c.req.identity, (s) => stop(s, 'running'));
}

/** Refused with `agent_suspended`: the agent was suspended after admission, before the handler started. */
function suspendedBeforeHandler(c: GovernedCall): StepAnswer | undefined {
  const now = c.gov.suspensions?.suspensionOf(c.req.identity);
  if (!now && c.req.cancellation?.source !== 'suspension') return undefined;
  if (now && !c.record.details?.suspension) c.detail('suspension', suspensionDetail(now, 'before_handler'));
  c.record.decision = 'deny';
  c.record.decisionReason = 'agent_suspended';
  c.rt.metrics.policyDenials.inc({ tool: c.tool.name });
  return {
    outcome: 'denied',
    result: errorResult(
      `${c.tool.name} was not run: this agent was suspended while the call waited to start. ` +
        'Every call is refused until a person resumes the agent. Stop and tell the user.',
      'agent_suspended',
    ),
  };
}

/** The innermost step: the handler under its deadline and cancellation (never calls `next`). */
const execute: Step = async (c) => {
  // Checked again right before the handler: a call that waited (an idempotency claim, the approval
  // use, a server's step) after its admission does not start once its agent is suspended.
  const refused = suspendedBeforeHandler(c);
  if (refused) return refused;
  const run = await runHandler(c, (parentRun) => nestedCaller(callTool, c.rt, c.req, c.auditId, parentRun));
  // Stopped by a suspension while it ran (and not past its point of no return): nothing was
  // committed (read-only, or cancelled before ctx.commit()), or a mutation without a point of no return
  // failed once its signal aborted. Recorded as refused by the suspension; a call that still ended
  // `ok` or `unknown` keeps what really happened (and `details.suspension` says it came meanwhile).
  const stopped = run.cancelledBy === 'suspension' || run.interruptedBy === 'suspension';
  if (stopped && run.outcome !== 'ok' && run.outcome !== 'unknown') {
    c.record.decision = 'deny';
    c.record.decisionReason = 'agent_suspended';
    run.outcome = 'denied';
    run.result = errorResult(
      `${c.tool.name} was stopped: this agent was suspended while the call ran${
        run.interruptedBy === 'suspension'
          ? ' (it was told to stop; check the target system if it may have changed something before it did)'
          : ', before it changed anything'
      }. Every call is refused until a person resumes the agent. Stop and tell the user.`,
      'agent_suspended',
    );
  }
  if (run.cancelledBy) c.detail('cancelledBy', run.cancelledBy);
  // A mutation cancelled or timed out while it ran: the outcome is what the handler did, and this says
  // that a cancel was asked for / the deadline passed meanwhile.
  if (run.interruptedBy === 'timeout') c.detail('timedOut', true);
  else if (run.interruptedBy) {
    c.detail('cancelRequested', true);
    c.detail('cancelledBy', run.interruptedBy);
  }
  if (run.stillRunning) c.detail('handlerStillRunning', true);
  if (run.outcome === 'timeout' || run.interruptedBy === 'timeout') c.detail('timeoutMs', c.timeoutMs);
  if (run.overran) c.detail('pastTimeoutAfterCommit', true);
  return {
    outcome: run.outcome,
    result: run.result,
    ran: {
      partial: run.partial,
      committed: run.committed,
      stillRunning: run.stillRunning === true,
      rerunSafe: run.rerunSafe === true,
    },
  };
};

/**
 * The limits step, and the call's cost units on its audit record (`details.cost`, for cost per agent
 * and tool) once it passed them: the resolved cost the budgets counted (when any apply). A call refused
 * before or by the limits (invalid, denied, suspended, rate limited, over budget) has no `cost`.
 */
const charged: Step = (c, next) =>
  limits(c, () => {
    c.detail('cost', c.settings.cost.value);
    return next();
  });

const readOnly = (tool: AnyTool) => tool.governance.readOnly;
const mutating = (tool: AnyTool) => !tool.governance.readOnly;

/**
 * THE governance chain, in order. The order is a security property, so it is fixed here and nowhere
 * else: no registration API, no priorities. A server adds its own steps at the named slots only.
 * `for`: the tools a step can apply to at all (decided once per tool); each step also skips itself
 * at run time when the call's policy settings leave it nothing to do.
 */
const CHAIN: readonly (
  | { name: string; span: string; step: Step; for?: (tool: AnyTool) => boolean }
  | SlotName
)[] = [
  'checks',
  // Flow guard (issue 17): what the agent session read before decides whether this call may send or
  // change (the `checks` steps declared its destinations); the labels of what it returns are shared
  // before the answer goes out. Passes through when the policy has no `flow` section.
  { name: 'flow', span: 'mcp.flow', step: flowGuard },
  // Rate limits and budgets.
  { name: 'limits', span: 'mcp.limits', step: charged },
  { name: 'cache', span: 'mcp.cache', step: cache, for: readOnly },
  'beforeApproval',
  { name: 'approval request', span: 'mcp.approval_request', step: approvalRequest },
  { name: 'idempotency', span: 'mcp.idempotency', step: idempotency, for: mutating },
  { name: 'audit before mutation', span: 'mcp.audit', step: auditBeforeMutation, for: mutating },
  { name: 'approval use', span: 'mcp.approval_use', step: approvalUse },
  'beforeExecute',
  { name: 'execute', span: 'mcp.handler', step: execute },
];

/**
 * `step` in its own span (`mcp.<step>`), a child of the step before it: a step's span covers the step
 * and the rest of the chain it passes the call on to. Outside a traced request it costs one lookup.
 */
function traced(span: string, step: Step): Step {
  return (c, next) =>
    withSpan(
      span,
      span === 'mcp.handler'
        ? {
            attributes: {
              'mcp.tool': c.tool.name,
              'mcp.server': c.rt.server,
              'mcp.agent': c.req.identity.agentId,
            },
          }
        : {},
      () => step(c, next),
    );
}

/** The slots a server may add steps at, in chain order. */
export const SLOT_NAMES: readonly SlotName[] = CHAIN.filter((s): s is SlotName => typeof s === 'string');

const chains = new WeakMap<FleetRuntime, WeakMap<AnyTool, readonly Step[]>>();

/** The steps that apply to `tool` on this runtime (server steps in their slots), built once per tool. */
function chainOf(rt: FleetRuntime, tool: AnyTool): readonly Step[] {
  let byTool = chains.get(rt);
  if (!byTool) {
    byTool = new WeakMap();
    chains.set(rt, byTool);
  }
  let chain = byTool.get(tool);
  if (!chain) {
    chain = namedChain(tool, rt.steps ?? []).map((s) => traced(s.span, s.step));
    byTool.set(tool, chain);
  }
  return chain;
}

/** The fixed chain for one tool: static filters applied, server steps placed at their slots. */
export function buildChain(tool: AnyTool, serverSteps: readonly ServerStep[]): readonly Step[] {
  return namedChain(tool, serverSteps).map((s) => s.step);
}

/** {@link buildChain} with each step's span name (`mcp.<step>`, or `mcp.<slot>` for a server's step). */
function namedChain(
  tool: AnyTool,
  serverSteps: readonly ServerStep[],
): readonly { span: string; step: Step }[] {
  for (const s of serverSteps)
    if (!SLOT_NAMES.includes(s.at)) throw new FleetError('FLEET_ERR_CONFIG', `no governance slot "${s.at}"`);
  return CHAIN.flatMap((s) =>
    typeof s === 'string'
      ? serverSteps.filter((x) => x.at === s).map((x) => ({ span: `mcp.${s}`, step: x.step }))
      : !s.for || s.for(tool)
        ? [{ span: s.span, step: s.step }]
        : [],
  );
}

/** Applies the server's `auditRedact` to every string of the record's arguments, summary and details. */
function scrubRecord(rt: FleetRuntime, record: AuditRecord): void {
  const redact = rt.auditRedact;
  if (!redact) return;
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return redact(v);
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object')
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [redact(k), walk(x)]));
    return v;
  };
  try {
    record.arguments = walk(record.arguments);
    if (record.resultSummary !== null) record.resultSummary = redact(record.resultSummary);
    if (record.details !== null) record.details = walk(record.details) as Record<string, unknown>;
  } catch (err) {
    // A redactor that fails must not let the record through unmasked: keep who and what, drop the text.
    rt.logger.error(
      { err: (err as Error).message },
      'auditRedact failed; arguments withheld from the record',
    );
    record.arguments = { '…': 'withheld: the server could not mask this record' };
    record.resultSummary = null;
  }
}

/**
 * The audit record of one tools/call as it starts: who, what (arguments bounded for storage, and the
 * hash of them exactly as sent), and the client's ids cut so they cannot grow the record (F11).
 */
function callRecord(
  rt: FleetRuntime,
  req: Omit<ToolCallRequest, 'cancellation' | 'meta' | 'nested'>,
  decision: AuditRecord['decision'],
  decisionReason: string,
  outcome: AuditOutcome,
): AuditRecord {
  const details: Record<string, unknown> = {};
  if (req.rpcId !== null)
    details.rpcId = typeof req.rpcId === 'string' ? auditSafe(req.rpcId.slice(0, 200)) : req.rpcId;
  if (req.clientRequestId !== undefined)
    details.clientRequestId = auditSafe(req.clientRequestId.slice(0, 200));
  return auditRecord(req.identity, {
    server: rt.server,
    requestId: req.requestId,
    method: 'tools/call',
    tool: auditSafe(req.name.slice(0, 128)),
    arguments: redactArguments(req.arguments),
    // Of the exact arguments as sent (canonical JSON: iterative, so any depth hashes).
    argsHash: req.arguments === undefined ? null : fingerprint(req.arguments),
    decision,
    decisionReason,
    outcome,
    policyVersion: rt.policy.version || null,
    protocolVersion: req.protocolVersion,
    details: Object.keys(details).length ? details : null,
  });
}

/**
 * Records a tools/call the protocol host (or the MCP SDK in front of the pipeline) refused before the
 * pipeline ran: nested too deep outside its arguments, routing headers that disagree with the body, a
 * malformed message, an unsupported version, a bad Accept or Content-Type... A call was attempted,
 * and every attempted call leaves one record, `invalid` (`error` for a failure of the server),
 * with the code the client was sent as `details.errorCode`.
 */
export function recordRefusedCall(
  rt: FleetRuntime,
  req: Omit<ToolCallRequest, 'cancellation' | 'meta' | 'nested'>,
  reason: string,
  code: FleetErrorCode = 'FLEET_ERR_INVALID_REQUEST',
  options: { withoutArguments?: boolean } = {},
): void {
  const outcome: AuditOutcome = code === 'FLEET_ERR_INTERNAL' ? 'error' : 'invalid';
  const record = callRecord(
    rt,
    req,
    'deny',
    `refused by the protocol host: ${auditSafe(reason.slice(0, 300))}`,
    outcome,
  );
  record.durationMs = 0;
  record.details = { ...record.details, errorCode: code };
  if (options.withoutArguments && req.arguments !== undefined) {
    // Only what identifies them (argsHash) and their size: the element of a refused batch.
    record.arguments = null;
    record.details.argumentsBytes = Buffer.byteLength(JSON.stringify(req.arguments) ?? '');
  }
  rt.audit.record(record);
  const tool = rt.registry.get(req.name) ? req.name : '(unknown)';
  rt.metrics.toolCalls.inc({ tool, outcome });
  const refusedAs = refusalReason(code);
  if (refusedAs) rt.metrics.refusals.inc({ tool, reason: refusedAs });
}
