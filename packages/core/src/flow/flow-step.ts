// The flow guard's governance step (issue 17), right after the `checks` slot (where a server's steps
// declare what a call sends: GovernedCall.outbound) and before limits. Before the call: the session's
// taint (what it read before) decides whether it runs, is held for a person, or is refused (engine.ts).
// After it: the labels of what the call returned are recorded in the fleet-wide taint store BEFORE the
// answer goes out: the agent never holds data whose label another server or replica does not see yet.
// That holds for error results too (an error's text can quote the rows the handler read): whenever the
// handler ran or the answer came from the cache or a replay; a call refused before its handler adds
// nothing. A session whose fingerprints reached the store's cap has its sends held when copy detection
// applies to them (engine.ts: it cannot compare what the session read past the cap).
//
// Anomaly scores: a change or a send that the score could hold waits for the session's last call (it
// loads the taint for the rules anyway). A read is never held by its score (it leaks nothing by itself:
// its data reaches the rules at the send) and never waits for the store: its load starts beside the
// call (only the last call: the store's lastCall) and scores it if it is there when the call finishes,
// else the last call this process knows for
// the session (RecentCalls), else the score is recorded as unknown. The session's last call is written
// only when it changed (never awaited).
//
// Failure rules: a session whose taint cannot be loaded when a hold could follow is held (fail closed);
// a read whose labels cannot be recorded has its result withheld (`flow_unavailable`); a mutation's
// result is returned (it ran) and the failure logged and counted. Without a `flow` section in the
// policy the step passes the call on untouched: no store access, no cost.
import type { StepAnswer } from '../kernel/call.js';
import { UNTRUSTED_META_KEY } from '../kernel/meta-keys.js';
import { errorResult } from '../pipeline/refusals.js';
import type { GovernedCall, Next, Step } from '../pipeline/runtime.js';
import {
  callKinds,
  checkFlow,
  type FlowAnomalyScore,
  type FlowCallFacts,
  type FlowVerdict,
  rolesApply,
  ruleApplies,
  type SessionTaint,
  type TaintRead,
} from './engine.js';
import { contentWindows, readFingerprints } from './fingerprints.js';
import type { FlowPolicy } from './flow-policy.js';
import type { FlowFingerprint, FlowStores } from './flow-stores.js';
import { labelsOf } from './labels.js';

/** The reason of a hold when the session's earlier reads could not be loaded. */
export const FLOW_STORE_DOWN_REASON =
  "the session's earlier reads could not be checked (flow store unavailable)";

/** The flow facts of a governed call. */
export function flowFacts(c: GovernedCall): FlowCallFacts {
  const g = c.tool.governance;
  return {
    server: c.rt.server,
    tool: c.tool.name,
    readOnly: g.readOnly,
    destructive: g.destructive === true,
    sends: g.sends,
  };
}

/**
 * Whether a call of these facts could be held or refused because of what its session read: `flow` (a
 * rule or copy detection could apply), `anomaly` (only its anomaly score could hold it: a change or a
 * send, never a read), or false.
 */
export function needsTaint(
  policy: FlowPolicy,
  call: FlowCallFacts,
  c: { sends: GovernedCall['sends'] },
  roles: readonly string[],
  scoring: boolean,
): 'flow' | 'anomaly' | false {
  const kinds = callKinds(call, c.sends);
  if (policy.rules.some((r) => ruleApplies(r, call, kinds, roles))) return 'flow';
  const cp = policy.copy;
  if (cp && rolesApply(cp.roles, roles) && (cp.to === 'any' ? kinds.send : kinds[cp.to])) return 'flow';
  const an = policy.anomaly;
  return scoring &&
    (kinds.mutating || kinds.send) &&
    an?.holdAbove !== undefined &&
    rolesApply(an.roles, roles)
    ? 'anomaly'
    : false;
}

/** Sessions whose last call one process keeps (the fallback of a read's score, and setLast's skip). */
export const RECENT_SESSIONS = 10_000;
/** A session's unchanged last call is written again after this share of its TTL (keeps it alive). */
const REWRITE_AFTER = 0.5;

interface Recent {
  last: string;
  /** When this process wrote it (ms); undefined when it was only seen in a load. */
  wrote: number | undefined;
  /** The tick at which this process's write of it settled (undefined while in flight). */
  settled?: number;
}

