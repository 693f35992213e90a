// The kill switch stops calls already in flight (issue 15, attacker finding B1): a call admitted before
// its agent was suspended — waiting on a slow upstream, on a step before its handler (an idempotency
// claim, an approval use), or before its point of no return — never writes after the suspension; its
// one audit record says the suspension stopped it. A call already past ctx.commit() finishes and its
// record says the suspension came after the commit. Every wait is for an event (the tool emitting
// `waiting`), never a duration; what reaches "the upstream" is counted.
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_META_KEY } from '../src/kernel/meta-keys.js';
import { callMsg, rpc } from './helpers.js';
import {
  type AuditLine,
  eventually,
  ran,
  SuspFleet,
  slowGate,
  upstreamWrites,
} from './suspension-harness.js';

let fleet: SuspFleet;
beforeAll(async () => {
  fleet = await SuspFleet.start({ count: 2 });
});
afterAll(async () => {
  await fleet?.close();
});

// biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON-RPC answers
type Result = any;

async function call(i: number, token: string, name: string, args: Record<string, unknown>) {
  const rpcId = `c-${randomUUID()}`;
  const r = await rpc(fleet.servers[i]!.url, callMsg(name, args, rpcId), {
    authorization: `Bearer ${token}`,
  });
  const result: Result = r.body.result;
  return {
    rpcId,
    result,
    code: result?._meta?.[ERROR_META_KEY]?.code as string | undefined,
    text: (result?.content?.[0]?.text ?? '') as string,
  };
}

const recordsOf = (rpcId: string): AuditLine[] =>
  fleet.audit.filter((a) => a.method === 'tools/call' && a.details?.rpcId === rpcId);

/** Resolves when the tool or step of note `id` is waiting. */
function waiting(id: string): Promise<void> {
  return new Promise((resolve) => {
    const on = (x: string) => {
      if (x !== id) return;
      slowGate.off('waiting', on);
      resolve();
    };
    slowGate.on('waiting', on);
  });
}

async function act(i: number, action: 'suspend' | 'resume', agent: string, person = 'alice') {
  const r = await fleet.api(
    i,
    'POST',
    `/agents/${encodeURIComponent(agent)}/${action}`,
    await fleet.approverToken(person),
    { reason: 'runaway' },
  );
  expect(r.status).toBe(200);
}

/** Waits until replica `i` refuses the agent at admission (its watcher has loaded the suspension). */
const refusedOn = (i: number, token: string) =>
  eventually(async () =>
    expect((await call(i, token, 'read_note', { id: 'probe' })).code).toBe('agent_suspended'),
  );

/** Starts `name` for a fresh agent on replica `i`, suspends it (on replica 0) while it waits, then releases it. */
async function suspendWhileWaiting(i: number, name: string, args: Record<string, unknown> & { id: string }) {
  const agent = `inflight-${randomUUID().slice(0, 8)}`;
  const token = await fleet.agentToken(agent);
  const w = waiting(args.id);
  const pending = call(i, token, name, args);
  await w;
  const settled = once(slowGate, `settled:${args.id}`);
  await act(0, 'suspend', agent);
  await refusedOn(i, token); // replica 1 learns of it from the fleet database, as any other server would
  slowGate.emit(`release:${args.id}`);
  const r = await pending;
  return { agent, token, r, settled };
}

describe('a call in flight when its agent is suspended', () => {
  for (const replica of [0, 1]) {
    it(`waiting on its upstream (replica ${replica}): cancelled, never writes, recorded agent_suspended`, async () => {
      const id = `slow-${randomUUID()}`;
      const { agent, r, settled } = await suspendWhileWaiting(replica, 'slow_write', { id });
      await settled;
      expect(r.code).toBe('agent_suspended');
      expect(r.result.isError).toBe(true);
      expect(upstreamWrites).not.toContain(id);
      const records = recordsOf(r.rpcId);
      expect(records).toHaveLength(1);
      expect(records[0]).toMatchObject({
        outcome: 'denied',
        decisionReason: 'agent_suspended',
        agentId: agent,
      });
      expect(records[0]!.details).toMatchObject({
        errorCode: 'agent_suspended',
        cancelledBy: 'suspension',
        suspension: { at: 'running' },
      });
      await act(1, 'resume', agent, 'bob');
    });
  }

  it('before its point of no return: ctx.commit() refuses, the write never happens', async () => {
    const id = `staged-${randomUUID()}`;
    const { agent, r, settled } = await suspendWhileWaiting(1, 'staged_write', { id });
    await settled; // the handler went on after the release, and its ctx.commit() threw
    expect(r.code).toBe('agent_suspended');
    expect(upstreamWrites).not.toContain(id);
    const records = recordsOf(r.rpcId);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ outcome: 'denied', decisionReason: 'agent_suspended' });
    expect(records[0]!.details).toMatchObject({
      errorCode: 'agent_suspended',
      suspension: { at: 'running' },
    });
    await act(0, 'resume', agent, 'bob');
  });

  it('waiting before its handler (a step, an idempotency claim): the handler never starts', async () => {
    const id = `hold-${randomUUID()}`;
    const writes = ran.write;
    const { agent, r } = await suspendWhileWaiting(0, 'write_note', {
      id,
      text: 'x',
      idempotency_key: `k-${randomUUID()}`,
    });
    expect(r.code).toBe('agent_suspended');
    expect(ran.write).toBe(writes);
    const records = recordsOf(r.rpcId);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ outcome: 'denied', decisionReason: 'agent_suspended' });
    expect(records[0]!.details).toMatchObject({ errorCode: 'agent_suspended' });
    expect(records[0]!.details?.suspension).toBeTruthy();
    await act(0, 'resume', agent, 'bob');
  });

  it('past its point of no return: it finishes, and its record says the suspension came after the commit', async () => {
    const id = `committed-${randomUUID()}`;
    const { agent, r, settled } = await suspendWhileWaiting(0, 'staged_write', { id, commitFirst: true });
    await settled;
    expect(r.code).toBeUndefined();
    expect(upstreamWrites).toContain(id);
    const records = recordsOf(r.rpcId);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ outcome: 'ok' });
    expect(records[0]!.details).toMatchObject({ suspension: { at: 'after_commit' } });
    await act(0, 'resume', agent, 'bob');
  });

  it('other agents’ calls in flight are untouched', async () => {
    const id = `other-${randomUUID()}`;
    const bystander = await fleet.agentToken(`bystander-${randomUUID().slice(0, 8)}`);
    const w = waiting(id);
    const pending = call(0, bystander, 'slow_write', { id });
    await w;
    const agent = `target-${randomUUID().slice(0, 8)}`;
    await act(0, 'suspend', agent);
    await refusedOn(0, await fleet.agentToken(agent));
    slowGate.emit(`release:${id}`);
    const r = await pending;
    expect(r.code).toBeUndefined();
    expect(upstreamWrites).toContain(id);
    await act(0, 'resume', agent, 'bob');
  });
});
