// `@mcp-fleet/core/internal`: the parts core assembles a server from — for the CLI, the testkit, the
// bench and core's own tests. Not a stable API: a server that needs one of these is missing a feature.
export { type ClaimNames, type CoreConfig, DEFAULT_ALGORITHMS, loadCoreConfig } from '../config.js';
export { createFleetPool, migrate, namespaceMigrations } from '../db/fleet-db.js';
// The anomaly model, for the bench's in-process timing of a score.
export { AnomalyModel } from '../flow/anomaly.js';
export { type GovernanceOptions, GovernanceStores } from '../governance/stores.js';
export { buildHttpApp, type HttpAppOptions } from '../http/app.js';
export { type ApprovalsApiOptions, approvalsApi } from '../http/approvals-api.js';
export { identityFromClaims } from '../identity/identity.js';
export { AuthFailure, type AuthFailureReason, TokenVerifier } from '../identity/token-verifier.js';
export type { ReadinessCheck } from '../kernel/call.js';
export { CallCancellation, type CancelSource } from '../kernel/cancellation.js';
export { manifestSchema, readManifest, type ServerManifest, serverManifest } from '../manifest.js';
export { createLogger } from '../observability/logger.js';
export { createMetrics, type FleetMetrics } from '../observability/metrics.js';
export { buildChain, callTool, SLOT_NAMES, ToolNotAvailableError } from '../pipeline/call-tool.js';
export { listTools } from '../pipeline/list-tools.js';
export type { FleetRuntime } from '../pipeline/runtime.js';
export type { McpHostOptions } from '../protocol/mcp-host.js';
export {
  CORE_MIGRATIONS,
  type CreateServerOptions,
  declaredToolsOf,
  type FleetServer,
  migrationsOf,
  resolveServer,
  type ServerTools,
  toolsOf,
} from '../server.js';
export type { CacheKeyContext, ToolAnnotations, ToolDefinition } from '../tools/tool.js';
