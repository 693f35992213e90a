// The approval gate: an agent's call opens a request and runs nothing; only a human with an approver
// token (not the agent, whose token is refused) can approve; the approved call runs once, only with
// the approved arguments, only for the same caller, before expiry; deny, expiry, mismatch and reuse
// all mean no. Two replicas and a restart in between, state in PostgreSQL.
import { setTimeout as sleep } from 'node:timers/promises';
import { connectClient, createTestDatabase, type TestClient } from '@mcp-fleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Fleet, textOf, upstream } from './harness.js';

let fleet: Fleet;
let db: { url: string; drop: () => Promise<void> };
beforeAll(async () => {
  db = await createTestDatabase('fleet_gov_appr');
  fleet = await Fleet.start({ count: 2, databaseUrl: db.url });
});
afterAll(async () => {
  await fleet?.close();
  await db?.drop();
});

type Result = Awaited<ReturnType<TestClient['callTool']>> & { _meta?: Record<string, unknown> };
const refundsOf = (payment: string) => upstream.refunds.filter((r) => r.payment === payment).length;
const approvalIdOf = (r: Result) =>
  (r._meta?.['io.mcp-fleet/governance'] as { approvalId: string } | undefined)?.approvalId ?? '';

/** An approvals API answer: one approval, a list, or an error. */
type ApiBody = Record<string, unknown> & { status?: string; error?: string; approvals?: unknown[] };

