// The approval desk: THE one place where people read and decide approval requests. Every way in
// calls it with an approver it has already verified, and the desk applies every rule of who may see
// and decide what, writes exactly one audit record per decision or withdrawal (refused ones too), and
// counts it in mcp_approvals_total.
//
// Who calls it, and how each one verifies the approver:
// - the approvals HTTP API of a server (http/approvals-api.ts): an approver token (ApproverVerifier in
//   approvers.ts) -> desk -> JSON. The API only parses and answers; it has no rules of its own.
// - `fleet approvals` (the CLI): through that HTTP API, with an approver token.
// - the admin server's browser console (issue 15), in process: it signs the person in with OIDC, and
//   builds the {@link Approver} from the ID token it verified itself with approverFromIdToken
//   (approvers.ts: the same rules as approver tokens — no act, no roles, APPROVER_GROUP — `issuer` =
//   the OIDC issuer, `subject` = its subject, `user` and `identifiers` = every name claim (sub,
//   email, preferred_username, upn...: see IDENTIFIER_CLAIMS), `clients` = [] (a person in a browser
//   is no OAuth client of an agent), `tenant` = the tenant claim or null). It constructs one desk
//   with `servers: 'fleet'` over the fleet database's ApprovalStore and its own AuditLog, and then
//   filters with `server` and pages with `limit`/`offset` like the API. Never build an Approver from
//   anything a browser sent that the console did not verify itself.
//
// Rules the desk applies (the store enforces the ones that need the row, atomically):
// - nobody that may be the requesting agent decides (any identifier or client of the approver names
//   it: `self_approval`), nor the person the agent acts for (`requester_approval`); identifiers are
//   compared by identifierKey (case, width, invisible characters: identifiers.ts);
// - an approver sees and decides only their tenant's requests (no tenant claim: untenanted requests,
//   or every tenant with APPROVER_ALL_TENANTS); others look exactly like missing ones (`not_found`);
// - a per-server desk sees only its server's requests; a fleet desk any server's (`server` filters);
// - only pending, unexpired requests with their exact arguments are decided; only an approved, unused
//   request is withdrawn; a malformed id is refused before anything is read (no record: it names no
//   approval); bad input (a note that is no string, too long, or holds text PostgreSQL cannot store)
//   on a well-formed id is refused before anything is read, and recorded as a refused decision;
// - every record says in `details.errorCode` how it ended, with the code a tools/call refusal of
//   the same kind carries (kernel/errors.ts): `approval_refused` for a refused decision or token,
//   `invalid_arguments` for bad input, null for a decision taken.
// The binding of an approval to the agent session and caller that asked, and the cap on pending
// requests per agent, apply where requests are opened and used (pipeline/steps/approval.ts); the desk
// shows the queue per agent (`pendingByAgent`) so a flood is visible.
//
// Dual control (policy `tools.<tool>.approvers: 2|3`, fixed on the request when it is opened): the
// first approval of such a request is recorded as a partial one (event `approved_first`, its own audit
// record; a second partial one of a 3-approver request is `approved_partial`), the request stays
// `pending` ("1 of 2"), and only an approval by a DISTINCT person — no identifier in common with any
// earlier approver, compared by identifierKey — completes it (`approved`). The same person again is
// refused (`same_approver`, 403), atomically in the store's statement. A denial by anyone denies.
import type { AuditRecord } from '../audit/audit-record.js';
import { auditRecord } from '../audit/audit-record.js';
import { compositeKey } from '../identity/caller-keys.js';
import type { CallErrorCode } from '../kernel/errors.js';
import { UNSTORABLE_TEXT, unstorableText } from '../kernel/storable-text.js';
import {
  type ApprovalPage,
  type ApprovalStatus,
  ApprovalStore,
  type ApprovalView,
  type DecideRefusal,
  type TenantScope,
} from './approval-store.js';
import type { Approver } from './approvers.js';

/** Every status a list may ask for, `all` for every one (default `pending`). */
export const APPROVAL_STATUSES = [
  'pending',
  'approved',
  'denied',
  'executing',
  'executed',
  'expired',
  'all',
] as const satisfies readonly (ApprovalStatus | 'all')[];
/** A status a list may ask for. */
export type ApprovalStatusFilter = (typeof APPROVAL_STATUSES)[number];

/** Why the desk refused: a decision refusal of the store, or input it does not accept. */
export type DeskRefusal = DecideRefusal | 'invalid_request';

