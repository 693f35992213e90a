// Verifies bearer JWTs with jose: signature against the IdP's JWKS, issuer, audience, algorithms, time.
import { readFile } from 'node:fs/promises';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  type JSONWebKeySet,
  type JWTVerifyGetKey,
  errors as joseErrors,
  jwtVerify,
} from 'jose';
import type { CoreConfig } from '../config.js';
import { FleetError } from '../errors.js';
import { type Identity, identityFromClaims, malformedClaim } from './identity.js';

/** Why a token was refused; bounded, used as a metric label. */
export type AuthFailureReason =
  | 'missing'
  | 'malformed'
  | 'expired'
  | 'not_yet_valid'
  | 'bad_signature'
  | 'bad_algorithm'
  | 'wrong_issuer'
  | 'wrong_audience'
  | 'no_key'
  | 'missing_identity'
  | 'insufficient_scope'
  | 'keys_unavailable';

/** A refused token: its reason and the RFC 6750 error code the challenge carries. */
export class AuthFailure extends FleetError {
  readonly reason: AuthFailureReason;
  readonly oauthError: 'invalid_token' | 'insufficient_scope' | 'invalid_request' | undefined;

  constructor(reason: AuthFailureReason, message: string) {
    const scope = reason === 'insufficient_scope';
    super(
      scope
        ? 'FLEET_ERR_AUTH_SCOPE'
        : reason === 'missing'
          ? 'FLEET_ERR_AUTH_MISSING'
          : 'FLEET_ERR_AUTH_INVALID',
      message,
      {
        statusCode: scope ? 403 : reason === 'keys_unavailable' ? 503 : 401,
      },
    );
    this.reason = reason;
    this.oauthError = reason === 'missing' ? undefined : scope ? 'insufficient_scope' : 'invalid_token';
  }
}

function classify(err: unknown): AuthFailure {
  if (err instanceof AuthFailure) return err;
  if (err instanceof joseErrors.JWTExpired) return new AuthFailure('expired', 'token expired');
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    if (err.claim === 'iss') return new AuthFailure('wrong_issuer', 'token issuer is not trusted');
    if (err.claim === 'aud') return new AuthFailure('wrong_audience', 'token audience is not this server');
    if (err.claim === 'nbf' || err.claim === 'iat')
      return new AuthFailure('not_yet_valid', 'token not yet valid');
    return new AuthFailure('malformed', `token claim "${err.claim}" is invalid`);
  }
  if (err instanceof joseErrors.JOSEAlgNotAllowed)
    return new AuthFailure('bad_algorithm', 'token algorithm not allowed');
  if (err instanceof joseErrors.JWSSignatureVerificationFailed)
    return new AuthFailure('bad_signature', 'token signature invalid');
  if (err instanceof joseErrors.JWKSNoMatchingKey)
    return new AuthFailure('no_key', 'token signed by an unknown key');
  if (err instanceof joseErrors.JWKSTimeout || (err as { code?: string })?.code === 'ERR_JOSE_GENERIC') {
    return new AuthFailure('keys_unavailable', 'signing keys unavailable; retry shortly');
  }
  if (err instanceof joseErrors.JOSEError) return new AuthFailure('malformed', 'token is malformed');
  return new AuthFailure('keys_unavailable', 'token could not be verified; retry shortly');
}

/**
 * An RFC 7230/7235 quoted-string: `"` and `\` escaped as quoted-pairs; characters a header cannot
 * carry (controls, DEL, non-Latin-1) become `?`, so no value can end the string or the header early.
 */
function quoted(value: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: these are the characters removed
  const safe = value.replace(/[\u0000-\u0008\u000a-\u001f\u007f]|[^\u0000-\u00ff]/g, '?');
  return `"${safe.replace(/["\\]/g, '\\$&')}"`;
}

/**
 * The RFC 6750 `WWW-Authenticate` value for a refused token: where the protected-resource metadata
 * is (RFC 9728), the OAuth error and, for a missing scope, the scopes needed.
 */
export function bearerChallenge(
  failure: AuthFailure,
  metadataUrl: string | undefined,
  scopes: readonly string[],
): string {
  const params: string[] = [];
  if (metadataUrl) params.push(`resource_metadata=${quoted(metadataUrl)}`);
  if (failure.oauthError) {
    params.push(`error=${quoted(failure.oauthError)}`, `error_description=${quoted(failure.message)}`);
    if (failure.oauthError === 'insufficient_scope') params.push(`scope=${quoted(scopes.join(' '))}`);
  }
  return params.length ? `Bearer ${params.join(', ')}` : 'Bearer';
}

/** How long a verified token is remembered at most (it is never kept past its own `exp`). */
const VERIFIED_TTL_MS = 60_000;
const VERIFIED_MAX = 10_000;

