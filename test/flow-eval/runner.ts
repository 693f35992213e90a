// Runs generated agent sessions (generator.ts) call by call through the flow guard's REAL code, as the
// governance step (packages/core/src/flow/flow-step.ts) does for a served call:
// - the call's facts from the tool's real declaration (registry of the real server definition);
// - its outbound declaration as communication's outbound step makes it (classifyDestinations with the
//   policy's internal email domains; Slack channels resolved and their Slack Connect flag read from the
//   Slack simulator's demo channels);
// - the session's taint from the taint store (createTaintStore, in-process: no pool, no Redis);
// - the anomaly score from AnomalyModel (trained on the separate training set), from = the session's
//   last call or `^`, for every call; as in the fleet only a change or a send can be held by it
//   (CallOutcome.holdable: checkFlow's own gate);
// - checkFlow with copy detection (contentWindows of the outbound text, matched against the
//   session's stored resultFingerprints, counted as distinct values);
// - then, as if the call ran (every held call approved: each detector is judged on the whole session,
//   not cut short by another's hold), labelsOf its result, fingerprints of its values when a label is
//   one copy detection watches, store.record, store.setLast.
// Before any of that, every generated call is checked the way a server admits it: the tool exists on
// that server, its arguments pass the tool's input schema, the role's grants allow it and its
// constraint fits where the tool checks it from the arguments alone (schemas, folders, email domains;
// Slack channels are resolved by communication's planner against Slack, so they are not checked
// here). A generated call the fleet would refuse anyway says nothing about the flow guard: it stops
// the evaluation (exit 1) instead.
import type { AnyTool } from '@mcp-fleet/core';
import { createLogger } from '@mcp-fleet/core/internal';
import { decide, type PolicyDocument, ToolRegistry, toolFacts, validatePolicy } from '@mcp-fleet/core/policy';
import {
  AnomalyModel,
  type AnomalyScore,
  SESSION_START,
  type TransitionRow,
} from '../../packages/core/src/flow/anomaly.js';
import { type RoleAgentCount, roleBaselineRows } from '../../packages/core/src/flow/anomaly-learner.js';
import { callKinds, checkFlow, type FlowFinding, labelsOf } from '../../packages/core/src/flow/engine.js';
import { contentWindows, resultFingerprints } from '../../packages/core/src/flow/fingerprints.js';
import type { FlowPolicy, OutboundDeclaration } from '../../packages/core/src/flow/flow-policy.js';
import {
  createTaintStore,
  type StoredFingerprint,
  type TaintRead,
} from '../../packages/core/src/flow/taint-store.js';
import { seedChannels } from '../../packages/simulators/src/slack/seed.js';
import { classifyDestinations } from '../../servers/communication/src/outbound/classify.js';
import type { GenCall, GenSession, RawDestination } from './generator.js';

/** The servers' real tools, by server name. */
export type Fleet = ReadonlyMap<string, { tools: readonly AnyTool[]; doc: PolicyDocument }>;

/** Builds the per-server view of the policy (constraints parsed with each server's dimensions). */
export function fleetOf(
  rawPolicy: unknown,
  servers: readonly { name: string; tools: readonly AnyTool[] }[],
): Fleet {
  const out = new Map<string, { tools: readonly AnyTool[]; doc: PolicyDocument }>();
  for (const s of servers)
    out.set(s.name, { tools: s.tools, doc: validatePolicy(rawPolicy, s.name, new ToolRegistry(s.tools)) });
  return out;
}

