// The public surface of @mcp-fleet/core. Servers import only from here.

export {
  type ApprovalCaller,
  type ApprovalStatus,
  ApprovalStore,
  type ApprovalView,
  type ConsumeRefusal,
  type DecideRefusal,
} from './approvals/approval-store.js';
export { AuditLog } from './audit/audit-log.js';
export { type AuditOutcome, type AuditRecord, redactArguments } from './audit/audit-record.js';
export { CallCancellation, type CancelSource } from './cancellation/call-cancellation.js';
export { type ClaimNames, type CoreConfig, DEFAULT_ALGORITHMS, loadCoreConfig } from './config.js';
export { CORE_MIGRATIONS, createFleetPool, type Migration, migrate } from './db/fleet-db.js';
export { FleetError, type FleetErrorCode, ToolError } from './errors.js';
export { explainGovernance, type GovernanceExplanation } from './governance/explain.js';
export {
  attachGovernance,
  Governance,
  type GovernanceOptions,
  governanceOf,
} from './governance/governance.js';
export {
  APPROVAL_ARG,
  APPROVAL_META_KEY,
  IDEMPOTENCY_ARG,
  IDEMPOTENCY_META_KEY,
} from './governance/reserved-args.js';
export {
  computeGovernance,
  type ResolvedGovernance,
  resolveGovernance,
  type Sourced,
} from './governance/resolve.js';
export { GOVERNANCE_META_KEY, RETRY_AFTER_META_KEY } from './governance/results.js';
export type { CacheKeyContext } from './governance/tool-extensions.js';
export { buildHttpApp, type HttpAppOptions, type ReadinessCheck } from './http/app.js';
export { type ApprovalsApiOptions, approvalsApi } from './http/approvals-api.js';
export { claimValue, type Identity, identityFromClaims } from './identity/identity.js';
export { AuthFailure, type AuthFailureReason, TokenVerifier } from './identity/token-verifier.js';
export { createLogger, type Logger } from './observability/logger.js';
export { createMetrics, type FleetMetrics } from './observability/metrics.js';
export {
  CACHE_META_KEY,
  type CallToolResult,
  callTool,
  REPLAYED_META_KEY,
  type ToolCallRequest,
  ToolNotAvailableError,
} from './pipeline/call-tool.js';
export { listTools, toolFacts } from './pipeline/list-tools.js';
export type { FleetRuntime } from './pipeline/runtime.js';
export { type Decision, decide, grantCovers, type ToolFacts } from './policy/decide.js';
export {
  type Budget,
  type Grant,
  type Limits,
  type PolicyDocument,
  policySchema,
  type Role,
  type ToolSettings,
} from './policy/policy-schema.js';
export { DENY_ALL, PolicyStore, parsePolicy } from './policy/policy-store.js';
export {
  LEGACY_PROTOCOL_VERSIONS,
  type McpHostOptions,
  MODERN_PROTOCOL_VERSION,
  SERVED_PROTOCOL_VERSIONS,
} from './protocol/mcp-host.js';
export {
  type CreateServerOptions,
  createFleetServer,
  type FleetServer,
  runServerMain,
  type ServerDefinition,
} from './server.js';
export { type RegisteredTool, type ToolListing, ToolRegistry } from './tools/registry.js';
export {
  type AnyTool,
  defineTool,
  type NestedCallResult,
  type ToolAnnotations,
  type ToolConstraint,
  type ToolContext,
  type ToolDefinition,
  type ToolGovernance,
  type ToolResult,
} from './tools/tool.js';
