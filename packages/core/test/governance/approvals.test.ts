// The approval gate: an agent's call opens a request and runs nothing; only a person with an approver
// token (a token class of its own: approvals audience, approver scope) can approve — never an agent
// token, whatever its scope, nor the agent that asked or the person it acts for; approvers see only
// their tenant's requests; every decision and refused attempt is audited with the approver's issuer
// and subject. The approved call runs once, only with the approved arguments, only for the same
// caller, before expiry; deny, expiry, mismatch and reuse all mean no. Two replicas and a restart in
// between, state in PostgreSQL.
import { loadCoreConfig } from '@mcp-fleet/core/internal';
import { connectClient, createTestDatabase, DevIssuer, type TestClient } from '@mcp-fleet/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIENCE, type AuditLine, Fleet, PUBLIC_URL, textOf, upstream } from './harness.js';

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
/** The approvals audience of the governance server (APPROVER_AUDIENCE's default). */
const APPROVALS_AUDIENCE = `${PUBLIC_URL}/approvals`;
const approverToken = (sub = 'human-alice', tenant: string | null = 'acme') =>
  fleet.issuer.mintApprover({ sub, aud: APPROVALS_AUDIENCE, ...(tenant ? { tenant } : {}) });
const decisionAudits = () =>
  fleet.audit.filter(
    (a) => a.method === 'approvals/approve' || a.method === 'approvals/deny',
  ) as (AuditLine & {
    outcome: string;
    details: { approvalId: string; refused?: string; approver: { issuer: string; subject: string } | null };
  })[];

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

    // The agent's own token cannot use the approvals API (wrong audience, whatever its scope);
    // neither can no token or another server's approver token.
    const asAgent = await api(1, 'POST', `/approvals/${id}/approve`, await agentToken());
    expect(asAgent.status).toBe(401);
    expect(asAgent.headers.get('www-authenticate')).toMatch(/invalid_token/);
    // The challenge names the approvals resource's own metadata: where approver tokens come from.
    const metadataUrl = `${PUBLIC_URL}/.well-known/oauth-protected-resource/approvals`;
    expect(asAgent.headers.get('www-authenticate')).toContain(`resource_metadata="${metadataUrl}"`);
    expect((await api(1, 'GET', '/.well-known/oauth-protected-resource/approvals')).body).toMatchObject({
      resource: APPROVALS_AUDIENCE,
      authorization_servers: [fleet.issuer.issuer],
      scopes_supported: ['mcp:approve'],
    });
    expect((await api(1, 'POST', `/approvals/${id}/approve`)).status).toBe(401);
    const otherServer = await fleet.issuer.mintApprover({
      sub: 'human-bob',
      aud: 'http://other.local/approvals',
    });
    expect((await api(1, 'POST', `/approvals/${id}/approve`, otherServer)).status).toBe(401);
    const selfAgent = await api(
      1,
      'POST',
      `/approvals/${id}/approve`,
      await agentToken('agent-a', { scope: 'mcp:approve' }),
    );
    expect(selfAgent.status).toBe(401);
    // Even a person-class token naming the requesting agent may not decide its request.
    const self = await api(1, 'POST', `/approvals/${id}/approve`, await approverToken('agent-a'));
    expect(self.status).toBe(403);
    expect(self.body.error).toBe('self_approval');
    const selfByUserClaim = await fleet.issuer.mintApprover({
      sub: 'someone',
      aud: APPROVALS_AUDIENCE,
      tenant: 'acme',
      extra: { user: 'agent-a' },
    });
    expect((await api(1, 'POST', `/approvals/${id}/approve`, selfByUserClaim)).body.error).toBe(
      'self_approval',
    );
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
    // Approving twice is refused (a denial now would withdraw the approval: see approvals-hardening).
    expect((await api(1, 'POST', `/approvals/${id}/approve`, await approverToken())).status).toBe(409);
    // Audited with the verified approver: issuer and subject.
    expect(decisionAudits().find((a) => a.details.approvalId === id && a.outcome === 'ok')).toMatchObject({
      method: 'approvals/approve',
      agentId: 'human-alice',
      details: { approver: { issuer: fleet.issuer.issuer, subject: 'human-alice' } },
    });
    expect(approved.body).toMatchObject({ decidedByIssuer: fleet.issuer.issuer });

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
    const replica = fleet.replicas[0]!;
    const agent = await connectClient('modern', replica.url, await agentToken());
    const undecided = approvalIdOf(
      (await agent.callTool('refund_payment', { payment: 'pay_4', amount: 1 })) as Result,
    );
    const unused = approvalIdOf(
      (await agent.callTool('refund_payment', { payment: 'pay_5', amount: 1 })) as Result,
    );
    expect((await api(0, 'POST', `/approvals/${unused}/approve`, await approverToken())).status).toBe(200);
    // Their time runs out: set in the fleet database rather than waited for.
    const pool = new pg.Pool({ connectionString: db.url, max: 1 });
    await pool.query(`UPDATE approvals SET expires_at = now() - interval '1 second' WHERE id = ANY($1)`, [
      [undecided, unused],
    ]);
    await pool.end();
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

