// tools/call: the governed path every tool call takes, whichever protocol era or code path it came in on.
// decision -> validation -> constraints -> rate limits + budgets -> cache -> approval request ->
// idempotency claim -> audit-before-mutation -> approval use -> handler (timeout, cancellation) -> audit.
// Each governance step lives with its concern (rate-limit/, cache/, approvals/, idempotency/...).
import { randomUUID } from 'node:crypto';
import { finishApproval, requestApproval, useApproval } from '../approvals/approval-gate.js';
import {
  type AuditOutcome,
  type AuditRecord,
  auditSafe,
  redactArguments,
  summarize,
} from '../audit/audit-record.js';
import { cacheable, cacheKeyOf, lookupCache, storeInCache } from '../cache/cache-step.js';
import type { CallCancellation } from '../cancellation/call-cancellation.js';
import { runHandler } from '../cancellation/run-handler.js';
import { FleetError } from '../errors.js';
import { argumentsProblem } from '../governance/argument-bounds.js';
import { fingerprint } from '../governance/fingerprint.js';
import { governanceOf } from '../governance/governance.js';
import type { GovernedCall, StepAnswer } from '../governance/governed-call.js';
import { takeReserved } from '../governance/reserved-args.js';
import { resolveGovernance } from '../governance/resolve.js';
import '../governance/tool-extensions.js';
import { claimKey, completeKey, markKeyUnknown, releaseKey } from '../idempotency/idempotency-step.js';
import type { IdempotencyRef } from '../idempotency/idempotency-store.js';
import { callerKey, sessionKey } from '../identity/caller-keys.js';
import type { Identity } from '../identity/identity.js';
import { type Decision, decide } from '../policy/decide.js';
import { checkLimits } from '../rate-limit/limit-step.js';
import { toolFacts } from './list-tools.js';
import { nestedCaller } from './nested-call.js';
import type { FleetRuntime } from './runtime.js';

export { CACHE_META_KEY } from '../cache/cache-step.js';
export { REPLAYED_META_KEY } from '../idempotency/idempotency-step.js';

/** A tools/call as the pipeline sees it. */
export interface ToolCallRequest {
  identity: Identity;
  name: string;
  arguments: unknown;
  /** Per-HTTP-request id, the server's own (unique), also in the audit record. */
  requestId: string;
  /** The client's `x-request-id`, if it sent one: audit detail only (clients choose it, so it collides). */
  clientRequestId?: string | undefined;
  /** The JSON-RPC id the client used (audit detail only). */
  rpcId: string | number | null;
  protocolVersion: string | null;
  /** Cancelled when the client goes away or cancels (the host's; the pipeline makes one otherwise). */
  cancellation?: CallCancellation;
  /** The request's `_meta` (may carry `io.mcp-fleet/idempotencyKey`, `io.mcp-fleet/approvalId`). */
  meta?: Record<string, unknown> | undefined;
  /** Set on a call a tool handler made through `ctx.callTool`: its parent, and where its outcome goes. */
  nested?: { parentCallId: string; outcome?: AuditOutcome };
}

/** An MCP CallToolResult. */
export interface CallToolResult {
  content: { type: 'text'; text: string }[];
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
  [key: string]: unknown;
}

/** The tool is unknown or not granted: answered as a JSON-RPC error, identical in both cases. */
export class ToolNotAvailableError extends FleetError {
  constructor(name: string) {
    super(
      'FLEET_ERR_TOOL',
      `Tool "${name}" is not available to this caller. Call tools/list to see the tools you can use.`,
      { statusCode: 200 },
    );
  }
}

function errorResult(text: string): CallToolResult {
  return { content: [{ type: 'text', text }], isError: true };
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
  /** Undoes what the call holds (idempotency claim, approval) when it ends by an exception. */
  release?: () => Promise<void>;
}

/**
 * Runs one governed tool call and returns its result; records exactly one audit record, whatever
 * happens: an exception anywhere in the pipeline still ends in a record (outcome `error`) and an
 * `isError` result naming the request, never in a 500 without a trace.
 */
