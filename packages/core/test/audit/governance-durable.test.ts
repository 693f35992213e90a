// Governance actions are durable before they are answered (issue 16, R2-5): a suspend, a resume and
// an approval decision are in audit_records by the time the person gets the answer — not in a batch
// written at the next flush interval (here 10 minutes, so a batched record is simply not there).
// And the record a mutation needs before it runs is bounded: while PostgreSQL does not take it
// (the table locked), persistBeforeMutation gives up with FLEET_ERR_AUDIT_UNAVAILABLE instead of
// holding the call for as long as the lock lasts, and leaves nothing behind.
import { randomUUID } from 'node:crypto';
import { AuditLog, type AuditRecord } from '@mcp-fleet/core/approvals';
import { createLogger, createMetrics } from '@mcp-fleet/core/internal';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SuspFleet } from '../suspension-harness.js';

let fleet: SuspFleet;
let pool: pg.Pool;
beforeAll(async () => {
  fleet = await SuspFleet.start({ count: 1, env: { AUDIT_FLUSH_MS: '600000' } });
  pool = new pg.Pool({ connectionString: fleet.db!.url, max: 4 });
  pool.on('error', () => undefined);
}, 120_000);
afterAll(async () => {
  await pool?.end();
  await fleet?.close();
});

const stored = async (method: string, key: string, value: string) =>
  (
    await pool.query<{ outcome: string }>(
      `SELECT outcome FROM audit_records WHERE method = $1 AND arguments->>'${key}' = $2`,
      [method, value],
    )
  ).rows.map((r) => r.outcome);

it('a suspend and a resume are in audit_records when they are answered', async () => {
  const agent = `durable-${randomUUID().slice(0, 8)}`;
  const token = await fleet.approverToken('alice');
  const s = await fleet.api(0, 'POST', `/agents/${agent}/suspend`, token, { reason: 'runaway' });
  expect(s.status).toBe(200);
  expect(await stored('agents/suspend', 'agentId', agent)).toEqual(['ok']);
  const r = await fleet.api(0, 'POST', `/agents/${agent}/resume`, token, { reason: 'fixed' });
  expect(r.status).toBe(200);
  expect(await stored('agents/resume', 'agentId', agent)).toEqual(['ok']);
});

it('an approval decision (here refused: no such approval) is in audit_records when it is answered', async () => {
  const id = randomUUID();
  const r = await fleet.api(0, 'POST', `/approvals/${id}/approve`, await fleet.approverToken('bob'), {});
  expect(r.status).toBeGreaterThanOrEqual(400);
  expect(await stored('approvals/approve', 'approvalId', id)).toEqual(['denied']);
});

function record(requestId: string): AuditRecord {
  return {
    id: randomUUID(),
    ts: new Date().toISOString(),
    server: 'susp',
    requestId,
    method: 'tools/call',
    tool: 'write_note',
    agentId: 'persist-bounded',
    agentSession: null,
    userInvoker: null,
    tenant: null,
    roles: [],
    arguments: {},
    decision: 'allow',
    decisionReason: 'test',
    outcome: 'started',
    resultSummary: null,
    durationMs: null,
    policyVersion: null,
    protocolVersion: null,
    details: null,
  };
}

it('gives up on a record before a mutation while the table is locked; nothing of it is stored', async () => {
  const audit = new AuditLog({
    pool,
    logger: createLogger({ level: 'silent' }),
    metrics: createMetrics(`persist_bounded_${Math.random().toString(36).slice(2)}`),
    stdout: false,
    flushMs: 600_000,
    queueMax: 100,
    persistTimeoutMs: 300,
  });
  const holder = await pool.connect();
  const requestId = `held-${randomUUID()}`;
  try {
    await holder.query('BEGIN');
    await holder.query('LOCK TABLE audit_records IN SHARE MODE');
    // The lock is held until this settles (or, unbounded as before, until the test gives up).
    const outcome = await Promise.race([
      audit.persistBeforeMutation(record(requestId)).then(
        () => 'stored',
        (err: { code?: string }) => err.code,
      ),
      new Promise((resolve) => setTimeout(() => resolve('still waiting with the lock held'), 20_000)),
    ]);
    expect(outcome).toBe('FLEET_ERR_AUDIT_UNAVAILABLE');
  } finally {
    await holder.query('ROLLBACK');
    holder.release();
  }
  const rows = await pool.query('SELECT 1 FROM audit_records WHERE request_id = $1', [requestId]);
  expect(rows.rowCount).toBe(0);
  // PostgreSQL free again: the next one is stored.
  const next = record(`free-${randomUUID()}`);
  await audit.persistBeforeMutation(next);
  expect((await pool.query('SELECT 1 FROM audit_records WHERE id = $1', [next.id])).rowCount).toBe(1);
  await audit.close();
}, 60_000);
