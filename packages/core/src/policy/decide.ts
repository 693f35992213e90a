// THE policy decision. tools/list filtering and tools/call admission both call decide(); nothing else decides.
import picomatch from 'picomatch';
import type { Identity } from '../identity/identity.js';
import { type AnyTool, UNCONSTRAINED } from '../tools/tool.js';
import type { Grant, PolicyDocument } from './policy-schema.js';

/** What decide() needs to know about a tool. */
export interface ToolFacts {
  name: string;
  readOnly: boolean;
  needsApproval: boolean;
  /** The constraint dimension the tool declares (e.g. `schemas`), or null when it declares none. */
  dimension: string | null;
}

/** The facts decide() needs about a tool. */
export function toolFacts(tool: AnyTool): ToolFacts {
  const g = tool.governance;
  return {
    name: tool.name,
    readOnly: g.readOnly,
    needsApproval: Boolean(g.needsApproval || g.destructive),
    dimension: tool.constraint?.dimension.name ?? null,
  };
}

/** The policy key of a server's constraint dimension: `"<server>.<dimension>"`, e.g. `database.schemas`. */
export function dimensionKey(server: string, dimension: string): string {
  return `${server}.${dimension}`;
}

/** The policy key overriding a dimension's value for one tool of one server: `"<server>/<tool>"`. */
export function overrideKey(server: string, tool: string): string {
  return `${server}/${tool}`;
}

/** Where a constraint value of a decision comes from. */
export interface ConstraintSource {
  role: string;
  /** Index of the grant in the role's `grants` (0-based). */
  grant: number;
  /** The key that gave it: the dimension's (`database.schemas`) or the tool's own (`database/run_query`, an override). */
  key: string;
  /** The value is `"*"`: explicitly unconstrained. */
  unconstrained: boolean;
}

/**
 * A grant that matches a constrained tool but leaves its dimension unset, so it does not grant it
 * (its `approval` list still applies to the tool when another grant grants it).
 */
export interface ConstraintGap {
  role: string;
  grant: number;
  /** The dimension key the grant lacks, e.g. `database.schemas`. */
  key: string;
}

/** The answer for one (identity, server, tool). */
export interface Decision {
  allowed: boolean;
  /** Why, in words for the audit record and `fleet policy explain`. */
  reason: string;
  /** The roles whose grants allow the tool. */
  viaRoles: string[];
  /**
   * Values of the tool's constraint dimension from the covering grants; `null` when the tool declares
   * no constraint or a covering grant gives `"*"` (explicitly unconstrained).
   */
  constraints: unknown[] | null;
  /** A human must approve each call. */
  approvalRequired: boolean;
  /** For a tool with a constraint dimension: where each covering grant's value comes from. */
  constraintSources?: ConstraintSource[];
  /** Grants that match the tool but leave its dimension unset (fail closed: they do not grant it). */
  gaps?: ConstraintGap[];
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

/** Whether a grant matches this tool on this server (ignoring constraints). */
export function grantCovers(grant: Grant, server: string, tool: ToolFacts): boolean {
  if (!matches(grant.servers, server)) return false;
  if (grant.access === 'read' && !tool.readOnly) return false;
  if (!matches(grant.tools, tool.name)) return false;
  return !matches(grant.except, tool.name);
}

/**
 * The key of `grant` that constrains `tool` on `server`: the tool's own (`"<server>/<tool>"`, an
 * override) or its dimension's key; undefined when the grant sets neither (a gap) or the tool
 * declares no dimension.
 */
export function constraintKeyOf(grant: Grant, server: string, tool: ToolFacts): string | undefined {
  if (tool.dimension === null) return undefined;
  const own = overrideKey(server, tool.name);
  if (Object.hasOwn(grant.constraints, own)) return own;
  const key = dimensionKey(server, tool.dimension);
  return Object.hasOwn(grant.constraints, key) ? key : undefined;
}

/**
 * Decides whether `identity` may use `tool` on `server` under `policy`. Deny by default.
 * A tool with a constraint dimension is covered only by grants that give its dimension a value
 * (or `"*"`); a grant that leaves it unset does not grant it: fail closed, never open. Every grant
 * that matches the tool (servers, tools, except, access) contributes its `approval` requirement,
 * whether or not it grants the tool: an approval line never disappears because another grant
 * is the one that grants.
 */
export function decide(
  policy: PolicyDocument,
  identity: Pick<Identity, 'roles'>,
  server: string,
  tool: ToolFacts,
): Decision {
  const viaRoles: string[] = [];
  const values: unknown[] = [];
  const sources: ConstraintSource[] = [];
  const gaps: ConstraintGap[] = [];
  let open = tool.dimension === null;
  let approval = tool.needsApproval;
  for (const roleName of identity.roles) {
    const role = Object.hasOwn(policy.roles, roleName) ? policy.roles[roleName] : undefined;
    if (!role) continue;
    role.grants.forEach((grant, i) => {
      if (!grantCovers(grant, server, tool)) return;
      if (grant.approval.length > 0 && matches(grant.approval, tool.name)) approval = true;
      if (tool.dimension !== null) {
        const key = constraintKeyOf(grant, server, tool);
        if (key === undefined) {
          gaps.push({ role: roleName, grant: i, key: dimensionKey(server, tool.dimension) });
          return;
        }
        const value = grant.constraints[key];
        const unconstrained = value === UNCONSTRAINED;
        if (unconstrained) open = true;
        else values.push(value);
        sources.push({ role: roleName, grant: i, key, unconstrained });
      }
      if (!viaRoles.includes(roleName)) viaRoles.push(roleName);
    });
  }
  const extra = tool.dimension === null ? {} : { constraintSources: sources, gaps };
  if (viaRoles.length === 0) {
    let reason =
      identity.roles.length === 0
        ? 'token carries no roles'
        : `no grant for ${server}/${tool.name} in roles ${identity.roles.join(', ')}`;
    if (gaps.length > 0) {
      const where = gaps.map((g) => `role ${g.role} grant #${g.grant}`).join(', ');
      reason = `${where} matches ${server}/${tool.name} but leaves constraint ${gaps[0]?.key} unset, so it does not grant it (give ${gaps[0]?.key} a value, or "*" for unconstrained)`;
    }
    return { allowed: false, reason, viaRoles, constraints: [], approvalRequired: false, ...extra };
  }
  return {
    allowed: true,
    reason: `granted by role ${viaRoles.join(', ')}`,
    viaRoles,
    constraints: open ? null : values,
    approvalRequired: approval,
    ...extra,
  };
}
