// `fleet approvals` (the CLI function the lead wires into `fleet`): a human lists and decides
// requests through a server's approvals API with an approver token, or through the fleet database.
import { connectClient, createTestDatabase } from '@mcp-fleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runApprovals } from '../../../cli/src/commands/approvals.js';
import { Fleet, textOf, upstream } from './harness.js';

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

async function requestRefund(payment: string): Promise<string> {
  const agent = await connectClient(
    'modern',
    fleet.replicas[0]!.url,
    await fleet.token({ sub: 'agent-cli', roles: ['operator'] }),
  );
  const r = await agent.callTool('refund_payment', { payment, amount: 12 });
  await agent.close();
  return /Approval id: ([0-9a-f-]{36})/.exec(textOf(r))![1]!;
}

describe('fleet approvals', () => {
  it('lists and approves through the HTTP API with an approver token; the agent token is refused', async () => {
    const id = await requestRefund('pay_cli_1');
    const url = fleet.replicas[0]!.url;
    const approver = await fleet.token({ sub: 'human-dana', roles: [], scope: 'mcp:approve' });
    const listed = await cli(['list', '--url', url, '--token', approver]);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain(id);
    expect(listed.stdout).toMatch(/pending\s+govtest\/refund_payment\s+agent=agent-cli/);
    expect(listed.stdout).toContain('"payment":"pay_cli_1"');

    const agentToken = await fleet.token({ sub: 'agent-cli', roles: ['operator'] });
    const sneaky = await cli(['approve', id, '--url', url], { FLEET_APPROVER_TOKEN: agentToken });
    expect(sneaky.code).toBe(1);
    expect(sneaky.stderr).toMatch(/403/);

    const ok = await cli(['approve', id, '--note', 'ok by finance', '--json'], {
      FLEET_APPROVALS_URL: url,
      FLEET_APPROVER_TOKEN: approver,
    });
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({
      id,
      status: 'approved',
      decidedBy: 'human-dana',
      note: 'ok by finance',
    });
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

  it('decides through the fleet database directly', async () => {
    const id = await requestRefund('pay_cli_2');
    const shown = await cli(['show', id, '--database-url', db.url]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/pending/);
    const denied = await cli(['deny', id, '--note', 'not this one', '--as', 'ops-erin'], {
      DATABASE_URL: db.url,
    });
    expect(denied.code).toBe(0);
    expect(denied.stdout).toMatch(/denied .*decided by ops-erin \("not this one"\)/);
    // Twice: refused with a reason.
    const twice = await cli(['approve', id], { DATABASE_URL: db.url });
    expect(twice.code).toBe(1);
    expect(twice.stderr).toMatch(/already decided/);
    expect(
      (await cli(['list', '--status', 'denied', '--server', 'govtest'], { DATABASE_URL: db.url })).stdout,
    ).toContain(id);
    expect(upstream.refunds.filter((r) => r.payment === 'pay_cli_2')).toHaveLength(0);
    expect((await cli(['list', '--status', 'bogus'], { DATABASE_URL: db.url })).code).toBe(2);
  });
});
