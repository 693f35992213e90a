// Approvers are people, not agents: approver tokens are a token class of their own (their own audience,
// optionally their own issuer, the approver scope), and the one decision service below applies the
// rules of who may decide what and writes the audit record of every decision and refused attempt.
import { randomUUID } from 'node:crypto';
import { decodeJwt } from 'jose';
import type { AuditRecord } from '../audit/audit-record.js';
import type { ApproverConfig, CoreConfig } from '../config.js';
import { AuthFailure, type AuthFailureReason, TokenVerifier } from '../identity/token-verifier.js';
import type {
  ApprovalStatus,
  ApprovalStore,
  ApprovalView,
  ApproverRef,
  DecideRefusal,
  TenantScope,
} from './approval-store.js';

/** Default of APPROVAL_MAX_ARGUMENT_BYTES. */
export const DEFAULT_MAX_ARGUMENT_BYTES = 64 * 1024;

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
    }
  );
}

/** A verified approver: who (issuer + subject), the `user` claim if any, and the tenant claim. */
export interface Approver extends ApproverRef {
  tenant: string | null;
}

/** Verifies approver tokens: approver audience and issuer, the approver scope, and not an agent token. */
export class ApproverVerifier {
  readonly #tokens: TokenVerifier;
  readonly #agentAudiences: readonly string[];

  private constructor(tokens: TokenVerifier, agentAudiences: readonly string[]) {
    this.#tokens = tokens;
    this.#agentAudiences = agentAudiences;
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
    });
    return new ApproverVerifier(tokens, [config.auth.audience, config.resource]);
  }

  /** The approver of an `Authorization` header value, or throws {@link AuthFailure}. */
  async verify(authorization: string | undefined): Promise<Approver> {
    const id = await this.#tokens.verify(authorization);
    const aud = id.claims.aud;
    const audiences = Array.isArray(aud) ? aud : aud === undefined ? [] : [aud];
    // A token that also works at /mcp is an agent's token, whatever else it names.
    if (audiences.some((x) => this.#agentAudiences.includes(x))) {
      throw new AuthFailure(
        'wrong_audience',
        'this token is also valid at /mcp (an agent token); approvals need an approver token',
      );
    }
    return { issuer: id.issuer ?? '', subject: id.agentId, user: id.user ?? null, tenant: id.tenant ?? null };
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

/** A decision the service recorded, or why it was refused. */
export type DecisionResult =
  | { ok: true; approval: ApprovalView }
  | { ok: false; why: DecideRefusal; approval?: ApprovalView };

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

  constructor(o: ApprovalDecisionsOptions) {
    this.#o = o;
  }

  /** The tenants an approver may see: their tenant; without one, untenanted requests (or all if configured). */
  scopeOf(approver: Approver): TenantScope {
    if (approver.tenant !== null) return approver.tenant;
    return this.#o.allTenants ? undefined : null;
  }

  /** Requests this approver may see. */
  list(
    approver: Approver,
    status: ApprovalStatus | 'all',
    limit: number | undefined,
  ): Promise<ApprovalView[]> {
    return this.#o.store.list({ server: this.#o.server, tenant: this.scopeOf(approver), status, limit });
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
   * approver, but who presented it.
   */
  refusedAttempt(
    requestId: string,
    approvalId: string,
    approve: boolean,
    reason: string,
    presentedBy: { issuer: string | null; subject: string | null },
  ): void {
    this.#record(requestId, approvalId, approve, null, { ok: false, why: `token_${reason}` }, presentedBy);
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
    const id = approvalId.slice(0, 64);
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
        ? `${approve ? 'approved' : 'denied'} by approver ${approver!.subject} of ${approver!.issuer}`
        : `refused: ${result.why}`,
      outcome: result.ok ? 'ok' : 'denied',
      resultSummary: result.ok ? (approve ? 'approved' : 'denied') : result.why,
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
        ...(presentedBy ? { presentedBy } : {}),
      },
    });
  }
}
