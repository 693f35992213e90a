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
  // A claim with a control character or an unpaired UTF-16 surrogate is refused, not read: the audit
  // trail cannot store it as it is (it is escaped or replaced there), so what is stored would differ
  // from what the call path uses — an anomaly baseline learned under one tenant, agent or role and
  // scored under another, a suspension or an approval bound to a name no record shows. Role names
  // are lowercase words; such a token could otherwise alias another set of roles.
  for (const path of [names.agent, names.tenant, names.user, names.session]) {
    const value = readPath(payload, path);
    if (value === undefined) continue;
    const text = asString(value);
    if (text === undefined || !printable(text)) return path;
  }
  const roles = readPath(payload, names.roles);
  const listed = typeof roles === 'string' ? [roles] : Array.isArray(roles) ? roles : [];
  if (listed.some((r) => typeof r === 'string' && !printable(r))) return names.roles;
  return undefined;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: the check is for control characters
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** No control character (C0, DEL, C1) and no unpaired surrogate. */
function printable(s: string): boolean {
  return !CONTROL.test(s) && s.isWellFormed();
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
