// A mutation's point of no return (ctx.commit()): after it, a timeout no longer cuts the call off, so
// the answer and the audit record say what really happened; before it, a timeout stops the change for
// good. And an approval is not spent by a call that failed before reaching the upstream system.
import { once } from 'node:events';
import { connectClient, createTestDatabase, type TestClient } from '@mcp-fleet/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Fleet, ledger, textOf, upstream } from './harness.js';

let fleet: Fleet;
let db: { url: string; drop: () => Promise<void> };
let client: TestClient;
beforeAll(async () => {
  db = await createTestDatabase('fleet_gov_commit');
  fleet = await Fleet.start({ count: 1, databaseUrl: db.url });
  client = await connectClient(
    'modern',
    fleet.replicas[0]!.url,
    await fleet.token({ sub: 'agent-commit', roles: ['operator'], tenant: 'acme', user: 'dora' }),
  );
});
afterAll(async () => {
  await client?.close();
  await fleet?.close();
  await db?.drop();
});

type Result = Awaited<ReturnType<TestClient['callTool']>> & { _meta?: Record<string, unknown> };
const lastAudit = (tool: string) =>
  fleet.audit.filter((a) => a.tool === tool && a.agentId === 'agent-commit').at(-1)!;

describe('the point of no return', () => {
  it('waits for a handler past its point of no return and records what happened, not a timeout', async () => {
    // The 50 ms timeout expires while the committed handler still holds for 400 ms.
    const r = await client.callTool('write_ledger', { entry: 'committed-1', holdMs: 400, commitFirst: true });
    expect(r.isError).toBeFalsy();
    expect(textOf(r)).toBe('wrote committed-1');
    expect(ledger.entries).toContain('committed-1');
    expect(lastAudit('write_ledger')).toMatchObject({
      outcome: 'ok',
      details: expect.objectContaining({ pastTimeoutAfterCommit: true }),
    });
  });

  it('stops a handler that reaches its point of no return after the timeout: the change never happens', async () => {
    const settled = once(ledger.settled, 'late-1');
    const r = await client.callTool('write_ledger', { entry: 'late-1', holdMs: 400, commitFirst: false });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toMatch(/timed out after 50 ms/);
    expect(lastAudit('write_ledger').outcome).toBe('timeout');
    await settled; // the handler has run to its end
    expect(ledger.entries).not.toContain('late-1');
  });
});

describe('approvals and failures before the upstream', () => {
  it('gives the approval back when the call failed before its point of no return', async () => {
    const args = { payment: 'pay-flaky-1' };
    const held = (await client.callTool('refund_flaky', args)) as Result;
    const id =
      (held._meta?.['io.mcp-fleet/governance'] as { approvalId?: string } | undefined)?.approvalId ?? '';
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    // A human approves (straight in the store: how approvers authenticate is not under test here).
    const pool = new pg.Pool({ connectionString: db.url, max: 1 });
    await pool.query(
      `UPDATE approvals SET status = 'approved', decided_by = 'human-test', decided_at = now() WHERE id = $1`,
      [id],
    );

    const failed = await client.callTool('refund_flaky', { ...args, approval_id: id });
    expect(failed.isError).toBe(true);
    expect(textOf(failed)).toMatch(/payment provider is unavailable/);
    expect((await pool.query('SELECT status FROM approvals WHERE id = $1', [id])).rows[0].status).toBe(
      'approved',
    );

    // The retry with the same approval runs, and spends it.
    const retried = await client.callTool('refund_flaky', { ...args, approval_id: id });
    expect(retried.isError).toBeFalsy();
    expect(upstream.refunds.filter((x) => x.payment === 'pay-flaky-1')).toHaveLength(1);
    expect((await pool.query('SELECT status FROM approvals WHERE id = $1', [id])).rows[0].status).toBe(
      'executed',
    );
    const again = await client.callTool('refund_flaky', { ...args, approval_id: id });
    expect(again.isError).toBe(true);
    expect(upstream.refunds.filter((x) => x.payment === 'pay-flaky-1')).toHaveLength(1);
    await pool.end();
  });
});
