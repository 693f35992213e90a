// database_health sees what an operator would want to know: latency, connection use and a query
// that has been running too long (with its text for unconstrained callers only).
import { type BootedServer, connectClient } from '@mcp-fleet/testkit';
import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redactSql } from '../src/connectors/health.js';
import { bootDatabase, createWarehouse, data, eventually, type TestWarehouse, textOf } from './helpers.js';

let wh: TestWarehouse;
let s: BootedServer;

beforeAll(async () => {
  wh = await createWarehouse();
  s = await bootDatabase(wh, { env: { WAREHOUSE_LONG_RUNNING_SECONDS: '1' } });
});
afterAll(async () => {
  await s?.close();
  await wh?.cleanup();
});

describe('database_health', () => {
  it('reports a long-running query: its redacted text and pid to unconstrained callers, neither to constrained ones', async () => {
    // A session of the same role (as other replicas of this server would be) waits on a lock the
    // admin holds, so it runs for exactly as long as this test needs, whatever the machine's speed.
    const holder = new pg.Client({ connectionString: wh.adminUrl });
    await holder.connect();
    await holder.query('BEGIN');
    await holder.query('LOCK TABLE support.tickets IN ACCESS EXCLUSIVE MODE');
    const other = new pg.Client({ connectionString: wh.readerUrl, application_name: 'slow-report' });
    await other.connect();
    const otherPid = (await other.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;
    const slow = other
      .query(
        "SELECT count(*) AS slow_marker FROM support.tickets WHERE subject <> 'secret-literal-4711' AND id > 42",
      )
      .catch(() => undefined);
    const analyst = await connectClient(
      'modern',
      s.url,
      await s.token({ sub: 'analyst-1', roles: ['analyst'] }),
    );
    const support = await connectClient(
      'legacy',
      s.url,
      await s.token({ sub: 'support-1', roles: ['support'] }),
    );
    try {
      // Blocked, and past the 1 s threshold (it stays blocked until the lock is released below).
      const blocked = await eventually(
        async () =>
          (
            await wh.admin(
              "SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND wait_event_type = 'Lock' AND query_start < now() - interval '1.5 seconds'",
              [otherPid],
            )
          ).length > 0,
        30_000,
      );
      expect(blocked).toBe(true);
      const seen = data(await analyst.callTool('database_health', {}));
      expect(seen.status).toBe('degraded');
      expect(seen.problems).toEqual(
        expect.arrayContaining([expect.stringMatching(/queries running longer than 1s/)]),
      );
      const long = (
        seen.longRunning as { application: string; pid: number | null; query: string | null }[]
      ).find((l) => l.application === 'slow-report');
      expect(long).toEqual(
        expect.objectContaining({
          pid: otherPid,
          query: "SELECT count(*) AS slow_marker FROM support.tickets WHERE subject <> '?' AND id > ?",
        }),
      );

      const limited = await support.callTool('database_health', {});
      const hidden = data(limited).longRunning as { pid: number | null; query: string | null }[];
      expect(hidden.length).toBeGreaterThan(0);
      for (const l of hidden) expect(l).toEqual(expect.objectContaining({ pid: null, query: null }));
      expect(textOf(limited)).toMatch(/long-running queries: [1-9]/);
    } finally {
      await analyst.close();
      await support.close();
      await holder.query('ROLLBACK');
      await holder.end();
      await slow;
      await other.end();
    }
  });
});

describe('the query shape database_health shows', () => {
  // Values a caller put in a query, in every literal form PostgreSQL reads, never come back; the
  // statement around them does.
  const secret = fc.stringMatching(/^[A-Za-z0-9]{6,16}$/).map((s) => `zq${s}`);
  const literal = fc.oneof(
    secret.map((v) => ({ v, sql: `'${v}'` })),
    secret.map((v) => ({ v, sql: `'it''s ${v}'` })),
    secret.map((v) => ({ v, sql: `E'a\\'${v}'` })),
    secret.map((v) => ({ v, sql: `$$${v}$$` })),
    secret.map((v) => ({ v, sql: `$t$ ${v} $t$` })),
    secret.map((v) => ({ v, sql: `1 /* ${v} */` })),
    secret.map((v) => ({ v, sql: `1 -- ${v}\n` })),
    fc.integer({ min: 100_000, max: 2_000_000_000 }).map((n) => ({ v: String(n), sql: String(n) })),
    fc.double({ min: 100_000, max: 1e9, noNaN: true }).map((n) => ({ v: String(n), sql: String(n) })),
    fc.integer({ min: 100_000, max: 999_999 }).map((n) => ({ v: String(n), sql: `.${n}` })),
  );

  it('replaces every literal, number and comment', () => {
    fc.assert(
      fc.property(
        fc.array(literal, { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 5, max: 400 }),
        (lits, cut) => {
          const sql = `SELECT count(*) FROM sales.customers WHERE ${lits.map((l, i) => `c${i} = ${l.sql}`).join(' AND ')}`;
          // Whole, and cut the way pg_stat_activity's text may be (mid-literal included).
          for (const text of [sql, sql.slice(0, cut)]) {
            const shown = redactSql(text);
            for (const l of lits) expect(shown).not.toContain(l.v);
          }
          expect(redactSql(sql)).toMatch(/^SELECT count\(\*\) FROM sales\.customers WHERE c0 = /);
        },
      ),
      { numRuns: 300 },
    );
  });
});
