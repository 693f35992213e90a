// tools/list: the registry filtered by the same decide() that admits tools/call.
import type { Identity } from '../identity/identity.js';
import { decide, toolFacts } from '../policy/decide.js';
import type { PolicyDocument } from '../policy/policy-schema.js';
import type { ToolListing } from '../tools/registry.js';
import type { FleetRuntime } from './runtime.js';

// The listing depends only on the policy object and the caller's set of roles; memoise per policy.
const listingCache = new WeakMap<PolicyDocument, Map<string, ToolListing[]>>();

/**
 * The tools this identity may call, in registration order; none for a suspended agent (its every call
 * is refused: suspensions/).
 */
export function listTools(
  runtime: FleetRuntime,
  identity: Pick<Identity, 'roles'> & Partial<Pick<Identity, 'agentId' | 'tenant'>>,
): ToolListing[] {
  if (identity.agentId !== undefined) {
    const { agentId, tenant } = identity;
    if (runtime.governance.suspensions?.suspensionOf({ agentId, tenant })) return [];
  }
  const policy = runtime.policy.current;
  let byRoles = listingCache.get(policy);
  if (!byRoles) {
    byRoles = new Map();
    listingCache.set(policy, byRoles);
  }
  // JSON of the sorted roles: unambiguous whatever a role name contains (a joined string is not).
  const key = JSON.stringify([...identity.roles].sort());
  let listed = byRoles.get(key);
  if (!listed) {
    listed = runtime.registry
      .all()
      .filter((reg) => decide(policy, identity, runtime.server, toolFacts(reg.tool)).allowed)
      .map((reg) => reg.listing);
    if (byRoles.size < 1_000) byRoles.set(key, listed);
  }
  return listed;
}
