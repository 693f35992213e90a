// Approvers are people, not agents: approver tokens are a token class of their own (their own audience,
// optionally their own issuer, the approver scope), and the one decision service below applies the
// rules of who may decide what and writes the audit record of every decision and refused attempt.
import { randomUUID } from 'node:crypto';
import { decodeJwt } from 'jose';
import type { AuditRecord } from '../audit/audit-record.js';
import type { ApproverConfig, CoreConfig } from '../config.js';
import { compositeKey } from '../identity/caller-keys.js';
import { claimValue } from '../identity/identity.js';
import { AuthFailure, type AuthFailureReason, TokenVerifier } from '../identity/token-verifier.js';
import type {
  ApprovalPage,
  ApprovalStatus,
  ApprovalStore,
  ApprovalView,
  ApproverRef,
  DecideRefusal,
  ListQuery,
  TenantScope,
} from './approval-store.js';

/** Default of APPROVAL_MAX_ARGUMENT_BYTES. */
export const DEFAULT_MAX_ARGUMENT_BYTES = 64 * 1024;
/** Default of APPROVAL_MAX_PENDING_PER_AGENT. */
export const DEFAULT_MAX_PENDING_PER_AGENT = 20;

/** Claims that identify the person an approver token names (besides APPROVER_CLAIM_SUBJECT and AUTH_CLAIM_USER). */
export const IDENTIFIER_CLAIMS = [
  'sub',
  'user',
  'email',
  'preferred_username',
  'upn',
  'unique_name',
] as const;
/** Claims naming the OAuth client a token was issued to. */
export const CLIENT_CLAIMS = ['azp', 'client_id', 'appid'] as const;

/**
 * True when `aud` is an approvals audience: the configured one, or a URL whose path ends in
 * `/approvals` (another fleet server's approvals API; `fleet token --approver` names them all).
 */
export function isApprovalsAudience(aud: string, configured: string): boolean {
  if (aud === configured) return true;
  try {
    return /\/approvals\/?$/.test(new URL(aud).pathname);
  } catch {
    return false;
  }
}

/** Why a validly signed token is not an approver token (an audit reason, `token_<kind>`). */
export type NotApproverKind = 'wrong_audience' | 'not_approvals_audience' | 'delegated' | 'agent_roles';

/** A validly signed token that is not an approver token: refused as a wrong audience (401). */
export class NotApproverToken extends AuthFailure {
  readonly kind: NotApproverKind;

  constructor(kind: NotApproverKind, message: string) {
    super('wrong_audience', message);
    this.kind = kind;
  }
}

/** The approver settings of a config (defaults for hand-built configs without them). */
export function approverSettings(config: CoreConfig): ApproverConfig {
  return (
    config.approvers ?? {
      audience: `${config.publicUrl}/approvals`,
      issuer: config.auth.issuer,
      jwksUrl: config.auth.jwksUrl,
      jwksFile: config.auth.jwksFile,
      allTenants: false,
      maxArgumentBytes: DEFAULT_MAX_ARGUMENT_BYTES,
      maxPendingPerAgent: DEFAULT_MAX_PENDING_PER_AGENT,
      subjectClaim: 'sub',
    }
  );
}

/** A verified approver: who (issuer + subject), every identifier and client of the token, and the tenant claim. */
export interface Approver extends ApproverRef {
  tenant: string | null;
  identifiers: readonly string[];
  clients: readonly string[];
}

/**
 * Verifies approver tokens: approver audience and issuer, the approver scope, and not a token an
 * agent may hold. The approver is read with its own claim mapping (APPROVER_CLAIM_SUBJECT, default
 * `sub`), never the agents' AUTH_CLAIM_AGENT: with `azp` as the agent claim, every person of one
 * console would otherwise be the console. Refused, whatever their scope:
 * - a token any of whose audiences is not an approvals audience ({@link isApprovalsAudience}): it
 *   is (also) a token for some resource an agent calls, such as another server's /mcp;
 * - a delegated token (an `act` claim): an agent acting for someone (RFC 8693);
 * - a token with agent roles (the AUTH_CLAIM_ROLES claim, or `roles`, non-empty): approvers are people.
 * A token issued to the requesting agent's client (azp/client_id/appid) is refused per request
 * (`self_approval`).
 */
export class ApproverVerifier {
  readonly #tokens: TokenVerifier;
  readonly #agentAudiences: readonly string[];
  readonly #config: CoreConfig;

  private constructor(tokens: TokenVerifier, config: CoreConfig) {
    this.#tokens = tokens;
    this.#agentAudiences = [config.auth.audience, config.resource];
    this.#config = config;
  }

