// The public surface of @mcp-fleet/core. Servers import only from here.

export {
  type ApprovalCaller,
  type ApprovalStatus,
  ApprovalStore,
  type ApprovalView,
  type ConsumeRefusal,
  type DecideRefusal,
} from './approvals/approval-store.js';
export {
  APPROVAL_STATUSES,
  ApprovalDesk,
  type ApprovalDeskOptions,
  type DeskDecision,
  type DeskListQuery,
} from './approvals/desk.js';
export { AuditLog } from './audit/audit-log.js';
export {
  type AuditFilter,
  type AuditPage,
  type AuditPageQuery,
  AuditQuery,
  AuditQueryError,
} from './audit/audit-query.js';
export { type AuditOutcome, type AuditRecord, redactArguments } from './audit/audit-record.js';
export {
  type ClaimNames,
  type CoreConfig,
  DEFAULT_ALGORITHMS,
  type Env,
  env,
  loadCoreConfig,
  parseEnv,
} from './config.js';
export { createFleetPool, type Migration, migrate, namespaceMigrations } from './db/fleet-db.js';
export { FleetError, type FleetErrorCode, ToolError } from './errors.js';
export { explainGovernance, type GovernanceExplanation } from './governance/explain.js';
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
export { type GovernanceOptions, GovernanceStores } from './governance/stores.js';
export { buildHttpApp, type HttpAppOptions, type ReadinessCheck } from './http/app.js';
export { type ApprovalsApiOptions, approvalsApi } from './http/approvals-api.js';
export { claimValue, type Identity, identityFromClaims } from './identity/identity.js';
export { AuthFailure, type AuthFailureReason, TokenVerifier } from './identity/token-verifier.js';
export { CallCancellation, type CancelSource } from './kernel/cancellation.js';
export {
  defineServer,
  type LocalSetupContext,
  manifestSchema,
  readManifest,
  type ServerManifest,
  serverManifest,
} from './manifest.js';
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
export { listTools } from './pipeline/list-tools.js';
export { GOVERNANCE_META_KEY, RETRY_AFTER_META_KEY } from './pipeline/refusals.js';
export type { FleetRuntime } from './pipeline/runtime.js';
export {
  type ConstraintGap,
  type ConstraintSource,
  type Decision,
  decide,
  grantCovers,
  type ToolFacts,
  toolFacts,
} from './policy/decide.js';
export {
  type Budget,
  type Grant,
  type Limits,
  type PolicyDocument,
  policySchema,
  type Role,
  type ToolSettings,
} from './policy/policy-schema.js';
export {
  DENY_ALL,
  describeGap,
  type PolicyGap,
  PolicyStore,
  parsePolicy,
  policyGaps,
} from './policy/policy-store.js';
export {
  LEGACY_PROTOCOL_VERSIONS,
  type McpHostOptions,
  MODERN_PROTOCOL_VERSION,
  SERVED_PROTOCOL_VERSIONS,
} from './protocol/mcp-host.js';
export {
  CORE_MIGRATIONS,
  type CreateServerOptions,
  createFleetServer,
  type FleetServer,
  migrationsOf,
  resolveServer,
  runServerMain,
  type ServerDefinition,
  type ServerTools,
  toolsOf,
} from './server.js';
export { type RegisteredTool, type ToolListing, ToolRegistry } from './tools/registry.js';
export type { CacheKeyContext } from './tools/tool.js';
export {
  type AnyTool,
  type ConstraintDimension,
  defineConstraint,
  defineTool,
  type NestedCallResult,
  type ToolAnnotations,
  type ToolConstraint,
  type ToolContext,
  type ToolDefinition,
  type ToolGovernance,
  type ToolResult,
  toolsFor,
} from './tools/tool.js';
