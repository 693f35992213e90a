// The public surface of @mcp-fleet/core: what a server package needs, nothing more. The rest is on
// explicit subpaths (package.json#exports): `/policy` (policy documents, decide, explain, the registry),
// `/approvals` (the approval desk and store, the audit query), `/protocol` (revisions, reserved
// arguments, `_meta` keys, the error catalogue), `/internal` (server assembly: CLI, testkit, bench).
export { type Env, env, parseEnv } from './config.js';
export type { Migration } from './db/fleet-db.js';
export { claimValue, type Identity } from './identity/identity.js';
export type { StepAnswer } from './kernel/call.js';
export { FleetError, ToolError } from './kernel/errors.js';
export { defineServer, type LocalSetupContext } from './manifest.js';
export type { Logger } from './observability/logger.js';
export { withUpstreamSpan } from './observability/tracing.js';
export type { GovernedCall, Next, ServerStep, SlotName, Step } from './pipeline/runtime.js';
export {
  createFleetServer,
  runServerMain,
  type ServerDefinition,
  type ServerHttpContext,
} from './server.js';
export {
  type AnyTool,
  type CacheKeyContext,
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
export {
  type BreakerOptions,
  type BreakerState,
  UpstreamBreaker,
  UpstreamBreakers,
} from './upstream/breaker.js';
export {
  type CallBounds,
  callBounds,
  signalledFetch,
  type UpstreamRequest,
  upstreamCall,
} from './upstream/call.js';
export {
  isUpstreamFailure,
  parseRetryAfter,
  UpstreamFailure,
  type UpstreamFailureKind,
  upstreamToolError,
} from './upstream/failure.js';
export { breakerCheck, PROBE_TTL_MS, upstreamCheck } from './upstream/readiness.js';
export { upstreamUrlProblem } from './upstream/url.js';