/**
 * The last call of recent sessions as this process knows it (what it wrote, or what a load saw),
 * least recently used first out past {@link RECENT_SESSIONS}. One per taint store (per server).
 */
export class RecentCalls {
  readonly #m = new Map<string, Recent>();
  #tick = 0;
  constructor(readonly max = RECENT_SESSIONS) {}
  get size(): number {
    return this.#m.size;
  }
  /** The session's last call as this process knows it (the session becomes the most recently used). */
  last(session: string): string | undefined {
    const e = this.#m.get(session);
    if (e) this.#put(session, e);
    return e?.last;
  }
  /** A tick to pass to {@link loaded} when a load begins. */
  begin(): number {
    return ++this.#tick;
  }
  #put(session: string, e: Recent | undefined): void {
    this.#m.delete(session);
    if (!e) return;
    this.#m.set(session, e);
    if (this.#m.size > this.max) {
      const oldest = this.#m.keys().next().value;
      if (oldest !== undefined) this.#m.delete(oldest);
    }
  }
  /**
   * What a load begun at `tick` saw as the session's last call: taken unless this process's own write
   * had not settled when the load began (the load may not show it). So a call another replica served
   * in between is learnt, and a session gone from the store is forgotten.
   */
  loaded(session: string, tick: number, last: string | undefined): void {
    const e = this.#m.get(session);
    if (e?.wrote !== undefined && (e.settled === undefined || e.settled >= tick)) return;
    if (last === undefined) this.#put(session, undefined);
    else if (e?.last !== last) this.#put(session, { last, wrote: undefined });
  }
  /**
   * Whether `last` must be written: unless this process wrote this same last call for the session
   * less than half the session's TTL ago (a write keeps the session alive); a load's view is not
   * enough (the store's expiry is not known).
   * If so it is marked written; call {@link settled} when the write is done.
   */
  write(session: string, last: string, ttlSeconds: number, now = Date.now()): Recent | undefined {
    const e = this.#m.get(session);
    if (e && e.last === last && e.wrote !== undefined && now - e.wrote < ttlSeconds * 1000 * REWRITE_AFTER) {
      this.#put(session, e);
      return undefined;
    }
    const w: Recent = { last, wrote: now };
    this.#put(session, w);
    return w;
  }
  /** The write of `w` is done (stored, or failed and counted: a later load corrects it). */
  settled(w: Recent): void {
    w.settled = ++this.#tick;
  }
}

const recents = new WeakMap<object, RecentCalls>();
function recentOf(stores: FlowStores): RecentCalls {
  let r = recents.get(stores.taint);
  if (!r) {
    r = new RecentCalls();
    recents.set(stores.taint, r);
  }
  return r;
}

/** The session's last call only (the store's lastCall, else its load); learnt as a load's is. */
function loadLast(stores: FlowStores, session: string): Promise<string | undefined> {
  const recent = recentOf(stores);
  const tick = recent.begin();
  const taint = stores.taint;
  const last = taint.lastCall ? taint.lastCall(session) : taint.load(session).then((t) => t.last);
  return last.then((l) => {
    recent.loaded(session, tick, l);
    return l;
  });
}

/** The session's taint; what it says of the last call is learnt (RecentCalls.loaded). */
function loadTaint(stores: FlowStores, session: string): Promise<SessionTaint> {
  const recent = recentOf(stores);
  const tick = recent.begin();
  return stores.taint.load(session).then((t) => {
    recent.loaded(session, tick, t.last);
    return t;
  });
}

export const flowGuard: Step = async (c, next) => {
  const policy = c.rt.policy.current.flow;
  if (!policy) return next();
  return guarded(c, next, policy);
};

