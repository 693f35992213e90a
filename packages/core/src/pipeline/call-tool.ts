// tools/call: the governed path every tool call takes, whichever protocol era or code path it came in on.
// decision -> validation -> constraints -> rate limits + budgets -> cache -> approval request ->
// idempotency claim -> audit-before-mutation -> approval use -> handler (timeout, cancellation) -> audit.
import { randomUUID } from 'node:crypto';
import type { IdempotencyRef } from '../idempotency/idempotency-store.js';
import { type AuditOutcome, type AuditRecord, redactArguments, summarize } from '../audit/audit-record.js';
import { budgetChecks } from '../budgets/budget-checks.js';
import { buildCacheKey } from '../cache/cache-key.js';
import { InflightCalls } from '../cancellation/inflight-calls.js';
import { FleetError, ToolError } from '../errors.js';
import { fingerprint, sha256 } from '../governance/fingerprint.js';
import { type Governance, governanceOf } from '../governance/governance.js';
import { resolveGovernance } from '../governance/resolve.js';
import { takeReserved } from '../governance/reserved-args.js';
import { approvalRefusedResult, awaitingApprovalResult, limitResult, refusal } from '../governance/results.js';
import '../governance/tool-extensions.js';
import type { Identity } from '../identity/identity.js';
import { decide, type Decision } from '../policy/decide.js';
import { callerKey, rateLimitChecks } from '../rate-limit/call-limits.js';
import type { LimitCheck } from '../rate-limit/limiter-pool.js';
import type { RegisteredTool } from '../tools/registry.js';
import type { AnyTool } from '../tools/tool.js';
import { toolFacts } from './list-tools.js';
import type { FleetRuntime } from './runtime.js';

/** A tools/call as the pipeline sees it. */
export interface ToolCallRequest {
  identity: Identity;
  name: string;
  arguments: unknown;
  /** Per-HTTP-request id, also in the audit record. */
  requestId: string;
  /** The JSON-RPC id the client used (audit detail only). */
  rpcId: string | number | null;
  protocolVersion: string | null;
  /** Fires when the client goes away or cancels. */
  signal?: AbortSignal;
  /** The request's `_meta` (may carry `io.mcp-fleet/idempotencyKey`, `io.mcp-fleet/approvalId`). */
  meta?: Record<string, unknown> | undefined;
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

/** `_meta` key on results served from the cache. */
export const CACHE_META_KEY = 'io.mcp-fleet/cache';
/** `_meta` key on results replayed for a repeated idempotency key. */
export const REPLAYED_META_KEY = 'io.mcp-fleet/replayed';

const NEVER = new AbortController().signal;

/** Runs one governed tool call and returns its result; records exactly one audit record. */
export async function callTool(rt: FleetRuntime, req: ToolCallRequest): Promise<CallToolResult> {
  const started = performance.now();
  const reg = rt.registry.get(req.name);
  const decision: Decision = reg
    ? decide(rt.policy.current, req.identity, rt.server, toolFacts(reg))
    : { allowed: false, reason: 'unknown tool', viaRoles: [], constraints: [], approvalRequired: false };

  const record: AuditRecord = {
    id: randomUUID(),
    ts: new Date().toISOString(),
    server: rt.server,
    requestId: req.requestId,
    method: 'tools/call',
    tool: req.name.slice(0, 128),
    agentId: req.identity.agentId,
    agentSession: req.identity.session ?? null,
    userInvoker: req.identity.user ?? null,
    tenant: req.identity.tenant ?? null,
    roles: req.identity.roles,
    arguments: redactArguments(req.arguments),
    decision: decision.allowed ? 'allow' : 'deny',
    decisionReason: decision.reason,
    outcome: 'started',
    resultSummary: null,
    durationMs: null,
    policyVersion: rt.policy.version || null,
    protocolVersion: req.protocolVersion,
    details: req.rpcId === null ? null : { rpcId: req.rpcId },
  };
  const detail = (key: string, value: unknown) => {
    record.details ??= {};
    record.details[key] = value;
  };
  const metricTool = reg ? reg.tool.name : '(unknown)';
  const finish = (outcome: AuditOutcome, result: CallToolResult | null): void => {
    const durationMs = performance.now() - started;
    record.outcome = outcome;
    record.durationMs = Math.round(durationMs * 1000) / 1000;
    record.resultSummary = result ? summarize(result.content[0]?.text) : null;
    rt.audit.record(record);
    rt.metrics.toolCalls.inc({ tool: metricTool, outcome });
    rt.metrics.toolDuration.observe({ tool: metricTool }, durationMs / 1000);
  };
  const done = (outcome: AuditOutcome, result: CallToolResult): CallToolResult => {
    finish(outcome, result);
    return result;
  };

  if (!reg || !decision.allowed) {
    rt.metrics.policyDenials.inc({ tool: metricTool });
    finish('denied', null);
    throw new ToolNotAvailableError(req.name);
  }
  const { tool } = reg;
  const gov = governanceOf(rt);

  const reserved = takeReserved(tool, req.arguments, req.meta);
  if (reserved.problem) return done('invalid', errorResult(`Invalid arguments for ${tool.name}: ${reserved.problem}.`));
  if (reserved.args !== req.arguments) record.arguments = redactArguments(reserved.args);
  const parsed = tool.input.safeParse(reserved.args ?? {});
  if (!parsed.success) {
    return done(
      'invalid',
      errorResult(
        `Invalid arguments for ${tool.name}: ${describeIssues(parsed.error.issues)}. Fix the arguments to match the tool's input schema and call again.`,
      ),
    );
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
      return done('denied', errorResult(`Not allowed by policy: ${violation}`));
    }
  }