  /** The verifier of one server's approvals API. */
  static async create(config: CoreConfig, scope: string): Promise<ApproverVerifier> {
    const a = approverSettings(config);
    const tokens = await TokenVerifier.create({
      ...config.auth,
      issuer: a.issuer,
      jwksUrl: a.jwksUrl,
      jwksFile: a.jwksFile,
      audience: a.audience,
      requiredScopes: [scope],
      claims: { ...config.auth.claims, agent: a.subjectClaim ?? 'sub' },
    });
    return new ApproverVerifier(tokens, config);
  }

  /** The approver of an `Authorization` header value, or throws {@link AuthFailure}. */
  async verify(authorization: string | undefined): Promise<Approver> {
    const id = await this.#tokens.verify(authorization);
    const settings = approverSettings(this.#config);
    const claims = id.claims as Record<string, unknown>;
    const aud = claims.aud;
    const audiences = Array.isArray(aud) ? aud : aud === undefined ? [] : [aud];
    // A token that also works at /mcp is an agent's token, whatever else it names.
    if (audiences.some((x) => this.#agentAudiences.includes(x))) {
      throw new NotApproverToken(
        'wrong_audience',
        'this token is also valid at /mcp (an agent token); approvals need an approver token',
      );
    }
    if (!audiences.every((x) => typeof x === 'string' && isApprovalsAudience(x, settings.audience))) {
      throw new NotApproverToken(
        'not_approvals_audience',
        'this token also names a resource other than an approvals API (a token an agent may use); approvals need an approver token',
      );
    }
    if (claims.act !== undefined) {
      throw new NotApproverToken(
        'delegated',
        'this token is delegated (act claim: an agent acting for someone); approvals need an approver token of the person themselves',
      );
    }
    const hasRoles = (v: unknown) =>
      typeof v === 'string' ? v.trim() !== '' : Array.isArray(v) && v.length > 0;
    if (id.roles.length > 0 || hasRoles(claims.roles)) {
      throw new NotApproverToken(
        'agent_roles',
        'this token carries agent roles; approvers are people, and their tokens carry no roles',
      );
    }
    const strings = (paths: readonly string[]) => [
      ...new Set(
        paths.map((p) => claimValue(id, p)).filter((v): v is string => typeof v === 'string' && v.length > 0),
      ),
    ];
    return {
      issuer: id.issuer ?? '',
      subject: id.agentId,
      user: id.user ?? null,
      tenant: id.tenant ?? null,
      identifiers: strings([
        settings.subjectClaim ?? 'sub',
        this.#config.auth.claims.user,
        ...IDENTIFIER_CLAIMS,
      ]),
      clients: strings(CLIENT_CLAIMS),
    };
  }
}

/**
 * Refusals that jose reports only after the signature verified: the token was really issued by a
 * trusted IdP (e.g. an agent's token at the approvals API), so its issuer and subject are facts worth
 * an audit record. Unsigned or garbage tokens are counted in metrics only, so an anonymous client
 * cannot fill the audit trail.
 */
const SIGNED_REFUSALS: ReadonlySet<AuthFailureReason> = new Set([
  'wrong_audience',
  'wrong_issuer',
  'insufficient_scope',
  'expired',
  'not_yet_valid',
  'missing_identity',
]);

/** Who presented a validly signed token that was refused, or undefined when the token proves nothing. */
export function presenterOf(
  authorization: string | undefined,
  failure: AuthFailure,
): { issuer: string | null; subject: string | null } | undefined {
  if (!SIGNED_REFUSALS.has(failure.reason)) return undefined;
  try {
    const claims = decodeJwt((authorization ?? '').trim().replace(/^Bearer\s+/i, ''));
    const str = (v: unknown) => (typeof v === 'string' ? v.slice(0, 256) : null);
    return { issuer: str(claims.iss), subject: str(claims.sub) };
  } catch {
    return undefined;
  }
}

/** A decision the service recorded (`revoked`: an unused approval withdrawn), or why it was refused. */
export type DecisionResult =
  | { ok: true; approval: ApprovalView; revoked: boolean }
  | { ok: false; why: DecideRefusal; approval?: ApprovalView };

/** Refused attempts with a validly signed token audited per presenter per window; the rest are only counted. */
export const REFUSED_ATTEMPTS_AUDITED_PER_MINUTE = 10;
const PRESENTERS_TRACKED = 10_000;

/** Options for {@link ApprovalDecisions}. */
export interface ApprovalDecisionsOptions {
  store: ApprovalStore;
  /** The server whose requests these are. */
  server: string;
  /** APPROVER_ALL_TENANTS: approvers without a tenant claim see every tenant. */
  allTenants: boolean;
  /** Where decision records go (the server's audit log). */
  audit(record: AuditRecord): void;
  /** The policy version to stamp on records. */
  policyVersion(): string | null;
}

/** The one place approvals are read and decided: tenant scope, who may decide, and the audit trail. */
export class ApprovalDecisions {
  readonly #o: ApprovalDecisionsOptions;
  readonly #attempts = new Map<string, { start: number; n: number }>();

  constructor(o: ApprovalDecisionsOptions) {
    this.#o = o;
  }

  /** The tenants an approver may see: their tenant; without one, untenanted requests (or all if configured). */
  scopeOf(approver: Approver): TenantScope {
    if (approver.tenant !== null) return approver.tenant;
    return this.#o.allTenants ? undefined : null;
  }

  /** A page of the requests this approver may see, with the queue's totals. */
  list(
    approver: Approver,
    q: Omit<ListQuery, 'server' | 'tenant'> & { status: ApprovalStatus | 'all' },
  ): Promise<ApprovalPage> {
    return this.#o.store.page({ ...q, server: this.#o.server, tenant: this.scopeOf(approver) });
  }

  /** One request, if this approver may see it. */
  get(approver: Approver, id: string): Promise<ApprovalView | undefined> {
    return this.#o.store.get(id, { server: this.#o.server, tenant: this.scopeOf(approver) });
  }

  /** Decides a request and audits the decision or its refusal. */
  async decide(
    approver: Approver,
    d: { id: string; approve: boolean; note?: string | undefined; requestId: string },
  ): Promise<DecisionResult> {
    const result = await this.#o.store.decide({
      id: d.id,
      approve: d.approve,
      approver,
      note: d.note,
      server: this.#o.server,
      tenant: this.scopeOf(approver),
    });
    this.#record(d.requestId, d.id, d.approve, approver, result);
    return result;
  }

