// Nothing one call does to its pooled session is visible to the next call on that same
// connection: read-only and timeouts are startup-packet defaults, and DISCARD ALL before reuse
// returns every setting to them.
import { type BootedServer, connectClient } from '@mcp-fleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Warehouse } from '../src/connectors/warehouse.js';
import {
  bootDatabase,
  createWarehouse,
  data,
  neverAborted,
  silentLogger,
  type TestWarehouse,
  textOf,
} from './helpers.js';

let wh: TestWarehouse;
let s: BootedServer;

beforeAll(async () => {
  wh = await createWarehouse();
  s = await bootDatabase(wh, { env: { WAREHOUSE_POOL_MAX: '1' } });
});
afterAll(async () => {
  await s?.close();
  await wh?.cleanup();
});

describe('session state between calls on one pooled connection', () => {
  it('a per-call setting is gone in the next call, and setting attempts are refused', async () => {
    const client = await connectClient(
      'modern',
      s.url,
      await s.token({ sub: 'analyst-1', roles: ['analyst'] }),
    );
    try {
      const probe =
        "SELECT current_setting('statement_timeout') AS timeout, current_setting('search_path') AS path, pg_backend_pid() AS pid";
      const first = await client.callTool('run_query', { sql: probe, timeout_ms: 1234 });
      const [[t1, , pid1]] = data(first).rows as [[string, string, number]];
      expect(t1).toBe('1234ms');

      for (const sql of [
        'SET search_path = billing',
        "SELECT set_config('search_path', 'billing', false)",
        'SET statement_timeout = 1',
      ]) {
        const r = await client.callTool('run_query', { sql });
        expect(r.isError, sql).toBe(true);
        expect(textOf(r)).toMatch(/Only read-only SELECT|is not allowed/);
      }

      const second = await client.callTool('run_query', { sql: `${probe} -- second call` });
      const [[t2, path2, pid2]] = data(second).rows as [[string, string, number]];
      expect(pid2).toBe(pid1); // the same backend served both calls
      expect(t2).toBe('30s');
      expect(path2).toBe('"$user", public');
    } finally {
      await client.close();
    }
  });

  it('state a guard bug let through is still wiped before the connection is reused', async () => {
    const w = new Warehouse({ url: wh.readerUrl, poolMax: 1, logger: silentLogger });
    try {
      await w.init();
      const pid = await w.readOnly({ signal: neverAborted, timeoutMs: 5_000 }, async (sess) => {
        await sess.query("SET work_mem = '1234kB'");
        await sess.query('SET default_transaction_read_only = off');
        await sess.query('SET statement_timeout = 0');
        // set_config and advisory locks are no longer executable by the reader role at all
        // (role-hardening.test.ts); SET is the same state by another door.
        await sess.query('SET search_path = billing');
        await sess.query('PREPARE leaked AS SELECT 1');
        await sess.query('LISTEN leaked_channel');
        return sess.pid;
      });
      const after = await w.readOnly({ signal: neverAborted, timeoutMs: 5_000 }, (sess) =>
        sess.query<{
          pid: number;
          work_mem: string;
          path: string;
          prepared: number;
          locks: number;
          channels: number;
          read_only: string;
          timeout: string;
        }>(
          `SELECT pg_backend_pid() AS pid, current_setting('work_mem') AS work_mem, current_setting('search_path') AS path,
             current_setting('transaction_read_only') AS read_only, current_setting('statement_timeout') AS timeout,
             (SELECT count(*)::int FROM pg_prepared_statements) AS prepared,
             (SELECT count(*)::int FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()) AS locks,
             (SELECT count(*)::int FROM pg_listening_channels()) AS channels`,
        ),
      );
      expect(after[0]).toEqual({
        pid,
        work_mem: '16MB', // the role's own default (ALTER ROLE ... SET work_mem), not the 1234kB the call set
        path: '"$user", public',
        prepared: 0,
        locks: 0,
        channels: 0,
        read_only: 'on',
        timeout: '5s', // this call's own timeout, not the 0 the previous call left
      });
      // And the session really refuses writes again.
      await expect(
        w.readOnly({ signal: neverAborted, timeoutMs: 5_000 }, (sess) =>
          sess.query('CREATE TEMP TABLE leaked (x int)'),
        ),
      ).rejects.toThrow(/read-only transaction/);
    } finally {
      await w.close();
    }
  });
});
