// `fleet approvals` (the CLI function the lead wires into `fleet`): a person lists and decides requests
// through the servers' approvals API with an approver token; the server verifies it, applies the rules
// and audits every decision. Agent tokens (even with the approver scope) and self-declared names are refused.
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { connectClient, createTestDatabase } from '@mcp-fleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runApprovals } from '../../../cli/src/commands/approvals.js';
import { type AuditLine, Fleet, PUBLIC_URL, textOf, upstream } from './harness.js';

let fleet: Fleet;
let db: { url: string; drop: () => Promise<void> };
beforeAll(async () => {
  db = await createTestDatabase('fleet_gov_cli');
  fleet = await Fleet.start({ count: 1, databaseUrl: db.url });
});
afterAll(async () => {
  await fleet?.close();
  await db?.drop();
});

async function cli(argv: string[], env: Record<string, string> = {}) {
  let stdout = '';
  let stderr = '';
  const code = await runApprovals(argv, {
    env,
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
  });
  return { code, stdout, stderr };
}

async function requestRefund(payment: string, user?: string): Promise<string> {
  const agent = await connectClient(
    'modern',
    fleet.replicas[0]!.url,
    await fleet.token({ sub: 'agent-cli', roles: ['operator'], ...(user ? { user } : {}) }),
  );
  const r = await agent.callTool('refund_payment', { payment, amount: 12 });
  await agent.close();
  return /Approval id: ([0-9a-f-]{36})/.exec(textOf(r))![1]!;
}

const approverToken = (sub: string) => fleet.issuer.mintApprover({ sub, aud: `${PUBLIC_URL}/approvals` });
const decisionAudits = (id: string) =>
  (
    fleet.audit as (AuditLine & {
      details: { approvalId: string; refused?: string; approver: { issuer: string; subject: string } | null };
    })[]
  ).filter((a) => a.method.startsWith('approvals/') && a.details.approvalId === id);

