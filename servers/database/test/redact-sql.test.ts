// database_health shows long-running statements with their values redacted. A hand-written lexer
// was bypassed: a standard string ending in a backslash ('C:\' — the backslash is literal) swallowed
// the next quote and showed the next literal; nested comments (/* a /* b */ secret */) and quoted
// identifiers were shown. Property: whatever lexical context a secret is written in, it never
// appears in the output, whole or cut the way pg_stat_activity cuts long text.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { redactSql } from '../src/connectors/health.js';

const secret = fc.stringMatching(/^[A-Za-z0-9]{6,16}$/).map((s) => `zq${s}`);
/** A secret written in one lexical context; `v` must never be shown. */
const written = fc.oneof(
  secret.map((v) => ({ v, sql: `'${v}'` })),
  secret.map((v) => ({ v, sql: `'C:\\' || '${v}'` })),
  secret.map((v) => ({ v, sql: `'a\\', '${v}'` })),
  secret.map((v) => ({ v, sql: `'it''s ${v}'` })),
  secret.map((v) => ({ v, sql: `E'a\\'${v}'` })),
  secret.map((v) => ({ v, sql: `e'\\\\' || '${v}'` })),
  secret.map((v) => ({ v, sql: `U&'d\\0061${v}'` })),
  secret.map((v) => ({ v, sql: `$$${v}$$` })),
  secret.map((v) => ({ v, sql: `$t$ ${v} $u$ $t$` })),
  secret.map((v) => ({ v, sql: `1 /* a /* b */ ${v} */` })),
  secret.map((v) => ({ v, sql: `1 /* ${v} */` })),
  secret.map((v) => ({ v, sql: `1 -- ${v}\n` })),
  secret.map((v) => ({ v, sql: `"${v}"` })),
  secret.map((v) => ({ v, sql: `"a""${v}"` })),
  secret.map((v) => ({ v, sql: `U&"${v}"` })),
  fc.stringMatching(/^[01]{8,20}$/).map((v) => ({ v, sql: `B'${v}'` })),
  fc.stringMatching(/^[0-9A-F]{8,20}$/).map((v) => ({ v, sql: `X'${v}'` })),
  fc.integer({ min: 100_000, max: 2_000_000_000 }).map((n) => ({ v: String(n), sql: String(n) })),
  fc.integer({ min: 100_000, max: 999_999 }).map((n) => ({ v: String(n), sql: `${n}e3` })),
  fc.integer({ min: 100_000, max: 999_999 }).map((n) => ({ v: String(n), sql: `.${n}` })),
  fc.integer({ min: 100_000, max: 999_999 }).map((n) => ({ v: String(n), sql: `0x${n}` })),
);
const glue = fc.constantFrom(' ', '\n', '\t', '', '/**/', ' -- x\n');

describe('redactSql', () => {
  it('never shows a secret, in any lexical context, whole or cut', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(written, glue), { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 1, max: 400 }),
        (parts, cut) => {
          const sql = `SELECT count(*) FROM sales.customers WHERE ${parts
            .map(([w, g], i) => `c${i} =${g}${w.sql}`)
            .join(' AND ')}`;
          for (const text of [sql, sql.slice(0, cut)]) {
            const shown = redactSql(text);
            for (const [w] of parts) expect(shown, text).not.toContain(w.v);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('keeps the statement shape', () => {
    expect(redactSql("select * from sales.customers where path = 'C:\\' and email = 'a@b.example'")).toBe(
      "select * from sales.customers where path = '?' and email = '?'",
    );
    expect(redactSql('select 1 /* outer /* inner */ secret */, x::int from t where y = $1')).toBe(
      'select ? , x::int from t where y = $1',
    );
    expect(redactSql("select 'abc")).toBe('select ?');
    expect(redactSql("select $q$x$q$, U&'d', B'1', X'f', 1.5e3")).toBe("select '?', '?', '?', '?', ?");
  });
});