/** What each refusal means to a person, and its HTTP status (for any transport that needs one). */
export const DESK_REFUSALS: Readonly<Record<DeskRefusal, { status: number; message: string }>> = {
  not_found: { status: 404, message: 'no such approval request on this server' },
  self_approval: { status: 403, message: 'the agent that asked for an action cannot approve or deny it' },
  requester_approval: {
    status: 403,
    message: 'the person the agent acts for cannot approve or deny its request',
  },
  same_approver: {
    status: 403,
    message:
      'you already gave one of the approvals this request needs; another approver (a different person) must give the next one',
  },
  incomplete: {
    status: 409,
    message: 'this request was opened without its exact arguments; the agent must ask again',
  },
  already_decided: { status: 409, message: 'this request was already decided' },
  expired: { status: 409, message: 'this request has expired; the agent must ask again' },
  not_approved: {
    status: 409,
    message: 'only an approved request that has not been used yet can be withdrawn',
  },
  invalid_request: { status: 400, message: 'invalid request' },
};

/** Longest filter value or note the desk accepts (characters). */
export const MAX_TEXT = 1000;
/** Default and largest page of a list. */
export const DEFAULT_PAGE = 100;
export const MAX_PAGE = 1000;

/** Refused attempts with a validly signed token audited per presenter per window; the rest are only counted. */
export const REFUSED_ATTEMPTS_AUDITED_PER_MINUTE = 10;
const PRESENTERS_TRACKED = 10_000;

/** A refusal: its code, a message for people, its HTTP status, and the request when the approver may see it. */
export interface Refusal {
  ok: false;
  why: DeskRefusal;
  status: number;
  message: string;
  approval?: ApprovalView;
}

/**
 * What a decision did: `approved` (the last approval the request needed: it may run), `approved_first`
 * / `approved_partial` (the first / a later approval of a request needing more: it stays pending),
 * `denied`, or `revoked` (an approved, unused request withdrawn).
 */
export type DecisionEvent = 'approved' | 'approved_first' | 'approved_partial' | 'denied' | 'revoked';

/** A decision the desk recorded, or why not. */
export type DeskDecision = { ok: true; approval: ApprovalView; event: DecisionEvent } | Refusal;

/** A list request: filters (exact values) and a page. */
export interface DeskListQuery {
  /** Default `pending`. */
  status?: string | undefined;
  /** Only this server's requests (a per-server desk answers other servers with an empty page). */
  server?: string | undefined;
  agent?: string | undefined;
  tool?: string | undefined;
  user?: string | undefined;
  /** 1..{@link MAX_PAGE}, default {@link DEFAULT_PAGE} (out-of-range values are clamped). */
  limit?: number | undefined;
  /** A whole number >= 0. */
  offset?: number | undefined;
}

/** A decision or withdrawal to record. */
export interface DecisionInput {
  id: string;
  note?: string | undefined;
  /** The transport's request id (the audit record's requestId). */
  requestId: string;
}

/** The counter the desk counts decisions in (mcp_approvals_total of the governance metrics). */
export interface DeskMetrics {
  approvals: { inc(labels: { tool: string; event: string }): void };
}

/** Options for {@link ApprovalDesk}. */
export interface ApprovalDeskOptions {
  store: ApprovalStore;
  /** The server this desk runs in: the `server` of its audit records. */
  server: string;
  /** `own` (default): only `server`'s requests. `fleet`: every server's (the admin console). */
  servers?: 'own' | 'fleet';
  /** APPROVER_ALL_TENANTS: approvers without a tenant claim see every tenant. */
  allTenants: boolean;
  /**
   * Where decision records go (the server's AuditLog: recordDurable, so that a decision is answered
   * only once its record is committed, or its bounded wait is over). A promise is waited for.
   */
  audit(record: AuditRecord): void | Promise<unknown>;
  metrics: DeskMetrics;
  /** The policy version to stamp on records. */
  policyVersion(): string | null;
}

function refusal(why: DeskRefusal, approval?: ApprovalView, message?: string): Refusal {
  return {
    ok: false,
    why,
    status: DESK_REFUSALS[why].status,
    message: message ?? DESK_REFUSALS[why].message,
    ...(approval ? { approval } : {}),
  };
}

/** Refuses a text input that is no string, too long, or cannot be stored (NUL, lone surrogate). */
function badText(name: string, v: unknown): Refusal | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.length > MAX_TEXT)
    return refusal(
      'invalid_request',
      undefined,
      `${name} must be one string of at most ${MAX_TEXT} characters`,
    );
  const bad = unstorableText(v);
  if (bad) return refusal('invalid_request', undefined, `${name} must not contain ${UNSTORABLE_TEXT[bad]}`);
  return undefined;
}

