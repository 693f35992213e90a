// Every composite key built from a caller's verified identity (in-flight calls, idempotency scopes,
// rate limits, budgets, session-scoped cache and redundant-call tracking) is built here, and always
// as the JSON text of an array: JSON.parse inverts it, so two different tuples can never give one key
// whatever the parts hold (NUL, ':', '|', '%', '-', an empty string versus an absent claim). Joining
// with a separator or escaping with encodeURIComponent was not: NUL-joined in-flight keys collided
// across tenants, and a session id "-" shared the key of tokens with no session at all.
import type { Identity } from './identity.js';

type Part = string | number | null;

/** The injective encoding of a tuple of key parts. */
export function compositeKey(...parts: readonly Part[]): string {
  return JSON.stringify(parts);
}

type Who = Pick<Identity, 'tenant' | 'agentId' | 'user' | 'session'>;

/** The caller: tenant + agent (per-caller rate limits and the budget window count the agent). */
export function callerKey(identity: Pick<Identity, 'tenant' | 'agentId'>): string {
  return compositeKey(identity.tenant ?? null, identity.agentId);
}

/** The caller acting for one user: tenant + agent + user (idempotency scopes). */
export function userKey(identity: Pick<Identity, 'tenant' | 'agentId' | 'user'>): string {
  return compositeKey(identity.tenant ?? null, identity.agentId, identity.user ?? null);
}

/** One agent session of one caller and user (session budgets, session-scoped cache, redundancy). */
export function sessionKey(identity: Who): string {
  return compositeKey(
    identity.tenant ?? null,
    identity.agentId,
    identity.user ?? null,
    identity.session ?? null,
  );
}

/** One call in flight: only the same tenant, agent, user and session can name (and cancel) it. */
export function inflightKey(identity: Who, rpcId: string | number): string {
  return compositeKey(
    identity.tenant ?? null,
    identity.agentId,
    identity.user ?? null,
    identity.session ?? null,
    rpcId,
  );
}