/**
 * Verifies tokens for one server (one audience).
 *
 * Agents send the same token on every call, and an ES256/RS256 signature check is the largest
 * single cost of a governed call (bench: ~40 % of server CPU). A token that verified is therefore
 * remembered, keyed on its full text (signature included), for at most 60 s and never past its
 * `exp`/`nbf` window. A key removed from the JWKS stops working for cached tokens within that minute.
 */
export class TokenVerifier {
  readonly #config: CoreConfig['auth'];
  #keys: JWTVerifyGetKey | undefined;
  readonly #verified = new Map<string, { identity: Identity; until: number; nbf: number }>();

  private constructor(config: CoreConfig['auth'], keys: JWTVerifyGetKey | undefined) {
    this.#config = config;
    this.#keys = keys;
  }

  /** Builds a verifier from configuration: a remote JWKS (cached, refetched on unknown `kid`) or a static file. */
  static async create(config: CoreConfig['auth']): Promise<TokenVerifier> {
    if (!config.issuer) throw new FleetError('FLEET_ERR_CONFIG', 'AUTH_ISSUER is required');
    let keys: JWTVerifyGetKey;
    if (config.jwksFile) {
      const jwks = JSON.parse(await readFile(config.jwksFile, 'utf8')) as JSONWebKeySet;
      keys = createLocalJWKSet(jwks);
    } else if (config.jwksUrl) {
      // jose caches the set, refetches when a token names an unknown kid (key rotation), at most every 30 s.
      keys = createRemoteJWKSet(new URL(config.jwksUrl), {
        cooldownDuration: 30_000,
        cacheMaxAge: 10 * 60_000,
      });
    } else {
      throw new FleetError('FLEET_ERR_CONFIG', 'AUTH_JWKS_URL or AUTH_JWKS_FILE is required');
    }
    return new TokenVerifier(config, keys);
  }

  /** Verifies an `Authorization` header value and returns the caller's identity, or throws {@link AuthFailure}. */
  async verify(authorization: string | undefined): Promise<Identity> {
    if (!authorization) throw new AuthFailure('missing', 'bearer token required');
    // RFC 7235: the scheme is case-insensitive ("bearer", "BEARER"), then 1*SP, then the token.
    const match = /^Bearer +([A-Za-z0-9\-_]+\.[A-Za-z0-9\-_]+\.[A-Za-z0-9\-_]*)$/i.exec(authorization.trim());
    if (!match) throw new AuthFailure('malformed', 'Authorization must be "Bearer <jwt>"');
    const cfg = this.#config;
    const token = match[1]!;
    const now = Date.now();
    const known = this.#verified.get(token);
    if (known) {
      if (now < known.until && now >= known.nbf) return known.identity;
      this.#verified.delete(token); // expired (or not yet valid): verify again to get the exact refusal
    }
    let payload: Awaited<ReturnType<typeof jwtVerify>>['payload'];
    try {
      ({ payload } = await jwtVerify(token, this.#keys!, {
        issuer: cfg.issuer,
        audience: cfg.audience,
        algorithms: cfg.algorithms,
        clockTolerance: cfg.clockSkewSeconds,
        requiredClaims: ['exp'],
      }));
    } catch (err) {
      throw classify(err);
    }
    const malformed = malformedClaim(payload, cfg.claims);
    if (malformed !== undefined)
      throw new AuthFailure(
        'missing_identity',
        `the "${malformed}" claim must be a non-empty string without control characters or unpaired surrogates`,
      );
    const identity = identityFromClaims(payload, cfg.claims);
    if (!identity) throw new AuthFailure('missing_identity', `token has no "${cfg.claims.agent}" claim`);
    const missing = cfg.requiredScopes.filter((s) => !identity.scopes.includes(s));
    if (missing.length > 0)
      throw new AuthFailure('insufficient_scope', `token lacks scope: ${missing.join(' ')}`);
    this.#remember(token, identity, payload, now);
    return identity;
  }

  #remember(token: string, identity: Identity, payload: { exp?: number; nbf?: number }, now: number): void {
    const skewMs = this.#config.clockSkewSeconds * 1000;
    const until = Math.min(now + VERIFIED_TTL_MS, (payload.exp ?? 0) * 1000 + skewMs);
    if (until <= now) return;
    if (this.#verified.size >= VERIFIED_MAX) {
      // Oldest first (Map keeps insertion order): drop a tenth rather than one per insert.
      let drop = VERIFIED_MAX / 10;
      for (const key of this.#verified.keys()) {
        this.#verified.delete(key);
        if (--drop <= 0) break;
      }
    }
    const nbf = payload.nbf === undefined ? 0 : payload.nbf * 1000 - skewMs;
    // Shared by every call that presents this token: make sure none of them can change it.
    Object.freeze(identity.roles);
    Object.freeze(identity.scopes);
    this.#verified.set(token, { identity: Object.freeze(identity), until, nbf });
  }
}
