// A query that would run for minutes is cancelled at the tool's timeout, and its backend is gone
// from pg_stat_activity — not left running after the caller was told it timed out.
import { randomBytes } from 'node:crypto';
import { type BootedServer, connectClient } from '@mcp-fleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootDatabase, createWarehouse, data, eventually, type TestWarehouse, textOf } from './helpers.js';

let wh: TestWarehouse;
let s: BootedServer;

beforeAll(async () => {
  wh = await createWarehouse();
  s = await bootDatabase(wh, { definition: { queryTimeoutMs: 1_500 } });
});
afterAll(async () => {
  await s?.close();
  await wh?.cleanup();
});

describe('cancellation', () => {
  it('cancels a minutes-long query at the timeout and ends its backend', async () => {
    const marker = `cancel_me_${randomBytes(4).toString('hex')}`;
    const client = await connectClient(
      'modern',
      s.url,
      await s.token({ sub: 'analyst-1', roles: ['analyst'] }),
    );
    try {
      // 20,000^3 rows: hours of work.
      const sql = `SELECT count(*) AS ${marker} FROM product.events a, product.events b, product.events c`;
      const call = client.callTool('run_query', { sql });
      let pid: number | undefined;
      await eventually(async () => {
        const [row] = await wh.admin<{ pid: number }>(
          "SELECT pid FROM pg_stat_activity WHERE query LIKE $1 AND state = 'active' AND pid <> pg_backend_pid()",
          [`%${marker}%`],
        );
        pid = row?.pid;
        return pid !== undefined;
      }, 1_400);
      expect(pid, 'the query was seen running').toBeDefined();

      // The outcome is the timeout (an hours-long query cannot have finished), and its backend ends.
      const r = await call;
      expect(r.isError).toBe(true);
      expect(textOf(r)).toMatch(/timed out after 1500 ms|cancelled after 1500 ms/);

      const gone = await eventually(
        async () => (await wh.admin('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid])).length === 0,
        5_000,
      );
      expect(gone, `backend ${pid} still in pg_stat_activity`).toBe(true);
    } finally {
      await client.close();
    }
  });

  it('enforces a shorter per-call timeout on the server side (statement_timeout)', async () => {
    const client = await connectClient(
      'legacy',
      s.url,
      await s.token({ sub: 'analyst-2', roles: ['analyst'] }),
    );
    try {
      const r = await client.callTool('run_query', {
        sql: 'SELECT count(*) FROM product.events a, product.events b',
        timeout_ms: 200,
      });
      expect(r.isError).toBe(true);
      expect(textOf(r)).toMatch(/cancelled after 200 ms \(statement timeout\)/);
      // The pool is healthy afterwards.
      const ok = await client.callTool('run_query', { sql: 'SELECT count(*) AS n FROM support.tickets' });
      expect(data(ok).rows).toEqual([[1000]]);
    } finally {
      await client.close();
    }
  });
});