async function api(replica: number, method: 'GET' | 'POST', path: string, token?: string) {
  const res = await fetch(`${fleet.replicas[replica]!.baseUrl}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(method === 'POST' ? { 'content-type': 'application/json' } : {}),
    },
    ...(method === 'POST' ? { body: JSON.stringify({ note: 'checked with the customer' }) } : {}),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as ApiBody };
}

const agentToken = (sub = 'agent-a', extra: Partial<Parameters<Fleet['token']>[0]> = {}) =>
  fleet.token({ sub, roles: ['operator'], tenant: 'acme', user: 'carol', ...extra });
const approverToken = () => fleet.token({ sub: 'human-alice', roles: [], scope: 'mcp:approve' });

describe('approval gate', () => {
  it('holds a destructive call for a human, whatever the arguments say, and the agent cannot approve it', async () => {
    const agent = await connectClient('modern', fleet.replicas[0]!.url, await agentToken());
    const held = (await agent.callTool('refund_payment', {
      payment: 'pay_1',
      amount: 25,
      confirm: true,
    })) as Result;
    expect(held.isError).toBeFalsy();
    expect(held.structuredContent).toMatchObject({ status: 'awaiting_approval' });
    expect(textOf(held)).toMatch(/needs a human approval and has NOT run yet/);
    const id = approvalIdOf(held);
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(refundsOf('pay_1')).toBe(0);
    expect(fleet.outcomes('refund_payment').at(-1)).toBe('awaiting_approval');

    // Calling again (confirm or not) runs nothing and does not pile up requests.
    const again = (await agent.callTool('refund_payment', {
      payment: 'pay_1',
      amount: 25,
      confirm: true,
    })) as Result;
    expect(approvalIdOf(again)).toBe(id);
    // Resuming before a decision: still waiting.
    const early = (await agent.callTool('refund_payment', {
      payment: 'pay_1',
      amount: 25,
      confirm: true,
      approval_id: id,
    })) as Result;
    expect(textOf(early)).toMatch(/still waiting for a human decision/);
    expect(refundsOf('pay_1')).toBe(0);

    // The agent's own token cannot use the approvals API; neither can no token or a sibling's token.
    const asAgent = await api(1, 'POST', `/approvals/${id}/approve`, await agentToken());
    expect(asAgent.status).toBe(403);
    expect(asAgent.headers.get('www-authenticate')).toMatch(/insufficient_scope.*mcp:approve/);
    expect((await api(1, 'POST', `/approvals/${id}/approve`)).status).toBe(401);
    const otherServer = await fleet.token({
      sub: 'human-bob',
      roles: [],
      scope: 'mcp:approve',
      aud: 'http://other.local/mcp',
    });
    expect((await api(1, 'POST', `/approvals/${id}/approve`, otherServer)).status).toBe(401);
    // Even with the approver scope, the requesting agent may not decide its own request.
    const selfApprover = await agentToken('agent-a', { scope: 'mcp:approve' });
    const self = await api(1, 'POST', `/approvals/${id}/approve`, selfApprover);
    expect(self.status).toBe(403);
    expect(self.body.error).toBe('self_approval');
    // Nor can it through /mcp: the approvals API is not a tool.
    const { tools } = await agent.listTools();
    expect(tools.map((t) => t.name).filter((n) => /approv/.test(n))).toEqual([]);
    expect((await api(0, 'GET', `/approvals/${id}`, await approverToken())).body.status).toBe('pending');
    await agent.close();
  });

  it('runs an approved call once, only with the approved arguments and caller, across replicas and a restart', async () => {
    const agentA = await connectClient('legacy', fleet.replicas[0]!.url, await agentToken());
    const held = (await agentA.callTool('refund_payment', { payment: 'pay_2', amount: 40 })) as Result;
    const id = approvalIdOf(held);
    await agentA.close();

    // A human reviews it on the other replica and approves.
    const list = await api(1, 'GET', '/approvals?status=pending', await approverToken());
    const listed = (
      list.body.approvals as { id: string; arguments: unknown; agentId: string; tool: string }[]
    ).find((a) => a.id === id);
    expect(listed).toMatchObject({
      tool: 'refund_payment',
      agentId: 'agent-a',
      arguments: { payment: 'pay_2', amount: 40 },
    });
    const approved = await api(1, 'POST', `/approvals/${id}/approve`, await approverToken());
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({
      status: 'approved',
      decidedBy: 'human-alice',
      note: 'checked with the customer',
    });
    // Deciding twice is refused.
    expect((await api(1, 'POST', `/approvals/${id}/deny`, await approverToken())).status).toBe(409);
    expect(fleet.audit.some((a) => a.method === 'approvals/approve' && a.agentId === 'human-alice')).toBe(
      true,
    );

    // The replica that took the request goes away; a new one starts.
    await fleet.stop(fleet.replicas[0]!);
    const fresh = await fleet.add();
    const agent = await connectClient('modern', fresh.url, await agentToken());

    // Other arguments, another tool, another agent, another user: no.
    const stretched = (await agent.callTool('refund_payment', {
      payment: 'pay_2',
      amount: 4000,
      approval_id: id,
    })) as Result;
    expect(stretched.isError).toBe(true);
    expect(textOf(stretched)).toMatch(/was given for different arguments/);
    const otherTool = (await agent.callTool('close_account', {
      account: 'pay_2',
      approval_id: id,
    })) as Result;
    expect(otherTool.isError).toBe(true);
    const thief = await connectClient('modern', fresh.url, await agentToken('agent-b'));
    expect(
      textOf(await thief.callTool('refund_payment', { payment: 'pay_2', amount: 40, approval_id: id })),
    ).toMatch(/is not a valid approval for this caller/);
    const otherUser = await connectClient(
      'modern',
      fresh.url,
      await agentToken('agent-a', { user: 'mallory' }),
    );
    expect(
      textOf(await otherUser.callTool('refund_payment', { payment: 'pay_2', amount: 40, approval_id: id })),
    ).toMatch(/is not a valid approval/);
    expect(refundsOf('pay_2')).toBe(0);
    expect(fleet.outcomes('refund_payment').at(-1)).toBe('approval_denied');

    // Exactly the approved call, by the same caller: runs once. Concurrent duplicates cannot both use it.
    const args = { payment: 'pay_2', amount: 40 };
    const [r1, r2] = await Promise.all([
      agent.callTool('refund_payment', { ...args, approval_id: id }),
      agent.callTool('refund_payment', args, { 'io.mcp-fleet/approvalId': id }),
    ]);
    expect([r1, r2].filter((r) => /refunded 40 on pay_2/.test(textOf(r)))).toHaveLength(1);
    expect(refundsOf('pay_2')).toBe(1);
    // Used once: any reuse is refused.
    const reuse = await agent.callTool('refund_payment', { ...args, approval_id: id });
    expect(textOf(reuse)).toMatch(/has already been used/);
    expect(refundsOf('pay_2')).toBe(1);
    expect((await api(1, 'GET', `/approvals/${id}`, await approverToken())).body).toMatchObject({
      status: 'executed',
      outcome: 'ok',
    });
    await agent.close();
    await thief.close();
    await otherUser.close();
  });

  it('treats a denial as no', async () => {
    const agent = await connectClient('modern', fleet.replicas[0]!.url, await agentToken());
    const id = approvalIdOf(
      (await agent.callTool('refund_payment', { payment: 'pay_3', amount: 9 })) as Result,
    );
    expect((await api(1, 'POST', `/approvals/${id}/deny`, await approverToken())).body.status).toBe('denied');
    const r = await agent.callTool('refund_payment', { payment: 'pay_3', amount: 9, approval_id: id });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toMatch(/was denied by a human/);
    expect(refundsOf('pay_3')).toBe(0);
    expect(fleet.outcomes('refund_payment').at(-1)).toBe('approval_denied');
    await agent.close();
  });

  it('lets approvals expire, undecided or unused', async () => {
    const short = await fleet.add({ APPROVAL_TTL_SECONDS: '1' });
    const agent = await connectClient('modern', short.url, await agentToken());
    const undecided = approvalIdOf(
      (await agent.callTool('refund_payment', { payment: 'pay_4', amount: 1 })) as Result,
    );
    const unused = approvalIdOf(
      (await agent.callTool('refund_payment', { payment: 'pay_5', amount: 1 })) as Result,
    );
    expect((await api(0, 'POST', `/approvals/${unused}/approve`, await approverToken())).status).toBe(200);
    await sleep(1_300);
    const late = await api(0, 'POST', `/approvals/${undecided}/approve`, await approverToken());
    expect(late.status).toBe(409);
    expect(late.body.error).toBe('expired');
    const r = await agent.callTool('refund_payment', { payment: 'pay_5', amount: 1, approval_id: unused });
    expect(textOf(r)).toMatch(/has expired/);
    expect(refundsOf('pay_5')).toBe(0);
    const expired = await api(0, 'GET', '/approvals?status=expired', await approverToken());
    expect((expired.body.approvals as { id: string }[]).map((a) => a.id)).toEqual(
      expect.arrayContaining([undecided]),
    );
    await agent.close();
    await fleet.stop(short);
  });

  it('answers tools with an output schema with an error-flagged hold that clients accept', async () => {
    const agent = await connectClient('modern', fleet.replicas[0]!.url, await agentToken());
    const held = (await agent.callTool('close_account', { account: 'acc-9' })) as Result;
    expect(held.isError).toBe(true);
    expect(held.structuredContent).toBeUndefined();
    expect(held._meta?.['io.mcp-fleet/governance']).toMatchObject({ status: 'awaiting_approval' });
    expect(textOf(held)).toMatch(/needs a human approval and has NOT run yet/);
    const legacy = await connectClient('legacy', fleet.replicas[1]!.url, await agentToken());
    expect(textOf(await legacy.callTool('close_account', { account: 'acc-9' }))).toMatch(/NOT run yet/);
    await agent.close();
    await legacy.close();
  });

  it('refuses approver tokens with a bad request or for unknown ids cleanly', async () => {
    const t = await approverToken();
    expect((await api(0, 'GET', '/approvals/not-a-uuid', t)).status).toBe(404);
    expect((await api(0, 'POST', '/approvals/00000000-0000-4000-8000-000000000000/approve', t)).status).toBe(
      404,
    );
    expect((await api(0, 'GET', '/approvals?status=bogus', t)).status).toBe(400);
  });
});
