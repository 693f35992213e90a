// `@mcp-fleet/core/policy`: policy documents, the decision and its explanation, the tool registry —
// for the CLI (`fleet policy check|explain`) and tests. Servers do not need these.
export {
  type CallKinds,
  type CopySource,
  callKinds,
  checkFlow,
  describeReads,
  type FlowAnomalyScore,
  type FlowCallFacts,
  type FlowFinding,
  type FlowInput,
  type FlowVerdict,
  labelsOf,
  type ResultLabel,
  rolesApply,
  ruleApplies,
  type SessionTaint,
  stringLeaves,
  type TaintRead,
  toolKeyMatches,
} from '../flow/engine.js';
export {
  type DataSource,
  type FlowAnomaly,
  type FlowCopy,
  type FlowPolicy,
  type FlowRule,
  flowPolicySchema,
  type OutboundDeclaration,
  type OutboundDestination,
} from '../flow/flow-policy.js';
export {
  describeFlowRule,
  explainFlow,
  explainFlowPolicy,
  explainGovernance,
  type GovernanceExplanation,
} from '../governance/explain.js';
export {
  computeGovernance,
  type ResolvedGovernance,
  resolveGovernance,
  type Sourced,
} from '../governance/resolve.js';
export {
  type ConstraintGap,
  type ConstraintSource,
  type Decision,
  decide,
  grantCovers,
  overrideKey,
  type ToolFacts,
  toolFacts,
} from '../policy/decide.js';
export {
  type Budget,
  type Grant,
  type Limits,
  type PolicyDocument,
  policySchema,
  type Role,
  type ToolSettings,
} from '../policy/policy-schema.js';
export {
  DENY_ALL,
  describeGap,
  type PolicyGap,
  PolicyStore,
  type PollResult,
  parsePolicy,
  policyGaps,
  validatePolicy,
} from '../policy/policy-store.js';
export { type RegisteredTool, type ToolListing, ToolRegistry } from '../tools/registry.js';
