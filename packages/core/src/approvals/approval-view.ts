// How an approval request looks to people (API, CLI) and how a stored row becomes that view; the types
// the store, the gate and the approvers share.

/** Status as shown to people: stored status, with `expired` for undecided or unused requests past their time. */
export type ApprovalStatus = 'pending' | 'approved' | 'denied' | 'executing' | 'executed' | 'expired';

/** One approval request as the API and CLI show it. */
export interface ApprovalView {
  id: string;
  server: string;
  tool: string;
  status: ApprovalStatus;
  /**
   * Exactly the arguments that will run if approved: nothing cut, dropped or redacted (parsed from
   * {@link argumentsJson}). `null` for a request opened before exact arguments were kept.
   */
  arguments: unknown;
  /** The canonical JSON of the arguments, byte for byte the text whose SHA-256 is {@link argsHash}. */
  argumentsJson: string | null;
  argsHash: string;
  agentId: string;
  tenant: string | null;
  user: string | null;
  agentSession: string | null;
  roles: string[];
  /**
   * Why the call was held for a person: the policy's reason followed by each reason a step gave for
   * holding it (`; approval: <why>`, e.g. a flow rule naming the session's earlier reads, copied
   * values or an anomaly score) — the decision reason of the call that opened the request, stored on
   * the request when it is opened (the latest ask's, when a retry finds the open request). For a
   * request opened before reasons were stored, the opening call's audit record's decision reason;
   * `null` when neither is there. Holds nothing the reason does not: text only, never result values.
   */
  reason: string | null;
  requestedAt: string;
  expiresAt: string;
  decidedAt: string | null;
  /** The approver's subject. */
  decidedBy: string | null;
  /** The approver's token issuer. */
  decidedByIssuer: string | null;
  note: string | null;
  /** When an approval was withdrawn before it was used (status `denied` since). */
  revokedAt: string | null;
  /** The approver who withdrew it (subject) and their token issuer. */
  revokedBy: string | null;
  revokedByIssuer: string | null;
  revokeNote: string | null;
  executedAt: string | null;
  outcome: string | null;
  /**
   * How many distinct people must approve (policy `tools.<tool>.approvers`, 1..3, fixed when the
   * request was opened). The request stays `pending` until that many have approved.
   */
  requiredApprovals: number;
  /** The approvals given so far, oldest first (the last one of an approved request moved it to `approved`). */
  approvals: ApprovalGiven[];
}

/** One person's approval of a request, as people are shown it. */
export interface ApprovalGiven {
  /** The approver's subject. */
  by: string;
  /** The approver's token (or ID token) issuer. */
  issuer: string;
  at: string;
  note: string | null;
}

/**
 * One approval as stored on the row (`approvals` jsonb): also every identifier of the approver and
 * their comparison keys (identifierKey), so that a later approver who shares any of them is refused
 * (`same_approver`) by the statement itself.
 */
export interface StoredApproval {
  subject: string;
  issuer: string;
  user: string | null;
  identifiers: string[];
  keys: string[];
  at: string;
  note: string | null;
}

/** The caller an approval is bound to. */
export interface ApprovalCaller {
  agentId: string;
  tenant: string | null;
  user: string | null;
}

/** Why a resumed call may not use an approval. */
export type ConsumeRefusal = 'not_found' | 'mismatch' | 'pending' | 'denied' | 'expired' | 'used';

/** Why a human decision was not recorded. */
export type DecideRefusal =
  | 'not_found'
  | 'self_approval'
  | 'requester_approval'
  /** Dual control: the approver already gave one of this request's approvals (by any shared identifier). */
  | 'same_approver'
  | 'incomplete'
  | 'already_decided'
  | 'expired'
  /** A withdrawal asked of a request that is not approved (pending, denied, used). */
  | 'not_approved';

