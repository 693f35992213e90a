// Suspending an agent withdraws what it has waiting (issue 15, attacker finding B3): an approval given
// before the suspension could be used after the resume (TTL about an hour), so a runaway agent's queue
// came back with it. On suspension its pending requests are denied and its approved, unused approvals
// withdrawn, through the approval store, each with one audit record as a revoke by the person who
// suspended it ("agent suspended") — the person the agent acts for included, who could not decide its
// requests. A call that had already used its approval and was waiting to run when the suspension came
// does not give the approval back. Other agents' requests are untouched.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ERROR_META_KEY } from '../src/kernel/meta-keys.js';
import { callMsg, rpc } from './helpers.js';
import { type AuditLine, eventually, ran, SuspFleet, slowGate } from './suspension-harness.js';

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
  const r = await rpc(fleet.servers[i]!.url, callMsg(name, args), { authorization: `Bearer ${token}` });
  const result: Result = r.body.result;
  return {
    result,
    code: result?._meta?.[ERROR_META_KEY]?.code as string | undefined,
    approvalId: result?._meta?.['io.mcp-fleet/governance']?.approvalId as string | undefined,
  };
}

/** Opens a request for delete_note(id) as `token`; approves it as bob when `approve`. */
async function request(token: string, id: string, approve: boolean): Promise<string> {
  const held = await call(0, token, 'delete_note', { id });
  expect(held.code).toBe('awaiting_approval');
  const approvalId = held.approvalId!;
  if (approve) {
    const r = await fleet.api(
      0,
      'POST',
      `/approvals/${approvalId}/approve`,
      await fleet.approverToken('bob'),
      {},
    );
    expect(r.status).toBe(200);
  }
  return approvalId;
}

const status = async (id: string) =>
  (await fleet.api(1, 'GET', `/approvals/${id}`, await fleet.approverToken('bob'))).body as Record<
    string,
    unknown
  >;

const withdrawals = (id: string): AuditLine[] =>
  fleet.audit.filter(
    (a) => a.method.startsWith('approvals/') && a.details?.approvalId === id && a.details?.reason,
  );

async function act(action: 'suspend' | 'resume', agent: string, person: string) {
  const r = await fleet.api(
    1,
    'POST',
    `/agents/${encodeURIComponent(agent)}/${action}`,
    await fleet.approverToken(person),
    {},
  );
  expect(r.status).toBe(200);
  return r.body as { suspension?: { id: string } };
}

it('denies the agent’s pending requests and withdraws its approved ones; a resume does not bring them back', async () => {
  const agent = `queue-${randomUUID().slice(0, 8)}`;
  const token = await fleet.agentToken(agent, { user: 'carol' });
  const bystander = await fleet.agentToken(`by-${randomUUID().slice(0, 8)}`, { user: 'dave' });
  const pending = [await request(token, 'p1', false), await request(token, 'p2', false)];
  const approved = await request(token, 'a1', true);
  const theirs = await request(bystander, 'b1', true);

  // carol, whom the agent acts for, stops it (she could not deny its requests herself).
  const { suspension } = await act('suspend', agent, 'carol');
  for (const id of pending) {
    expect(await status(id)).toMatchObject({ status: 'denied', decidedBy: 'carol', note: 'agent suspended' });
    const records = withdrawals(id);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ method: 'approvals/deny', outcome: 'ok', agentId: 'carol' });
    expect(records[0]!.details).toMatchObject({
      approver: { subject: 'carol' },
      requestedBy: { agentId: agent },
      reason: 'agent suspended',
      suspensionId: suspension!.id,
    });
  }
  expect(await status(approved)).toMatchObject({
    status: 'denied',
    revokedBy: 'carol',
    revokeNote: 'agent suspended',
  });
  const revoked = withdrawals(approved);
  expect(revoked).toHaveLength(1);
  expect(revoked[0]).toMatchObject({ method: 'approvals/revoke', outcome: 'ok' });
  expect(revoked[0]!.details).toMatchObject({
    revoked: true,
    approvedBy: { subject: 'bob' },
    suspensionId: suspension!.id,
  });
  expect(await status(theirs)).toMatchObject({ status: 'approved' });

  await act('resume', agent, 'bob');
  const destroyed = ran.destroy;
  await eventually(async () => {
    const r = await call(0, token, 'delete_note', { id: 'a1', approval_id: approved });
    expect(r.code).toBe('approval_refused');
  });
  for (const [id, approvalId] of [
    ['p1', pending[0]!],
    ['p2', pending[1]!],
  ] as const)
    expect((await call(1, token, 'delete_note', { id, approval_id: approvalId })).code).toBe(
      'approval_refused',
    );
  expect(ran.destroy).toBe(destroyed);
  // The bystander's approval still works.
  expect((await call(0, bystander, 'delete_note', { id: 'b1', approval_id: theirs })).code).toBeUndefined();
  expect(ran.destroy).toBe(destroyed + 1);
});

