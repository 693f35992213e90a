// `@mcp-fleet/core/approvals`: the approval desk (list/show/decide/revoke with a verified approver) and
// its store, and the audit trail's query — for the CLI and the admin console. Servers do not need these.
export {
  type ApprovalCaller,
  type ApprovalStatus,
  ApprovalStore,
  type ApprovalView,
  type ConsumeRefusal,
  type DecideRefusal,
} from '../approvals/approval-store.js';
export {
  APPROVAL_STATUSES,
  ApprovalDesk,
  type ApprovalDeskOptions,
  type DeskDecision,
  type DeskListQuery,
} from '../approvals/desk.js';
export { AuditLog } from '../audit/audit-log.js';
export {
  type AuditFilter,
  type AuditPage,
  type AuditPageQuery,
  AuditQuery,
  AuditQueryError,
} from '../audit/audit-query.js';
export { type AuditRecord, redactArguments } from '../audit/audit-record.js';
