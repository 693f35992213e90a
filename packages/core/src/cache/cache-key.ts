// Cache keys: server + tool + canonical arguments + everything of the caller that can change a
// result (tenant, user, role set, the policy constraint values in force, the session for
// session-scoped tools) + what the tool's own cacheKey hook adds.

import type { Identity } from '../identity/identity.js';
import { canonicalJson, sha256 } from '../kernel/fingerprint.js';

/** What goes into one cache key. */
export interface CacheKeyParts {
  server: string;
  tool: string;
  /** Fingerprint of the validated arguments. */
  argsHash: string;
  identity: Identity;
  /** The decision's constraint values (`null` = unconstrained). */
  constraints: unknown[] | null;
  scope: 'shared' | 'session';
  /** Agent session key (used when scope is `session`). */
  session: string;
  /** What the tool's cacheKey hook returned, if it has one. */
  extra: string | undefined;
}

/** Builds the opaque cache key. Two calls share an entry only when every part is equal. */
export function buildCacheKey(p: CacheKeyParts): string {
  const roles = p.identity.roles.length < 2 ? p.identity.roles : [...p.identity.roles].sort();
  const material = canonicalJson([
    p.argsHash,
    p.identity.tenant ?? null,
    p.identity.user ?? null,
    roles,
    p.constraints,
    p.scope === 'session' ? p.session : null,
    p.extra ?? null,
  ]);
  return `${encodeURIComponent(p.server)}:${p.tool}:${sha256(material)}`;
}