/** The verified person deciding a request (from an approver token). */
export interface ApproverRef {
  /** Token issuer. */
  issuer: string;
  /** Token subject (APPROVER_CLAIM_SUBJECT, default `sub`). */
  subject: string;
  /** The token's `user` claim, if any (a person may be known by both). */
  user: string | null;
  /**
   * Every identifier of the person the token names (subject, sub, user, email, preferred_username,
   * upn, unique_name: whichever are present). None may name the requesting agent or its user.
   */
  identifiers?: readonly string[];
  /** The OAuth clients the token was issued to (azp, client_id, appid): none may be the requesting agent. */
  clients?: readonly string[];
}

/**
 * Which tenants' requests a reader or approver may see: `undefined` every tenant, `null` only
 * requests without a tenant, a string only that tenant's.
 */
export type TenantScope = string | null | undefined;

/** A row of the approvals table as the store selects it. */
export interface DbRow {
  id: string;
  server: string;
  tool: string;
  args_hash: string;
  arguments: unknown;
  arguments_json: string | null;
  agent_id: string;
  tenant: string | null;
  user_invoker: string | null;
  agent_session: string | null;
  roles: string[];
  /** The reason shown: the row's `reason`, or the opening call's audit decision reason ({@link REASON_SHOWN}). */
  reason_shown?: string | null;
  status: Exclude<ApprovalStatus, 'expired'>;
  requested_at: Date;
  expires_at: Date;
  decided_at: Date | null;
  decided_by: string | null;
  decided_by_issuer: string | null;
  decision_note: string | null;
  revoked_at?: Date | null;
  revoked_by?: string | null;
  revoked_by_issuer?: string | null;
  revoke_note?: string | null;
  executed_at: Date | null;
  outcome: string | null;
  required_approvals?: number | null;
  approvals?: StoredApproval[] | null;
  expired: boolean;
}

/**
 * The SQL of a row's reason as shown (`reason_shown`), for a statement on the `approvals` table: the
 * reason stored when the request was opened, or, for a request opened before reasons were stored,
 * the decision reason of the call that opened it (its audit record, looked up by primary key).
 */
export const REASON_SHOWN = `COALESCE(approvals.reason,
  (SELECT opening.decision_reason FROM audit_records opening WHERE opening.id = approvals.request_audit_id)) AS reason_shown`;

/** Most characters of a reason stored on a request (each hold reason is at most 500; the rest is cut, marked). */
export const MAX_REASON_CHARS = 4000;

/** A stored row as people see it: `expired` shown for undecided or unused requests past their time. */
export function view(r: DbRow): ApprovalView {
  const iso = (d: Date | null) => (d ? d.toISOString() : null);
  return {
    id: r.id,
    server: r.server,
    tool: r.tool,
    status: r.expired && (r.status === 'pending' || r.status === 'approved') ? 'expired' : r.status,
    arguments: r.arguments_json === null ? null : JSON.parse(r.arguments_json),
    argumentsJson: r.arguments_json,
    argsHash: r.args_hash,
    agentId: r.agent_id,
    tenant: r.tenant,
    user: r.user_invoker,
    agentSession: r.agent_session,
    roles: r.roles,
    reason: r.reason_shown ?? null,
    requestedAt: r.requested_at.toISOString(),
    expiresAt: r.expires_at.toISOString(),
    decidedAt: iso(r.decided_at),
    decidedBy: r.decided_by,
    decidedByIssuer: r.decided_by_issuer,
    note: r.decision_note,
    revokedAt: iso(r.revoked_at ?? null),
    revokedBy: r.revoked_by ?? null,
    revokedByIssuer: r.revoked_by_issuer ?? null,
    revokeNote: r.revoke_note ?? null,
    executedAt: iso(r.executed_at),
    outcome: r.outcome,
    requiredApprovals: r.required_approvals ?? 1,
    approvals: (r.approvals ?? []).map((a) => ({
      by: a.subject,
      issuer: a.issuer,
      at: a.at,
      note: a.note ?? null,
    })),
  };
}