  // Governance: everything below keys on the verified identity, never on anything the model sent.
  const g = resolveGovernance(rt.policy.current, req.identity.roles, rt.server, tool);
  const caller = callerKey(req.identity);
  const session = `${caller}:${req.identity.session === undefined ? '-' : encodeURIComponent(req.identity.session)}`;
  const argsHash = fingerprint(args);
  if (gov.redundant.observe(session, tool.name, argsHash)) {
    gov.metrics.redundantCalls.inc({ tool: tool.name });
    detail('redundant', true);
  }

  if (g.limited) {
    const checks: LimitCheck[] = [];
    rateLimitChecks(checks, rt.server, tool.name, caller, g);
    budgetChecks(checks, rt.server, caller, session, g);
    const refused = await gov.limiters.consume(checks);
    if (refused) {
      const budget = refused.kind === 'session' || refused.kind === 'window';
      if (budget) gov.metrics.budgetExceeded.inc({ tool: tool.name, budget: refused.kind });
      else gov.metrics.rateLimited.inc({ tool: tool.name, limit: refused.kind });
      detail('limit', { kind: refused.kind, limit: refused.points, windowSeconds: refused.windowSeconds, retryAfterMs: refused.retryAfterMs });
      return done(budget ? 'budget_exceeded' : 'rate_limited', limitResult(tool, refused));
    }
  }

  const ttl = g.cacheTtlSeconds.value;
  let cacheKey: string | undefined;
  if (ttl > 0 && tool.governance.readOnly && !decision.approvalRequired) {
    cacheKey = await cacheKeyOf(rt, gov, tool, args, argsHash, req, decision, g.cacheScope, session);
    if (cacheKey) {
      const hit = await gov.cache.get(cacheKey);
      if (hit) {
        gov.metrics.cacheHits.inc({ tool: tool.name });
        detail('cache', { tier: hit.tier, scope: g.cacheScope, expiresAt: new Date(hit.expiresAt).toISOString() });
        const meta = { ...(hit.result._meta as Record<string, unknown> | undefined), [CACHE_META_KEY]: { hit: true, expiresAt: new Date(hit.expiresAt).toISOString() } };
        return done('cached', { ...hit.result, _meta: meta });
      }
      gov.metrics.cacheMisses.inc({ tool: tool.name });
    }
  }

