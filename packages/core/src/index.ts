// The public surface of @mcp-fleet/core. Servers import only from here.
export { type AuditOutcome, type AuditRecord, redactArguments } from './audit/audit-record.js';
export { AuditLog } from './audit/audit-log.js';
export { type ClaimNames, type CoreConfig, DEFAULT_ALGORITHMS, loadCoreConfig } from './config.js';
export { CORE_MIGRATIONS, createFleetPool, type Migration, migrate } from './db/fleet-db.js';
export { FleetError, type FleetErrorCode, ToolError } from './errors.js';
export { buildHttpApp, type HttpAppOptions, type ReadinessCheck } from './http/app.js';
export { claimValue, type Identity, identityFromClaims } from './identity/identity.js';
export { AuthFailure, type AuthFailureReason, TokenVerifier } from './identity/token-verifier.js';
export { createLogger, type Logger } from './observability/logger.js';
export { createMetrics, type FleetMetrics } from './observability/metrics.js';
export { type CallToolResult, callTool, type ToolCallRequest, ToolNotAvailableError } from './pipeline/call-tool.js';
export { listTools, toolFacts } from './pipeline/list-tools.js';
export type { FleetRuntime } from './pipeline/runtime.js';
export { type Decision, decide, grantCovers, type ToolFacts } from './policy/decide.js';
export { type Grant, type PolicyDocument, policySchema, type Role } from './policy/policy-schema.js';
export { DENY_ALL, PolicyStore, parsePolicy } from './policy/policy-store.js';
export {
  LEGACY_PROTOCOL_VERSIONS,
  MODERN_PROTOCOL_VERSION,
  type McpHostOptions,
  SERVED_PROTOCOL_VERSIONS,
} from './protocol/mcp-host.js';
export { type CreateServerOptions, createFleetServer, type FleetServer, runServerMain, type ServerDefinition } from './server.js';
export { type RegisteredTool, type ToolListing, ToolRegistry } from './tools/registry.js';
export {
  type AnyTool,
  defineTool,
  type ToolAnnotations,
  type ToolConstraint,
  type ToolContext,
  type ToolDefinition,
  type ToolGovernance,
  type ToolResult,
} from './tools/tool.js';
export {
  type ApprovalCaller,
  type ApprovalStatus,
  ApprovalStore,
  type ApprovalView,
  type ConsumeRefusal,
  type DecideRefusal,
} from './approvals/approval-store.js';
export { type GovernanceExplanation, explainGovernance } from './governance/explain.js';
export { attachGovernance, Governance, type GovernanceOptions, governanceOf } from './governance/governance.js';
export { computeGovernance, type ResolvedGovernance, resolveGovernance, type Sourced } from './governance/resolve.js';
export { APPROVAL_ARG, APPROVAL_META_KEY, IDEMPOTENCY_ARG, IDEMPOTENCY_META_KEY } from './governance/reserved-args.js';
export { GOVERNANCE_META_KEY, RETRY_AFTER_META_KEY } from './governance/results.js';
export type { CacheKeyContext } from './governance/tool-extensions.js';
export { CACHE_META_KEY, REPLAYED_META_KEY } from './pipeline/call-tool.js';
export { type Budget, type Limits, type ToolSettings } from './policy/policy-schema.js';
export { approvalsApi, type ApprovalsApiOptions } from './http/approvals-api.js';