  /**
   * Audits a decision attempt whose validly signed token was refused (e.g. an agent's token): no
   * approver, but who presented it. At most {@link REFUSED_ATTEMPTS_AUDITED_PER_MINUTE} records per
   * presenter (issuer + subject) a minute, so an agent cannot fill the audit trail; returns whether
   * this one was audited (the caller counts every attempt in a metric either way).
   */
  refusedAttempt(
    requestId: string,
    approvalId: string,
    approve: boolean,
    reason: string,
    presentedBy: { issuer: string | null; subject: string | null },
  ): boolean {
    const key = compositeKey(presentedBy.issuer, presentedBy.subject);
    const now = Date.now();
    let window = this.#attempts.get(key);
    if (!window || now - window.start >= 60_000) {
      if (!window && this.#attempts.size >= PRESENTERS_TRACKED) this.#attempts.clear();
      window = { start: now, n: 0 };
      this.#attempts.set(key, window);
    }
    window.n += 1;
    if (window.n > REFUSED_ATTEMPTS_AUDITED_PER_MINUTE) return false;
    this.#record(requestId, approvalId, approve, null, { ok: false, why: `token_${reason}` }, presentedBy);
    return true;
  }

  #record(
    requestId: string,
    approvalId: string,
    approve: boolean,
    approver: Approver | null,
    result: DecisionResult | { ok: false; why: string; approval?: undefined },
    presentedBy?: { issuer: string | null; subject: string | null },
  ): void {
    const a = result.approval;
    const revoked = result.ok && 'revoked' in result && result.revoked === true;
    // Only well-formed ids get here (the API answers others with 404 first); lower case as stored.
    const id = approvalId.slice(0, 36).toLowerCase();
    this.#o.audit({
      id: randomUUID(),
      ts: new Date().toISOString(),
      server: this.#o.server,
      requestId,
      method: approve ? 'approvals/approve' : 'approvals/deny',
      tool: a?.tool ?? null,
      agentId: approver?.subject ?? null,
      agentSession: null,
      userInvoker: approver?.user ?? null,
      tenant: approver?.tenant ?? null,
      roles: [],
      arguments: { approvalId: id },
      decision: result.ok ? 'allow' : 'deny',
      decisionReason: result.ok
        ? `${revoked ? 'approval withdrawn' : approve ? 'approved' : 'denied'} by approver ${approver!.subject} of ${approver!.issuer}`
        : `refused: ${result.why}`,
      outcome: result.ok ? 'ok' : 'denied',
      resultSummary: result.ok ? (revoked ? 'revoked' : approve ? 'approved' : 'denied') : result.why,
      durationMs: null,
      policyVersion: this.#o.policyVersion(),
      protocolVersion: null,
      details: {
        approvalId: id,
        approver: approver
          ? { issuer: approver.issuer, subject: approver.subject, tenant: approver.tenant }
          : null,
        ...(a ? { requestedBy: { agentId: a.agentId, user: a.user, tenant: a.tenant } } : {}),
        ...(result.ok ? {} : { refused: result.why }),
        ...(revoked && a
          ? { revoked: true, approvedBy: { issuer: a.decidedByIssuer, subject: a.decidedBy } }
          : {}),
        ...(presentedBy ? { presentedBy } : {}),
      },
    });
  }
}
