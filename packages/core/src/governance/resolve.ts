// Turns policy + a tool declaration into the governance settings one call runs under, memoised per
// policy object, role set and tool, so the hot path pays a map lookup.
import type { Budget, Limits, PolicyDocument, ToolSettings } from '../policy/policy-schema.js';
import type { AnyTool } from '../tools/tool.js';

/** A value and where in the policy (or the tool declaration) it came from. */
export interface Sourced<T> {
  value: T;
  from: string;
}

/** The governance settings of one (policy, role set, server, tool). */
export interface ResolvedGovernance {
  /** Calls per minute per caller on this server, all tools together. */
  perCallerPerMinute: Sourced<number> | null;
  /** Calls per minute per caller for this tool. */
  perCallerToolPerMinute: Sourced<number> | null;
  /** Calls per minute for this tool, all callers together. */
  globalPerMinute: Sourced<number> | null;
  /** Cost units per agent session, and how long a session is remembered. */
  perSession: Sourced<{ cost: number; hours: number }> | null;
  /** Cost units per caller per window. */
  perWindow: Sourced<{ cost: number; minutes: number }> | null;
  /** What one call of this tool costs against budgets. */
  cost: Sourced<number>;
  /** Cache TTL in seconds (0 = not cached). */
  cacheTtlSeconds: Sourced<number>;
  /** Whether results are reused only within one agent session, or across sessions. */
  cacheScope: 'shared' | 'session';
  /** Distinct people who must approve a call that needs approval (policy `tools.<tool>.approvers`, default 1). */
  approvers: Sourced<number>;
  /** True when any limit or budget applies (otherwise the limiter step is skipped entirely). */
  limited: boolean;
}

/** Reads a `server/tool` or `tool` keyed record, the server-qualified key winning. */
function byTool<T>(
  record: Record<string, T> | undefined,
  server: string,
  tool: string,
): { value: T; key: string } | undefined {
  if (!record) return undefined;
  const qualified = `${server}/${tool}`;
  if (Object.hasOwn(record, qualified)) return { value: record[qualified] as T, key: qualified };
  if (Object.hasOwn(record, tool)) return { value: record[tool] as T, key: tool };
  return undefined;
}

/** The most generous value any of the caller's roles sets (roles add permissions; they never take them away). */
function maxOverRoles<T>(
  policy: PolicyDocument,
  roles: readonly string[],
  pick: (role: { limits?: Limits | undefined; budget?: Budget | undefined }) => T | undefined,
  rank: (v: T) => number,
  defaults: T | undefined,
): Sourced<T> | null {
  let best: Sourced<T> | null = null;
  for (const name of roles) {
    const role = Object.hasOwn(policy.roles, name) ? policy.roles[name] : undefined;
    if (!role) continue;
    const v = pick(role);
    if (v === undefined) continue;
    if (!best || rank(v) > rank(best.value)) best = { value: v, from: `role ${name}` };
  }
  if (best) return best;
  return defaults === undefined ? null : { value: defaults, from: 'defaults' };
}

/** Computes the settings without memoisation (used by explain and by the memoised lookup). */
export function computeGovernance(
  policy: PolicyDocument,
  roles: readonly string[],
  server: string,
  tool: AnyTool,
): ResolvedGovernance {
  const g = tool.governance;
  const settings: { value: ToolSettings; key: string } | undefined = byTool(policy.tools, server, tool.name);
  const d = policy.defaults;
  const perCallerPerMinute = maxOverRoles(
    policy,
    roles,
    (r) => r.limits?.perMinute,
    (v) => v,
    d?.limits?.perMinute,
  );
  let perCallerToolPerMinute = maxOverRoles(
    policy,
    roles,
    (r) => byTool(r.limits?.perTool, server, tool.name)?.value,
    (v) => v,
    byTool(d?.limits?.perTool, server, tool.name)?.value,
  );
  if (!perCallerToolPerMinute && settings?.value.perCallerPerMinute !== undefined) {
    perCallerToolPerMinute = { value: settings.value.perCallerPerMinute, from: `tools.${settings.key}` };
  }
  const globalPerMinute =
    settings?.value.globalPerMinute !== undefined
      ? { value: settings.value.globalPerMinute, from: `tools.${settings.key}` }
      : null;
  const perSessionRaw = maxOverRoles(
    policy,
    roles,
    (r) =>
      r.budget?.perSession !== undefined
        ? { cost: r.budget.perSession, hours: r.budget.sessionHours }
        : undefined,
    (v) => v.cost,
    d?.budget?.perSession !== undefined
      ? { cost: d.budget.perSession, hours: d.budget.sessionHours }
      : undefined,
  );
  const perWindow = maxOverRoles(
    policy,
    roles,
    (r) => r.budget?.perWindow,
    (v) => v.cost / v.minutes,
    d?.budget?.perWindow,
  );
  const declaredCost = Math.max(1, Math.ceil(g.cost ?? 1));
  const cost: Sourced<number> =
    settings?.value.cost !== undefined
      ? { value: settings.value.cost, from: `tools.${settings.key}` }
      : { value: declaredCost, from: g.cost === undefined ? 'default' : 'tool declaration' };
  const declaredTtl = g.readOnly ? Math.max(0, Math.floor(g.cacheTtlSeconds ?? 0)) : 0;
  const policyTtl = settings?.value.cacheTtlSeconds;
  const cacheTtlSeconds: Sourced<number> =
    policyTtl !== undefined && policyTtl < declaredTtl
      ? { value: policyTtl, from: `tools.${settings!.key}` }
      : { value: declaredTtl, from: 'tool declaration' };
  const approvers: Sourced<number> =
    settings?.value.approvers !== undefined
      ? { value: settings.value.approvers, from: `tools.${settings.key}` }
      : { value: 1, from: 'default' };
  return {
    approvers,
    perCallerPerMinute,
    perCallerToolPerMinute,
    globalPerMinute,
    perSession: perSessionRaw,
    perWindow,
    cost,
    cacheTtlSeconds,
    cacheScope: g.cacheScope ?? 'shared',
    limited: Boolean(
      perCallerPerMinute || perCallerToolPerMinute || globalPerMinute || perSessionRaw || perWindow,
    ),
  };
}

const memo = new WeakMap<PolicyDocument, Map<string, ResolvedGovernance>>();

/** The settings for this call; memoised per policy object (a reload swaps the object) and role set. */
export function resolveGovernance(
  policy: PolicyDocument,
  roles: readonly string[],
  server: string,
  tool: AnyTool,
): ResolvedGovernance {
  let byKey = memo.get(policy);
  if (!byKey) {
    byKey = new Map();
    memo.set(policy, byKey);
  }
  const key = `${tool.name}\u0000${roles.length < 2 ? (roles[0] ?? '') : [...roles].sort().join('\u0000')}`;
  let hit = byKey.get(key);
  if (!hit) {
    hit = computeGovernance(policy, roles, server, tool);
    if (byKey.size < 10_000) byKey.set(key, hit);
  }
  return hit;
}
