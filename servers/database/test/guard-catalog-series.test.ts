// generate_series against a real PostgreSQL: whenever the guard accepts a series of literal
// bounds and step, PostgreSQL produces at most SERIES_MAX_ROWS rows from it. The guard's count is
// checked against the real one, not against the guard's own arithmetic.
import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SERIES_MAX_ROWS } from '../src/sql/allow-list.js';
import { checkReadOnlySql, SqlRefused } from '../src/sql/guard.js';

const url = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
let client: pg.Client;

beforeAll(async () => {
  client = new pg.Client({ connectionString: url });
  await client.connect();
  // A series the guard wrongly accepts stops at the LIMIT; the timeout only guards the test itself.
  await client.query("SET statement_timeout = '60s'");
});

afterAll(async () => {
  await client?.end();
});

/** Rows PostgreSQL produces for the call, counted up to one over the cap; null when it errors. */
async function realRows(call: string): Promise<number | null> {
  try {
    const r = await client.query<{ n: string }>(
      `SELECT count(*) AS n FROM (SELECT ${call} LIMIT ${SERIES_MAX_ROWS + 1}) s`,
    );
    return Number(r.rows[0]?.n);
  } catch {
    return null;
  }
}

function accepted(call: string): boolean {
  try {
    checkReadOnlySql(`SELECT count(*) FROM (SELECT ${call}) s`);
    return true;
  } catch (err) {
    if (err instanceof SqlRefused) return false;
    throw err;
  }
}

// Numeric literals of every shape that tripped the guard: tiny and huge exponents, long digit
// strings beyond a double's precision, ordinary integers and decimals, negative signs.
const digits = (min: number, max: number) =>
  fc.array(fc.constantFrom(...'0123456789'), { minLength: min, maxLength: max }).map((d) => d.join(''));
const numeric = fc.oneof(
  fc.integer({ min: -20_000_000, max: 20_000_000 }).map(String),
  fc.tuple(fc.integer({ min: -1000, max: 1000 }), digits(1, 6)).map(([i, f]) => `${i}.${f}`),
  fc.tuple(fc.integer({ min: 1, max: 9 }), fc.integer({ min: -400, max: 40 })).map(([m, e]) => `${m}e${e}`),
  fc.tuple(fc.integer({ min: 1, max: 9 }), digits(14, 32)).map(([a, b]) => `${a}${b}`),
  fc.constantFrom('0', '1', '-1', '0.5', '1e-400', '9007199254740993', '1000000000000000070000000000000'),
);
const signed = (n: fc.Arbitrary<string>) =>
  fc.tuple(fc.boolean(), n).map(([neg, v]) => (neg && !v.startsWith('-') ? `-${v}` : v));

const INTERVAL_UNITS = ['mon', 'days', 'hours', 'minutes', 'seconds', 'years', 'weeks'];
const interval = fc
  .array(fc.tuple(fc.integer({ min: -40, max: 40 }), fc.constantFrom(...INTERVAL_UNITS)), {
    minLength: 1,
    maxLength: 3,
  })
  .map((parts) => parts.map(([n, u]) => `${n} ${u}`).join(' '));
const timestamp = fc
  .tuple(
    fc.integer({ min: 2000, max: 2030 }),
    fc.integer({ min: 1, max: 12 }),
    fc.integer({ min: 1, max: 31 }),
  )
  .map(
    ([y, m, d]) =>
      `${y}-${String(m).padStart(2, '0')}-${String(Math.min(d, 28 + (m === 2 ? 0 : 3))).padStart(2, '0')}`,
  )
  .filter((d) => !Number.isNaN(Date.parse(d)));

describe('generate_series row cap holds against PostgreSQL', () => {
  it('the hand-found bypasses are refused, and would exceed the cap', async () => {
    for (const call of [
      'generate_series(0, 1, 1e-400)',
      'generate_series(1000000000000000000000000000000, 1000000000000000070000000000000)',
      "generate_series(timestamp '2025-03-31', timestamp '2025-04-30', interval '-1 mon 31 days')",
    ]) {
      expect(await realRows(call), call).toBeGreaterThan(SERIES_MAX_ROWS);
      expect(accepted(call), call).toBe(false);
    }
  });

  it('numeric (start, stop, step): accepted means at most the cap', async () => {
    await fc.assert(
      fc.asyncProperty(
        signed(numeric),
        signed(numeric),
        fc.option(signed(numeric), { nil: undefined }),
        async (a, b, c) => {
          const call = `generate_series(${a}, ${b}${c === undefined ? '' : `, ${c}`})`;
          if (!accepted(call)) return;
          const rows = await realRows(call);
          expect(rows ?? 0, call).toBeLessThanOrEqual(SERIES_MAX_ROWS);
        },
      ),
      { numRuns: 300 },
    );
  }, 120_000);

  it('timestamp (start, stop, interval step): accepted means at most the cap', async () => {
    await fc.assert(
      fc.asyncProperty(timestamp, timestamp, interval, async (a, b, step) => {
        const call = `generate_series(timestamp '${a}', timestamp '${b}', interval '${step}')`;
        if (!accepted(call)) return;
        const rows = await realRows(call);
        expect(rows ?? 0, call).toBeLessThanOrEqual(SERIES_MAX_ROWS);
      }),
      { numRuns: 300 },
    );
  }, 120_000);
});
