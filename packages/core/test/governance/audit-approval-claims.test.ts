// An approval id the client sends is recorded as `approvalId` only once the gate verified and used it;
// a call that ended before that (a refusal, an idempotency replay) records it as `claimedApprovalId`.
import { randomUUID } from 'node:crypto';
import { createTestDatabase } from '@mcp-fleet/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callMsg, rpc } from '../helpers.js';
import { Fleet } from './harness.js';

let fleet: Fleet;
let db: { url: string; drop: () => Promise<void> };
beforeAll(async () => {
  db = await createTestDatabase('fleet_gov_approval_claims');
  fleet = await Fleet.start({ count: 1, databaseUrl: db.url });
});
afterAll(async () => {
  await fleet?.close();
  await db?.drop();
});

const last = (agent: string) =>
  fleet.audit.filter((a) => a.agentId === agent && a.tool === 'refund_payment').at(-1)!;

describe('approval ids in audit records', () => {
  it('labels a fabricated approval id on an idempotency replay as claimed, not as the approval', async () => {
    const agent = 'agent-claims';
    const s = fleet.replicas[0]!;
    const auth = {
      authorization: `Bearer ${await fleet.token({ sub: agent, roles: ['operator'], tenant: 'acme' })}`,
    };
    const args = { payment: 'pay-claims-1', amount: 3 };
    // Asked with the key it resumes with: an approval binds the caller's idempotency_key too.
    const held = await rpc(s.url, callMsg('refund_payment', { ...args, idempotency_key: 'ck-1' }, 1), auth);
    const id = held.body.result._meta['io.mcp-fleet/governance'].approvalId as string;
    const pool = new pg.Pool({ connectionString: db.url, max: 1 });
    await pool.query(
      `UPDATE approvals SET status = 'approved', decided_by = 'human-test', decided_at = now() WHERE id = $1`,
      [id],
    );
    await pool.end();
    const ran = await rpc(
      s.url,
      callMsg('refund_payment', { ...args, approval_id: id, idempotency_key: 'ck-1' }, 2),
      auth,
    );
    expect(ran.body.result.isError).toBeFalsy();
    expect(last(agent).details).toMatchObject({ approvalId: id });

    const fabricated = randomUUID();
    const replay = await rpc(
      s.url,
      callMsg('refund_payment', { ...args, approval_id: fabricated, idempotency_key: 'ck-1' }, 3),
      auth,
    );
    expect(replay.body.result._meta['io.mcp-fleet/replayed']).toBe(true);
    const rec = last(agent);
    expect(rec.outcome).toBe('replayed');
    expect(rec.details).toMatchObject({ claimedApprovalId: fabricated });
    expect(rec.details).not.toHaveProperty('approvalId');
  });

  it('labels an approval id the gate refused as claimed', async () => {
    const agent = 'agent-claims-2';
    const s = fleet.replicas[0]!;
    const auth = {
      authorization: `Bearer ${await fleet.token({ sub: agent, roles: ['operator'], tenant: 'acme' })}`,
    };
    const fabricated = randomUUID();
    const r = await rpc(
      s.url,
      callMsg('refund_payment', { payment: 'p2', amount: 1, approval_id: fabricated }),
      auth,
    );
    expect(r.body.result.isError).toBe(true);
    expect(last(agent).details).toMatchObject({ claimedApprovalId: fabricated });
    expect(last(agent).details).not.toHaveProperty('approvalId');
  });
});
