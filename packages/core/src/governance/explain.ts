// What governance a caller with some roles meets on one tool, for `fleet policy explain`.
import { type CallKinds, rolesApply } from '../flow/engine.js';
import type { FlowPolicy, FlowRule } from '../flow/flow-policy.js';
import { toolKeyMatches, toolMatchesAny } from '../flow/labels.js';
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
      ? `human approval: required for every call${g.approvers.value > 1 ? `, by ${g.approvers.value} distinct approvers${from(g.approvers)}` : ''} (resume with argument ${APPROVAL_ARG} or _meta "${APPROVAL_META_KEY}")`
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

const KIND_WORDS: Record<FlowRule['to'], string> = {
  external: 'sends outside the company',
  internal: 'sends only inside the company',
  send: 'sends anywhere',
  destructive: 'destructive tools',
  mutating: 'tools that change something',
};

/** A rule in one line: `financial-external: after financial → sends outside the company, approval`. */
export function describeFlowRule(r: FlowRule): string {
  const tools = r.tools ? ` (tools ${r.tools.join(', ')})` : '';
  const roles = r.roles ? ` [roles ${r.roles.join(', ')}]` : '';
  return `${r.name}: a session that read ${r.after.join(' or ')} → ${KIND_WORDS[r.to]}${tools}${roles}: ${r.action === 'deny' ? 'refused' : 'held for approval'}`;
}

/** The flow section in lines (rules, copy detection, anomaly scores), for `fleet policy explain`. */
export function explainFlowPolicy(flow: FlowPolicy | undefined): string[] {
  if (!flow) return ['flow guard: off (the policy has no flow section)'];
  const lines = [
    `flow guard: a session's reads are remembered ${flow.sessionHours} h; company email domains: ${flow.internal.emailDomains.join(', ') || 'none (every email is external)'}`,
  ];
  for (const r of flow.rules) lines.push(`flow rule ${describeFlowRule(r)}`);
  if (flow.rules.length === 0) lines.push('flow rules: none');
  const c = flow.copy;
  lines.push(
    c
      ? `copy detection: outbound content of ${c.to === 'any' ? 'every send' : `${c.to} sends`} holding >= ${c.minMatches} values that ${c.of.join('/')} reads returned to the session: ${c.action === 'deny' ? 'refused' : 'held for approval'}${c.roles ? ` [roles ${c.roles.join(', ')}]` : ''}`
      : 'copy detection: off',
  );
  const a = flow.anomaly;
  lines.push(
    a
      ? `anomaly scores: learned from ${a.learnDays} days of audit trail, trusted after ${a.minBaseline} transitions out of a tool; ${a.holdAbove === undefined ? 'scored only, nothing held' : `calls above ${a.holdAbove} bits held for approval${a.roles ? ` [roles ${a.roles.join(', ')}]` : ''}`}`
      : 'anomaly scores: off',
  );
  return lines;
}

/**
 * What the flow guard does with one tool for a caller with `roles`: the labels its results get (its
 * own, the policy's for it, the policy's for the sources its server's tools name) and the rules,
 * copy detection and anomaly hold that can apply to it. Empty without a flow section.
 */
export function explainFlow(
  flow: FlowPolicy | undefined,
  roles: readonly string[],
  server: string,
  tool: AnyTool,
): string[] {
  if (!flow) return [];
  const g = tool.governance;
  const lines: string[] = [];
  const own = [...(g.labels ?? [])];
  for (const [key, ls] of Object.entries(flow.labels.tools))
    if (toolKeyMatches(key, server, tool.name)) for (const l of ls) if (!own.includes(l)) own.push(l);
  const bySource = Object.entries(flow.labels.sources)
    .filter(([key]) => key.startsWith(`${server}.`))
    .map(
      ([key, names]) =>
        `${key} ${Object.entries(names)
          .map(([n, ls]) => `${n} → ${ls.join(', ')}`)
          .join('; ')}`,
    );
  lines.push(
    `flow labels of its results: ${own.length ? own.join(', ') : 'none of its own'}${bySource.length && g.readOnly ? `; by the sources it names: ${bySource.join(' | ')}` : ''}; untrusted when a result is marked untrusted`,
  );
  // What the call can be: destructive/mutating are known; where it sends is its own `sends` or what
  // its server's step declares per call (any tool that changes something may).
  const mayDeclare = !g.readOnly && g.sends === undefined;
  const kinds: CallKinds = {
    external: g.sends === 'external' || mayDeclare,
    internal: g.sends === 'internal' || mayDeclare,
    send: g.sends !== undefined || mayDeclare,
    destructive: g.destructive === true,
    mutating: !g.readOnly,
  };
  const perCall = (to: FlowRule['to']) =>
    mayDeclare && (to === 'external' || to === 'internal' || to === 'send')
      ? ', when a call sends there'
      : '';
  const rules = flow.rules.filter(
    (r) =>
      kinds[r.to] && rolesApply(r.roles, roles) && (!r.tools || toolMatchesAny(r.tools, server, tool.name)),
  );
  lines.push(
    rules.length
      ? `flow rules that can hold it: ${rules.map((r) => `${r.name} (after ${r.after.join('/')}: ${r.action}${perCall(r.to)})`).join('; ')}`
      : 'flow rules that can hold it: none',
  );
  const c = flow.copy;
  if (c && rolesApply(c.roles, roles) && (c.to === 'any' ? kinds.send : kinds[c.to]))
    lines.push(
      `copy detection: its outbound content is checked for ${c.of.join('/')} values the session read (>= ${c.minMatches}, ${c.action}${mayDeclare ? ', when a call sends' : ''})`,
    );
  const a = flow.anomaly;
  if (a?.holdAbove !== undefined && rolesApply(a.roles, roles))
    lines.push(`anomaly: held for approval when its score is above ${a.holdAbove} bits`);
  else if (a) lines.push('anomaly: scored, never held');
  return lines;
}
