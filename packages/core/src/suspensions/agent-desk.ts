// The agent desk: where a person suspends and resumes agents (the kill switch), like the approval desk
// (approvals/desk.ts) is where they decide approvals. Every way in calls it with an approver it has
// already verified (the agents API: an approver token through ApproverVerifier; the admin console: the
// person its OIDC session names, built with the same rules), and the desk applies the rules, writes
// exactly one audit record per action (refused ones too) and reloads this server's watcher so the
// change holds here at once (the other servers follow within SUSPENSION_POLL_MS).
//
// The admin console, in process, builds one desk over the server's own stores and builds the Approver
// from its verified OIDC session with the approvals rules (approverFromIdToken), never from anything
// the browser sent:
//   new AgentDesk({ store: runtime.governance.suspensionStore!, server: runtime.server,
//     audit: (r) => runtime.audit.record(r), policyVersion: () => runtime.policy.version || null,
//     changed: () => runtime.governance.suspensions?.reload() })
// (`suspensionStore` is undefined without a fleet database: no suspension then.)
//
// Rules:
// - nobody lifts their own suspension: an approver any of whose identifiers or clients names the agent
//   (compared by identifierKey) is refused a resume (`self_suspension`). Suspending is always allowed,
//   one's own agent included (an OAuth-signed-in agent's id is the person's login): stopping something
//   is the kill switch, and it only ever takes capability away. A person may suspend and resume any
//   other agent, including one acting for them.
// - a suspension stops the agent id whatever tenant its tokens name, another one or none (the kill
//   switch errs on stopping: the tools behind a server — a company directory, a payment account — are
//   rarely split by tenant). The approver's tenant claim only limits who sees and resumes it: an
//   approver with a tenant claim sees and resumes the suspensions made by people of that tenant; one
//   without sees and resumes all. (Two people of different tenants may each suspend the agent: it runs
//   again only once both suspensions are resumed.)
// - suspending withdraws what the agent has waiting, on every server and in every tenant (through the
//   approval store): its pending approval requests are denied and its approved but unused ones
//   withdrawn, each with its own audit record (`approvals/deny` / `approvals/revoke`, as a revoke by
//   the person who suspended, note "agent suspended"), so a resume does not bring back a runaway
//   agent's queue or let it use an approval given before it was stopped.
// - the agent id is 1-256 printable characters (no control, format or unassigned characters, no
//   surrounding spaces); anything else is refused before anything is read, with no audit record (it
//   names no agent, and nobody gets text of their choosing into the trail). A reason is at most 500
//   characters without control characters; a bad one is refused and recorded (without the text).

import type { ApprovalStore } from '../approvals/approval-store.js';
import type { ApprovalView } from '../approvals/approval-view.js';
import type { Approver } from '../approvals/approvers.js';
import { matchesAny } from '../approvals/identifiers.js';
import { type AuditRecord, auditRecord } from '../audit/audit-record.js';
import { compositeKey } from '../identity/caller-keys.js';
import type { CallErrorCode } from '../kernel/errors.js';
import type { SuspensionScope, SuspensionStore, SuspensionView } from './suspension-store.js';

/** Longest agent id the desk accepts (characters). */
export const MAX_AGENT_ID = 256;
/** Longest reason the desk accepts (characters). */
export const MAX_REASON = 500;

/** Why the desk refused. */
export type AgentDeskRefusal = 'invalid_request' | 'self_suspension' | 'already_suspended' | 'not_suspended';

/** What each refusal means to a person, and its HTTP status. */
export const AGENT_DESK_REFUSALS: Readonly<Record<AgentDeskRefusal, { status: number; message: string }>> = {
  invalid_request: { status: 400, message: 'invalid request' },
  self_suspension: {
    status: 403,
    message:
      'nobody resumes their own suspended agent: this approver token names the agent; ask another approver',
  },
  already_suspended: { status: 409, message: 'this agent is already suspended' },
  not_suspended: { status: 404, message: 'this agent has no suspension in force that you may resume' },
};

/** A refusal: its code, a message for people, its HTTP status, and the suspension in force if any. */
export interface AgentRefusal {
  ok: false;
  why: AgentDeskRefusal;
  status: number;
  message: string;
  suspension?: SuspensionView;
}