/** Why a generated call would not even reach the flow guard (empty: it would). */
export function admission(
  fleet: Fleet,
  role: string,
  call: GenCall,
): { parsed: Record<string, unknown>; problem?: string } {
  const server = fleet.get(call.server);
  const where = `${call.server}/${call.tool}`;
  if (!server) return { parsed: call.args, problem: `${where}: no server "${call.server}" in this checkout` };
  const tool = server.tools.find((t) => t.name === call.tool);
  if (!tool) return { parsed: call.args, problem: `${where}: the server has no tool "${call.tool}"` };
  const p = tool.input.safeParse(call.args);
  if (!p.success)
    return {
      parsed: call.args,
      problem: `${where}: arguments rejected by the tool's input schema: ${p.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    };
  const parsed = p.data as Record<string, unknown>;
  const d = decide(server.doc, { roles: [role] }, call.server, toolFacts(tool));
  if (!d.allowed) return { parsed, problem: `${where}: role ${role} may not call it (${d.reason})` };
  if (tool.constraint && d.constraints !== null) {
    const answers = d.constraints.map((v) => {
      try {
        return tool.constraint?.check(parsed, v) ?? null;
      } catch (err) {
        return `the check threw: ${(err as Error).message}`;
      }
    });
    // A saved query knows the schemas it reads only once its server has inspected the warehouse
    // ("not ready yet"): that check cannot be made here, and the call is taken as admitted.
    const undecided = answers.every((a) => a !== null && /not ready yet/.test(a));
    if (!undecided && !answers.some((a) => a === null))
      return {
        parsed,
        problem: `${where}: role ${role}'s constraint does not allow these arguments: ${answers.join(' | ')}`,
      };
  }
  return { parsed };
}

/**
 * The anomaly baseline of the training sessions, as the fleet's learning makes it: transitions per agent,
 * and per role by the learner's rule (roleBaselineRows: enough distinct agents, each one capped), `^` at
 * each start.
 */
export function trainModel(training: readonly GenSession[]): { model: AnomalyModel; transitions: number } {
  const agents = new Map<string, number>();
  const perRole: RoleAgentCount[] = [];
  let transitions = 0;
  for (const s of training) {
    let from = SESSION_START;
    for (const c of s.calls) {
      const to = `${c.server}/${c.tool}`;
      const k = JSON.stringify([`agent:${s.agentId}`, from, to]);
      agents.set(k, (agents.get(k) ?? 0) + 1);
      perRole.push({ role: s.role, agent: s.agentId, from, to, count: 1 });
      transitions++;
      from = to;
    }
  }
  const rows: TransitionRow[] = [...agents].map(([k, count]) => {
    const [scope, from, to] = JSON.parse(k) as [string, string, string];
    return { scope, from, to, count };
  });
  return { model: AnomalyModel.fromTransitions([...rows, ...roleBaselineRows(perRole)]), transitions };
}

const SLACK = new Map(seedChannels().flatMap((c) => [[`#${c.name}`, c] as const, [c.id, c] as const]));

function destinationId(d: RawDestination): { id: string; shared: boolean } {
  switch (d.kind) {
    case 'email':
      return { id: `email:${d.address}`, shared: false };
    case 'slack': {
      const ch = SLACK.get(d.channel);
      if (!ch)
        throw new Error(
          `flow-eval: Slack channel ${d.channel} is not in the Slack simulator's demo channels`,
        );
      return { id: `slack:${ch.id}`, shared: ch.isExtShared };
    }
    case 'teams':
      return { id: `teams:${d.channel}`, shared: false };
    default:
      return { id: `jira:${d.project}`, shared: false };
  }
}

/** The declaration communication's outbound step would make for this call (undefined: no planner). */
export function outboundOf(policy: FlowPolicy, call: GenCall): OutboundDeclaration | undefined {
  if (!call.outbound) return undefined;
  const ids = call.outbound.destinations.map(destinationId);
  return {
    destinations: classifyDestinations(
      { destinations: ids.map((d) => d.id), externallyShared: ids.filter((d) => d.shared).map((d) => d.id) },
      policy.internal.emailDomains,
    ),
    content: call.outbound.content,
  };
}

/** What the flow guard did with one call. */
export interface CallOutcome {
  tool: string;
  findings: FlowFinding[];
  anomaly: AnomalyScore;
  /** A change or a send: the only calls the anomaly score can hold (a read is scored, never held). */
  holdable: boolean;
  copyMatches?: number;
}

