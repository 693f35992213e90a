// The labels one tool result carries (issue 17): what the tool declares of every result, what the
// policy says of the tool (`flow.labels.tools`) and of the sources the handler named
// (`flow.labels.sources`), and `untrusted` for a result marked as written outside the fleet. Each label
// keeps the source that gave it ("schema billing") so a flow rule's reason can name the read.
import picomatch from 'picomatch';
import type { DataSource, FlowPolicy } from './flow-policy.js';

/** One label of a result, and the source that gave it (when a source did). */
export interface ResultLabel {
  label: string;
  /** `<kind> <name>` of the source the policy mapped to the label, e.g. `schema billing`. */
  source?: string;
}

const matchers = new Map<string, (s: string) => boolean>();
/** A picomatch matcher, cached (policy patterns are few; the cache is bounded below). */
function matcher(pattern: string): (s: string) => boolean {
  let m = matchers.get(pattern);
  if (!m) {
    if (matchers.size > 10_000) matchers.clear();
    m = picomatch(pattern, { dot: true, nocase: false });
    matchers.set(pattern, m);
  }
  return m;
}

/**
 * Whether a policy tool key (`tool` or `server/tool`, globs in the tool part) names `tool` on `server`.
 * The server part is a plain name, as everywhere else in the policy.
 */
export function toolKeyMatches(key: string, server: string, tool: string): boolean {
  const slash = key.indexOf('/');
  if (slash < 0) return matcher(key)(tool);
  return key.slice(0, slash) === server && matcher(key.slice(slash + 1))(tool);
}

/** Whether any of `patterns` names the tool (see {@link toolKeyMatches}). */
export function toolMatchesAny(patterns: readonly string[], server: string, tool: string): boolean {
  for (const p of patterns) if (toolKeyMatches(p, server, tool)) return true;
  return false;
}

/**
 * The labels a result of `tool` on `server` carries: the tool's own (`declared`) ∪ the policy's for
 * the tool ∪ the policy's for each source it named ∪ `untrusted` when the result is marked untrusted.
 * One entry per label; a label some source gave keeps that source (the first one named).
 */
export function labelsOf(
  policy: FlowPolicy | undefined,
  o: {
    server: string;
    tool: string;
    declared?: readonly string[] | undefined;
    sources: readonly DataSource[];
    untrusted: boolean;
  },
): ResultLabel[] {
  const out = new Map<string, ResultLabel>();
  const add = (label: string, source?: string) => {
    const had = out.get(label);
    if (!had) out.set(label, source === undefined ? { label } : { label, source });
    else if (had.source === undefined && source !== undefined) had.source = source;
  };
  for (const l of o.declared ?? []) add(l);
  if (policy) {
    for (const [key, ls] of Object.entries(policy.labels.tools))
      if (toolKeyMatches(key, o.server, o.tool)) for (const l of ls) add(l);
    const seen = new Set<string>();
    for (const s of o.sources) {
      const id = `${s.kind}\u0000${s.name}`;
      if (seen.has(id)) continue;
      seen.add(id);
      const byName = policy.labels.sources[`${o.server}.${s.kind}`];
      if (!byName) continue;
      for (const [pattern, ls] of Object.entries(byName))
        if (pattern === s.name || matcher(pattern)(s.name)) for (const l of ls) add(l, `${s.kind} ${s.name}`);
    }
  }
  if (o.untrusted) add('untrusted');
  return [...out.values()];
}