/** The catalogue code a desk record carries (kernel/errors.ts), as a tools/call refusal of its kind would. */
function errorCodeOf(result: { ok: boolean; why?: string }): CallErrorCode | null {
  if (result.ok) return null;
  return result.why === 'invalid_request' ? 'invalid_arguments' : 'approval_refused';
}

/** Approvals as a service: list, get, decide and withdraw, with a verified approver. */
export class ApprovalDesk {
  readonly #o: ApprovalDeskOptions;
  readonly #attempts = new Map<string, { start: number; n: number }>();

  constructor(o: ApprovalDeskOptions) {
    this.#o = o;
  }

  /** The server whose requests this desk sees, or undefined for every server. */
  get #own(): string | undefined {
    return this.#o.servers === 'fleet' ? undefined : this.#o.server;
  }

  /** The tenants an approver may see: their tenant; without one, untenanted requests (or all if configured). */
  scopeOf(approver: Approver): TenantScope {
    if (approver.tenant !== null) return approver.tenant;
    return this.#o.allTenants ? undefined : null;
  }

  /** A page of the requests this approver may see, newest first, with the queue's totals. */
  async list(approver: Approver, q: DeskListQuery = {}): Promise<({ ok: true } & ApprovalPage) | Refusal> {
    const status = q.status ?? 'pending';
    if (!(APPROVAL_STATUSES as readonly string[]).includes(status))
      return refusal('invalid_request', undefined, `status must be one of ${APPROVAL_STATUSES.join(', ')}`);
    for (const name of ['server', 'agent', 'tool', 'user'] as const) {
      const bad = badText(name, q[name]);
      if (bad) return bad;
    }
    const offset = q.offset ?? 0;
    if (!Number.isInteger(offset) || offset < 0)
      return refusal('invalid_request', undefined, 'offset must be a whole number >= 0');
    const limit =
      q.limit === undefined || !Number.isFinite(q.limit)
        ? DEFAULT_PAGE
        : Math.min(Math.max(Math.trunc(q.limit), 1), MAX_PAGE);
    const own = this.#own;
    if (own !== undefined && q.server !== undefined && q.server !== own)
      return { ok: true, approvals: [], total: 0, nextOffset: null, pendingByAgent: {} };
    const page = await this.#o.store.page({
      status: status as ApprovalStatusFilter,
      server: own ?? q.server,
      tenant: this.scopeOf(approver),
      agent: q.agent,
      tool: q.tool,
      user: q.user,
      limit,
      offset,
    });
    return { ok: true, ...page };
  }

  /** One request, if this approver may see it. */
  async get(approver: Approver, id: string): Promise<ApprovalView | undefined> {
    if (!ApprovalStore.isId(id)) return undefined;
    return this.#o.store.get(id, { server: this.#own, tenant: this.scopeOf(approver) });
  }

  /**
   * Approves or denies a pending request; a denial of an approved request that has not been used
   * withdraws it (event `revoked`). Audited and counted, refused or not (bad input excepted).
   */
  decide(approver: Approver, d: DecisionInput & { approve: boolean }): Promise<DeskDecision> {
    return this.#takeDecision(approver, d, d.approve ? 'approve' : 'deny');
  }

  /** Withdraws an approved request that has not been used (`not_approved` for any other). Audited and counted. */
  revoke(approver: Approver, d: DecisionInput): Promise<DeskDecision> {
    return this.#takeDecision(approver, d, 'revoke');
  }

  async #takeDecision(
    approver: Approver,
    d: DecisionInput,
    action: 'approve' | 'deny' | 'revoke',
  ): Promise<DeskDecision> {
    // Nothing that cannot be an approval id reaches the store or the audit trail.
    if (!ApprovalStore.isId(d.id)) return refusal('not_found');
    // Bad input on a real-looking id: refused before anything is read, and recorded (one record) as
    // the refused decision it is; the note itself is not recorded.
    const badNote = badText('note', d.note);
    if (badNote) {
      this.#o.metrics.approvals.inc({ tool: '(unknown)', event: 'decision_refused' });
      await this.#record(d.requestId, d.id, action, approver, badNote);
      return badNote;
    }
    const result = await this.#o.store.decide({
      id: d.id,
      approve: action === 'approve',
      revokeOnly: action === 'revoke',
      approver,
      note: d.note,
      server: this.#own,
      tenant: this.scopeOf(approver),
    });
    const decision: DeskDecision = result.ok
      ? {
          ok: true,
          approval: result.approval,
          event: result.revoked
            ? 'revoked'
            : action !== 'approve'
              ? 'denied'
              : !result.partial
                ? 'approved'
                : result.approval.approvals.length <= 1
                  ? 'approved_first'
                  : 'approved_partial',
        }
      : refusal(result.why, result.approval);
    this.#o.metrics.approvals.inc({
      tool: decision.approval?.tool ?? '(unknown)',
      event: decision.ok ? decision.event : 'decision_refused',
    });
    // Answered once its record is durable (issue 16, R2-5).
    await this.#record(d.requestId, d.id, action, approver, decision);
    return decision;
  }

  /**
   * Audits a decision attempt whose validly signed token was refused (e.g. an agent's token): no
   * approver, but who presented it. At most {@link REFUSED_ATTEMPTS_AUDITED_PER_MINUTE} records per
   * presenter (issuer + subject) a minute, so an agent cannot fill the audit trail; returns whether
   * this one was audited (the caller counts every attempt in a metric either way). Malformed ids are
   * never audited.
   */
  refusedAttempt(a: {
    requestId: string;
    approvalId: string;
    action: 'approve' | 'deny' | 'revoke';
    reason: string;
    presentedBy: { issuer: string | null; subject: string | null };
  }): boolean {
    if (!ApprovalStore.isId(a.approvalId)) return false;
    const key = compositeKey(a.presentedBy.issuer, a.presentedBy.subject);
    const now = Date.now();
    let window = this.#attempts.get(key);
    if (!window || now - window.start >= 60_000) {
      if (!window && this.#attempts.size >= PRESENTERS_TRACKED) this.#attempts.clear();
      window = { start: now, n: 0 };
      this.#attempts.set(key, window);
    }
    window.n += 1;
    if (window.n > REFUSED_ATTEMPTS_AUDITED_PER_MINUTE) return false;
    this.#record(
      a.requestId,
      a.approvalId,
      a.action,
      null,
      { ok: false, why: `token_${a.reason}` },
      a.presentedBy,
    );
    return true;
  }

  #record(
    requestId: string,
    approvalId: string,
    action: 'approve' | 'deny' | 'revoke',
    approver: Approver | null,
    result: DeskDecision | { ok: false; why: string; approval?: undefined },
    presentedBy?: { issuer: string | null; subject: string | null },
  ): void | Promise<unknown> {
    const a = result.approval;
    const event = result.ok ? result.event : undefined;
    const why = result.ok ? undefined : result.why;
    // Only well-formed ids get here; lower case as stored.
    const id = approvalId.slice(0, 36).toLowerCase();
    const given = a?.approvals.length ?? 0;
    const of = a && a.requiredApprovals > 1 ? ` (${given} of ${a.requiredApprovals})` : '';
    const verb =
      event === 'revoked'
        ? 'approval withdrawn'
        : event === 'approved_first' || event === 'approved_partial'
          ? `approval ${given} of ${a!.requiredApprovals} given`
          : event === 'approved'
            ? `approved${of}`
            : event;
    return this.#o.audit(
      auditRecord(approver && { agentId: approver.subject, user: approver.user, tenant: approver.tenant }, {
        server: this.#o.server,
        requestId,
        method: `approvals/${action}`,
        tool: a?.tool ?? null,
        arguments: { approvalId: id },
        decision: result.ok ? 'allow' : 'deny',
        decisionReason: result.ok
          ? `${verb} by approver ${approver!.subject} of ${approver!.issuer}`
          : `refused: ${why}`,
        outcome: result.ok ? 'ok' : 'denied',
        resultSummary: event ?? why ?? null,
        policyVersion: this.#o.policyVersion(),
        details: {
          approvalId: id,
          approver: approver
            ? { issuer: approver.issuer, subject: approver.subject, tenant: approver.tenant }
            : null,
          ...(a && a.server !== this.#o.server ? { approvalServer: a.server } : {}),
          ...(a ? { requestedBy: { agentId: a.agentId, user: a.user, tenant: a.tenant } } : {}),
          ...(why ? { refused: why } : {}),
          errorCode: errorCodeOf(result),
          ...(a && a.requiredApprovals > 1
            ? {
                requiredApprovals: a.requiredApprovals,
                approvals: a.approvals.map((x) => ({ issuer: x.issuer, subject: x.by, at: x.at })),
              }
            : {}),
          ...(event === 'revoked' && a
            ? { revoked: true, approvedBy: { issuer: a.decidedByIssuer, subject: a.decidedBy } }
            : {}),
          ...(presentedBy ? { presentedBy } : {}),
        },
      }),
    );
  }
}
