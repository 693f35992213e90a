// The capped read behind every query tool, across batch boundaries (250 rows per Execute): caps that
// fall inside a later batch, a result of exactly the cap, an error in the middle of a result, and
// the one pooled session staying usable after each.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Warehouse } from '../src/connectors/warehouse.js';
import { createWarehouse, neverAborted, silentLogger, type TestWarehouse } from './helpers.js';

let wh: TestWarehouse;
let w: Warehouse;

beforeAll(async () => {
  wh = await createWarehouse(0.01);
  w = new Warehouse({ url: wh.readerUrl, poolMax: 1, logger: silentLogger });
  await w.init();
});
afterAll(async () => {
  await w?.close();
  await wh?.cleanup();
});

const select = (sql: string, maxRows: number, maxBytes = 10_000_000) =>
  w.readOnly({ signal: neverAborted, timeoutMs: 10_000 }, (s) => s.select(sql, [], { maxRows, maxBytes }));

describe('capped reads', () => {
  it('stops at a row cap that falls in a later batch, with the rows in order', async () => {
    const r = await select('SELECT g FROM generate_series(1, 1000) g', 600);
    expect(r).toMatchObject({ truncated: true, truncatedBy: 'rows' });
    expect(r.rows.map((row) => row[0])).toEqual(Array.from({ length: 600 }, (_, i) => i + 1));
  });

  it('calls a result of exactly the cap complete, and a smaller one too', async () => {
    const exact = await select('SELECT g FROM generate_series(1, 1000) g', 1000);
    expect(exact).toMatchObject({ truncated: false, truncatedBy: null });
    expect(exact.rows).toHaveLength(1000);
    const under = await select('SELECT g FROM generate_series(1, 1000) g', 5000);
    expect(under).toMatchObject({ truncated: false, truncatedBy: null });
    expect(under.rows.at(-1)).toEqual([1000]);
  });

  it('stops at a byte cap reached in a later batch, never over it', async () => {
    const r = await select(
      "SELECT g, repeat('x', 20) AS pad FROM generate_series(1, 5000) g",
      100_000,
      20_000,
    );
    expect(r).toMatchObject({ truncated: true, truncatedBy: 'bytes' });
    expect(r.rows.length).toBeGreaterThan(250);
    expect(r.rows.reduce((n, row) => n + JSON.stringify(row).length + 1, 0)).toBeLessThanOrEqual(20_000);
    expect(r.columns.map((c) => c.name)).toEqual(['g', 'pad']);
  });

  it('rejects with the error PostgreSQL raised mid-result, and the session serves the next call', async () => {
    await expect(select('SELECT 1 / (g - 700) FROM generate_series(1, 1000) g', 5000)).rejects.toThrow(
      /division by zero/,
    );
    const next = await select('SELECT 41 + 1 AS answer', 10);
    expect(next).toMatchObject({
      rows: [[42]],
      truncated: false,
      columns: [{ name: 'answer', type: 'integer' }],
    });
  });

  it('binds parameters with their types', async () => {
    const r = await w.readOnly({ signal: neverAborted, timeoutMs: 10_000 }, (s) =>
      s.select(
        'SELECT $1::int + 1 AS n, $2::text AS t, $3::date AS d',
        [41, 'hi', new Date('2025-01-02T12:00:00Z')],
        {
          maxRows: 10,
          maxBytes: 10_000,
        },
      ),
    );
    expect(r.rows).toEqual([[42, 'hi', '2025-01-02']]);
  });
});
