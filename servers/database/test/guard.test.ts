// The SQL guard alone: every corpus attack is refused with advice; ordinary analytics SQL passes.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkReadOnlySql, explainStatement, SqlRefused } from '../src/sql/guard.js';
import { allAttacks, HARMLESS } from './sql-corpus.js';

describe('checkReadOnlySql', () => {
  it.each(allAttacks().map((a) => [a.kind, a.sql, a.why] as const))('refuses %s: %s', (_kind, sql, why) => {
    let error: unknown;
    try {
      checkReadOnlySql(sql);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(SqlRefused);
    expect((error as Error).message).toMatch(why);
  });

  it.each(HARMLESS)('lets a harmless look-alike through as one SELECT: %s', (sql) => {
    expect(() => checkReadOnlySql(sql)).not.toThrow();
  });

  it.each([
    "SELECT priority, count(*) FROM support.tickets WHERE status IN ('open', 'new') GROUP BY 1 ORDER BY 2 DESC",
    'WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 5) SELECT * FROM r',
    "SELECT c.name, sum(o.total_cents) FILTER (WHERE o.status = 'delivered') OVER (PARTITION BY c.segment) FROM sales.customers c JOIN sales.orders o ON o.customer_id = c.id",
    "SELECT date_trunc('month', issued_at) AS m, percentile_cont(0.5) WITHIN GROUP (ORDER BY amount_cents) FROM billing.invoices GROUP BY ROLLUP (1)",
    "SELECT * FROM generate_series(date '2025-01-01', date '2025-12-01', interval '1 month') AS g(month)",
    "SELECT e.event_type, count(*) FROM product.events e WHERE e.occurred_at >= now() - interval '30 days' AND e.platform ILIKE 'web%' GROUP BY 1",
    "SELECT jsonb_build_object('a', 1) ->> 'a', coalesce(NULL, 1), greatest(1, 2), nullif(1, 2), 2 ^ 3, 'x' || 'y', extract(year FROM now())",
    'TABLE support.tickets',
    "VALUES (1, 'a'), (2, 'b')",
    "SELECT t.* FROM support.tickets t WHERE EXISTS (SELECT 1 FROM sales.customers c WHERE c.id = t.customer_id AND c.segment = ANY (ARRAY['smb']))",
  ])('allows %s', (sql) => {
    expect(() => checkReadOnlySql(sql)).not.toThrow();
  });

  it('reports every relation a query names, wherever it sits', () => {
    const q = checkReadOnlySql(
      'WITH x AS (SELECT * FROM billing.invoices) SELECT * FROM support.tickets t, LATERAL (SELECT 1 FROM sales.orders WHERE id = t.id) o WHERE EXISTS (SELECT 1 FROM tickets2) UNION SELECT * FROM x',
    );
    expect(q.relations.map((r) => `${r.schema ?? ''}.${r.name}`).sort()).toEqual([
      '.tickets2',
      '.x',
      'billing.invoices',
      'sales.orders',
      'support.tickets',
    ]);
  });

  it('keeps only the statement text, without a trailing semicolon, byte offsets and all', () => {
    expect(checkReadOnlySql("  SELECT 'Zoë' AS n ;  ").text).toBe("SELECT 'Zoë' AS n");
  });

  it('allows parameters only where asked to (saved queries)', () => {
    expect(() => checkReadOnlySql('SELECT $1::int')).toThrow(/parameters/);
    expect(checkReadOnlySql('SELECT $1::int + $2', { allowParameters: true }).parameterCount).toBe(2);
  });

  it('lets saved queries (configuration) cast to warehouse types, never model SQL', () => {
    const sql = 'SELECT count(*) FROM support.tickets WHERE priority = $1::text::support.ticket_priority';
    expect(() => checkReadOnlySql(sql, { allowParameters: true })).not.toThrow();
    expect(() => checkReadOnlySql(sql.replace('$1', "'high'"))).toThrow(/cast to support.ticket_priority/);
    expect(() => checkReadOnlySql('SELECT $1::text::regproc', { allowParameters: true })).toThrow(
      /cast to regproc/,
    );
  });

  it('builds EXPLAIN only around the checked SELECT, whatever comments it ends with', () => {
    const text = explainStatement(checkReadOnlySql('SELECT 1 -- trailing comment'), true);
    expect(text).toBe('EXPLAIN (FORMAT JSON, ANALYZE true, BUFFERS true) SELECT 1 -- trailing comment\n');
  });
});

// R5: deep nesting overflowed the guard's recursive walk; the answer was "internal error".
describe('nesting depth', () => {
  const WRAPPERS: [string, string][] = [
    ['(SELECT ', ')'],
    ['(', ')'],
    ['ARRAY[', ']'],
    ['-(', ')'],
    ['coalesce(', ', 1)'],
    ['abs(', ')'],
    ['(1 + ', ')'],
    ['ROW(', ')'],
    ['(CASE WHEN true THEN ', ' END)'],
    ['(SELECT max(v) FROM (SELECT ', ' AS v) s)'],
    ['NOT (', ' IS NULL)'],
    ['(', ')::text::int'],
  ];

  /** What the guard answers: a result, or a refusal; anything else (RangeError...) is a failure. */
  function verdict(sql: string): 'passed' | string {
    try {
      checkReadOnlySql(sql);
      return 'passed';
    } catch (err) {
      if (!(err instanceof SqlRefused)) throw err;
      return err.message;
    }
  }

  it('refuses chains far deeper than any query needs with a clear message, not an internal error', () => {
    const deep = /nested too deeply \(at most \d+ levels/;
    for (const sql of [
      `SELECT ${'(SELECT '.repeat(1000)}1${')'.repeat(1000)}`,
      `SELECT 1${'+1'.repeat(50_000)}`,
      `SELECT 1${' OR 1 = 1'.repeat(20_000).replace(/^/, ' = 1')}`,
      `SELECT ${'('.repeat(50_000)}1${')'.repeat(50_000)}`,
      `SELECT ${'ARRAY['.repeat(20_000)}1${']'.repeat(20_000)}`,
      `SELECT ${'- '.repeat(50_000)}1`,
      `SELECT 'a'${"||'a'".repeat(50_000)}`,
    ]) {
      const v = verdict(sql);
      if (v !== 'passed') expect(v, sql.slice(0, 60)).toMatch(/nested too deeply|could not be parsed/);
      else expect(sql.length, 'only flat chains may pass').toBeGreaterThan(0);
    }
    expect(verdict(`SELECT ${'(SELECT '.repeat(1000)}1${')'.repeat(1000)}`)).toMatch(deep);
    expect(verdict(`SELECT 1${'+1'.repeat(50_000)}`)).toMatch(deep);
    // The guard still works afterwards.
    expect(checkReadOnlySql('SELECT 1').text).toBe('SELECT 1');
  });

  it('answers any nesting shape with a result or a clear refusal, never an internal error', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom(...WRAPPERS), fc.integer({ min: 1, max: 400 })), {
          minLength: 1,
          maxLength: 6,
        }),
        (layers) => {
          let core = '1';
          for (const [[open, close], n] of layers) core = `${open.repeat(n)}${core}${close.repeat(n)}`;
          const sql = `SELECT ${core}`;
          const v = verdict(sql);
          if (v !== 'passed') expect(v, sql.slice(0, 80)).toMatch(/nested too deeply|could not be parsed/);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('lets ordinary depth through', () => {
    expect(verdict(`SELECT ${'(SELECT '.repeat(30)}1${')'.repeat(30)}`)).toBe('passed');
    expect(verdict(`SELECT 1${'+1'.repeat(100)}`)).toBe('passed');
    expect(verdict(`SELECT 1 WHERE 1 IN (${Array.from({ length: 5000 }, (_, i) => i).join(', ')})`)).toBe(
      'passed',
    );
    expect(verdict(`SELECT 1 WHERE ${Array.from({ length: 2000 }, (_, i) => `1 = ${i}`).join(' OR ')}`)).toBe(
      'passed',
    );
  });
});

describe('round 2 bounds keep ordinary SQL working', () => {
  it.each([
    'SELECT count(*) FROM generate_series(1, 10000000) g',
    'SELECT count(*) FROM generate_series(1, 1000 * 1000) g',
    "SELECT * FROM generate_series(timestamp '2025-01-01 00:00', timestamp '2025-01-02 00:00', interval '1 hour') g",
    "SELECT * FROM generate_series(current_date - interval '1 year', current_date, '1 week'::interval) g",
    "SELECT * FROM generate_series(now() - interval '90 days', now(), interval '1 day') g",
    'SELECT * FROM generate_series(1, 10, 2) g',
    "SELECT * FROM generate_series(current_date - 30, current_date, '1 day') g",
    "SELECT * FROM generate_series(date '2025-01-01', date '2025-03-31', '1 mon 2 days') g",
    "SELECT replace(replace(replace(t.subject, 'a', 'b'), 'c', 'd'), 'e', 'f') FROM support.tickets t",
    "SELECT regexp_replace(t.subject, '(\\w+) (\\w+)', '\\2 \\1') FROM support.tickets t",
    "SELECT concat_ws(' | ', t.subject, t.status, t.priority), array_to_string(ARRAY[t.id, t.customer_id], ',') FROM support.tickets t",
    "SELECT to_tsvector(t.subject) @@ plainto_tsquery('refund'), ts_headline(t.subject, plainto_tsquery('refund')) FROM support.tickets t",
    'SELECT t.path, t.point, t.oid, c.relname FROM support.tickets t, pg_class c',
    'SELECT count(*) FROM pg_catalog.pg_attribute a JOIN information_schema.columns c ON c.column_name = a.attname',
  ])('allows %s', (sql) => {
    expect(() => checkReadOnlySql(sql)).not.toThrow();
  });

  it.each([
    "SELECT * FROM generate_series(current_date - 100000000, current_date, '1 second') g",
    "SELECT * FROM generate_series(date '2025-01-01', date '2026-01-01', '1 microsecond') g",
    "SELECT * FROM generate_series(date '2025-01-01', date '2026-01-01', interval '1' second) g",
    "SELECT * FROM generate_series(date '2025-01-01', date '2026-01-01', 'P1D') g",
    "SELECT * FROM generate_series('1', '1000000000') g",
    "SELECT * FROM generate_series(1, 'Infinity'::float8) g",
  ])('refuses a series it cannot count or that is too long: %s', (sql) => {
    expect(() => checkReadOnlySql(sql)).toThrow(
      /generate_series\(\) (needs literal bounds|may produce at most)/,
    );
  });

  // Round 3: a step JavaScript reads as 0, bounds a double cannot tell apart, an interval whose
  // fields cancel out: each let PostgreSQL produce more rows than the guard counted.
  it.each([
    'SELECT count(*) FROM generate_series(0, 1, 1e-400) g',
    'SELECT count(*) FROM generate_series(0, 1, 0.0000000000000000000000000001) g',
    'SELECT count(*) FROM generate_series(1000000000000000000000000000000, 1000000000000000070000000000000) g',
    'SELECT count(*) FROM generate_series(9007199254740993, 9007199254740993 + 20000000) g',
    'SELECT count(*) FROM generate_series(1, 10, 0) g',
    'SELECT count(*) FROM generate_series(1, 10, -1) g',
    'SELECT count(*) FROM generate_series(0.1, 1e308 * 10, 1) g',
    "SELECT count(*) FROM generate_series(timestamp '2025-03-31', timestamp '2025-04-30', interval '-1 mon 31 days') g",
    "SELECT count(*) FROM generate_series(timestamp '2025-03-31', timestamp '2025-04-30', interval '1 mon -30 days') g",
    "SELECT count(*) FROM generate_series(timestamp '2025-01-01', timestamp '2025-01-02', interval '1 day -23:59:59') g",
    "SELECT count(*) FROM generate_series(timestamp '2025-01-01', timestamp '2025-01-02', interval '0 days') g",
    "SELECT count(*) FROM generate_series(timestamp '2025-01-01', timestamp '2025-01-10', interval '-1 hour') g",
  ])('refuses a series it cannot count exactly: %s', (sql) => {
    expect(() => checkReadOnlySql(sql)).toThrow(/generate_series\(\) (needs|may produce at most)/);
  });

  it.each([
    'SELECT count(*) FROM generate_series(10, 1, -1) g',
    'SELECT count(*) FROM generate_series(0, 1, 0.25) g',
    'SELECT count(*) FROM generate_series(-5.5, 5.5) g',
    "SELECT count(*) FROM generate_series(date '2025-12-01', date '2025-01-01', interval '-1 month') g",
  ])('still allows an exactly countable series: %s', (sql) => {
    expect(() => checkReadOnlySql(sql)).not.toThrow();
  });

  it('refuses a series one row over the cap, allows it at the cap', () => {
    expect(() => checkReadOnlySql('SELECT count(*) FROM generate_series(1, 10000000) g')).not.toThrow();
    expect(() => checkReadOnlySql('SELECT count(*) FROM generate_series(0, 10000000) g')).toThrow(
      /may produce at most 10,000,000 rows/,
    );
  });

  // R6: what a guard can bound. Generators are not allowed at all; additive functions (output at most
  // the sum of their inputs plus a literal's worth) pass; multipliers need literal factors.
  it('allows no generator of large values from small inputs', () => {
    for (const sql of [
      'SELECT array_fill(1, ARRAY[100000000])',
      "SELECT repeat('x', 100000000)",
      "SELECT lpad('x', 100000000)",
      "SELECT rpad('x', 100000000)",
      'SELECT xmlagg(xmlelement(name a)) FROM generate_series(1, 10) g',
      "SELECT jsonb_pretty('[[[[1]]]]')",
      "SELECT string_agg(x, '') FROM generate_series(1, 10000001) g, unnest(ARRAY['x']) x",
    ])
      expect(() => checkReadOnlySql(sql), sql).toThrow(SqlRefused);
    expect(() =>
      checkReadOnlySql(
        "SELECT overlay('abc' placing 'x' from 2 for 1), translate('abc', 'ab', 'xy'), to_char(1234.5, 'FM999990.00'), string_to_array('a,b', ','), jsonb_build_object('a', 1)",
      ),
    ).not.toThrow();
  });

  it('multiplies the growth of every replacement in the query, nested or not', () => {
    const ten = "'aaaaaaaaaa'";
    expect(() =>
      checkReadOnlySql(`SELECT replace(replace(replace('a', 'a', ${ten}), 'a', ${ten}), 'a', ${ten})`),
    ).not.toThrow();
    expect(() =>
      checkReadOnlySql(
        `SELECT replace('a', 'a', ${ten}), replace('a', 'a', ${ten}), replace('a', 'a', ${ten}), replace('a', 'a', ${ten})`,
      ),
    ).toThrow(/could multiply a value's size by 10,000; at most 1,000/);
  });
});

// Round 3: sizes of a table count every tenant's rows, whatever row-level security shows the caller.
describe('relation sizes for a caller bound to a tenant', () => {
  const sizes = [
    "SELECT pg_relation_size('sales.orders')",
    "SELECT pg_indexes_size('sales.orders')",
    "SELECT pg_total_relation_size('product.events')",
    "SELECT pg_table_size('sales.customers')",
    "SELECT pg_size_pretty(pg_relation_size('sales.orders'::regclass))",
    "SELECT 1 FROM sales.orders o WHERE pg_catalog.pg_table_size('sales.orders') > 0",
    // pg_class's reltuples and relpages are the same counts, kept by ANALYZE.
    "SELECT reltuples, relpages FROM pg_class WHERE relname = 'orders'",
    'SELECT c.reltuples FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace',
    'SELECT (SELECT max(reltuples) FROM pg_class) AS n',
  ];

  it.each(sizes)('refuses %s', (sql) => {
    expect(() => checkReadOnlySql(sql, { tenantBound: true })).toThrow(/bound to a tenant/);
  });

  it.each(sizes)('still allows it without a tenant: %s', (sql) => {
    expect(() => checkReadOnlySql(sql)).not.toThrow();
  });

  it('lets a tenant-bound caller run ordinary queries', () => {
    expect(() =>
      checkReadOnlySql(
        "SELECT count(*), pg_size_pretty(1024::bigint) FROM sales.orders o WHERE o.status = 'x'",
        {
          tenantBound: true,
        },
      ),
    ).not.toThrow();
  });
});
