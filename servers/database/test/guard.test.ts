// The SQL guard alone: every corpus attack is refused with advice; ordinary analytics SQL passes.
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
