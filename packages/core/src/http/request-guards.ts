// Header checks that run before anything else on /mcp and the approvals API: Host and Origin (DNS
// rebinding protection), then the bearer token.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Identity } from '../identity/identity.js';
import { AuthFailure, bearerChallenge, type TokenVerifier } from '../identity/token-verifier.js';
import { FLEET_ERRORS } from '../kernel/errors.js';
import type { FleetMetrics } from '../observability/metrics.js';

/** The RFC 9728 metadata path of a resource URL (throws when the resource is not a URL). */
export function metadataPath(resource: string): string {
  return `/.well-known/oauth-protected-resource${new URL(resource).pathname}`;
}

function hostnameOf(hostHeader: string): string {
  // "[::1]:7401" -> "[::1]", "example.com:443" -> "example.com"
  if (hostHeader.startsWith('[')) return hostHeader.slice(0, hostHeader.indexOf(']') + 1).toLowerCase();
  return hostHeader.replace(/:\d+$/, '').toLowerCase();
}

function originHostname(origin: string): string | undefined {
  try {
    const url = new URL(origin);
    return url.hostname.includes(':') ? `[${url.hostname}]` : url.hostname.toLowerCase();
  } catch {
    return undefined;
  }
}

/** Builds the onRequest hook refusing foreign Host and Origin headers with 403. */
export function hostAndOriginGuard(allowedHosts: readonly string[], allowedOrigins: readonly string[]) {
  const hosts = new Set(allowedHosts.map((h) => h.toLowerCase()));
  const origins = new Set(allowedOrigins.map((o) => o.toLowerCase().replace(/\/+$/, '')));
  const refuse = (
    reply: FastifyReply,
    message: string,
    code: 'FLEET_ERR_HOST_REJECTED' | 'FLEET_ERR_ORIGIN_REJECTED',
  ) =>
    reply
      .code(FLEET_ERRORS[code].status)
      .header('content-type', 'application/json')
      .send(
        JSON.stringify({
          jsonrpc: '2.0',
          id: null,
          error: { code: FLEET_ERRORS[code].rpc, message, data: { code } },
        }),
      );

  return async function guard(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const host = request.headers.host;
    if (!host || !hosts.has(hostnameOf(host)))
      return refuse(reply, 'Forbidden: Host header not allowed', 'FLEET_ERR_HOST_REJECTED');
    const origin = request.headers.origin;
    if (origin !== undefined) {
      const name = originHostname(origin);
      const allowed =
        origins.has(origin.toLowerCase()) || (name !== undefined && (hosts.has(name) || origins.has(name)));
      if (!allowed) return refuse(reply, 'Forbidden: Origin not allowed', 'FLEET_ERR_ORIGIN_REJECTED');
    }
  };
}

/** Options for {@link bearerAuth}. */
export interface BearerAuthOptions {
  verifier: Pick<TokenVerifier, 'verify'>;
  metrics: Pick<FleetMetrics, 'authFailures'>;
  /** Where clients find the protected-resource metadata (named in WWW-Authenticate). */
  metadataUrl: string | undefined;
  /** The scopes a token must carry, named in an insufficient_scope challenge. */
  scopes: readonly string[];
  /** The body key for the failure's text: `error_description` (RFC 6750) or the API's `message`. */
  textKey: 'error_description' | 'message';
  /** Keeps the verified identity for the route. */
  accept(request: FastifyRequest, identity: Identity): void;
}

/**
 * Builds the onRequest hook that verifies the bearer token: 401 or 403 with a WWW-Authenticate
 * challenge and an OAuth error code, counted in mcp_auth_failures_total by reason.
 */
export function bearerAuth(o: BearerAuthOptions) {
  return async function authenticate(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    try {
      o.accept(request, await o.verifier.verify(request.headers.authorization));
    } catch (err) {
      const failure =
        err instanceof AuthFailure ? err : new AuthFailure('keys_unavailable', 'token could not be verified');
      o.metrics.authFailures.inc({ reason: failure.reason });
      return reply
        .code(failure.statusCode)
        .header('www-authenticate', bearerChallenge(failure, o.metadataUrl, o.scopes))
        .send({
          error: failure.oauthError ?? 'invalid_request',
          [o.textKey]: failure.message,
          code: failure.code,
        });
    }
  };
}
