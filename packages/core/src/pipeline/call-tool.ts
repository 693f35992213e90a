// tools/call: the governed path every tool call takes, whichever protocol era or code path it came in on.
import { randomUUID } from 'node:crypto';
import { type AuditOutcome, type AuditRecord, redactArguments, summarize } from '../audit/audit-record.js';
import { FleetError, ToolError } from '../errors.js';
import type { Identity } from '../identity/identity.js';
import { decide, type Decision } from '../policy/decide.js';
import type { RegisteredTool } from '../tools/registry.js';
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

  if (!reg || !decision.allowed) {
    rt.metrics.policyDenials.inc({ tool: metricTool });
    finish('denied', null);
    throw new ToolNotAvailableError(req.name);
  }
  const { tool } = reg;

  const parsed = tool.input.safeParse(req.arguments ?? {});
  if (!parsed.success) {
    const result = errorResult(
      `Invalid arguments for ${tool.name}: ${describeIssues(parsed.error.issues)}. Fix the arguments to match the tool's input schema and call again.`,
    );
    finish('invalid', result);
    return result;
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
      const result = errorResult(`Not allowed by policy: ${violation}`);
      finish('denied', result);
      return result;
    }
  }

  if (!tool.governance.readOnly) {
    try {
      await rt.audit.persistBeforeMutation(record);
    } catch (err) {
      rt.logger.error({ err: (err as Error).message, tool: tool.name }, 'mutation refused: audit store unavailable');
      const result = errorResult(
        `${tool.name} was not performed: the audit store is unavailable, and no change runs unaudited. Retry in a minute.`,
      );
      finish('audit_unavailable', result);
      return result;
    }
  }

  const { result, outcome } = await execute(rt, reg, args, decision, req);
  finish(outcome, result);
  return result;
}

async function execute(
  rt: FleetRuntime,
  reg: RegisteredTool,
  args: unknown,
  decision: Decision,
  req: ToolCallRequest,
): Promise<{ result: CallToolResult; outcome: AuditOutcome }> {
  const { tool } = reg;
  const timeoutMs = tool.governance.timeoutMs ?? rt.config.toolTimeoutMs;
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new FleetError('FLEET_ERR_TIMEOUT', `timed out after ${timeoutMs} ms`)),
    timeoutMs,
  );
  const onClientAbort = () => controller.abort(new FleetError('FLEET_ERR_TOOL', 'cancelled by the client'));
  if (req.signal) {
    if (req.signal.aborted) onClientAbort();
    else req.signal.addEventListener('abort', onClientAbort, { once: true });
  }
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
    return { result, outcome: 'ok' };
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
      };
    }
    if (err instanceof ToolError) return { result: errorResult(err.message), outcome: 'error' };
    rt.logger.error({ err: (err as Error).message, stack: (err as Error).stack, tool: tool.name, requestId: req.requestId }, 'tool failed');
    return {
      result: errorResult(`${tool.name} failed with an internal error (reference ${req.requestId}). Retrying may help; if not, report the reference.`),
      outcome: 'error',
    };
  } finally {
    clearTimeout(timer);
    req.signal?.removeEventListener('abort', onClientAbort);
    rt.metrics.inflight.dec();
    if (!controller.signal.aborted) controller.abort(new FleetError('FLEET_ERR_TOOL', 'call finished'));
  }
}