describe('approvers are people, not agents', () => {
  const hold = async (payment: string, who: { sub?: string; tenant?: string; user?: string } = {}) => {
    const agent = await connectClient(
      'modern',
      fleet.replicas[0]!.url,
      await fleet.token({
        sub: who.sub ?? 'agent-a',
        roles: ['operator'],
        ...('tenant' in who ? (who.tenant ? { tenant: who.tenant } : {}) : { tenant: 'acme' }),
        user: who.user ?? 'carol',
      }),
    );
    const id = approvalIdOf((await agent.callTool('refund_payment', { payment, amount: 5 })) as Result);
    await agent.close();
    return id;
  };

  it("refuses another agent's token even when it carries the approver scope, and audits the attempt", async () => {
    const id = await hold('pay_f5_1');
    // agent-b: an agent token (MCP audience) with the approver scope, the shape `fleet token --scope` makes.
    const agentB = await fleet.token({
      sub: 'agent-b',
      roles: ['operator'],
      tenant: 'acme',
      scope: 'mcp:tools mcp:approve',
    });
    const tried = await api(1, 'POST', `/approvals/${id}/approve`, agentB);
    expect(tried.status).toBe(401);
    // Nor a token naming both audiences: it still works at /mcp, so it is an agent's.
    const both = await fleet.issuer.mintApprover({
      sub: 'agent-b',
      aud: [AUDIENCE, APPROVALS_AUDIENCE],
      tenant: 'acme',
    });
    expect((await api(1, 'POST', `/approvals/${id}/approve`, both)).status).toBe(401);
    expect((await api(1, 'GET', `/approvals/${id}`, agentB)).status).toBe(401);
    // Anonymous garbage is refused and counted, but does not get to write audit records.
    expect((await api(1, 'POST', `/approvals/${id}/approve`, 'a.b.c')).status).toBe(401);
    expect((await api(1, 'POST', `/approvals/${id}/approve`)).status).toBe(401);
    expect((await api(0, 'GET', `/approvals/${id}`, await approverToken())).body.status).toBe('pending');
    const agent = await connectClient('modern', fleet.replicas[0]!.url, await agentToken());
    const r = await agent.callTool('refund_payment', { payment: 'pay_f5_1', amount: 5, approval_id: id });
    expect(textOf(r)).toMatch(/still waiting for a human decision/);
    expect(refundsOf('pay_f5_1')).toBe(0);
    await agent.close();
    // Both attempts audited: refused, no approver, and who presented the (validly signed) token.
    const presentedBy = { issuer: fleet.issuer.issuer, subject: 'agent-b' };
    expect(decisionAudits().filter((a) => a.details.approvalId === id)).toEqual([
      expect.objectContaining({
        outcome: 'denied',
        agentId: null,
        details: expect.objectContaining({ refused: 'token_wrong_audience', approver: null, presentedBy }),
      }),
      expect.objectContaining({
        outcome: 'denied',
        agentId: null,
        details: expect.objectContaining({ refused: 'token_wrong_audience', approver: null, presentedBy }),
      }),
    ]);
  });

  it('refuses an approver token at /mcp', async () => {
    const res = await fetch(fleet.replicas[0]!.url, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${await approverToken()}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
    });
    expect(res.status).toBe(401);
  });

  it('does not let the person the agent acts for approve its request', async () => {
    const id = await hold('pay_f5_2', { user: 'carol' });
    const asCarol = await api(1, 'POST', `/approvals/${id}/approve`, await approverToken('carol'));
    expect(asCarol.status).toBe(403);
    expect(asCarol.body.error).toBe('requester_approval');
    // Known to the approver IdP by another subject, but the same person (`user` claim): no either.
    const carolAlias = await fleet.issuer.mintApprover({
      sub: 'c.jones',
      aud: APPROVALS_AUDIENCE,
      tenant: 'acme',
      extra: { user: 'carol' },
    });
    const alias = await api(1, 'POST', `/approvals/${id}/deny`, carolAlias);
    expect(alias.status).toBe(403);
    expect(alias.body.error).toBe('requester_approval');
    expect((await api(1, 'GET', `/approvals/${id}`, await approverToken())).body.status).toBe('pending');
    expect(decisionAudits().filter((a) => a.details.approvalId === id)).toEqual([
      expect.objectContaining({
        outcome: 'denied',
        agentId: 'carol',
        details: expect.objectContaining({
          refused: 'requester_approval',
          approver: { issuer: fleet.issuer.issuer, subject: 'carol', tenant: 'acme' },
        }),
      }),
      expect.objectContaining({
        outcome: 'denied',
        agentId: 'c.jones',
        details: expect.objectContaining({ refused: 'requester_approval' }),
      }),
    ]);
    // Someone else may.
    expect((await api(1, 'POST', `/approvals/${id}/deny`, await approverToken('human-alice'))).status).toBe(
      200,
    );
  });

  it('scopes approvers to their tenant; without a tenant claim, to requests without one unless configured', async () => {
    const acme = await hold('pay_t_acme', { sub: 'agent-t', tenant: 'acme' });
    const globex = await hold('pay_t_globex', { sub: 'agent-t', tenant: 'globex' });
    const none = await hold('pay_t_none', { sub: 'agent-t', tenant: undefined });
    const idsSeenBy = async (token: string, replica = 0) =>
      (
        (await api(replica, 'GET', '/approvals?status=all&limit=1000', token)).body.approvals as {
          id: string;
        }[]
      )
        .map((a) => a.id)
        .filter((x) => [acme, globex, none].includes(x))
        .sort();

    const acmeApprover = await approverToken('human-alice', 'acme');
    expect(await idsSeenBy(acmeApprover)).toEqual([acme]);
    expect((await api(0, 'GET', `/approvals/${globex}`, acmeApprover)).status).toBe(404);
    expect((await api(0, 'POST', `/approvals/${globex}/approve`, acmeApprover)).status).toBe(404);
    expect((await api(0, 'POST', `/approvals/${none}/approve`, acmeApprover)).status).toBe(404);

    const untenanted = await approverToken('human-olga', null);
    expect(await idsSeenBy(untenanted)).toEqual([none]);
    expect((await api(0, 'POST', `/approvals/${acme}/approve`, untenanted)).status).toBe(404);
    expect((await api(0, 'GET', `/approvals/${globex}`, untenanted)).status).toBe(404);

    // APPROVER_ALL_TENANTS=true: an approver without a tenant claim sees and decides every tenant's.
    const wide = await fleet.add({ APPROVER_ALL_TENANTS: 'true' });
    const wideIndex = fleet.replicas.indexOf(wide);
    expect(await idsSeenBy(untenanted, wideIndex)).toEqual([acme, globex, none].sort());
    expect(await idsSeenBy(acmeApprover, wideIndex)).toEqual([acme]);
    expect((await api(wideIndex, 'POST', `/approvals/${globex}/approve`, untenanted)).status).toBe(200);
    await fleet.stop(wide);
    expect((await api(0, 'GET', `/approvals/${acme}`, acmeApprover)).body.status).toBe('pending');
  });

  it('lets no one decide a request kept without its exact arguments (opened before the upgrade)', async () => {
    const id = await hold('pay_f4_old');
    const pool = new pg.Pool({ connectionString: db.url, max: 1 });
    await pool.query(
      `UPDATE approvals SET arguments_json = NULL, arguments = '{"payment":"pay_f4_old"}' WHERE id = $1`,
      [id],
    );
    await pool.end();
    const r = await api(1, 'POST', `/approvals/${id}/approve`, await approverToken());
    expect(r.status).toBe(409);
    expect(r.body.error).toBe('incomplete');
    // Asking again opens a new request, shown in full.
    const again = await hold('pay_f4_old');
    expect(again).not.toBe(id);
    expect((await api(1, 'GET', `/approvals/${again}`, await approverToken())).body.arguments).toEqual({
      payment: 'pay_f4_old',
      amount: 5,
    });
  });

  it("takes approver tokens from a separate issuer when configured, and then not from the agents' issuer", async () => {
    const workforce = await DevIssuer.create();
    await workforce.listen();
    const sso = await fleet.add({ APPROVER_ISSUER: workforce.issuer, APPROVER_JWKS_URL: workforce.jwksUrl });
    const at = fleet.replicas.indexOf(sso);
    const id = await hold('pay_f5_sso');
    const fromAgentIdp = await api(
      at,
      'POST',
      `/approvals/${id}/approve`,
      await approverToken('human-alice'),
    );
    expect(fromAgentIdp.status).toBe(401);
    const person = await workforce.mintApprover({
      sub: 'human-alice',
      aud: APPROVALS_AUDIENCE,
      tenant: 'acme',
    });
    const ok = await api(at, 'POST', `/approvals/${id}/approve`, person);
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ decidedBy: 'human-alice', decidedByIssuer: workforce.issuer });
    // Agents still authenticate with their own IdP on /mcp; the workforce token is not one of theirs.
    const res = await fetch(sso.url, {
      method: 'POST',
      headers: { authorization: `Bearer ${person}`, 'content-type': 'application/json' },
      body: '{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}',
    });
    expect(res.status).toBe(401);
    await fleet.stop(sso);
    await workforce.close();
  });

  it('refuses to start with an approver audience equal to the MCP audience', () => {
    expect(() => loadCoreConfig({ PUBLIC_URL, APPROVER_AUDIENCE: AUDIENCE }, 7498)).toThrow(
      /APPROVER_AUDIENCE/,
    );
    expect(() =>
      loadCoreConfig(
        { PUBLIC_URL, AUTH_AUDIENCE: 'https://api.example/db', APPROVER_AUDIENCE: 'https://api.example/db' },
        7498,
      ),
    ).toThrow(/must differ from the MCP audience/);
    expect(loadCoreConfig({ PUBLIC_URL }, 7498).approvers?.audience).toBe(APPROVALS_AUDIENCE);
  });
});
