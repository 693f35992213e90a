// database_health sees what an operator would want to know: latency, connection use and a query
// that has been running too long (with its text for unconstrained callers only).
import { type BootedServer, connectClient } from '@mcp-fleet/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
  it('reports a long-running query, its text only to unconstrained callers', async () => {
    // A session of the same role (as other replicas of this server would be) runs for a while.
    const other = new pg.Client({ connectionString: wh.readerUrl, application_name: 'slow-report' });
    await other.connect();
    const slow = other.query('SELECT pg_sleep(4) AS slow_marker').catch(() => undefined);
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
      // Results are cached for 5 s, so ask once the query is past the 1 s threshold.
      const running = await eventually(
        async () =>
          (
            await wh.admin(
              "SELECT 1 FROM pg_stat_activity WHERE application_name = 'slow-report' AND state = 'active' AND query_start < now() - interval '1.2 seconds'",
            )
          ).length > 0,
        3_000,
      );
      expect(running).toBe(true);
      const seen = data(await analyst.callTool('database_health', {}));
      expect(seen.status).toBe('degraded');
      expect(seen.problems).toEqual(
        expect.arrayContaining([expect.stringMatching(/queries running longer than 1s/)]),
      );
      const [long] = seen.longRunning as { application: string; seconds: number; query: string | null }[];
      expect(long).toMatchObject({ application: 'slow-report', query: 'SELECT pg_sleep(4) AS slow_marker' });

      const limited = await support.callTool('database_health', {});
      const [hidden] = data(limited).longRunning as { query: string | null }[];
      expect(hidden?.query ?? null).toBeNull();
      expect(textOf(limited)).toMatch(/long-running queries: [1-9]/);
    } finally {
      await analyst.close();
      await support.close();
      await slow;
      await other.end();
    }
  });
});
