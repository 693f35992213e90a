// The state one governed call carries through the governance steps, and what a step returns when it
// answers the call itself (rate limited, served from cache, awaiting approval...).
import type { AuditOutcome } from '../audit/audit-record.js';
import type { CallToolResult, ToolCallRequest } from '../pipeline/call-tool.js';
import type { FleetRuntime } from '../pipeline/runtime.js';
import type { Decision } from '../policy/decide.js';
import type { AnyTool } from '../tools/tool.js';
import type { Governance } from './governance.js';
import type { ResolvedGovernance } from './resolve.js';

/** One admitted, validated call on its way through governance. */
export interface GovernedCall {
  rt: FleetRuntime;
  gov: Governance;
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
  /** Adds a fact to the audit record's details. */
  detail(key: string, value: unknown): void;
}

/** A step's own answer to the call: the call ends here with this outcome. */
export interface StepAnswer {
  outcome: AuditOutcome;
  result: CallToolResult;
}

/** The caller an approval or key is bound to. */
export function callerOf(c: GovernedCall): { agentId: string; tenant: string | null; user: string | null } {
  const id = c.req.identity;
  return { agentId: id.agentId, tenant: id.tenant ?? null, user: id.user ?? null };
}