/** What a suspend or resume did, or why not. */
export type AgentDeskResult =
  | { ok: true; event: 'suspended'; suspension: SuspensionView }
  | { ok: true; event: 'resumed'; resumed: SuspensionView[] }
  | AgentRefusal;

/** An action to record. */
export interface AgentActionInput {
  agentId: string;
  reason?: unknown;
  /** The transport's request id (the audit record's requestId). */
  requestId: string;
}

/** Options for {@link AgentDesk}. */
export interface AgentDeskOptions {
  store: SuspensionStore;
  /** Where the agent's approvals are withdrawn on suspension (default: the suspension store's). */
  approvals?: ApprovalStore | undefined;
  /** The server this desk runs on: the `server` of its audit records. */
  server: string;
  /**
   * Where action records go (the server's AuditLog: recordDurable, so that an action is answered only
   * once its record is committed, or its bounded wait is over). A promise is waited for.
   */
  audit(record: AuditRecord): void | Promise<unknown>;
  /** The policy version to stamp on records. */
  policyVersion(): string | null;
  /** Called after a suspension or resume took effect (the server's watcher reloads). */
  changed?: () => Promise<void> | void;
}

/** The note on every approval a suspension withdraws. */
export const SUSPENSION_WITHDRAWAL_NOTE = 'agent suspended';

/** Refused attempts with a validly signed token audited per presenter per minute; the rest only counted. */
export const REFUSED_AGENT_ATTEMPTS_AUDITED_PER_MINUTE = 10;
const PRESENTERS_TRACKED = 10_000;

// biome-ignore lint/suspicious/noControlCharactersInRegex: the check is for control characters
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const NOT_PRINTABLE = /\p{C}/u;

/** True when `id` can be an agent id: 1-256 printable characters, no surrounding spaces. */
export function isAgentId(id: unknown): id is string {
  return (
    typeof id === 'string' &&
    id.length > 0 &&
    id.length <= MAX_AGENT_ID &&
    id.trim() === id &&
    !NOT_PRINTABLE.test(id)
  );
}

/** The problem with a reason, or undefined when it is acceptable (absent, or a bounded plain text). */
export function reasonProblem(reason: unknown): string | undefined {
  if (reason === undefined || reason === null) return undefined;
  if (typeof reason !== 'string' || reason.length > MAX_REASON)
    return `reason must be one string of at most ${MAX_REASON} characters`;
  if (CONTROL.test(reason) || !reason.isWellFormed())
    return 'reason must not contain control characters or lone surrogates';
  return undefined;
}

function refusal(
  why: AgentDeskRefusal,
  extra: { message?: string; suspension?: SuspensionView } = {},
): AgentRefusal {
  return {
    ok: false,
    why,
    status: AGENT_DESK_REFUSALS[why].status,
    message: extra.message ?? AGENT_DESK_REFUSALS[why].message,
    ...(extra.suspension ? { suspension: extra.suspension } : {}),
  };
}

/** Suspensions as a service: list, suspend, resume, with a verified approver. */
export class AgentDesk {
  readonly #o: AgentDeskOptions;
  readonly #attempts = new Map<string, { start: number; n: number }>();

  constructor(o: AgentDeskOptions) {
    this.#o = o;
  }

  /** The suspensions an approver sees: their tenant's, or every one without a tenant claim. */
  scopeOf(approver: Approver): SuspensionScope {
    return approver.tenant ?? undefined;
  }

  /** The suspensions in force and the most recent ones (resumed included) this approver may see. */
  async list(
    approver: Approver,
    o: { historyLimit?: number } = {},
  ): Promise<{ suspended: SuspensionView[]; history: SuspensionView[] }> {
    const scope = this.scopeOf(approver);
    const [suspended, history] = await Promise.all([
      this.#o.store.activeIn(scope),
      this.#o.store.history(scope, o.historyLimit ?? 100),
    ]);
    return { suspended, history };
  }

  /** Suspends an agent. Audited, refused or not (a malformed agent id excepted: no record). */
  async suspend(approver: Approver, a: AgentActionInput): Promise<AgentDeskResult> {
    return this.#act(approver, a, 'suspend');
  }

  /** Resumes an agent (closes its suspensions in force that this approver may resume). Audited likewise. */
  async resume(approver: Approver, a: AgentActionInput): Promise<AgentDeskResult> {
    return this.#act(approver, a, 'resume');
  }

