// Dual control and the approver group through a real server (issue 15): policy
// `tools.<server/tool>.approvers: 2` holds an agent's call until two distinct people in APPROVER_GROUP
// approved it through /approvals; the first approval is "1 of 2" (API, CLI, audit) and the call still
// does not run; the same person again (another token, another subject, the same login or email) is
// refused; a person outside the group is refused (not_in_group, 403, audited as a refused attempt);
// the approved call runs exactly once. State in PostgreSQL.
import { connectClient, createTestDatabase, type TestClient } from '@mcp-fleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runApprovals } from '../../../cli/src/commands/approvals.js';
import { type AuditLine, Fleet, govPolicy, PUBLIC_URL, textOf, upstream } from './harness.js';

const GROUP = 'fleet-approvers';
let fleet: Fleet;
let db: { url: string; drop: () => Promise<void> };
beforeAll(async () => {
  db = await createTestDatabase('fleet_gov_dual');
  const policy = structuredClone(govPolicy) as typeof govPolicy & { tools: Record<string, unknown> };
  policy.tools = {
    ...policy.tools,
    'govtest/refund_payment': { approvers: 2 },
    close_account: { approvers: 3 },
  };
  fleet = await Fleet.start({ count: 1, databaseUrl: db.url, policy, env: { APPROVER_GROUP: GROUP } });
  // A second replica reading the groups from another claim (APPROVER_CLAIM_GROUPS).
  await fleet.add({ APPROVER_CLAIM_GROUPS: 'org.teams' });
});
afterAll(async () => {
  await fleet?.close();
  await db?.drop();
});

type Result = Awaited<ReturnType<TestClient['callTool']>> & { _meta?: Record<string, unknown> };
const approvalIdOf = (r: Result) =>
  (r._meta?.['io.mcp-fleet/governance'] as { approvalId: string } | undefined)?.approvalId ?? '';
const refundsOf = (payment: string) => upstream.refunds.filter((r) => r.payment === payment).length;
type ApiBody = Record<string, unknown> & {
  status?: string;
  error?: string;
  requiredApprovals?: number;
  approvals?: { by: string }[];
};