export async function callTool(rt: FleetRuntime, req: ToolCallRequest): Promise<CallToolResult> {
  const call: CallState = { finished: false };
  try {
    return await governedCall(rt, req, call);
  } catch (err) {
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
    await call.release?.().catch(() => {});
    const result = errorResult(
      `${req.name.slice(0, 128)} failed with an internal error (reference ${req.requestId}). Retrying may help; if not, report the reference.`,
    );
    call.finish('error', result);
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
  const decision: Decision = reg
    ? decide(rt.policy.current, req.identity, rt.server, toolFacts(reg))
    : { allowed: false, reason: 'unknown tool', viaRoles: [], constraints: [], approvalRequired: false };

  const record = callRecord(rt, req, decision.allowed ? 'allow' : 'deny', decision.reason, 'started');
  if (req.nested) record.details = { ...record.details, parentCallId: req.nested.parentCallId };
  // An approval id the client sent is only "approvalId" once the gate verified and used it; a call that
  // ended before (an idempotency replay, a refusal) records it as what it is: a claim.
  let claimedApprovalId: string | undefined;
  let approvalVerified = false;
  const metricTool = reg ? reg.tool.name : '(unknown)';
  const finish = (outcome: AuditOutcome, result: CallToolResult | null): void => {
    const durationMs = performance.now() - started;
    record.outcome = outcome;
    if (req.nested) req.nested.outcome = outcome;
    record.durationMs = Math.round(durationMs * 1000) / 1000;
    record.resultSummary = result ? summarize(result.content[0]?.text) : null;
    if (
      claimedApprovalId !== undefined &&
      !approvalVerified &&
      record.details?.approvalId === claimedApprovalId
    ) {
      const { approvalId: _claimed, ...rest } = record.details;
      record.details = { ...rest, claimedApprovalId: auditSafe(claimedApprovalId.slice(0, 200)) };
    }
    rt.audit.record(record);
    rt.metrics.toolCalls.inc({ tool: metricTool, outcome });
    rt.metrics.toolDuration.observe({ tool: metricTool }, durationMs / 1000);
    call.finished = true;
  };
  call.finish = finish;
  const done = ({ outcome, result }: StepAnswer): CallToolResult => {
    finish(outcome, result);
    return result;
  };

  if (!reg || !decision.allowed) {
    rt.metrics.policyDenials.inc({ tool: metricTool });
    finish('denied', null);
    throw new ToolNotAvailableError(req.name);
  }
  const { tool } = reg;

  // Bounded before anything walks them (fingerprint, redaction, the schema): deep or huge arguments
  // are a clear refusal with a record, not a RangeError.
  const shapeProblem = argumentsProblem(req.arguments);
  if (shapeProblem) {
    return done({
      outcome: 'invalid',
      result: errorResult(
        `Invalid arguments for ${tool.name}: ${shapeProblem}. Send an object matching the tool's input schema.`,
      ),
    });
  }

  // Core's own arguments (idempotency_key, approval_id) and _meta keys come off before validation.
  const reserved = takeReserved(tool, req.arguments, req.meta);
  if (reserved.problem) {
    return done({
      outcome: 'invalid',
      result: errorResult(`Invalid arguments for ${tool.name}: ${reserved.problem}.`),
    });
  }
  if (reserved.args !== req.arguments) record.arguments = redactArguments(reserved.args);
  const parsed = tool.input.safeParse(reserved.args ?? {});
  if (!parsed.success) {
    return done({
      outcome: 'invalid',
      result: errorResult(
        `Invalid arguments for ${tool.name}: ${describeIssues(parsed.error.issues)}. Fix the arguments to match the tool's input schema and call again.`,
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
      return done({ outcome: 'denied', result: errorResult(`Not allowed by policy: ${violation}`) });
    }
  }

  // Governance: everything below keys on the verified identity, never on anything the model sent.
  const gov = governanceOf(rt);
  const caller = callerKey(req.identity);
  const c: GovernedCall = {
    rt,
    gov,
    tool,
    req,
    decision,
    settings: resolveGovernance(rt.policy.current, req.identity.roles, rt.server, tool),
    args,
    argsHash: fingerprint(args),
    caller,
    session: sessionKey(req.identity),
    auditId: record.id,
    detail: (key, value) => {
      record.details ??= {};
      record.details[key] = value;
    },
  };
  if (gov.redundant.observe(c.session, tool.name, c.argsHash)) {
    gov.metrics.redundantCalls.inc({ tool: tool.name });
    c.detail('redundant', true);
  }

  const limited = await checkLimits(c);
  if (limited) return done(limited);

  let cacheKey: string | undefined;
  if (cacheable(c)) {
    cacheKey = await cacheKeyOf(c);
    const hit = cacheKey === undefined ? undefined : await lookupCache(c, cacheKey);
    if (hit) return done(hit);
  }

  const approvalId = decision.approvalRequired ? reserved.approvalId : undefined;
  claimedApprovalId = approvalId;
  if (decision.approvalRequired) {
    const awaiting = await requestApproval(c, approvalId);
    if (awaiting) return done(awaiting);
  }

  const timeoutMs = tool.governance.timeoutMs ?? rt.config.toolTimeoutMs;
  let idem: IdempotencyRef | undefined;
  if (!tool.governance.readOnly && reserved.idempotencyKey !== undefined && gov.idempotency) {
    const claimed = await claimKey(c, reserved.idempotencyKey, timeoutMs);
    if ('answer' in claimed) return done(claimed.answer);
    idem = claimed.ref;
    call.release = async () => releaseKey(c, idem);
  }

  if (!tool.governance.readOnly) {
    try {
      await rt.audit.persistBeforeMutation(record);
    } catch (err) {
      releaseKey(c, idem);
      rt.logger.error(
        { err: (err as Error).message, tool: tool.name },
        'mutation refused: audit store unavailable',
      );
      return done({
        outcome: 'audit_unavailable',
        result: errorResult(
          `${tool.name} was not performed: the audit store is unavailable, and no change runs unaudited. Retry in a minute.`,
        ),
      });
    }
  }

  if (approvalId !== undefined) {
    const refused = await useApproval(c, approvalId);
    if (refused) {
      releaseKey(c, idem);
      return done(refused);
    }
    approvalVerified = true;
    // Until the handler runs, an exception gives the approval back: nothing reached the upstream.
    call.release = async () => {
      releaseKey(c, idem);
      await returnApproval(c, approvalId);
    };
  }

  const run = await runHandler(rt, gov, reg, args, decision, req, timeoutMs, (parentRun) =>
    nestedCaller(callTool, rt, req, record.id, parentRun),
  );
  if (run.cancelledBy) c.detail('cancelledBy', run.cancelledBy);
  // A mutation cancelled or timed out while it ran: the outcome is what the handler did, and this says
  // that a cancel was asked for / the deadline passed meanwhile.
  if (run.interruptedBy === 'timeout') c.detail('timedOut', true);
  else if (run.interruptedBy) {
    c.detail('cancelRequested', true);
    c.detail('cancelledBy', run.interruptedBy);
  }
  if (run.stillRunning) c.detail('handlerStillRunning', true);
  call.release = async () => releaseKey(c, idem);
  if (run.outcome === 'timeout' || run.interruptedBy === 'timeout') c.detail('timeoutMs', timeoutMs);
  if (run.overran) c.detail('pastTimeoutAfterCommit', true);
  if (cacheKey !== undefined) storeInCache(c, cacheKey, run.result, run.outcome, run.partial);
  if (idem) {
    if (run.stillRunning) await markKeyUnknown(c, idem);
    else await completeKey(c, idem, run.result, run.outcome);
  }
  if (approvalId !== undefined) {
    // A tool that declares its point of no return and failed before it changed nothing upstream: the
    // human's approval is not spent by a transient failure. Otherwise it is (the change may have run).
    if (tool.governance.commits && !run.committed && run.outcome !== 'ok') {
      await returnApproval(c, approvalId);
    } else await finishApproval(c, approvalId, run.outcome);
  }
  return done(run);
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
  return {
    id: randomUUID(),
    ts: new Date().toISOString(),
    server: rt.server,
    requestId: req.requestId,
    method: 'tools/call',
    tool: auditSafe(req.name.slice(0, 128)),
    agentId: req.identity.agentId,
    agentSession: req.identity.session ?? null,
    userInvoker: req.identity.user ?? null,
    tenant: req.identity.tenant ?? null,
    roles: req.identity.roles,
    arguments: redactArguments(req.arguments),
    // Of the exact arguments as sent (canonical JSON: iterative, so any depth hashes).
    argsHash: req.arguments === undefined ? null : fingerprint(req.arguments),
    decision,
    decisionReason,
    outcome,
    resultSummary: null,
    durationMs: null,
    policyVersion: rt.policy.version || null,
    protocolVersion: req.protocolVersion,
    details: Object.keys(details).length ? details : null,
  };
}

/**
 * Records a tools/call the protocol host refused before the pipeline (nested too deep outside its
 * arguments, routing headers that disagree with the body): a call was attempted, and every attempted
 * call leaves one record, `invalid`, whatever stopped it.
 */
export function recordRefusedCall(
  rt: FleetRuntime,
  req: Omit<ToolCallRequest, 'cancellation' | 'meta' | 'nested'>,
  reason: string,
): void {
  const record = callRecord(
    rt,
    req,
    'deny',
    `refused by the protocol host: ${auditSafe(reason.slice(0, 300))}`,
    'invalid',
  );
  record.durationMs = 0;
  rt.audit.record(record);
  rt.metrics.toolCalls.inc({ tool: rt.registry.get(req.name) ? req.name : '(unknown)', outcome: 'invalid' });
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
