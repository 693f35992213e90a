// AuditLog.recordDurable (issue 16, H-1): a record the answer waits for is committed at once, not at
// the next flush interval; concurrent waiters share a batch (group commit); and the wait is bounded —
// when PostgreSQL does not take the batch, the caller answers anyway and the record stays queued.
import { AuditLog, type AuditRecord } from '@mcp-fleet/core/approvals';
import { createLogger, createMetrics } from '@mcp-fleet/core/internal';
import { type BootedServer, bootServer, createTestDatabase } from '@mcp-fleet/testkit';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { fixturePolicy, fixtureServer } from './fixtures.js';

let db: { url: string; drop: () => Promise<void> };
let s: BootedServer;
let pool: pg.Pool;
let statements = 0;

beforeAll(async () => {
  db = await createTestDatabase('fleet_group_commit');
  // Booted once for its migrations (audit_records).
  s = await bootServer(fixtureServer, { policy: fixturePolicy, databaseUrl: db.url });
  pool = new pg.Pool({ connectionString: db.url, max: 4 });
  // The database is dropped at the end (its sessions terminated): not an error of this test.
  pool.on('error', () => undefined);
  // Every pool.query checks a client out: one per statement the audit log sends.
  pool.on('acquire', () => {
    statements += 1;
  });
}, 120_000);

afterAll(async () => {
  await pool?.end();
  await s?.close();
  await db?.drop();
});

function log(durableWaitMs?: number): AuditLog {
  return new AuditLog({
    pool,
    logger: createLogger({ level: 'silent' }),
    metrics: createMetrics(`group_commit_${Math.random().toString(36).slice(2)}`),
    stdout: false,
    // Far longer than the test: only what recordDurable writes itself is in the table.
    flushMs: 600_000,
    queueMax: 10_000,
    ...(durableWaitMs === undefined ? {} : { durableWaitMs }),
  });
}

function record(requestId: string): AuditRecord {
  return {
    id: crypto.randomUUID(),
    ts: new Date().toISOString(),
    server: 'fixture',
    requestId,
    method: 'tools/call',
    tool: 'write_note',
    agentId: 'group-commit-agent',
    agentSession: null,
    userInvoker: null,
    tenant: null,
    roles: [],
    arguments: {},
    decision: 'allow',
    decisionReason: 'test',
    outcome: 'ok',
    resultSummary: null,
    durationMs: 1,
    policyVersion: null,
    protocolVersion: null,
    details: null,
  };
}

async function stored(requestIds: readonly string[]): Promise<string[]> {
  const { rows } = await pool.query<{ request_id: string }>(
    'SELECT request_id FROM audit_records WHERE request_id = ANY($1) ORDER BY request_id',
    [requestIds],
  );
  return rows.map((r) => r.request_id);
}

it('commits each waited-for record before it resolves, the concurrent ones sharing batches', async () => {
  const audit = log();
  const ids = Array.from({ length: 120 }, (_, i) => `gc-${String(i).padStart(3, '0')}`);
  const before = statements;
  const results = await Promise.all(ids.map((id) => audit.recordDurable(record(id))));
  const used = statements - before;
  expect(results.every(Boolean)).toBe(true);
  // In the table now, without a flush: the flush interval is 10 minutes.
  expect(await stored(ids)).toEqual(ids);
  // Group commit: the first waiter's batch, then everything queued while it was written.
  expect(used).toBeLessThanOrEqual(3);
  expect(audit.pending).toBe(0);
  await audit.close();
});

it('answers after its bound when PostgreSQL does not take the batch; the record stays queued and is written later', async () => {
  const audit = log(300);
  // Another session holds the table: the audit log's insert waits behind it.
  const holder = await pool.connect();
  let released = false;
  try {
    await holder.query('BEGIN');
    await holder.query('LOCK TABLE audit_records IN ACCESS EXCLUSIVE MODE');
    const ok = await audit.recordDurable(record('gc-held'));
    expect(ok).toBe(false);
    expect(audit.pending).toBe(1);
    await holder.query('ROLLBACK');
    released = true;
  } finally {
    if (!released) await holder.query('ROLLBACK').catch(() => undefined);
    holder.release();
  }
  // The write that waited goes through once the table is free.
  await audit.flush();
  expect(await stored(['gc-held'])).toEqual(['gc-held']);
  expect(audit.pending).toBe(0);
  await audit.close();
});

it('writes a waited-for record ahead of a batched backlog that PostgreSQL is holding (issue 16, R2-1)', async () => {
  const audit = log(5_000);
  // Another session has inserted (not committed) a record with the backlog's first id: the backlog's
  // batch waits on it, as it would behind a flood of refused calls.
  const blocked = record('lane-backlog-0');
  const holder = await pool.connect();
  let released = false;
  try {
    await holder.query('BEGIN');
    await holder.query(
      `INSERT INTO audit_records (id, ts, server, request_id, method, agent_id, roles, decision, decision_reason, outcome)
       VALUES ($1, now(), 'fixture', 'lane-holder', 'tools/call', 'a', '{}', 'allow', 'held', 'started')`,
      [blocked.id],
    );
    audit.record(blocked);
    for (let i = 1; i < 50; i++) audit.record(record(`lane-backlog-${i}`));
    void audit.flush(); // the backlog's batch goes out and waits on the held row
    const ok = await audit.recordDurable(record('lane-durable'));
    expect(ok).toBe(true);
    expect(await stored(['lane-durable', 'lane-backlog-1'])).toEqual(['lane-durable']);
    await holder.query('ROLLBACK');
    released = true;
  } finally {
    if (!released) await holder.query('ROLLBACK').catch(() => undefined);
    holder.release();
  }
  await audit.flush();
  expect(await stored(['lane-backlog-0', 'lane-backlog-49'])).toEqual(['lane-backlog-0', 'lane-backlog-49']);
  await audit.close();
});

it('bounds the batched queue in bytes: the oldest records go first, counted as dropped (issue 16, R2-1)', async () => {
  const metrics = createMetrics(`bytes_${Math.random().toString(36).slice(2)}`);
  // PostgreSQL unreachable: everything stays queued.
  const away = new pg.Pool({ connectionString: 'postgres://postgres@127.0.0.1:1/none', max: 1 });
  away.on('error', () => undefined);
  const audit = new AuditLog({
    pool: away,
    logger: createLogger({ level: 'silent' }),
    metrics,
    stdout: false,
    flushMs: 600_000,
    queueMax: 10_000,
    queueMaxBytes: 50_000,
  });
  const big = 'y'.repeat(4_000);
  for (let i = 0; i < 100; i++) audit.record({ ...record(`bytes-${i}`), arguments: { big } });
  // About 4.6 KB each: at most ten fit in 50,000, however many records the count bound allows.
  expect(audit.pending).toBeGreaterThan(0);
  expect(audit.pending).toBeLessThanOrEqual(11);
  const dropped = (await metrics.registry.getSingleMetricAsString('mcp_audit_dropped_total')).match(
    / (\d+)$/m,
  );
  expect(Number(dropped?.[1])).toBe(100 - audit.pending);
  await audit.close().catch(() => undefined);
  await away.end();
});