  // Approval, step 1: a call without an approval id opens (or finds) a request and stops there.
  const approvalId = decision.approvalRequired ? reserved.approvalId : undefined;
  if (decision.approvalRequired) {
    if (!gov.approvals) {
      return done('error', refusal(tool, `${tool.name} needs a human approval, and approvals need the fleet database, which this server does not have. Tell the operator.`, 'approvals_unavailable'));
    }
    if (approvalId === undefined) {
      try {
        const opened = await gov.approvals.request({
          server: rt.server,
          tool: tool.name,
          argsHash,
          arguments: redactArguments(args),
          caller: callerOf(req.identity),
          session: req.identity.session ?? null,
          roles: req.identity.roles,
          ttlSeconds: gov.config.approvalTtlSeconds,
          auditId: record.id,
        });
        gov.metrics.approvals.inc({ tool: tool.name, event: 'requested' });
        detail('approvalId', opened.id);
        if (opened.reused) detail('approvalReused', true);
        return done('awaiting_approval', awaitingApprovalResult(tool, opened.id, opened.expiresAt));
      } catch (err) {
        return storeDown(rt, gov, tool, err, 'approval_request', done);
      }
    }
    detail('approvalId', approvalId);
  }

  // Idempotency: the first call with a key claims it; repeats get its stored result.
  let idem: IdempotencyRef | undefined;
  const timeoutMs = tool.governance.timeoutMs ?? rt.config.toolTimeoutMs;
  if (!tool.governance.readOnly && reserved.idempotencyKey !== undefined && gov.idempotency) {
    const ref: IdempotencyRef = { server: rt.server, scope: caller, key: reserved.idempotencyKey };
    detail('idempotencyKey', sha256(reserved.idempotencyKey).slice(0, 16));
    let claim: Awaited<ReturnType<NonNullable<Governance['idempotency']>['claim']>>;
    try {
      claim = await gov.idempotency.claim(ref, {
        tool: tool.name,
        argsHash,
        auditId: record.id,
        leaseMs: timeoutMs + 30_000,
        waitMs: timeoutMs + 5_000,
        signal: req.signal,
      });
    } catch (err) {
      return storeDown(rt, gov, tool, err, 'idempotency_claim', done);
    }
    if (claim.kind === 'replay') {
      gov.metrics.idempotentReplays.inc({ tool: tool.name });
      detail('replayedOutcome', claim.outcome);
      const meta = { ...(claim.result._meta as Record<string, unknown> | undefined), [REPLAYED_META_KEY]: true };
      return done('replayed', { ...claim.result, _meta: meta });
    }
    if (claim.kind === 'mismatch') {
      return done(
        'invalid',
        refusal(tool, `${tool.name} was not run: this idempotency_key was already used for a call with different arguments. Use a new key for a different action, or resend the original arguments to get the original result.`, 'idempotency_conflict'),
      );
    }
    if (claim.kind === 'in_progress') {
      return done('error', refusal(tool, `${tool.name} with this idempotency_key is still running in another call. Call again with the same key and arguments in a few seconds to get its result; do not use a new key.`, 'idempotency_in_progress'));
    }
    if (claim.kind === 'unknown') {
      return done('error', refusal(tool, `An earlier ${tool.name} call with this idempotency_key did not finish (the server running it stopped), so whether it took effect is unknown. Check the result in the target system; use a new key only if it must run again.`, 'idempotency_unknown'));
    }
    idem = ref;
  }
  const release = () => {
    if (idem) gov.idempotency?.release(idem, record.id).catch(() => {});
  };