/** One session's run. */
export interface SessionRun {
  session: GenSession;
  calls: CallOutcome[];
}

const T0 = Date.parse('2026-11-30T09:00:00Z');

/** Runs every session through the flow guard; sessions are independent (each its own session key). */
export async function runSessions(o: {
  policy: FlowPolicy;
  fleet: Fleet;
  model: AnomalyModel;
  sessions: readonly GenSession[];
}): Promise<SessionRun[]> {
  const { policy, fleet, model } = o;
  const logger = createLogger({ level: 'silent' });
  // A fixed fingerprint key: the same seed gives the same fingerprints (the store would draw a random one).
  const store = createTaintStore({
    keyPrefix: 'flow-eval:',
    logger,
    envKey: 'flow-eval: not a secret, a fixed key for repeatable runs',
  });
  const key = await store.fingerprintKey();
  const ttl = policy.sessionHours * 3600;
  const minBaseline = policy.anomaly?.minBaseline ?? 30;
  const runs: SessionRun[] = [];
  try {
    for (const s of o.sessions) {
      const session = JSON.stringify(['flow-eval', s.agentId, 'user', s.id]);
      const calls: CallOutcome[] = [];
      for (const [i, call] of s.calls.entries()) {
        const adm = admission(fleet, s.role, call);
        if (adm.problem) throw new Error(`session ${s.id} (${s.cls}) call ${i}: ${adm.problem}`);
        const tool = fleet.get(call.server)?.tools.find((t) => t.name === call.tool) as AnyTool;
        const g = tool.governance;
        const facts = {
          server: call.server,
          tool: call.tool,
          readOnly: g.readOnly,
          destructive: g.destructive === true,
          sends: g.sends,
        };
        const taint = await store.load(session);
        const anomaly = model.score(
          {
            roles: [s.role],
            agentId: s.agentId,
            from: taint.last ?? SESSION_START,
            to: `${call.server}/${call.tool}`,
          },
          minBaseline,
        );
        const outbound = outboundOf(policy, call);
        const kinds = callKinds(facts, outbound);
        const verdict = await checkFlow({
          policy,
          roles: [s.role],
          call: facts,
          outbound,
          args: adm.parsed,
          taint,
          anomaly,
          windowsOf: (texts) => contentWindows(texts, key),
          copyMatches: (fps) => store.matchFingerprints(session, fps),
        });
        calls.push({
          tool: `${call.server}/${call.tool}`,
          findings: verdict.findings,
          anomaly,
          holdable: kinds.mutating || kinds.send,
          ...(verdict.copy ? { copyMatches: verdict.copy.matches } : {}),
        });
        // As if it ran: what its result tells the session.
        const at = new Date(T0 + i * 60_000).toISOString();
        const auditId = `${s.id}-${i}`;
        if (call.result) {
          const labels = labelsOf(policy, {
            server: call.server,
            tool: call.tool,
            declared: g.labels,
            sources: call.result.sources,
            untrusted: call.result.untrusted,
          });
          if (labels.length > 0) {
            const reads: TaintRead[] = labels.map((l) => ({
              label: l.label,
              server: call.server,
              tool: call.tool,
              at,
              auditId,
              ...(l.source !== undefined ? { source: l.source } : {}),
            }));
            const copyLabel = policy.copy
              ? labels.find((l) => policy.copy?.of.includes(l.label))?.label
              : undefined;
            const fps: StoredFingerprint[] = copyLabel
              ? resultFingerprints({ text: call.result.text, structured: call.result.structured }, key).map(
                  (fp) => ({ fp, label: copyLabel, server: call.server, tool: call.tool, at, auditId }),
                )
              : [];
            await store.record(session, reads, fps, ttl);
          }
        }
        await store.setLast(session, `${call.server}/${call.tool}`, ttl);
      }
      runs.push({ session: s, calls });
    }
  } finally {
    await store.close();
  }
  return runs;
}
