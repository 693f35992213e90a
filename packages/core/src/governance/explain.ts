// What governance a caller with some roles meets on one tool, for `fleet policy explain`.
import { APPROVAL_META_KEY, IDEMPOTENCY_META_KEY } from '../kernel/meta-keys.js';
import { type Decision, decide, dimensionKey, toolFacts } from '../policy/decide.js';
import type { PolicyDocument } from '../policy/policy-schema.js';
import { APPROVAL_ARG, IDEMPOTENCY_ARG, ownedReserved } from '../tools/reserved-listing.js';
import type { AnyTool } from '../tools/tool.js';
import { computeGovernance, type ResolvedGovernance } from './resolve.js';

/** The governance of one (roles, server, tool), with where each value comes from. */
export interface GovernanceExplanation {
  allowed: boolean;
  settings: ResolvedGovernance;
  approvalRequired: boolean;
  /** Timeout of the tool in ms; null = the server's TOOL_TIMEOUT_MS. */
  timeoutMs: number | null;
  idempotency: { argument: string; meta: string } | null;
  /** Human-readable lines, one per fact. */
  lines: string[];
}

/** The tool's constraint dimension, the value in force and where it comes from. */
function constraintLine(d: Decision, server: string, tool: AnyTool): string {
  const dimension = tool.constraint?.dimension;
  if (!dimension) return 'constraint: none declared';
  const key = dimensionKey(server, dimension.name);
  const sources = (d.constraintSources ?? []).map(
    (s) =>
      `role ${s.role} grant #${s.grant} ${s.key === key ? `"${s.key}"` : `"${s.key}" (tool override)`}${s.unconstrained ? ' = "*"' : ''}`,
  );
  const gaps = (d.gaps ?? []).map(
    (g) =>
      `role ${g.role} grant #${g.grant} leaves it unset (does not grant it; its approval list still applies)`,
  );
  const value = !d.allowed
    ? 'not granted'
    : d.constraints === null
      ? 'unconstrained ("*")'
      : JSON.stringify(d.constraints);
  const from = [...sources, ...gaps].join('; ');
  return `constraint ${key} (${dimension.description}): ${value}${from ? ` (from ${from})` : ''}`;
}

/** Explains rate limits, budgets, cost, cache, idempotency, approval and timeout for a caller with `roles`. */
export function explainGovernance(
  policy: PolicyDocument,
  roles: readonly string[],
  server: string,
  tool: AnyTool,
): GovernanceExplanation {
  const g = computeGovernance(policy, roles, server, tool);
  const decision = decide(policy, { roles: [...roles] }, server, toolFacts(tool));
  const lines: string[] = [constraintLine(decision, server, tool)];
  const from = (s: { from: string }) => ` (from ${s.from})`;
  lines.push(
    g.perCallerPerMinute
      ? `rate limit per caller: ${g.perCallerPerMinute.value}/min on ${server}, all tools${from(g.perCallerPerMinute)}`
      : 'rate limit per caller: none',
  );
  lines.push(
    g.perCallerToolPerMinute
      ? `rate limit per caller on ${tool.name}: ${g.perCallerToolPerMinute.value}/min${from(g.perCallerToolPerMinute)}`
      : `rate limit per caller on ${tool.name}: none`,
  );
  lines.push(
    g.globalPerMinute
      ? `global ceiling on ${tool.name}: ${g.globalPerMinute.value}/min, all callers${from(g.globalPerMinute)}`
      : `global ceiling on ${tool.name}: none`,
  );
  lines.push(`cost per call: ${g.cost.value}${from(g.cost)}`);
  lines.push(
    g.perSession
      ? `session budget: ${g.perSession.value.cost} cost units per agent session (kept ${g.perSession.value.hours} h)${from(g.perSession)}`
      : 'session budget: none',
  );
  lines.push(
    g.perWindow
      ? `window budget: ${g.perWindow.value.cost} cost units per ${g.perWindow.value.minutes} min per caller${from(g.perWindow)}`
      : 'window budget: none',
  );
  lines.push(
    g.cacheTtlSeconds.value > 0 && !decision.approvalRequired
      ? `result cache: ${g.cacheTtlSeconds.value} s, ${g.cacheScope === 'session' ? 'within one agent session' : 'shared by callers with the same tenant, user, roles and constraints'}${from(g.cacheTtlSeconds)}`
      : 'result cache: off',
  );
  const idempotency = tool.governance.readOnly
    ? null
    : {
        argument: ownedReserved(tool).idempotency ? `${IDEMPOTENCY_ARG} (the tool's own)` : IDEMPOTENCY_ARG,
        meta: IDEMPOTENCY_META_KEY,
      };
  lines.push(
    idempotency
      ? `idempotency key: argument ${idempotency.argument} or _meta "${idempotency.meta}"`
      : 'idempotency key: not applicable (read-only)',
  );
  lines.push(
    decision.approvalRequired
      ? `human approval: required for every call (resume with argument ${APPROVAL_ARG} or _meta "${APPROVAL_META_KEY}")`
      : 'human approval: not required',
  );
  const timeoutMs = tool.governance.timeoutMs ?? null;
  lines.push(`timeout: ${timeoutMs === null ? 'server default (TOOL_TIMEOUT_MS)' : `${timeoutMs} ms`}`);
  return {
    allowed: decision.allowed,
    settings: g,
    approvalRequired: decision.allowed && decision.approvalRequired,
    timeoutMs,
    idempotency,
    lines,
  };
}
