// THE policy decision. tools/list filtering and tools/call admission both call decide(); nothing else decides.
import picomatch from 'picomatch';
import type { Identity } from '../identity/identity.js';
import type { Grant, PolicyDocument } from './policy-schema.js';

/** What decide() needs to know about a tool. */
export interface ToolFacts {
  name: string;
  readOnly: boolean;
  needsApproval: boolean;
}

/** The answer for one (identity, server, tool). */
export interface Decision {
  allowed: boolean;
  /** Why, in words for the audit record and `fleet policy explain`. */
  reason: string;
  /** The roles whose grants allow the tool. */
  viaRoles: string[];
  /** Constraint values from the matching grants; `null` when at least one grant leaves the tool unconstrained. */
  constraints: unknown[] | null;
  /** A human must approve each call. */
  approvalRequired: boolean;
}

const matcherCache = new Map<string, (s: string) => boolean>();
function matches(patterns: readonly string[], value: string): boolean {
  for (const p of patterns) {
    let m = matcherCache.get(p);
    if (!m) {
      m = picomatch(p, { dot: true, nocase: false });
      matcherCache.set(p, m);
    }
    if (m(value)) return true;
  }
  return false;
}

/** Whether a grant covers this tool on this server (ignoring constraints). */
export function grantCovers(grant: Grant, server: string, tool: ToolFacts): boolean {
  if (!matches(grant.servers, server)) return false;
  if (grant.access === 'read' && !tool.readOnly) return false;
  if (!matches(grant.tools, tool.name)) return false;
  return !matches(grant.except, tool.name);
}

/** Decides whether `identity` may use `tool` on `server` under `policy`. Deny by default. */
export function decide(
  policy: PolicyDocument,
  identity: Pick<Identity, 'roles'>,
  server: string,
  tool: ToolFacts,
): Decision {
  const viaRoles: string[] = [];
  let constraints: unknown[] | null = [];
  let approval = tool.needsApproval;
  for (const roleName of identity.roles) {
    const role = Object.hasOwn(policy.roles, roleName) ? policy.roles[roleName] : undefined;
    if (!role) continue;
    for (const grant of role.grants) {
      if (!grantCovers(grant, server, tool)) continue;
      if (!viaRoles.includes(roleName)) viaRoles.push(roleName);
      if (Object.hasOwn(grant.constraints, tool.name)) constraints?.push(grant.constraints[tool.name]);
      else constraints = null;
      if (grant.approval.length > 0 && matches(grant.approval, tool.name)) approval = true;
    }
  }
  if (viaRoles.length === 0) {
    const reason =
      identity.roles.length === 0
        ? 'token carries no roles'
        : `no grant for ${server}/${tool.name} in roles ${identity.roles.join(', ')}`;
    return { allowed: false, reason, viaRoles, constraints: [], approvalRequired: false };
  }
  return {
    allowed: true,
    reason: `granted by role ${viaRoles.join(', ')}`,
    viaRoles,
    constraints,
    approvalRequired: approval,
  };
}
