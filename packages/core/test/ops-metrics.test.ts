// The ops signals on a real server's /metrics (real PostgreSQL, real Redis, a real breaker around a
// real failing upstream): breaker state per upstream, the approval queue's size and oldest age read
// from the fleet database, refusals by reason, Redis up, and the retention job's counters.

import { testRedisUrl } from '@mcp-fleet/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sample, startOpsServer } from './ops-metrics-harness.js';

let ops: Awaited<ReturnType<typeof startOpsServer>>;
let pool: pg.Pool;
beforeAll(async () => {
  ops = await startOpsServer({ redisUrl: testRedisUrl() });
  pool = new pg.Pool({ connectionString: ops.dbUrl, max: 1 });
});
afterAll(async () => {
  await pool?.end();
  await ops?.close();
});

describe('ops metrics on /metrics', () => {
  it('mcp_breaker_state{upstream}: 0 while closed, 2 once failures open it', async () => {
    expect(sample(await ops.scrape(), 'mcp_breaker_state', { upstream: 'ledger' })).toBe(0);
    for (let i = 0; i < 2; i++) await ops.call(['reader'], 'ledger_balance', { account: 'x' });
    expect(ops.breaker.state).toBe('open');
    expect(sample(await ops.scrape(), 'mcp_breaker_state', { upstream: 'ledger' })).toBe(2);
    // The next call fails fast (calls paused), and the gauge still says open.
    const r = await ops.call(['reader'], 'ledger_balance', { account: 'x' });
    expect(r.body.result?.isError).toBe(true);
    expect(sample(await ops.scrape(), 'mcp_breaker_state', { upstream: 'ledger' })).toBe(2);
  });

  it('mcp_approvals_pending and mcp_approval_oldest_pending_seconds follow the approvals table', async () => {
    const before = await ops.scrape();
    expect(sample(before, 'mcp_approvals_pending')).toBe(0);
    expect(sample(before, 'mcp_approval_oldest_pending_seconds')).toBe(0);
    for (const payment of ['p-a', 'p-b'])
      await ops.call(['operator'], 'refund_payment', { payment, amount: 1 });
    const two = await ops.scrape();
    expect(sample(two, 'mcp_approvals_pending')).toBe(2);
    // The oldest request, made 10 minutes older in the table, is what the age says.
    await pool.query(
      `UPDATE approvals SET requested_at = now() - interval '10 minutes'
        WHERE id = (SELECT id FROM approvals WHERE status = 'pending' ORDER BY requested_at LIMIT 1)`,
    );
    const aged = await ops.scrape();
    expect(sample(aged, 'mcp_approval_oldest_pending_seconds')).toBeGreaterThanOrEqual(600);
    expect(sample(aged, 'mcp_approval_oldest_pending_seconds')).toBeLessThan(3600);
    // Expired requests wait for nobody: they leave the queue.
    await pool.query(
      `UPDATE approvals SET expires_at = now() - interval '1 second' WHERE status = 'pending'`,
    );
    const none = await ops.scrape();
    expect(sample(none, 'mcp_approvals_pending')).toBe(0);
    expect(sample(none, 'mcp_approval_oldest_pending_seconds')).toBe(0);
  });

  it('refusals by reason, rate-limited and budget-stopped calls, cache hits and Redis up', async () => {
    await ops.provokeAll();
    const text = await ops.scrape();
    for (const reason of ['invalid_arguments', 'rate_limited', 'budget_exceeded', 'awaiting_approval'])
      expect(sample(text, 'mcp_refusals_total', { reason }), reason).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'mcp_rate_limited_total', { tool: 'echo_caller' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'mcp_budget_exceeded_total', { tool: 'run_expensive_query' })).toBeGreaterThanOrEqual(
      1,
    );
    expect(sample(text, 'mcp_cache_hits_total', { tool: 'find_customer' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'mcp_redis_up')).toBe(1);
    // A successful call is not a refusal: the reader's two find_customer calls (a miss, then a cache
    // hit) are not counted; write_ledger's one refusal is the watched role's change held for its
    // anomaly score (a read is never held for it).
    expect(sample(text, 'mcp_refusals_total', { tool: 'find_customer' }) ?? 0).toBe(0);
    expect(sample(text, 'mcp_refusals_total', { tool: 'write_ledger', reason: 'awaiting_approval' })).toBe(1);
  });

  it('the retention job ran at start (AUDIT_RETENTION_DAYS=30) and says so', async () => {
    let text = '';
    for (let i = 0; i < 200 && !sample(text, 'mcp_audit_retention_runs_total', { result: 'ok' }); i++) {
      if (i) await new Promise((r) => setTimeout(r, 25));
      text = await ops.scrape();
    }
    expect(sample(text, 'mcp_audit_retention_runs_total', { result: 'ok' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'mcp_audit_retention_deleted_total')).toBe(0);
    expect(sample(text, 'mcp_audit_retention_last_success_timestamp_seconds')).toBeGreaterThan(
      Date.now() / 1000 - 3600,
    );
  });
});
