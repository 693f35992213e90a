// The soak's misbehaving minority, beside the shared load engine's well-behaved traffic: refusals the
// soak provokes on purpose, each from its own agent, so every refusal code it sees is one it can name
// the cause of — and a probe that is NOT refused is a failure too (a policy that stopped holding).
//   fast:        a support agent opening a SUP ticket (communication/create_ticket) every 2 s; the
//                example policy allows support 10 a minute (roles.support.limits.perTool, a sliding
//                window), so from the 21st second on about two thirds are rate_limited. Each has its
//                own idempotency key, so the ones let through are checked at the Jira simulator too.
//   not-granted: a support agent calling admin/get_user, which support is not granted, every 5 s
//                (FLEET_ERR_TOOL_NOT_AVAILABLE: the same answer as an unknown tool)
//   constraint:  a support agent posting to #analytics, outside its channels, every 5 s (destination_denied)
import { randomUUID } from 'node:crypto';
import {
  type Caller,
  type CallResult,
  type CallSpec,
  createCaller,
  type FleetTarget,
  type LoadAgent,
} from '../load/traffic.js';

/** Which provocation a call belongs to, by its agent's id. */
export type Provocation = 'fast' | 'not-granted' | 'constraint';

/** The code each provocation is built to get (the fast agent's other calls answer ok). */
export const PROVOKED: Record<Provocation, { code: string; why: string; alwaysRefused: boolean }> = {
  fast: {
    code: 'rate_limited',
    why: 'a support agent opening 30 tickets a minute, over its 10 a minute',
    alwaysRefused: false,
  },
  'not-granted': {
    code: 'FLEET_ERR_TOOL_NOT_AVAILABLE',
    why: 'a support agent calling admin/get_user, which support is not granted',
    alwaysRefused: true,
  },
  constraint: {
    code: 'destination_denied',
    why: 'a support agent posting to #analytics, outside its channels',
    alwaysRefused: true,
  },
};

const PREFIX = 'soak-provoke-';

/** The provocation a call of the soak belongs to, if any. */
export function provocationOf(r: CallResult): Provocation | undefined {
  if (!r.agent.startsWith(PREFIX)) return undefined;
  const kind = r.agent.slice(PREFIX.length).split('-')[0];
  if (kind === 'fast') return 'fast';
  if (kind === 'notgranted') return 'not-granted';
  if (kind === 'constraint') return 'constraint';
  return undefined;
}

const SCHEDULE: { p: Provocation; role: LoadAgent['role']; everyMs: number; spec: () => CallSpec }[] = [
  {
    p: 'fast',
    role: 'support',
    everyMs: 2000,
    spec: () => {
      const key = `soak-ticket-${randomUUID()}`;
      return {
        server: 'communication',
        tool: 'create_ticket',
        kind: 'write',
        arguments: { project: 'SUP', issue_type: 'Task', summary: `Soak ${key}` },
        idempotencyKey: key,
      };
    },
  },
  {
    p: 'not-granted',
    role: 'support',
    everyMs: 5000,
    spec: () => ({ server: 'admin', tool: 'get_user', kind: 'read', arguments: { user_name: 'alice' } }),
  },
  {
    p: 'constraint',
    role: 'support',
    everyMs: 5000,
    spec: () => ({
      server: 'communication',
      tool: 'slack_post_message',
      kind: 'write',
      arguments: { channel: '#analytics', text: `soak ${randomUUID()}` },
      idempotencyKey: `soak-${randomUUID()}`,
    }),
  },
];

/**
 * New agent ids and sessions this often, counted from the start of the run (not the wall clock: a
 * wall-clock epoch could end a few seconds into a short soak, handing the fast probe a fresh agent
 * with an empty rate window before it ever passed its limit). No probe agent reaches a session or
 * window budget.
 */
const AGENT_MS = 5 * 60_000;

/** From this long on, the fast agent must have been rate_limited at least once (its 11th call in a minute). */
export const FAST_LIMITED_AFTER_MS = 30_000;

/** Runs the provocations for `durationMs` (open loop, like the engine); resolves with every result. */
export async function runProvocations(o: {
  target: FleetTarget;
  durationMs: number;
  onResult?: (r: CallResult) => void;
}): Promise<CallResult[]> {
  const servers = new Set(Object.keys(o.target.urls));
  const schedule = SCHEDULE.filter((s) => servers.has(s.spec().server));
  const caller: Caller = await createCaller(o.target);
  const results: CallResult[] = [];
  const inFlight = new Set<Promise<void>>();
  const agents = new Map<string, Promise<LoadAgent>>();
  const start = Date.now();
  const agentFor = (p: Provocation, role: LoadAgent['role'], now: number) => {
    const key = `${p.replace('-', '')}-${Math.floor((now - start) / AGENT_MS)}`;
    let a = agents.get(key);
    if (!a) {
      a = caller.agent(role, `${PREFIX}${key}-${randomUUID().slice(0, 8)}`);
      agents.set(key, a);
    }
    return a;
  };
  await Promise.all(
    schedule.map(async (s) => {
      for (let n = 0; n * s.everyMs < o.durationMs; n++) {
        const wait = start + n * s.everyMs - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        const agent = await agentFor(s.p, s.role, Date.now());
        const p: Promise<void> = caller
          .call(agent, s.spec())
          .then((r) => {
            results.push(r);
            o.onResult?.(r);
          })
          .finally(() => inFlight.delete(p));
        inFlight.add(p);
      }
    }),
  );
  while (inFlight.size > 0) await Promise.all([...inFlight]);
  await caller.close();
  return results;
}