async function guarded(c: GovernedCall, next: Next, policy: FlowPolicy): Promise<StepAnswer> {
  const stores = c.gov.flow;
  const call = flowFacts(c);
  const roles = c.req.identity.roles;
  const ttl = policy.sessionHours * 3600;
  const scoring = policy.anomaly !== undefined && stores?.baseline !== undefined;
  const needed = needsTaint(policy, call, c, roles, scoring);
  const to = `${call.server}/${call.tool}`;
  let finished = false;
  let anomaly: FlowAnomalyScore | undefined;
  const score = (last: string | undefined): FlowAnomalyScore | undefined => {
    if (!scoring || !stores?.baseline || finished) return undefined;
    try {
      const s = stores.baseline.model.score(
        { tenant: c.req.identity.tenant, roles, agentId: c.req.identity.agentId, from: last ?? '^', to },
        policy.anomaly?.minBaseline ?? 30,
      );
      anomaly = s;
      c.detail('anomaly', s);
      stores.metrics.anomalyScore.observe({ tool: call.tool }, s.score);
      return s;
    } catch (err) {
      c.rt.logger.warn({ err: (err as Error).message, tool: call.tool }, 'anomaly scoring failed');
      return undefined;
    }
  };

  if (!stores) {
    if (!needed) return next();
    return hold(c, next, { action: 'approval', findings: [storeDown()] }, stores);
  }
  if (needed) {
    let taint: SessionTaint;
    // The fleet's fingerprint key, only when copy detection could find something in this call.
    let key: Uint8Array | undefined;
    try {
      taint = await loadTaint(stores, c.session);
      if (policy.copy?.of.some((l) => (taint.labels.get(l)?.length ?? 0) > 0))
        key = await stores.taint.fingerprintKey();
    } catch (err) {
      stores.metrics.taintErrors.inc({ op: 'load' });
      // Fail closed: a flow rule, copy detection or (for a change or a send) the anomaly score could
      // hold this call. Reads that only their score concerns never get here (they do not wait).
      c.rt.logger.warn(
        { err: (err as Error).message, tool: call.tool },
        'flow: the session taint could not be loaded; call held',
      );
      return hold(c, next, { action: 'approval', findings: [storeDown()] }, stores, policy, ttl);
    }
    score(taint.last);
    let verdict: FlowVerdict;
    try {
      verdict = await checkFlow({
        policy,
        roles,
        call,
        outbound: c.sends,
        args: c.args,
        taint,
        anomaly,
        ...(key
          ? {
              // With their token spans, so copy detection counts distinct copied values.
              windowsOf: (texts: readonly string[]) => contentWindows(texts, key),
              copyMatches: (fps: readonly string[]) => stores.taint.matchFingerprints(c.session, fps),
            }
          : {}),
      });
    } catch (err) {
      stores.metrics.taintErrors.inc({ op: 'match' });
      c.rt.logger.warn(
        { err: (err as Error).message, tool: call.tool },
        'flow: copy detection could not be checked; call held',
      );
      verdict = { action: 'approval', findings: [storeDown()] };
    }
    return hold(c, next, verdict, stores, policy, ttl);
  }
  // Nothing can be held: score the call if the session's last call is loaded by the time it finishes,
  // never waiting for it; else from the last call this process knows, else the score is unknown.
  if (!scoring) return after(c, await next(), stores, policy, ttl);
  const known = recentOf(stores).last(c.session);
  loadLast(stores, c.session).then(
    (last) => score(last),
    () => stores.metrics.taintErrors.inc({ op: 'load' }),
  );
  try {
    return await after(c, await next(), stores, policy, ttl);
  } finally {
    if (!anomaly) {
      if (known !== undefined) score(known);
      else c.detail('anomaly', { score: null, from: null, to });
    }
    finished = true;
  }
}

function storeDown(): FlowVerdict['findings'][number] {
  return { kind: 'rule', name: 'flow-store', action: 'approval', reason: FLOW_STORE_DOWN_REASON };
}

/** Applies a verdict: refuse, hold (each finding is a reason of the approval), or run; then record. */
async function hold(
  c: GovernedCall,
  next: Next,
  verdict: FlowVerdict,
  stores: FlowStores | undefined,
  policy?: FlowPolicy,
  ttl = 0,
): Promise<StepAnswer> {
  const flow: Record<string, unknown> = {};
  if (verdict.copy) flow.copy = verdict.copy;
  if (verdict.findings.length) flow.holds = verdict.findings;
  if (Object.keys(flow).length) c.detail('flow', flow);
  for (const f of verdict.findings) {
    stores?.metrics.findings.inc({ tool: c.tool.name, kind: f.kind, name: f.name, action: f.action });
    if (f.kind === 'anomaly') stores?.metrics.anomalyHeld.inc({ tool: c.tool.name });
  }
  if (verdict.action === 'deny') {
    const denied = verdict.findings.filter((f) => f.action === 'deny');
    c.record.decision = 'deny';
    c.record.decisionReason = `flow: ${denied.map((f) => f.reason).join('; ')}`.slice(0, 1000);
    c.rt.metrics.policyDenials.inc({ tool: c.tool.name });
    return {
      outcome: 'denied',
      result: errorResult(
        `${c.tool.name} was not run: the fleet's flow policy refuses it. ${denied.map((f) => f.reason).join('; ')}. ` +
          'This is not a temporary error and no approval can allow it: do not retry it or try another way to send this. Stop and tell the user what you were asked to do and why it was refused.',
        'flow_denied',
      ),
    };
  }
  for (const f of verdict.findings) c.requireApproval(f.reason);
  const out = await next();
  return stores && policy ? after(c, out, stores, policy, ttl) : out;
}

