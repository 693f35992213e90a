// The flow guard's decision (issue 17): given what the agent session read before (its taint), what this
// call is (sends where, changes what) and the policy's `flow` section, whether the call runs, is held
// for a person, or is refused — with a reason that names the earlier reads (tool, time, source), never
// a data value. Pure except for the copy-detection lookup, which the caller supplies.
import { type ContentWindow, copiedValues } from './fingerprints.js';
import type { FlowPolicy, FlowRule, OutboundDeclaration } from './flow-policy.js';
import { toolMatchesAny } from './labels.js';

export { labelsOf, type ResultLabel, toolKeyMatches } from './labels.js';

/** One earlier read that gave the session a label. */
export interface TaintRead {
  label: string;
  server: string;
  tool: string;
  /** ISO time of the read. */
  at: string;
  auditId: string;
  /** The source that gave the label, e.g. `schema billing`. */
  source?: string;
}

/** What an agent session read so far: each label with the (earliest) reads that gave it, and its last call. */
export interface SessionTaint {
  labels: Map<string, TaintRead[]>;
  /** The session's last call, `server/tool`. */
  last?: string;
  /**
   * Set (to the store's cap) when the session's fingerprints reached the taint store's cap: values it
   * read after that are not fingerprinted, so copy detection cannot see them (a send it applies to is
   * held: {@link checkFlow}).
   */
  fingerprintsCapped?: number;
}

/** The reason of a hold when copy detection is blind for the session (its fingerprints are capped). */
export function copyCappedReason(cap: number): string {
  return `flow copy detection: this session read more values than copy detection can compare (${cap.toLocaleString('en-US')}); a person checks what leaves`;
}

/** The facts of the call being decided. */
export interface FlowCallFacts {
  server: string;
  tool: string;
  readOnly: boolean;
  destructive: boolean;
  /** The tool's static `governance.sends` (used when no server step declared the destinations). */
  sends?: 'internal' | 'external' | undefined;
}

/** The anomaly score of a call and everything it was computed from (anomaly.ts scores it). */
export interface FlowAnomalyScore {
  /** Surprise in bits: -log2 p (0 when there is no baseline). */
  score: number;
  /** The smoothed probability of `to` after `from` in the baseline used (1 when there is none). */
  p: number;
  from: string;
  to: string;
  /** Times the baseline saw this transition. */
  count: number;
  /** Transitions out of `from` the baseline saw. */
  total: number;
  /** `agent:<id>`, `role:<name>` or `none`. */
  baseline: string;
}

/** One reason a call is held or refused. */
export interface FlowFinding {
  kind: 'rule' | 'copy' | 'anomaly';
  /** The rule's name; `copy` (or `copy-capped`: copy detection is blind for the session); `anomaly`. */
  name: string;
  action: 'approval' | 'deny';
  reason: string;
}

/** The flow guard's answer for one call. */
export interface FlowVerdict {
  action: 'allow' | 'approval' | 'deny';
  findings: FlowFinding[];
  /** Copy detection ran: distinct returned values found in the outbound content. */
  copy?: { matches: number };
}

/** Where a matched fingerprint came from. */
export interface CopySource {
  label: string;
  server: string;
  tool: string;
  at: string;
}

/** What {@link checkFlow} decides on. */
export interface FlowInput {
  policy: FlowPolicy;
  roles: readonly string[];
  call: FlowCallFacts;
  /** What the server's steps declared (`GovernedCall.sends`). */
  outbound: OutboundDeclaration | undefined;
  /** The validated arguments (their string leaves are the content of a send nobody declared). */
  args: unknown;
  taint: SessionTaint;
  /**
   * Which of the outbound content's fingerprints this session's sensitive reads returned: a set, or a
   * map to where each came from (the taint store's matchFingerprints). Absent: no copy detection.
   */
  copyMatches?: (fps: readonly string[]) => Promise<ReadonlySet<string> | ReadonlyMap<string, CopySource>>;
  /**
   * Every candidate fingerprint of outbound texts (fingerprints.ts's contentFingerprints under the
   * fleet's key); needed with copyMatches.
   */
  fingerprintsOf?: (texts: readonly string[]) => string[];
  /**
   * Every candidate window of outbound texts with its place (fingerprints.ts's contentWindows under the
   * fleet's key). Preferred to fingerprintsOf: the count is then of distinct copied VALUES (non-
   * overlapping matched spans, fingerprints.ts's copiedValues), not of matched fingerprints, so one
   * value with an id or e-mail inside it, or in two texts, counts once. With only fingerprintsOf each
   * matched fingerprint counts.
   */
  windowsOf?: (texts: readonly string[]) => readonly ContentWindow[];
  anomaly?: FlowAnomalyScore | undefined;
}

