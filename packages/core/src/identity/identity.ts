// Who is calling: built only from a verified token's claims, never from tool arguments.
import type { JWTPayload } from 'jose';
import type { ClaimNames } from '../config.js';

export type { Identity } from '../kernel/identity.js';

import type { Identity } from '../kernel/identity.js';

function readPath(payload: JWTPayload, path: string): unknown {
  let value: unknown = payload;
  for (const part of path.split('.')) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

function asStrings(value: unknown): string[] {
  if (typeof value === 'string') return value.split(/[\s,]+/).filter(Boolean);
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  return [];
}

function asString(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/**
 * Says which identity claim is present but not a non-empty string (a number, an array, `""`...), or
 * `undefined`. Such a token is refused: read as "no tenant", a numeric org id would put every tenant
 * in one shared cache, rate-limit, idempotency and approval scope.
 */
export function malformedClaim(payload: JWTPayload, names: ClaimNames): string | undefined {
  for (const path of [names.agent, names.tenant, names.user, names.session]) {
    const value = readPath(payload, path);
    if (value !== undefined && asString(value) === undefined) return path;
  }
  // A role name with a control character is no role a policy can name (role names are lowercase
  // words); such a token is refused rather than read, so it cannot alias another set of roles.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the check is for control characters
  const control = /[\u0000-\u001f\u007f-\u009f]/;
  const roles = readPath(payload, names.roles);
  const listed = typeof roles === 'string' ? [roles] : Array.isArray(roles) ? roles : [];
  if (listed.some((r) => typeof r === 'string' && control.test(r))) return names.roles;
  return undefined;
}

/** Reads an identity out of verified claims using the configured claim names (dotted paths allowed). */
export function identityFromClaims(payload: JWTPayload, names: ClaimNames): Identity | undefined {
  const agentId = asString(readPath(payload, names.agent));
  if (!agentId) return undefined;
  return {
    agentId,
    roles: asStrings(readPath(payload, names.roles)),
    scopes: asStrings(readPath(payload, names.scopes)),
    tenant: asString(readPath(payload, names.tenant)),
    user: asString(readPath(payload, names.user)),
    session: asString(readPath(payload, names.session)),
    issuer: payload.iss,
    expiresAt: payload.exp,
    claims: payload,
  };
}

/** Reads a claim by dotted path (used to bind tool parameters to token claims). */
export function claimValue(identity: Identity, path: string): unknown {
  return readPath(identity.claims, path);
}
