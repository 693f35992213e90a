// One caller cannot take the whole warehouse pool: five concurrent slow queries of one agent filled
// the 5-connection pool and an analyst's query failed "warehouse is unreachable". Each caller
// (tenant + agent + user) may run WAREHOUSE_MAX_CONCURRENT_PER_CALLER calls at once; one more is
// refused at once. Here caller A's queries wait on a lock an admin holds (an event, not a clock),
// so they stay running for as long as the test needs.
import { type BootedServer, connectClient, type TestClient } from '@mcp-fleet/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootDatabase, createWarehouse, data, eventually, type TestWarehouse, textOf } from './helpers.js';

let wh: TestWarehouse;
let s: BootedServer;
let a: TestClient;
let b: TestClient;

beforeAll(async () => {
  wh = await createWarehouse(0.01);
  s = await bootDatabase(wh, { env: { WAREHOUSE_POOL_MAX: '3', WAREHOUSE_MAX_CONCURRENT_PER_CALLER: '2' } });
  a = await connectClient('modern', s.url, await s.token({ sub: 'agent-a', roles: ['analyst'] }));
  b = await connectClient('modern', s.url, await s.token({ sub: 'agent-b', roles: ['analyst'] }));
});
afterAll(async () => {
  await a?.close();
  await b?.close();
  await s?.close();
  await wh?.cleanup();
});

/** Backends of the server waiting for the admin's lock on support.tickets. */
async function blocked(): Promise<number> {
  const [row] = await wh.admin<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_stat_activity
     WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%support.tickets%'`,
  );
  return row?.n ?? 0;
}

describe('per-caller concurrency', () => {
  it("refuses a caller's call past its limit at once, and another caller's query still runs", async () => {
    const lock = new pg.Client({ connectionString: wh.adminUrl });
    await lock.connect();
    const pending: Promise<unknown>[] = [];
    try {
      await lock.query('BEGIN');
      await lock.query('LOCK TABLE support.tickets IN ACCESS EXCLUSIVE MODE');
      // Different texts, so no cache or coalescing of identical calls joins them.
      const slow = (i: number) =>
        a.callTool('run_query', { sql: `select count(*) as n from support.tickets where id > -${i}` });
      const first = [slow(1), slow(2)];
      pending.push(...first);
      expect(await eventually(async () => (await blocked()) === 2, 20_000)).toBe(true);
      // A third call of A: refused without waiting for a connection.
      const third = slow(3);
      pending.push(third);
      // B gets the connection A may not take.
      const other = await b.callTool('run_query', { sql: 'select 41 + 1 as answer' });
      expect(data(other)).toMatchObject({ rows: [[42]] });
      const refused = (await third) as { isError?: boolean; content: { type: string; text?: string }[] };
      expect(refused.isError).toBe(true);
      expect(textOf(refused)).toMatch(/You already have 2 warehouse calls running/);
      // A's first two calls are still waiting for the lock: the refusal did not cancel them.
      expect(await blocked()).toBe(2);
      await lock.query('COMMIT');
      for (const r of (await Promise.all(first)) as Parameters<typeof data>[0][]) {
        expect(data(r).rowCount).toBe(1);
      }
      // With its calls finished, A may run again.
      const again = await a.callTool('run_query', { sql: 'select 1 as one' });
      expect(again.isError, textOf(again)).toBeFalsy();
    } finally {
      await lock.query('ROLLBACK').catch(() => {});
      await lock.end();
      await Promise.allSettled(pending);
    }
  });
});