/** The kinds of call a rule's `to` names, as this call is. */
export interface CallKinds {
  external: boolean;
  internal: boolean;
  send: boolean;
  destructive: boolean;
  mutating: boolean;
}

/**
 * What kind of call this is. A declared outbound with destinations decides where it sends; a tool
 * that declares `sends` with no (or an empty) declaration counts as sending there (fail toward the rule).
 */
export function callKinds(call: FlowCallFacts, outbound: OutboundDeclaration | undefined): CallKinds {
  const dests = outbound?.destinations ?? [];
  const declared = dests.length > 0;
  const external = declared ? dests.some((d) => d.to === 'external') : call.sends === 'external';
  const internal = declared ? dests.every((d) => d.to === 'internal') : call.sends === 'internal';
  return {
    external,
    internal,
    send: declared || call.sends !== undefined,
    destructive: call.destructive,
    mutating: !call.readOnly,
  };
}

/** Whether `roles` (the caller's) meets a setting's `roles` (unset: every role). */
export function rolesApply(setting: readonly string[] | undefined, roles: readonly string[]): boolean {
  return setting === undefined || setting.some((r) => roles.includes(r));
}

/** Whether a rule could ever apply to this tool for these roles, taint aside (explain, and the step's "need taint?"). */
export function ruleApplies(
  rule: FlowRule,
  call: FlowCallFacts,
  kinds: CallKinds,
  roles: readonly string[],
): boolean {
  return (
    kinds[rule.to] &&
    rolesApply(rule.roles, roles) &&
    (rule.tools === undefined || toolMatchesAny(rule.tools, call.server, call.tool))
  );
}

/** `2026-11-29T21:03:04Z` (seconds are enough for a person reading the reason). */
function when(at: string): string {
  return at.replace(/\.\d+Z$/, 'Z');
}

/** `database/run_query at 2026-11-29T21:03:04Z, schema billing` for up to 3 reads, and how many more. */
export function describeReads(
  reads: readonly Pick<TaintRead, 'server' | 'tool' | 'at' | 'source'>[],
): string {
  const shown = reads
    .slice(0, 3)
    .map((r) => `${r.server}/${r.tool} at ${when(r.at)}${r.source ? `, ${r.source}` : ''}`);
  const more = reads.length > 3 ? `; and ${reads.length - 3} more` : '';
  return shown.join('; ') + more;
}

function destinationsOf(outbound: OutboundDeclaration | undefined, to?: 'internal' | 'external'): string {
  const ids = (outbound?.destinations ?? []).filter((d) => !to || d.to === to).map((d) => d.id);
  if (ids.length === 0) return '';
  return ` (${ids.slice(0, 3).join(', ')}${ids.length > 3 ? `, and ${ids.length - 3} more` : ''})`;
}

function whatTheCallDoes(
  rule: FlowRule,
  call: FlowCallFacts,
  outbound: OutboundDeclaration | undefined,
): string {
  switch (rule.to) {
    case 'external':
      return `${call.tool} sends outside the company${destinationsOf(outbound, 'external')}`;
    case 'internal':
      return `${call.tool} sends inside the company${destinationsOf(outbound)}`;
    case 'send':
      return `${call.tool} sends${destinationsOf(outbound)}`;
    case 'destructive':
      return `${call.tool} is destructive`;
    case 'mutating':
      return `${call.tool} changes data`;
  }
}

function ruleReason(rule: FlowRule, hits: readonly [string, TaintRead[]][], input: FlowInput): string {
  const reads = hits.map(([label, rs]) => `${label} data (${describeReads(rs)})`).join(' and ');
  return `flow rule "${rule.name}": this session read ${reads} and ${whatTheCallDoes(rule, input.call, input.outbound)}`;
}

/** Every string leaf of a value (the content of a send whose tool declared `sends` but no outbound). */
export function stringLeaves(v: unknown, out: string[] = [], depth = 0): string[] {
  if (typeof v === 'string') out.push(v);
  else if (depth < 64 && v !== null && typeof v === 'object')
    for (const x of Array.isArray(v) ? v : Object.values(v)) stringLeaves(x, out, depth + 1);
  return out;
}

function anomalyReason(a: FlowAnomalyScore, holdAbove: number): string {
  const whose = a.baseline.startsWith('role:')
    ? `role ${a.baseline.slice(5)}`
    : a.baseline.startsWith('agent:')
      ? `agent ${a.baseline.slice(6)}`
      : a.baseline;
  const after = a.from === '^' ? 'at the start of the session' : `after ${a.from}`;
  const p = String(Number(a.p.toPrecision(2)));
  return (
    `unusual sequence for ${whose}: ${a.to} ${after} (seen ${a.count} of ${a.total} transitions from it; ` +
    `p=${p}, ${a.score.toFixed(1)} bits > ${holdAbove})`
  );
}

