// One huge value (or an error text quoting one) must not reach node-postgres's decoder: the call
// ends with a clear error and one audit record, its connection is discarded, and the process keeps
// answering. The cap is set to 1 MB here so a 2 MB value proves it (the attack used 600 MB, which
// killed the process with ERR_STRING_TOO_LONG inside pg-protocol's 'data' handler).
import { type BootedServer, connectClient, type TestClient } from '@mcp-fleet/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FrameWatcher } from '../src/connectors/message-cap.js';
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

const MB = 1_048_576;
/** A 2 MB value built on the server (2,000 × 1,000 spaces). */
const BIG_VALUE = "select string_agg(format('%1000s',''),'') as s from generate_series(1,2000)";
/** The same value quoted in an error message. */
const BIG_ERROR =
  "select ('x' || s)::int from (select string_agg(format('%1000s',''),'') s from generate_series(1,2000)) t";

let wh: TestWarehouse;
let s: BootedServer;
let client: TestClient;

beforeAll(async () => {
  wh = await createWarehouse(0.01, { tempFileLimit: '64MB' });
  s = await bootDatabase(wh, {
    env: {
      WAREHOUSE_MAX_MESSAGE_BYTES: String(MB),
      WAREHOUSE_MAX_BYTES: String(10 * MB),
      WAREHOUSE_POOL_MAX: '1',
    },
  });
  client = await connectClient('modern', s.url, await s.token({ sub: 'bigrow-1', roles: ['analyst'] }));
});
afterAll(async () => {
  await client?.close();
  await s?.close();
  await wh?.cleanup();
});

async function backendPids(): Promise<number[]> {
  const rows = await wh.admin<{ pid: number }>(
    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'mcp-fleet-database' ORDER BY pid",
  );
  return rows.map((r) => r.pid);
}

describe('a message larger than the cap', () => {
  it('fails the call with a clear error, discards the connection, and the server answers the next call', async () => {
    const warm = await client.callTool('run_query', { sql: 'select 1 as one' });
    expect(warm.isError, textOf(warm)).toBeFalsy();
    const before = await backendPids();
    const r = await client.callTool('run_query', { sql: BIG_VALUE });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toMatch(/a value in the result is larger than 1 MB; select less/);
    const next = await client.callTool('run_query', { sql: 'select 41 + 1 as answer' });
    expect(data(next)).toMatchObject({ rows: [[42]] });
    const after = await backendPids();
    // The one pooled connection was replaced (pool max 1).
    expect(after.filter((p) => before.includes(p))).toEqual([]);
  });

  it('does the same for an error message quoting a huge value', async () => {
    const r = await client.callTool('run_query', { sql: BIG_ERROR });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toMatch(/error message is larger than 1 MB/);
    const next = await client.callTool('run_query', { sql: 'select 2 as two' });
    expect(data(next)).toMatchObject({ rows: [[2]] });
  });

  it('passes on only the start of an error message under the cap', async () => {
    const r = await client.callTool('run_query', {
      sql: "select ('x' || s)::int from (select string_agg(format('%1000s',''),'') s from generate_series(1,500)) t",
    });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toMatch(/invalid input syntax for type integer/);
    expect(textOf(r).length).toBeLessThan(5_000);
  });

  it('writes one audit record for the refused call', async () => {
    const c = await connectClient(
      'modern',
      s.url,
      await s.token({ sub: 'bigrow-audit', roles: ['analyst'] }),
    );
    try {
      const r = await c.callTool('run_query', { sql: BIG_VALUE });
      expect(r.isError).toBe(true);
    } finally {
      await c.close();
    }
    await s.server.runtime.audit.flush();
    const fleet = new pg.Client({ connectionString: wh.fleetUrl });
    await fleet.connect();
    try {
      const rows = (
        await fleet.query<{ tool: string; outcome: string }>(
          'SELECT tool, outcome FROM audit_records WHERE agent_id = $1',
          ['bigrow-audit'],
        )
      ).rows;
      expect(rows).toHaveLength(1);
      expect(rows[0]?.tool).toBe('run_query');
    } finally {
      await fleet.end();
    }
  });

  it('holds on the connector, and a value under the cap still comes back', async () => {
    const w = new Warehouse({ url: wh.readerUrl, poolMax: 1, logger: silentLogger, maxMessageBytes: MB });
    await w.init();
    try {
      const run = (sql: string) =>
        w.readOnly({ signal: neverAborted, timeoutMs: 10_000 }, (x) =>
          x.select(sql, [], { maxRows: 10, maxBytes: 10 * MB }),
        );
      await expect(run(BIG_VALUE)).rejects.toThrow(/larger than 1 MB/);
      const small = await run(
        "select length(string_agg(format('%1000s',''),'')) as n from generate_series(1,2000)",
      );
      expect(small.rows).toEqual([[2_000_000]]);
      const under = await run("select string_agg(format('%1000s',''),'') as s from generate_series(1,900)");
      expect(String(under.rows[0]?.[0]).length).toBe(900_000);
    } finally {
      await w.close();
    }
  });
});

describe('frame watcher', () => {
  it('finds an oversized header split across chunks, and passes frames under the limit', () => {
    const frame = (type: string, body: number) => {
      const b = Buffer.alloc(5 + body);
      b.write(type, 0);
      b.writeUInt32BE(body + 4, 1);
      return b;
    };
    const ok = new FrameWatcher(100);
    const stream = Buffer.concat([frame('Z', 1), frame('D', 100), frame('C', 10)]);
    for (let i = 0; i < stream.length; i += 3) expect(ok.feed(stream.subarray(i, i + 3))).toBeNull();
    const big = new FrameWatcher(100);
    const bad = Buffer.concat([frame('Z', 1), frame('D', 101).subarray(0, 7)]);
    expect(big.feed(bad.subarray(0, 8))).toBeNull();
    expect(big.feed(bad.subarray(8))).toBe('D');
  });
});