it('a call that used its approval and was waiting to run when the suspension came does not give the approval back', async () => {
  const agent = `inuse-${randomUUID().slice(0, 8)}`;
  const token = await fleet.agentToken(agent, { user: 'carol' });
  const id = `hold-${randomUUID()}`; // waits in a step after the approval use, before the handler
  const approved = await request(token, id, true);
  const waiting = new Promise<void>((resolve) => {
    const on = (x: string) => {
      if (x === id) {
        slowGate.off('waiting', on);
        resolve();
      }
    };
    slowGate.on('waiting', on);
  });
  const destroyed = ran.destroy;
  const pendingCall = call(0, token, 'delete_note', { id, approval_id: approved });
  await waiting;
  expect(await status(approved)).toMatchObject({ status: 'executing' });
  await act('suspend', agent, 'alice');
  await eventually(async () =>
    expect((await call(0, token, 'read_note', { id: 'p' })).code).toBe('agent_suspended'),
  );
  slowGate.emit(`release:${id}`);
  const r = await pendingCall;
  expect(r.code).toBe('agent_suspended');
  expect(ran.destroy).toBe(destroyed);
  expect(await status(approved)).toMatchObject({
    status: 'denied',
    revokedBy: 'alice',
    revokeNote: 'agent suspended',
  });
  expect(withdrawals(approved)).toHaveLength(1);

  await act('resume', agent, 'bob');
  await eventually(async () =>
    expect((await call(0, token, 'delete_note', { id, approval_id: approved })).code).toBe(
      'approval_refused',
    ),
  );
  expect(ran.destroy).toBe(destroyed);
});

it('a call that opens its approval request after the suspension (it waited before the gate) leaves no request behind', async () => {
  const agent = `late-${randomUUID().slice(0, 8)}`;
  const token = await fleet.agentToken(agent, { user: 'carol' });
  const id = `holdreq-${randomUUID()}`;
  const waiting = new Promise<void>((resolve) => {
    const on = (x: string) => {
      if (x === id) {
        slowGate.off('waiting', on);
        resolve();
      }
    };
    slowGate.on('waiting', on);
  });
  const pendingCall = call(0, token, 'delete_note', { id });
  await waiting;
  await act('suspend', agent, 'alice');
  await eventually(async () =>
    expect((await call(0, token, 'read_note', { id: 'p' })).code).toBe('agent_suspended'),
  );
  slowGate.emit(`release:${id}`);
  const r = await pendingCall;
  expect(r.code).toBe('agent_suspended');
  const left = await fleet.api(
    1,
    'GET',
    `/approvals?status=pending&agent=${agent}`,
    await fleet.approverToken('bob'),
  );
  expect(left.status).toBe(200);
  expect(left.body.approvals).toEqual([]);
  const all = await fleet.api(
    1,
    'GET',
    `/approvals?status=all&agent=${agent}`,
    await fleet.approverToken('bob'),
  );
  expect(all.body.approvals).toEqual([
    expect.objectContaining({ status: 'denied', decidedBy: 'alice', note: 'agent suspended' }),
  ]);
  await act('resume', agent, 'bob');
});