  if (!tool.governance.readOnly) {
    try {
      await rt.audit.persistBeforeMutation(record);
    } catch (err) {
      release();
      rt.logger.error({ err: (err as Error).message, tool: tool.name }, 'mutation refused: audit store unavailable');
      return done('audit_unavailable', errorResult(`${tool.name} was not performed: the audit store is unavailable, and no change runs unaudited. Retry in a minute.`));
    }
  }

  // Approval, step 2: use the approval, atomically and once, for exactly these arguments and caller.
  if (approvalId !== undefined && gov.approvals) {
    let used: Awaited<ReturnType<NonNullable<Governance['approvals']>['consume']>>;
    try {
      used = await gov.approvals.consume(approvalId, { server: rt.server, tool: tool.name, argsHash, caller: callerOf(req.identity), auditId: record.id });
    } catch (err) {
      release();
      return storeDown(rt, gov, tool, err, 'approval_consume', done);
    }
    if (!used.ok) {
      release();
      gov.metrics.approvals.inc({ tool: tool.name, event: 'refused' });
      detail('approvalRefused', used.why);
      return done(used.why === 'pending' ? 'awaiting_approval' : 'approval_denied', approvalRefusedResult(tool, approvalId, used.why, used.expiresAt));
    }
    gov.metrics.approvals.inc({ tool: tool.name, event: 'executed' });
  }

  const { result, outcome, partial, cancelledBy } = await execute(rt, gov, reg, args, decision, req, timeoutMs);
  if (cancelledBy) detail('cancelledBy', cancelledBy);
  if (outcome === 'timeout') detail('timeoutMs', timeoutMs);
  if (cacheKey && outcome === 'ok' && !result.isError && !partial) gov.cache.set(cacheKey, result, ttl);
  if (idem) {
    await gov.idempotency?.complete(idem, record.id, result, outcome).catch((err: Error) => {
      gov.metrics.storeErrors.inc({ store: 'postgres', op: 'idempotency_complete' });
      rt.logger.error({ err: err.message, tool: tool.name }, 'idempotency result not stored; a retry with this key will be told the outcome is unknown');
    });
  }
  if (approvalId !== undefined) {
    await gov.approvals?.finish(approvalId, outcome).catch((err: Error) => rt.logger.warn({ err: err.message }, 'approval outcome not stored'));
  }
  return done(outcome, result);
}

function callerOf(identity: Identity) {
  return { agentId: identity.agentId, tenant: identity.tenant ?? null, user: identity.user ?? null };
}

function storeDown(
  rt: FleetRuntime,
  gov: Governance,
  tool: AnyTool,
  err: unknown,
  op: string,
  done: (o: AuditOutcome, r: CallToolResult) => CallToolResult,
): CallToolResult {
  gov.metrics.storeErrors.inc({ store: 'postgres', op });
  rt.logger.error({ err: (err as Error).message, tool: tool.name, op }, 'governance store unavailable; call refused');
  return done(
    'audit_unavailable',
    refusal(tool, `${tool.name} was not performed: the fleet database is unavailable. Nothing was changed. Retry in a minute.`, 'store_unavailable'),
  );
}

async function cacheKeyOf(
  rt: FleetRuntime,
  gov: Governance,
  tool: AnyTool,
  args: unknown,
  argsHash: string,
  req: ToolCallRequest,
  decision: Decision,
  scope: 'shared' | 'session',
  session: string,
): Promise<string | undefined> {
  let extra: string | undefined;
  if (tool.cacheKey) {
    try {
      extra = await tool.cacheKey(args as never, { identity: req.identity, connectors: rt.connectors, signal: req.signal ?? NEVER });
    } catch (err) {
      gov.logger.debug({ err: (err as Error).message, tool: tool.name }, 'cacheKey hook failed; call not cached');
      return undefined;
    }
  }
  return buildCacheKey({ server: rt.server, tool: tool.name, argsHash, identity: req.identity, constraints: decision.constraints, scope, session, extra });
}