  async #act(
    approver: Approver,
    a: AgentActionInput,
    action: 'suspend' | 'resume',
  ): Promise<AgentDeskResult> {
    if (!isAgentId(a.agentId))
      return refusal('invalid_request', {
        message: `the agent id must be 1-${MAX_AGENT_ID} printable characters without surrounding spaces`,
      });
    const bad = reasonProblem(a.reason);
    let result: AgentDeskResult;
    if (bad) result = refusal('invalid_request', { message: bad });
    else if (action === 'resume' && matchesAny(a.agentId, [...approver.identifiers, ...approver.clients]))
      result = refusal('self_suspension');
    else {
      const reason = typeof a.reason === 'string' && a.reason.length > 0 ? a.reason : null;
      const by = { subject: approver.subject, issuer: approver.issuer || null };
      if (action === 'suspend') {
        const done = await this.#o.store.suspend({
          agentId: a.agentId,
          tenant: approver.tenant,
          reason,
          by,
        });
        result = done.ok
          ? { ok: true, event: 'suspended', suspension: done.suspension }
          : refusal('already_suspended', { suspension: done.suspension });
      } else {
        const done = await this.#o.store.resume({
          agentId: a.agentId,
          scope: this.scopeOf(approver),
          reason,
          by,
        });
        result = done.ok ? { ok: true, event: 'resumed', resumed: done.resumed } : refusal('not_suspended');
      }
    }
    const recorded = this.#record(a, action, approver, result, bad === undefined);
    if (result.ok) await this.#o.changed?.();
    if (result.ok && result.event === 'suspended') await this.#withdraw(approver, a, result.suspension);
    // Answered once its record is durable (issue 16, R2-5).
    await recorded;
    return result;
  }

  /**
   * Audits an action attempted with a validly signed token that was refused (an agent's token, say):
   * who presented it, at most {@link REFUSED_AGENT_ATTEMPTS_AUDITED_PER_MINUTE} records per presenter
   * a minute. Returns whether this one was audited. Malformed agent ids are never audited.
   */
  refusedAttempt(a: {
    requestId: string;
    agentId: string;
    action: 'suspend' | 'resume';
    reason: string;
    presentedBy: { issuer: string | null; subject: string | null };
  }): boolean {
    if (!isAgentId(a.agentId)) return false;
    const key = compositeKey(a.presentedBy.issuer, a.presentedBy.subject);
    const now = Date.now();
    let window = this.#attempts.get(key);
    if (!window || now - window.start >= 60_000) {
      if (!window && this.#attempts.size >= PRESENTERS_TRACKED) this.#attempts.clear();
      window = { start: now, n: 0 };
      this.#attempts.set(key, window);
    }
    window.n += 1;
    if (window.n > REFUSED_AGENT_ATTEMPTS_AUDITED_PER_MINUTE) return false;
    this.#o.audit(
      auditRecord(null, {
        server: this.#o.server,
        requestId: a.requestId,
        method: `agents/${a.action}`,
        arguments: { agentId: a.agentId },
        decision: 'deny',
        decisionReason: `refused: token_${a.reason}`,
        outcome: 'denied',
        resultSummary: `token_${a.reason}`,
        policyVersion: this.#o.policyVersion(),
        details: {
          agentId: a.agentId,
          refused: `token_${a.reason}`,
          errorCode: 'approval_refused' satisfies CallErrorCode,
          presentedBy: a.presentedBy,
        },
      }),
    );
    return true;
  }

  /** Withdraws the suspended agent's pending and approved-unused approvals, one audit record each. */
  async #withdraw(approver: Approver, a: AgentActionInput, suspension: SuspensionView): Promise<void> {
    const store = this.#o.approvals ?? this.#o.store.approvals;
    if (!store) return;
    await withdrawSuspendedApprovals(store, {
      agentId: a.agentId,
      by: {
        issuer: approver.issuer,
        subject: approver.subject,
        user: approver.user,
        tenant: approver.tenant,
      },
      suspensionId: suspension.id,
      server: this.#o.server,
      requestId: a.requestId,
      policyVersion: this.#o.policyVersion(),
      audit: this.#o.audit,
    });
  }

  #record(
    a: AgentActionInput,
    action: 'suspend' | 'resume',
    approver: Approver,
    result: AgentDeskResult,
    reasonRecorded: boolean,
  ): void | Promise<unknown> {
    const reason = reasonRecorded && typeof a.reason === 'string' && a.reason.length > 0 ? a.reason : null;
    const suspensions = result.ok
      ? result.event === 'suspended'
        ? [result.suspension]
        : result.resumed
      : result.suspension
        ? [result.suspension]
        : [];
    const errorCode: CallErrorCode | null = result.ok
      ? null
      : result.why === 'invalid_request'
        ? 'invalid_arguments'
        : 'approval_refused';
    return this.#o.audit(
      auditRecord(
        { agentId: approver.subject, user: approver.user, tenant: approver.tenant },
        {
          server: this.#o.server,
          requestId: a.requestId,
          method: `agents/${action}`,
          arguments: { agentId: a.agentId, ...(reason !== null ? { reason } : {}) },
          decision: result.ok ? 'allow' : 'deny',
          decisionReason: result.ok
            ? `agent ${a.agentId} ${result.event} by ${approver.subject} of ${approver.issuer}`
            : `refused: ${result.why}`,
          outcome: result.ok ? 'ok' : 'denied',
          resultSummary: result.ok ? result.event : result.why,
          policyVersion: this.#o.policyVersion(),
          details: {
            agentId: a.agentId,
            suspensionIds: suspensions.map((s) => s.id),
            tenantScope: action === 'suspend' ? approver.tenant : (this.scopeOf(approver) ?? null),
            approver: { issuer: approver.issuer, subject: approver.subject, tenant: approver.tenant },
            ...(result.ok ? {} : { refused: result.why }),
            errorCode,
          },
        },
      ),
    );
  }
}