/** Records what the call returned (its labels, and fingerprints for copy detection) before answering. */
async function after(
  c: GovernedCall,
  out: StepAnswer,
  stores: FlowStores,
  policy: FlowPolicy,
  ttl: number,
): Promise<StepAnswer> {
  // Whatever the handler returned is what the session now holds, error results included: an error's
  // text can quote the rows it read (a SQL cast error echoes every value). So labels (and copy
  // fingerprints) are recorded whenever the handler ran, or the answer came from the cache or a
  // replay, whatever the outcome. A call a step refused before the handler returned nothing read.
  const returned = out.ran !== undefined || out.outcome === 'cached' || out.outcome === 'replayed';
  if (!returned) return out;
  const answered = (out.outcome === 'ok' || out.outcome === 'cached') && !out.result.isError;
  const server = c.rt.server;
  const tool = c.tool.name;
  const meta = out.result._meta as Record<string, unknown> | undefined;
  const labels = labelsOf(policy, {
    server,
    tool,
    declared: c.tool.governance.labels,
    sources: c.sources,
    untrusted: meta?.[UNTRUSTED_META_KEY] !== undefined,
  });
  if (labels.length > 0) {
    const at = new Date().toISOString();
    const reads: TaintRead[] = labels.map((l) => ({
      label: l.label,
      server,
      tool,
      at,
      auditId: c.auditId,
      ...(l.source !== undefined ? { source: l.source } : {}),
    }));
    try {
      const copyLabel = policy.copy
        ? labels.find((l) => policy.copy?.of.includes(l.label))?.label
        : undefined;
      let fps: FlowFingerprint[] = [];
      // A result cut before fingerprinting (R2a-5: junk first, real rows after) marks the session capped:
      // copy detection cannot see the rest, so its copy-checked sends are held (copy-capped).
      let cut = false;
      if (copyLabel) {
        const key = await stores.taint.fingerprintKey();
        const texts = out.result.content.flatMap((b) => (b.type === 'text' ? [b.text] : []));
        const text = texts.length > 0 ? texts.join('\n') : undefined;
        const read = readFingerprints({ text, structured: out.result.structuredContent }, key);
        cut = read.truncated;
        fps = read.fingerprints.map((fp) => ({
          fp,
          label: copyLabel,
          server,
          tool,
          at,
          auditId: c.auditId,
        }));
      }
      await stores.taint.record(c.session, reads, fps, ttl, cut ? { capped: true } : undefined);
      c.detail('flow', {
        ...(c.record.details?.flow as object | undefined),
        labels: labels.map((l) => l.label),
        ...(cut ? { cut: true } : {}),
      });
    } catch (err) {
      stores.metrics.taintErrors.inc({ op: 'record' });
      c.rt.logger.error(
        { err: (err as Error).message, tool, labels: labels.map((l) => l.label) },
        c.tool.governance.readOnly
          ? "flow: a read's labels could not be recorded; its result is withheld"
          : "flow: a mutation's labels could not be recorded (it ran; its result is returned)",
      );
      if (c.tool.governance.readOnly)
        return {
          ...out,
          outcome: 'error',
          result: errorResult(
            `${tool} could not return its result: the fleet could not record what this session read (the flow store is unavailable), and results are only returned once recorded. Retry in a minute.`,
            'flow_unavailable',
          ),
        };
    }
  }
  if (!answered) return out;
  // The session's last call, written only when it changed (and again past half its TTL); never awaited.
  const last = `${server}/${tool}`;
  const recent = policy.anomaly ? recentOf(stores) : undefined;
  const w = recent?.write(c.session, last, ttl);
  if (recent && w)
    stores.taint
      .setLast(c.session, last, ttl)
      .catch(() => stores.metrics.taintErrors.inc({ op: 'last' }))
      .finally(() => recent.settled(w));
  return out;
}
