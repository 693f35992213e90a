// Everything the governed pipeline needs for one server, assembled once at start-up (FleetRuntime),
// the state one governed call carries through the governance chain (GovernedCall), and the shape of a
// step: an onion `(c, next)` whose before half runs before `next()` and whose after half sees what the
// rest of the chain (finally the handler) answered.
import type { AuditLog } from '../audit/audit-log.js';
import type { AuditRecord } from '../audit/audit-record.js';
import type { CoreConfig } from '../config.js';
import type { DataSource, OutboundDeclaration } from '../flow/flow-policy.js';
import type { ResolvedGovernance } from '../governance/resolve.js';
import type { GovernanceStores } from '../governance/stores.js';
import type { StepAnswer, ToolCallRequest } from '../kernel/call.js';
import type { ToolError } from '../kernel/errors.js';
import type { Logger } from '../observability/logger.js';
import type { FleetMetrics } from '../observability/metrics.js';
import type { FleetTracing } from '../observability/tracing.js';
import type { Decision } from '../policy/decide.js';
import type { PolicyStore } from '../policy/policy-store.js';
import type { ToolRegistry } from '../tools/registry.js';
import type { AnyTool } from '../tools/tool.js';

/** The per-server runtime shared by the protocol host, the admin API and the CLI. */
export interface FleetRuntime {
  server: string;
  version: string;
  config: CoreConfig;
  registry: ToolRegistry;
  policy: PolicyStore;
  audit: AuditLog;
  metrics: FleetMetrics;
  logger: Logger;
  connectors: unknown;
  /** Limiters, cache, in-flight calls, idempotency and approval stores (built in server.ts). */
  governance: GovernanceStores;
  /** The server's steps at the chain's named slots (`ServerDefinition.steps`). */
  steps?: readonly ServerStep[] | undefined;
  /** Turns a handler's failure that is not a ToolError into one (`ServerDefinition.mapError`). */
  mapError?: ((err: unknown) => ToolError | undefined) | undefined;
  /** Masks strings of a tools/call audit record before it is written (`ServerDefinition.auditRedact`). */
  auditRedact?: ((text: string) => string) | undefined;
  /** The server's OpenTelemetry tracing (observability/tracing.ts); absent: no spans (bench, unit tests). */
  tracing?: FleetTracing | undefined;
}

/** One admitted, validated call on its way through governance. */
export interface GovernedCall {
  rt: FleetRuntime;
  gov: GovernanceStores;
  tool: AnyTool;
  req: ToolCallRequest;
  decision: Decision;
  settings: ResolvedGovernance;
  /** Validated arguments (reserved arguments removed). */
  args: unknown;
  /** Fingerprint of `args`. */
  argsHash: string;
  /** Caller key (tenant + agent). */
  caller: string;
  /** Agent session key (tenant, agent, user, session id: identity/caller-keys.ts). */
  session: string;
  /** The audit record's id (also the owner of idempotency claims and approval use). */
  auditId: string;
  /** The call's audit record as it stands (written once, when the call ends). */
  record: AuditRecord;
  /** The handler's deadline. */
  timeoutMs: number;
  /** The approval id the caller sent, when the call needs an approval. */
  approvalId: string | undefined;
  /** Set once the approval-use step verified and used `approvalId`. */
  approvalVerified: boolean;
  /** Set when the approval-request step ran: from then on, `requireApproval` is refused. */
  approvalGateReached: boolean;
  /** The idempotency key the caller sent (mutating tools). */
  idempotencyKey: string | undefined;
  /** Adds a fact to the audit record's details. */
  detail(key: string, value: unknown): void;
  /**
   * For a server step at the `checks` slot: this call needs a human approval even though policy did
   * not ask for one (e.g. outbound content holds a secret). The reason is what the approver and the
   * audit record are shown. The approval binds the exact arguments and caller like any other; a call
   * that resumes with an approved `approval_id` passes. Throws once the approval steps have run.
   */
  requireApproval(reason: string): void;
  /**
   * For a server step: counts this call against shared counters of the server's own (per destination,
   * per vendor account...), in Redis across replicas when configured. Keys are scoped to the server.
   * Returns the `rate_limited` answer to return when one is full, or undefined to go on.
   */
  limit(
    checks: readonly { key: string; points: number; windowSeconds: number }[],
  ): Promise<StepAnswer | undefined>;
  /**
   * Flow guard (issue 17), for a server step at the `checks` slot: where this call sends (each
   * destination, internal or external) and every text that leaves. Core's flow step, right after the
   * `checks` slot, decides with it; several declarations add up.
   */
  outbound(declaration: OutboundDeclaration): void;
  /** What the server's steps declared with {@link outbound} (undefined: nothing declared). */
  sends: OutboundDeclaration | undefined;
  /** The sources the handler named (`ctx.source`), in order. */
  sources: DataSource[];
}

/** The rest of the chain after a step (finally the handler). */
export type Next = () => Promise<StepAnswer>;

/**
 * One governance step. It answers the call itself (refusal, cached result...) without calling `next`,
 * or calls `next()` once and returns (or adjusts) what it answered. `answer.ran` says whether the
 * handler ran. A server's step may also refuse by throwing `ToolError(message, code)`: the call is
 * answered `denied` with that code, and the steps it passed give back what they hold.
 */
export type Step = (c: GovernedCall, next: Next) => Promise<StepAnswer>;

/**
 * Where a server's own step runs in the fixed chain:
 * - `checks`: after admission (decision, argument validation, policy constraints), before limits:
 *   extra checks of who may do what with which arguments (destination allow-lists, step-up rules);
 * - `beforeApproval`: after limits and the cache, before a call is put up for approval: checks
 *   against the upstream's current state that a human should never be asked about when they fail
 *   (a refund above the refundable amount, a currency that is not the payment's);
 * - `beforeExecute`: after audit-before-mutation and approval use, immediately before the handler
 *   (outbound content checks, per-vendor circuit breakers).
 */
export type SlotName = 'checks' | 'beforeApproval' | 'beforeExecute';

/** A server's step and the slot it runs at. */
export interface ServerStep {
  at: SlotName;
  step: Step;
}

/** The caller an approval or key is bound to. */
export function callerOf(c: GovernedCall): { agentId: string; tenant: string | null; user: string | null } {
  const id = c.req.identity;
  return { agentId: id.agentId, tenant: id.tenant ?? null, user: id.user ?? null };
}

/**
 * Nothing reached the upstream system: no handler ran, or a tool that declares its point of no return
 * (`governance.commits`) ended without `ok` before reaching it. What a call held (its idempotency key,
 * its approval) is then given back, so a retry runs the change.
 */
export function changedNothing(c: GovernedCall, out: StepAnswer): boolean {
  return !out.ran || (c.tool.governance.commits === true && !out.ran.committed && out.outcome !== 'ok');
}
