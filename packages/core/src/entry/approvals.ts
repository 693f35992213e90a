// `@mcp-fleet/core/approvals`: the approval desk (list/show/decide/revoke with a verified approver) and
// its store, the agent desk and agents API (suspend/resume: the kill switch) and the suspension store,
// and the audit trail's query — for the CLI and the admin console. Servers do not need these.

export {
  type ApprovalCaller,
  type ApprovalGiven,
  type ApprovalStatus,
  ApprovalStore,
  type ApprovalView,
  type ConsumeRefusal,
  type DecideRefusal,
} from '../approvals/approval-store.js';
export { argumentsHashesOf } from '../approvals/approval-subject.js';
export {
  type Approver,
  type ApproverRefusal,
  approverFromIdToken,
  type NotApproverKind,
} from '../approvals/approvers.js';
export {
  APPROVAL_STATUSES,
  ApprovalDesk,
  type ApprovalDeskOptions,
  DESK_REFUSALS,
  type DecisionEvent,
  type DeskDecision,
  type DeskListQuery,
  type DeskRefusal,
} from '../approvals/desk.js';
export { AuditLog } from '../audit/audit-log.js';
export {
  type AuditFilter,
  type AuditPage,
  type AuditPageQuery,
  AuditQuery,
  AuditQueryError,
  type AuditScope,
} from '../audit/audit-query.js';
export { type AuditRecord, redactArguments } from '../audit/audit-record.js';
export {
  type AuditPurgeOptions,
  type AuditPurgeResult,
  purgeAuditRecords,
} from '../audit/retention.js';
// The anomaly baseline's learning (`fleet flow learn`) and the most unusual calls (console, `fleet flow anomalies`).
export {
  ANOMALY_MIGRATIONS,
  type LearnResult,
  learnBaseline,
  listAnomalies,
  type SessionStep,
  type UnusualCall,
} from '../flow/anomaly-learner.js';
export { type AgentsApiOptions, agentsApi } from '../http/agents-api.js';
// The Host/Origin guard of /mcp and the APIs, for the admin console's own routes (DNS rebinding).
export { hostAndOriginGuard } from '../http/request-guards.js';
export {
  AGENT_DESK_REFUSALS,
  type AgentActionInput,
  AgentDesk,
  type AgentDeskOptions,
  type AgentDeskRefusal,
  type AgentDeskResult,
  isAgentId,
  MAX_AGENT_ID,
  MAX_REASON,
} from '../suspensions/agent-desk.js';
export {
  type SuspensionActor,
  type SuspensionScope,
  SuspensionStore,
  type SuspensionView,
} from '../suspensions/suspension-store.js';