async function api(method: 'GET' | 'POST', path: string, token: string, replica = 0) {
  const res = await fetch(`${fleet.replicas[replica]!.baseUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(method === 'POST' ? { 'content-type': 'application/json' } : {}),
    },
    ...(method === 'POST' ? { body: JSON.stringify({ note: 'checked' }) } : {}),
  });
  return { status: res.status, body: (await res.json()) as ApiBody };
}

const APPROVALS = `${PUBLIC_URL}/approvals`;
/** A person's approver token, as `fleet token --approver` mints it (login name and the approver group). */
const person = (sub: string, o: { groups?: unknown; extra?: Record<string, unknown> } = {}) =>
  fleet.issuer.mintApprover({
    sub,
    aud: APPROVALS,
    tenant: 'acme',
    preferredUsername: sub,
    ...(o.groups === undefined ? { groups: [GROUP] } : {}),
    extra: { ...(o.groups !== undefined ? { groups: o.groups } : {}), ...o.extra },
  });

async function agentCall(tool: string, args: Record<string, unknown>): Promise<Result> {
  const agent = await connectClient(
    'modern',
    fleet.replicas[0]!.url,
    await fleet.token({
      sub: 'agent-dual',
      roles: ['operator'],
      tenant: 'acme',
      user: 'carol',
      sid: 'sess-d',
    }),
  );
  try {
    return (await agent.callTool(tool, args)) as Result;
  } finally {
    await agent.close();
  }
}

async function cli(argv: string[], token: string) {
  let stdout = '';
  let stderr = '';
  const code = await runApprovals([...argv, '--url', fleet.replicas[0]!.baseUrl, '--token', token], {
    env: {},
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
  });
  return { code, stdout, stderr };
}

const decisionAudits = (id: string) =>
  (fleet.audit as (AuditLine & { resultSummary?: string })[]).filter(
    (a) => a.method.startsWith('approvals/') && (a.details as { approvalId?: string })?.approvalId === id,
  );

describe('dual control through /approvals', () => {
  it('holds the call until two distinct approvers in the group approved; one person twice is refused; it then runs once', async () => {
    const held = await agentCall('refund_payment', { payment: 'pay_dual', amount: 40 });
    expect(held.structuredContent).toMatchObject({ status: 'awaiting_approval' });
    const id = approvalIdOf(held);
    const opened = fleet.audit.filter((a) => a.tool === 'refund_payment' && a.method === 'tools/call').at(-1);
    expect(opened?.details).toMatchObject({ approvalId: id, requiredApprovals: 2 });

    const alice = await person('alice', { extra: { email: 'alice@example.com' } });
    const first = await api('POST', `/approvals/${id}/approve`, alice);
    expect(first).toMatchObject({
      status: 200,
      body: { status: 'pending', requiredApprovals: 2, approvals: [{ by: 'alice' }] },
    });
    // "1 of 2" in the CLI, and the call still does not run.
    const shown = await cli(['show', id], alice);
    expect(shown.stdout).toMatch(/pending 1 of 2/);
    expect(shown.stdout).toMatch(
      /approvals: 1 of 2 \(alice of http:\/\/127\.0\.0\.1:\d+ at .*\(checked\)\); needs 1 more/,
    );
    expect((await cli(['list'], alice)).stdout).toMatch(/pending 1 of 2/);
    const early = await agentCall('refund_payment', { payment: 'pay_dual', amount: 40, approval_id: id });
    expect(textOf(early)).toMatch(/still waiting for a human decision/);
    expect(refundsOf('pay_dual')).toBe(0);

    // alice again: the same token, a token with another subject but her login or her email.
    for (const again of [
      alice,
      await person('ALICE'),
      await person('00u-alice-okta', { extra: { preferred_username: 'alice' } }),
      await person('alice.cli', { extra: { email: 'Alice@Example.com' } }),
    ]) {
      const r = await api('POST', `/approvals/${id}/approve`, again);
      expect(r).toMatchObject({ status: 403, body: { error: 'same_approver' } });
    }
    expect((await api('GET', `/approvals/${id}`, alice)).body.status).toBe('pending');

    const bob = await person('bob');
    const second = await api('POST', `/approvals/${id}/approve`, bob);
    expect(second).toMatchObject({
      status: 200,
      body: { status: 'approved', approvals: [{ by: 'alice' }, { by: 'bob' }] },
    });
    const ran = await agentCall('refund_payment', { payment: 'pay_dual', amount: 40, approval_id: id });
    expect(ran.isError).toBeFalsy();
    expect(refundsOf('pay_dual')).toBe(1);
    // Used once.
    await agentCall('refund_payment', { payment: 'pay_dual', amount: 40, approval_id: id });
    expect(refundsOf('pay_dual')).toBe(1);

    expect(
      decisionAudits(id).map((a) => [
        a.agentId,
        a.outcome,
        (a.details as { refused?: string }).refused ?? null,
      ]),
    ).toEqual([
      ['alice', 'ok', null],
      ['alice', 'denied', 'same_approver'],
      ['ALICE', 'denied', 'same_approver'],
      ['00u-alice-okta', 'denied', 'same_approver'],
      ['alice.cli', 'denied', 'same_approver'],
      ['bob', 'ok', null],
    ]);
  });

  it('a tool needing three approvers (bare tool key) needs three people', async () => {
    const held = await agentCall('close_account', { account: 'acc-3' });
    const id = approvalIdOf(held);
    for (const [who, status] of [
      ['alice', 'pending'],
      ['bob', 'pending'],
      ['dana', 'approved'],
    ] as const) {
      const r = await api('POST', `/approvals/${id}/approve`, await person(who));
      expect(r).toMatchObject({ status: 200, body: { status, requiredApprovals: 3 } });
    }
  });

  it('the person the agent acts for is refused even as the second approver', async () => {
    const held = await agentCall('refund_payment', { payment: 'pay_req', amount: 5 });
    const id = approvalIdOf(held);
    await api('POST', `/approvals/${id}/approve`, await person('alice'));
    const carol = await api('POST', `/approvals/${id}/approve`, await person('Carol'));
    expect(carol).toMatchObject({ status: 403, body: { error: 'requester_approval' } });
    expect(refundsOf('pay_req')).toBe(0);
  });
});

describe('the approval findings and threats hold with dual control', () => {
  it('no agent token gives either approval, whatever group and scope it claims (F5, A9)', async () => {
    const held = await agentCall('refund_payment', { payment: 'pay_agent', amount: 3 });
    const id = approvalIdOf(held);
    const withGroup = { groups: [GROUP], preferred_username: 'agent-dual' };
    const attempts = [
      // Another agent's MCP token with the approver scope and group.
      await fleet.issuer.mint({
        sub: 'agent-other',
        roles: ['operator'],
        aud: `${PUBLIC_URL}/mcp`,
        scope: 'mcp:approve',
        extra: withGroup,
      }),
      // The same agent token naming both audiences.
      await fleet.issuer.mint({
        sub: 'agent-other',
        roles: [],
        aud: [`${PUBLIC_URL}/mcp`, `${PUBLIC_URL}/approvals`],
        scope: 'mcp:approve',
        extra: withGroup,
      }),
      // A delegated token (an agent acting for alice) and one carrying roles, both for /approvals.
      await person('alice', { extra: { act: { sub: 'agent-other' } } }),
      await person('alice', { extra: { roles: ['admin'] } }),
      // The requesting agent itself, as a person token in the group.
      await person('agent-dual'),
    ];
    await api('POST', `/approvals/${id}/approve`, await person('bob'));
    for (const token of attempts) {
      const r = await api('POST', `/approvals/${id}/approve`, token);
      expect(r.status).toBeGreaterThanOrEqual(401);
      expect(r.status).toBeLessThan(404);
    }
    const after = await api('GET', `/approvals/${id}`, await person('bob'));
    expect(after.body).toMatchObject({ status: 'pending', approvals: [{ by: 'bob' }] });
    expect(refundsOf('pay_agent')).toBe(0);
  });

  it('a request approved by two people runs only with its exact arguments, caller and session, once (A5, A6, A1)', async () => {
    const held = await agentCall('refund_payment', { payment: 'pay_swap', amount: 10, confirm: true });
    const id = approvalIdOf(held);
    await api('POST', `/approvals/${id}/approve`, await person('alice'));
    await api('POST', `/approvals/${id}/approve`, await person('bob'));
    // Another amount, another payment, an extra `confirm`: nothing reaches the upstream.
    for (const args of [
      { payment: 'pay_swap', amount: 1000 },
      { payment: 'pay_other', amount: 10, confirm: true },
      { payment: 'pay_swap', amount: 10, confirm: false },
    ]) {
      const r = await agentCall('refund_payment', { ...args, approval_id: id });
      expect(r.isError, JSON.stringify(args)).toBe(true);
    }
    // Another session of the same agent cannot use it either.
    const other = await connectClient(
      'modern',
      fleet.replicas[0]!.url,
      await fleet.token({
        sub: 'agent-dual',
        roles: ['operator'],
        tenant: 'acme',
        user: 'carol',
        sid: 'sess-x',
      }),
    );
    const r = (await other.callTool('refund_payment', {
      payment: 'pay_swap',
      amount: 10,
      confirm: true,
      approval_id: id,
    })) as Result;
    await other.close();
    expect(r.isError).toBe(true);
    expect(refundsOf('pay_swap') + refundsOf('pay_other')).toBe(0);
    await agentCall('refund_payment', { payment: 'pay_swap', amount: 10, confirm: true, approval_id: id });
    expect(refundsOf('pay_swap')).toBe(1);
  });
});

describe('the approver group (APPROVER_GROUP)', () => {
  it('refuses a person outside the group (403 not_in_group), audited as a refused attempt, and decides nothing', async () => {
    const held = await agentCall('refund_payment', { payment: 'pay_grp', amount: 7 });
    const id = approvalIdOf(held);
    for (const groups of [
      [],
      ['support'],
      'support',
      ['Fleet-Approvers'],
      ['fleet-approvers '],
      42,
      { [GROUP]: true },
    ]) {
      const token = await person('erin', { groups });
      const r = await api('POST', `/approvals/${id}/approve`, token);
      expect(r.status, JSON.stringify(groups)).toBe(403);
      expect(r.body.message).toMatch(/approver group/);
      expect((await api('GET', '/approvals', token)).status).toBe(403);
    }
    // No groups claim at all.
    const none = await fleet.issuer.mintApprover({ sub: 'erin', aud: APPROVALS, tenant: 'acme' });
    expect((await api('POST', `/approvals/${id}/approve`, none)).status).toBe(403);
    expect((await api('GET', `/approvals/${id}`, await person('erin'))).body.status).toBe('pending');
    const refused = decisionAudits(id).filter((a) => a.outcome === 'denied');
    expect(refused.length).toBeGreaterThan(0);
    for (const a of refused)
      expect(a.details).toMatchObject({ refused: 'token_not_in_group', presentedBy: { subject: 'erin' } });
    // A string claim naming exactly the group is membership.
    expect((await api('GET', `/approvals/${id}`, await person('erin', { groups: GROUP }))).status).toBe(200);
  });

  it('reads the groups from APPROVER_CLAIM_GROUPS (a nested claim) on the replica configured so', async () => {
    const held = await agentCall('refund_payment', { payment: 'pay_claim', amount: 9 });
    const id = approvalIdOf(held);
    // Replica 1 reads org.teams: the `groups` claim does not count there.
    expect((await api('GET', `/approvals/${id}`, await person('bob'), 1)).status).toBe(403);
    const nested = await person('bob', { groups: [], extra: { org: { teams: [GROUP] } } });
    expect((await api('GET', `/approvals/${id}`, nested, 1)).body.status).toBe('pending');
    expect((await api('GET', `/approvals/${id}`, nested, 0)).status).toBe(403);
  });
});
