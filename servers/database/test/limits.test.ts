// Row and byte caps say when a result is cut short; values come back as exact, JSON-safe data.
import { type BootedServer, connectClient, type TestClient } from '@mcp-fleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootDatabase, createWarehouse, data, type TestWarehouse, textOf } from './helpers.js';

let wh: TestWarehouse;
let s: BootedServer;
let client: TestClient;

beforeAll(async () => {
  wh = await createWarehouse();
  s = await bootDatabase(wh, { env: { WAREHOUSE_MAX_ROWS: '50', WAREHOUSE_MAX_BYTES: '4000' } });
  client = await connectClient('modern', s.url, await s.token({ sub: 'analyst-1', roles: ['analyst'] }));
});
afterAll(async () => {
  await client?.close();
  await s?.close();
  await wh?.cleanup();
});

describe('result limits', () => {
  it('stops at the row cap and says so', async () => {
    const r = await client.callTool('run_query', { sql: 'SELECT id FROM product.events ORDER BY id' });
    expect(data(r)).toMatchObject({ rowCount: 50, truncated: true, truncatedBy: 'rows' });
    expect((data(r).rows as [number][]).map((row) => row[0])).toEqual(
      Array.from({ length: 50 }, (_, i) => i + 1),
    );
    expect(textOf(r)).toMatch(/TRUNCATED at the 50-row limit/);
  });

  it('lets a call lower the row cap, never raise it', async () => {
    const lower = await client.callTool('run_query', { sql: 'SELECT id FROM product.events', max_rows: 3 });
    expect(data(lower)).toMatchObject({ rowCount: 3, truncated: true });
    const higher = await client.callTool('run_query', { sql: 'SELECT id FROM sales.orders', max_rows: 5000 });
    expect(data(higher)).toMatchObject({ rowCount: 50, truncated: true });
  });

  it('stops at the byte cap and says so', async () => {
    const wide = await client.callTool('run_query', {
      sql: 'SELECT id, md5(id::text) || md5(id::text) || md5(id::text) AS wide FROM sales.customers ORDER BY id',
    });
    const d = data(wide);
    expect(d).toMatchObject({ truncated: true, truncatedBy: 'bytes' });
    expect(JSON.stringify(d.rows).length).toBeLessThanOrEqual(4000);
    expect(d.rowCount as number).toBeGreaterThan(10);
    expect(textOf(wide)).toMatch(/TRUNCATED at the byte limit/);
  });

  it('reports a complete result as not truncated', async () => {
    const r = await client.callTool('run_query', { sql: 'SELECT count(*) AS n FROM support.tickets' });
    expect(data(r)).toMatchObject({ rowCount: 1, truncated: false, truncatedBy: null, rows: [[1000]] });
  });

  it('returns exact, JSON-safe values with their PostgreSQL types', async () => {
    const r = await client.callTool('run_query', {
      sql: `SELECT 9007199254740993::bigint AS big, 42::bigint AS small, 1.10::numeric(5,2) AS money, date '2025-01-02' AS day,
              timestamptz '2025-01-02 03:04:05+00' AS at, '{"a": [1, 2]}'::jsonb AS doc, '\\xdeadbeef'::bytea AS bytes,
              NULL::text AS nothing, true AS yes, ARRAY[1, 2] AS list, 'NaN'::float8 AS nan`,
    });
    const d = data(r);
    expect((d.columns as { type: string }[]).map((c) => c.type)).toEqual([
      'bigint',
      'bigint',
      'numeric',
      'date',
      'timestamp with time zone',
      'jsonb',
      'bytea',
      'text',
      'boolean',
      'integer[]',
      'double precision',
    ]);
    const [row] = d.rows as unknown[][];
    expect(row?.slice(0, 4)).toEqual(['9007199254740993', 42, '1.10', '2025-01-02']);
    expect(row?.[4]).toMatch(/^2025-01-02 03:04:05\+00/);
    expect(row?.slice(5)).toEqual([{ a: [1, 2] }, '\\xdeadbeef', null, true, [1, 2], 'NaN']);
  });
});