/**
 * The verdict for one call: the flow rules whose `after` labels the session carries and whose `to`
 * this call is; copy detection of the outbound content; the anomaly threshold. Deny when any finding
 * denies, approval when any holds, else allow.
 */
export async function checkFlow(input: FlowInput): Promise<FlowVerdict> {
  const { policy, roles, call, outbound, taint } = input;
  const findings: FlowFinding[] = [];
  const kinds = callKinds(call, outbound);
  for (const rule of policy.rules) {
    if (!ruleApplies(rule, call, kinds, roles)) continue;
    const hits: [string, TaintRead[]][] = [];
    for (const label of rule.after) {
      const reads = taint.labels.get(label);
      if (reads && reads.length > 0) hits.push([label, reads]);
    }
    if (hits.length === 0) continue;
    findings.push({
      kind: 'rule',
      name: rule.name,
      action: rule.action,
      reason: ruleReason(rule, hits, input),
    });
  }
  let copy: FlowVerdict['copy'];
  const cp = policy.copy;
  // Fail closed: a session that filled its fingerprint cap (junk reads first, say) would send its
  // later reads' values unseen. A send copy detection applies to is held for a person.
  if (
    cp &&
    taint.fingerprintsCapped !== undefined &&
    rolesApply(cp.roles, roles) &&
    (cp.to === 'any' ? kinds.send : kinds[cp.to]) &&
    cp.of.some((l) => (taint.labels.get(l)?.length ?? 0) > 0)
  )
    findings.push({
      kind: 'copy',
      name: 'copy-capped',
      action: 'approval',
      reason: copyCappedReason(taint.fingerprintsCapped),
    });
  if (
    cp &&
    input.copyMatches &&
    (input.windowsOf !== undefined || input.fingerprintsOf !== undefined) &&
    rolesApply(cp.roles, roles) &&
    (cp.to === 'any' ? kinds.send : kinds[cp.to]) &&
    cp.of.some((l) => (taint.labels.get(l)?.length ?? 0) > 0)
  ) {
    const declared = (outbound?.destinations.length ?? 0) > 0;
    const content = declared ? (outbound?.content ?? []) : stringLeaves(input.args);
    const windows = content.length && input.windowsOf ? input.windowsOf(content) : undefined;
    const fps = windows
      ? [...new Set(windows.map((w) => w.fp))]
      : content.length && input.fingerprintsOf
        ? [...new Set(input.fingerprintsOf(content))]
        : [];
    const found = fps.length ? await input.copyMatches(fps) : new Set<string>();
    // One fingerprint per distinct copied value (windows), else every matched fingerprint.
    const matched = windows
      ? copiedValues(windows, (f) => found.has(f)).map((w) => w.fp)
      : fps.filter((f) => found.has(f));
    copy = { matches: matched.length };
    if (matched.length >= cp.minMatches) {
      const from: Pick<TaintRead, 'server' | 'tool' | 'at' | 'source'>[] = [];
      const labels = new Set<string>();
      if (found instanceof Map) {
        const seen = new Set<string>();
        for (const f of matched) {
          const s = found.get(f) as CopySource | undefined;
          if (!s) continue;
          labels.add(s.label);
          const id = `${s.server}/${s.tool}@${s.at}`;
          if (seen.has(id)) continue;
          seen.add(id);
          from.push({ server: s.server, tool: s.tool, at: s.at, source: `${s.label}` });
        }
      } else
        for (const l of cp.of)
          for (const r of taint.labels.get(l) ?? []) {
            labels.add(l);
            from.push({ ...r, source: r.source ? `${l}, ${r.source}` : l });
          }
      findings.push({
        kind: 'copy',
        name: 'copy',
        action: cp.action,
        reason:
          `flow copy detection: the outbound content of ${call.tool} contains ${matched.length} values this session ` +
          `read as ${[...labels].join('/') || cp.of.join('/')} data (${describeReads(from)})${destinationsOf(outbound)}`,
      });
    }
  }
  const an = policy.anomaly;
  const a = input.anomaly;
  // Only a change or a send is held by its score (as the step decides): a read leaks nothing by itself
  // (its data reaches the rules and copy detection at the send), so it is scored, never held.
  if (
    (kinds.mutating || kinds.send) &&
    an?.holdAbove !== undefined &&
    a &&
    a.baseline !== 'none' &&
    rolesApply(an.roles, roles) &&
    a.score > an.holdAbove
  )
    findings.push({
      kind: 'anomaly',
      name: 'anomaly',
      action: 'approval',
      reason: anomalyReason(a, an.holdAbove),
    });
  const action = findings.some((f) => f.action === 'deny')
    ? 'deny'
    : findings.length > 0
      ? 'approval'
      : 'allow';
  return copy ? { action, findings, copy } : { action, findings };
}