interface Execution {
  result: CallToolResult;
  outcome: AuditOutcome;
  /** The handler said its result is incomplete: never cached. */
  partial: boolean;
  cancelledBy: string | undefined;
}

async function execute(
  rt: FleetRuntime,
  gov: Governance,
  reg: RegisteredTool,
  args: unknown,
  decision: Decision,
  req: ToolCallRequest,
  timeoutMs: number,
): Promise<Execution> {
  const { tool } = reg;
  const controller = new AbortController();
  let cancelledBy: string | undefined;
  const cancel = (source: string) => {
    if (controller.signal.aborted) return;
    cancelledBy = source;
    gov.metrics.cancellations.inc({ source });
    controller.abort(new FleetError('FLEET_ERR_TOOL', 'cancelled by the client'));
  };
  const timer = setTimeout(
    () => controller.abort(new FleetError('FLEET_ERR_TIMEOUT', `timed out after ${timeoutMs} ms`)),
    timeoutMs,
  );
  const onClientAbort = () => cancel('disconnect');
  if (req.signal) {
    if (req.signal.aborted) onClientAbort();
    else req.signal.addEventListener('abort', onClientAbort, { once: true });
  }
  // A legacy client cancels with notifications/cancelled naming this call's JSON-RPC id.
  const unregister = req.rpcId === null ? undefined : gov.inflight.register(InflightCalls.key(req.identity, req.rpcId), cancel);
  const aborted = new Promise<never>((_, reject) => {
    controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true });
  });
  aborted.catch(() => {});
  rt.metrics.inflight.inc();
  try {
    const out = await Promise.race([
      tool.handler(args as Record<string, unknown>, {
        identity: req.identity,
        logger: rt.logger,
        signal: controller.signal,
        connectors: rt.connectors,
        requestId: req.requestId,
        constraints: decision.constraints,
      }),
      aborted,
    ]);
    const result: CallToolResult = { content: [] };
    if (out.data !== undefined) {
      if (tool.output) {
        const checked = tool.output.safeParse(out.data);
        if (!checked.success) {
          rt.logger.error({ tool: tool.name, issues: checked.error.issues.slice(0, 5) }, 'tool output does not match its schema');
          throw new Error('output schema mismatch');
        }
      }
      result.structuredContent = out.data as Record<string, unknown>;
    }
    const text = out.text ?? (out.data !== undefined ? (tool.toText?.(out.data as never) ?? JSON.stringify(out.data)) : '');
    result.content.push({ type: 'text', text });
    return { result, outcome: 'ok', partial: out.partial === true, cancelledBy };
  } catch (err) {
    if (controller.signal.aborted && controller.signal.reason === err) {
      const timedOut = err instanceof FleetError && err.code === 'FLEET_ERR_TIMEOUT';
      return {
        result: errorResult(
          timedOut
            ? `${tool.name} timed out after ${timeoutMs} ms and was cancelled. Narrow the request (fewer rows, a smaller range) and try again.`
            : `${tool.name} was cancelled.`,
        ),
        outcome: timedOut ? 'timeout' : 'cancelled',
        partial: true,
        cancelledBy,
      };
    }
    if (err instanceof ToolError) return { result: errorResult(err.message), outcome: 'error', partial: true, cancelledBy };
    rt.logger.error({ err: (err as Error).message, stack: (err as Error).stack, tool: tool.name, requestId: req.requestId }, 'tool failed');
    return {
      result: errorResult(`${tool.name} failed with an internal error (reference ${req.requestId}). Retrying may help; if not, report the reference.`),
      outcome: 'error',
      partial: true,
      cancelledBy,
    };
  } finally {
    clearTimeout(timer);
    unregister?.();
    req.signal?.removeEventListener('abort', onClientAbort);
    rt.metrics.inflight.dec();
    if (!controller.signal.aborted) controller.abort(new FleetError('FLEET_ERR_TOOL', 'call finished'));
  }
}
