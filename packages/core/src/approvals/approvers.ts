// Approvers are people, not agents: approver tokens are a token class of their own (their own audience,
// optionally their own issuer, the approver scope). What a verified approver may see and decide is the
// approval desk's (desk.ts).

import type { JWTPayload } from 'jose';
import { decodeJwt } from 'jose';
import type { ApproverConfig, CoreConfig } from '../config.js';
import { type Identity, identityFromClaims, malformedClaim } from '../identity/identity.js';
import { AuthFailure, type AuthFailureReason, TokenVerifier } from '../identity/token-verifier.js';
import type { ApproverRef } from './approval-store.js';

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
export type NotApproverKind =
  | 'wrong_audience'
  | 'not_approvals_audience'
  | 'delegated'
  | 'agent_roles'
  /** APPROVER_GROUP is set and the token's groups claim (APPROVER_CLAIM_GROUPS) does not list it. */
  | 'not_in_group'
  /** No usable approver subject (APPROVER_CLAIM_SUBJECT), or an identity claim that is no string. */
  | 'missing_subject';

/**
 * A validly signed token that is not an approver token: refused as a wrong audience (401), or, for
 * a person outside the approver group, as insufficient (403: the token is theirs, they may not decide).
 */
export class NotApproverToken extends AuthFailure {
  readonly kind: NotApproverKind;

  constructor(kind: NotApproverKind, message: string) {
    super(kind === 'not_in_group' ? 'insufficient_scope' : 'wrong_audience', message);
    this.kind = kind;
  }
}

/** A token (or ID token) that is not a person who may decide approvals, and why. */
export interface ApproverRefusal {
  refused: NotApproverKind;
  message: string;
}

const REFUSALS: Record<Exclude<NotApproverKind, 'wrong_audience' | 'not_approvals_audience'>, string> = {
  delegated:
    'this token is delegated (act claim: an agent acting for someone); approvals need an approver token of the person themselves',
  agent_roles: 'this token carries agent roles; approvers are people, and their tokens carry no roles',
  not_in_group: 'this person is not a member of the approver group (APPROVER_GROUP)',
  missing_subject: 'this token names no approver (its subject claim is missing or not a string)',
};

/** The groups a claim lists: a string is one group, an array its string members (exact values). */
export function groupsOf(claims: Record<string, unknown>, path: string): string[] {
  const value = readClaim(claims, path);
  if (typeof value === 'string') return [value];
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

/**
 * THE rules that make verified claims a person who may decide approvals, shared by the approvals API
 * (access tokens, {@link ApproverVerifier}) and the admin console (its own verified OIDC ID token,
 * {@link approverFromIdToken}): no `act` (delegated: an agent acting for someone), no agent roles
 * (AUTH_CLAIM_ROLES or `roles`), a subject (APPROVER_CLAIM_SUBJECT), and membership of APPROVER_GROUP
 * when it is set (exact value in APPROVER_CLAIM_GROUPS). The approver's identifiers are every name
 * claim ({@link IDENTIFIER_CLAIMS}, the subject and user claims); `clients` are left to the caller.
 * Signature, issuer, audience and expiry are NOT checked here: pass only claims already verified.
 */
export function approverFromClaims(
  claims: JWTPayload,
  config: CoreConfig,
): { approver: Omit<Approver, 'clients'>; identity: Identity } | ApproverRefusal {
  const settings = approverSettings(config);
  const names = { ...config.auth.claims, agent: settings.subjectClaim ?? 'sub' };
  const raw = claims as Record<string, unknown>;
  if (raw.act !== undefined) return { refused: 'delegated', message: REFUSALS.delegated };
  const id = malformedClaim(claims, names) === undefined ? identityFromClaims(claims, names) : undefined;
  const hasRoles = (v: unknown) =>
    typeof v === 'string' ? v.trim() !== '' : Array.isArray(v) && v.length > 0;
  if ((id && id.roles.length > 0) || hasRoles(raw.roles) || hasRoles(readClaim(raw, names.roles)))
    return { refused: 'agent_roles', message: REFUSALS.agent_roles };
  if (!id) return { refused: 'missing_subject', message: REFUSALS.missing_subject };
  if (
    settings.group !== undefined &&
    !groupsOf(raw, settings.groupsClaim ?? 'groups').includes(settings.group)
  )
    return { refused: 'not_in_group', message: REFUSALS.not_in_group };
  const strings = (paths: readonly string[]) => [
    ...new Set(
      paths.map((p) => readClaim(raw, p)).filter((v): v is string => typeof v === 'string' && v.length > 0),
    ),
  ];
  return {
    identity: id,
    approver: {
      issuer: id.issuer ?? '',
      subject: id.agentId,
      user: id.user ?? null,
      tenant: id.tenant ?? null,
      identifiers: strings([names.agent, names.user, ...IDENTIFIER_CLAIMS]),
    },
  };
}

/** A claim by dotted path. */
function readClaim(claims: Record<string, unknown>, path: string): unknown {
  let value: unknown = claims;
  for (const part of path.split('.')) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/**
 * The approver of claims the admin console verified itself (an OIDC ID token: signature, issuer,
 * audience = its client, expiry, nonce), by the same rules as approver access tokens
 * ({@link approverFromClaims}): no `act`, no roles, the approver group when configured, identifiers
 * from {@link IDENTIFIER_CLAIMS}. `clients` is empty: a person in a browser is no OAuth client of an
 * agent (the ID token's `azp`/`aud` is the console itself). Never pass claims the console did not verify.
 */
export function approverFromIdToken(claims: JWTPayload, config: CoreConfig): Approver | ApproverRefusal {
  const r = approverFromClaims(claims, config);
  if ('refused' in r) return r;
  return { ...r.approver, clients: [] };
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
    const r = approverFromClaims(id.claims, this.#config);
    if ('refused' in r) throw new NotApproverToken(r.refused, r.message);
    const clients = CLIENT_CLAIMS.map((p) => claims[p]).filter(
      (v): v is string => typeof v === 'string' && v.length > 0,
    );
    return {
      ...r.approver,
      clients: [...new Set(clients)],
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