/**
 * Withdraws what a suspended agent has waiting (ApprovalStore.withdrawAgent): its pending requests
 * denied, its approved unused ones withdrawn, each with one audit record (`approvals/deny`,
 * `approvals/revoke`) in the name of the person who suspended it, note "agent suspended". Used by the
 * desk when it suspends, and by the pipeline for an approval a call stopped by the suspension gave back.
 */
export async function withdrawSuspendedApprovals(
  store: ApprovalStore,
  w: {
    agentId: string;
    by: { issuer: string | null; subject: string; user: string | null; tenant: string | null };
    suspensionId: string;
    server: string;
    requestId: string;
    policyVersion: string | null;
    audit(record: AuditRecord): void | Promise<unknown>;
  },
): Promise<number> {
  const { denied, revoked } = await store.withdrawAgent({
    agentId: w.agentId,
    by: { subject: w.by.subject, issuer: w.by.issuer || null },
    note: SUSPENSION_WITHDRAWAL_NOTE,
  });
  const record = (v: ApprovalView, action: 'deny' | 'revoke') =>
    w.audit(
      auditRecord(
        { agentId: w.by.subject, user: w.by.user, tenant: w.by.tenant },
        {
          server: w.server,
          requestId: w.requestId,
          method: `approvals/${action}`,
          tool: v.tool,
          arguments: { approvalId: v.id },
          decision: 'allow',
          decisionReason: `${action === 'revoke' ? 'approval withdrawn' : 'denied'} by approver ${w.by.subject} of ${w.by.issuer ?? 'unknown issuer'}: ${SUSPENSION_WITHDRAWAL_NOTE}`,
          outcome: 'ok',
          resultSummary: action === 'revoke' ? 'revoked' : 'denied',
          policyVersion: w.policyVersion,
          details: {
            approvalId: v.id,
            approver: { issuer: w.by.issuer, subject: w.by.subject, tenant: w.by.tenant },
            ...(v.server !== w.server ? { approvalServer: v.server } : {}),
            requestedBy: { agentId: v.agentId, user: v.user, tenant: v.tenant },
            reason: SUSPENSION_WITHDRAWAL_NOTE,
            suspensionId: w.suspensionId,
            errorCode: null,
            ...(action === 'revoke'
              ? { revoked: true, approvedBy: { issuer: v.decidedByIssuer, subject: v.decidedBy } }
              : {}),
          },
        },
      ),
    );
  await Promise.all([...denied.map((v) => record(v, 'deny')), ...revoked.map((v) => record(v, 'revoke'))]);
  return denied.length + revoked.length;
}