describe('fleet approvals', () => {
  it('lists and approves with an approver token, audited; an agent token with the approver scope is refused', async () => {
    const id = await requestRefund('pay_cli_1');
    const url = fleet.replicas[0]!.url;
    const approver = await approverToken('human-dana');
    const listed = await cli(['list', '--url', url, '--token', approver]);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain(id);
    expect(listed.stdout).toMatch(/pending\s+govtest\/refund_payment\s+agent=agent-cli/);
    expect(listed.stdout).toContain('"payment":"pay_cli_1"');

    // Another agent's token carrying the approver scope: refused, and nothing decided.
    const agentToken = await fleet.token({
      sub: 'agent-other',
      roles: ['operator'],
      scope: 'mcp:tools mcp:approve',
    });
    const sneaky = await cli(['approve', id, '--url', url], { FLEET_APPROVER_TOKEN: agentToken });
    expect(sneaky.code).toBe(1);
    expect(sneaky.stderr).toMatch(/401/);
    expect(
      JSON.parse((await cli(['show', id, '--url', url, '--token', approver, '--json'])).stdout).status,
    ).toBe('pending');

    const ok = await cli(['approve', id, '--note', 'ok by finance', '--json'], {
      FLEET_APPROVALS_URL: url,
      FLEET_APPROVER_TOKEN: approver,
    });
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({
      id,
      status: 'approved',
      decidedBy: 'human-dana',
      decidedByIssuer: fleet.issuer.issuer,
      note: 'ok by finance',
    });
    expect(decisionAudits(id)).toEqual([
      expect.objectContaining({
        outcome: 'denied',
        agentId: null,
        details: expect.objectContaining({
          refused: 'token_wrong_audience',
          presentedBy: { issuer: fleet.issuer.issuer, subject: 'agent-other' },
        }),
      }),
      expect.objectContaining({
        method: 'approvals/approve',
        outcome: 'ok',
        agentId: 'human-dana',
        details: expect.objectContaining({
          approver: { issuer: fleet.issuer.issuer, subject: 'human-dana', tenant: null },
        }),
      }),
    ]);
    const agent = await connectClient(
      'modern',
      url,
      await fleet.token({ sub: 'agent-cli', roles: ['operator'] }),
    );
    expect(
      textOf(await agent.callTool('refund_payment', { payment: 'pay_cli_1', amount: 12, approval_id: id })),
    ).toMatch(/refunded 12/);
    await agent.close();
  });

  it('denies through the API, audited; refuses self-declared names and a missing token', async () => {
    const id = await requestRefund('pay_cli_2');
    const env = {
      FLEET_APPROVALS_URL: fleet.replicas[0]!.url,
      FLEET_APPROVER_TOKEN: await approverToken('ops-erin'),
    };
    const shown = await cli(['show', id], env);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/pending/);
    // The approver is whoever the token names; a name on the command line decides nothing.
    const declared = await cli(['deny', id, '--as', 'ops-erin', '--database-url', db.url]);
    expect(declared.code).toBe(2);
    expect(declared.stderr).toMatch(/--as and --database-url are gone/);
    const tokenless = await cli(['deny', id], { FLEET_APPROVALS_URL: fleet.replicas[0]!.url });
    expect(tokenless.code).toBe(2);
    expect(tokenless.stderr).toMatch(/approver token is required/);
    expect(decisionAudits(id)).toEqual([]);

    const denied = await cli(['deny', id, '--note', 'not this one'], env);
    expect(denied.code).toBe(0);
    expect(denied.stdout).toMatch(
      /denied .*decided by ops-erin of http:\/\/127\.0\.0\.1:\d+ \("not this one"\)/,
    );
    // Twice: refused with a reason, and audited as a refused attempt.
    const twice = await cli(['approve', id], env);
    expect(twice.code).toBe(1);
    expect(twice.stderr).toMatch(/already decided/);
    expect(decisionAudits(id).map((a) => [a.method, a.outcome, a.details.refused ?? null])).toEqual([
      ['approvals/deny', 'ok', null],
      ['approvals/approve', 'denied', 'already_decided'],
    ]);
    expect((await cli(['list', '--status', 'denied', '--server', 'govtest'], env)).stdout).toContain(id);
    expect(upstream.refunds.filter((r) => r.payment === 'pay_cli_2')).toHaveLength(0);
    expect((await cli(['list', '--status', 'bogus'], env)).code).toBe(2);
  });

  it('works across several servers: lists each request once and decides it where it is, audited once', async () => {
    const id = await requestRefund('pay_cli_4');
    const second = await fleet.add();
    const urls = `${fleet.replicas[0]!.url},${second.url}`;
    const env = { FLEET_APPROVALS_URL: urls, FLEET_APPROVER_TOKEN: await approverToken('human-gus') };
    const listed = await cli(['list', '--json'], env);
    expect(listed.code).toBe(0);
    expect((JSON.parse(listed.stdout) as { id: string }[]).filter((a) => a.id === id)).toHaveLength(1);
    const ok = await cli(['approve', id], env);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/approved .*decided by human-gus/);
    expect(decisionAudits(id).map((a) => [a.method, a.outcome])).toEqual([['approvals/approve', 'ok']]);
    await fleet.stop(second);
  });

  it('does not let the person the agent acts for approve through the CLI', async () => {
    const id = await requestRefund('pay_cli_3', 'frank');
    const r = await cli([
      'approve',
      id,
      '--url',
      fleet.replicas[0]!.url,
      '--token',
      await approverToken('frank'),
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/403: the person the agent acts for cannot approve/);
    expect(decisionAudits(id)).toEqual([
      expect.objectContaining({
        agentId: 'frank',
        outcome: 'denied',
        details: expect.objectContaining({ refused: 'requester_approval' }),
      }),
    ]);
  });

  it('mints a local approver token with `fleet token --approver`: approvals audience, approver scope, no roles, the groups the local IdP gives that person and the login name', async () => {
    const root = resolve(import.meta.dirname, '../../../..');
    const fleetCli = (...args: string[]) =>
      promisify(execFile)(
        process.execPath,
        ['--conditions=mcp-fleet-source', '--import', 'tsx', 'packages/cli/src/main.ts', 'token', ...args],
        { cwd: root, env: { ...process.env, FLEET_DIR: mkdtempSync(join(tmpdir(), 'fleet-token-')) } },
      );
    const { stdout } = await fleetCli('--approver', 'alice', '--tenant', 'initech');
    const claims = JSON.parse(Buffer.from(stdout.trim().split('.')[1]!, 'base64url').toString('utf8'));
    expect(claims).toMatchObject({
      sub: 'alice',
      preferred_username: 'alice',
      // alice's groups at the local IdP (DEMO_PEOPLE), as its own approver tokens carry them.
      groups: ['fleet-approvers', 'fleet-admins'],
      scope: 'mcp:approve',
      tenant: 'initech',
    });
    expect(claims.roles).toBeUndefined();
    expect(claims.sid).toBeUndefined();
    // Every local server's approvals URL, and never an MCP endpoint.
    expect(claims.aud.length).toBeGreaterThan(1);
    for (const aud of claims.aud) expect(aud).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/approvals$/);
    // Approvers are people: no agent roles on an approver token.
    await expect(fleetCli('--approver', 'alice', '--role', 'admin')).rejects.toMatchObject({ code: 2 });
    // --groups names the groups; --groups '' none (a person outside APPROVER_GROUP).
    const groupsOf = async (login: string, ...args: string[]) =>
      JSON.parse(
        Buffer.from(
          (await fleetCli('--approver', login, ...args)).stdout.trim().split('.')[1]!,
          'base64url',
        ).toString('utf8'),
      ).groups;
    expect(await groupsOf('bob', '--groups', 'support, fleet-admins')).toEqual(['support', 'fleet-admins']);
    expect(await groupsOf('bob', '--groups', '')).toEqual([]);
    // Without --groups: a demo person's IdP groups (carol is in support, not an approver, exactly as
    // the IdP would say), anyone else the local approver group.
    expect(await groupsOf('bob')).toEqual(['fleet-approvers']);
    expect(await groupsOf('carol')).toEqual(['support']);
    expect(await groupsOf('carol', '--groups', 'fleet-approvers')).toEqual(['fleet-approvers']);
    expect(await groupsOf('ops-dana')).toEqual(['fleet-approvers']);
  }, 120_000);
});
