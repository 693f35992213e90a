// The syntactic forms that make PostgreSQL invoke a function, an operator or a cast, built from
// catalog rows (pg_proc, pg_operator, pg_type) so that every generated statement parses and names
// exactly one thing the guard must refuse. Used by guard-catalog.test.ts.
import { parseSync } from 'libpg-query';

/** A function as pg_proc describes it. */
export interface Proc {
  name: string;
  schema: string;
  nargs: number;
  ndefaults: number;
  args: string[];
}

/** An operator as pg_operator describes it ('b' binary, 'l' prefix). */
export interface Operator {
  name: string;
  schema: string;
  kind: 'b' | 'l';
}

/** One generated statement and the name its refusal must mention. */
export interface Case {
  sql: string;
  name: string;
}

/** A form: how to write SQL around one call (`c`), or around one value and a field name. */
export type Form = [label: string, build: (p: Proc) => string | undefined];

function parses(sql: string): boolean {
  return tree(sql) !== undefined;
}

function tree(sql: string): string | undefined {
  try {
    return JSON.stringify(parseSync(sql));
  } catch {
    return undefined;
  }
}

const quoted = (name: string) => `"${name.replace(/"/g, '""')}"`;
const identifiers = new Map<string, string>();

/** The name as the parser reads it back: bare when that parses to the same name, quoted otherwise. */
export function ident(name: string): string {
  let written = identifiers.get(name);
  if (written === undefined) {
    // Bare only when the parser reads it back as a call of that very name (not `bit(1)` the type).
    const bare = /^[a-z_][a-z0-9_$]*$/.test(name) ? tree(`SELECT ${name}(1, 'x', true)`) : undefined;
    written = bare?.includes(`"funcname":[{"String":{"sval":"${name}"}}]`) ? name : quoted(name);
    identifiers.set(name, written);
  }
  return written;
}

const NUMERIC = /^(int2|int4|int8|float4|float8|numeric|oid|xid|xid8|cid|money)$/;

/** A literal PostgreSQL can coerce to the argument type (an untyped string for the rest). */
function literal(type: string | undefined): string {
  if (type !== undefined && NUMERIC.test(type)) return '1';
  if (type === 'bool') return 'true';
  return "'x'";
}

/** The required arguments of a call (those without defaults), as literals. */
export function argList(p: Proc): string {
  return p.args
    .slice(0, Math.max(0, p.nargs - p.ndefaults))
    .map(literal)
    .join(', ');
}

const call = (p: Proc, written = ident(p.name)) => `${written}(${argList(p)})`;

/** Functional notation, in every clause a function may sit in. */
export const CALL_FORMS: Form[] = [
  ['select list', (p) => `SELECT ${call(p)}`],
  ['schema-qualified', (p) => `SELECT ${ident(p.schema)}.${call(p)}`],
  ['pg_catalog-qualified', (p) => `SELECT pg_catalog.${call(p)}`],
  ['quoted', (p) => `SELECT ${call(p, quoted(p.name))}`],
  [
    'upper case', // keywords (time, numeric...) parse only quoted, and quoting keeps case
    (p) => (ident(p.name) === p.name ? `SELECT ${call(p, p.name.toUpperCase())}` : undefined),
  ],
  ['FROM', (p) => `SELECT * FROM ${call(p)} AS t`],
  ['LATERAL', (p) => `SELECT * FROM generate_series(1, 2) g, LATERAL ${call(p)} AS t`],
  ['LATERAL subquery', (p) => `SELECT * FROM generate_series(1, 2) g, LATERAL (SELECT ${call(p)}) s`],
  ['ROWS FROM', (p) => `SELECT * FROM ROWS FROM (generate_series(1, 2), ${call(p)}) AS r`],
  ['CTE', (p) => `WITH w AS (SELECT ${call(p)} AS v) SELECT * FROM w`],
  ['scalar subquery', (p) => `SELECT (SELECT ${call(p)})`],
  ['FROM subquery', (p) => `SELECT * FROM (SELECT ${call(p)}) s`],
  ['WHERE', (p) => `SELECT 1 WHERE ${call(p)} IS NOT NULL`],
  ['IN subquery', (p) => `SELECT 1 WHERE 1 IN (SELECT ${call(p)})`],
  [
    'JOIN ON',
    (p) => `SELECT 1 FROM generate_series(1, 2) a JOIN generate_series(1, 2) b ON ${call(p)} IS NULL`,
  ],
  ['ORDER BY', (p) => `SELECT 1 ORDER BY ${call(p)}`],
  ['GROUP BY', (p) => `SELECT count(*) FROM generate_series(1, 2) g GROUP BY ${call(p)}`],
  ['HAVING', (p) => `SELECT count(*) FROM generate_series(1, 2) g HAVING ${call(p)} IS NULL`],
  ['VALUES', (p) => `VALUES (${call(p)})`],
  ['FILTER', (p) => `SELECT count(*) FILTER (WHERE ${call(p)} IS NULL) FROM generate_series(1, 2) g`],
  ['window ORDER BY', (p) => `SELECT sum(g) OVER (ORDER BY ${call(p)}) FROM generate_series(1, 2) g`],
  ['CASE', (p) => `SELECT CASE WHEN true THEN ${call(p)} END`],
  ['cast of the result', (p) => `SELECT CAST(${call(p)} AS text)`],
  ['argument of an allowed function', (p) => `SELECT coalesce(lower(${call(p)}::text), 'y')`],
];

/** Attribute notation: PostgreSQL reads `x.f` and `(x).f` as `f(x)`. Only for one-argument calls. */
export const ATTRIBUTE_FORMS: Form[] = [
  ['x.f over unnest', (p) => `SELECT x.${ident(p.name)} FROM unnest(ARRAY[${literal(p.args[0])}]) x`],
  ['(x).f', (p) => `SELECT (x).${ident(p.name)} FROM unnest(ARRAY[${literal(p.args[0])}]) AS x`],
  ['x."f"', (p) => `SELECT x.${quoted(p.name)} FROM unnest(ARRAY[${literal(p.args[0])}]) AS x`],
  [
    'X.F upper case',
    (p) =>
      ident(p.name) === p.name ? `SELECT X.${p.name.toUpperCase()} FROM unnest(ARRAY[1]) X` : undefined,
  ],
  ['g.f over generate_series', (p) => `SELECT g.${ident(p.name)} FROM generate_series(1, 2) g`],
  ['(literal).f', (p) => `SELECT (${literal(p.args[0])}).${ident(p.name)}`],
  ['(ROW(...)).f', (p) => `SELECT (ROW(${literal(p.args[0])})).${ident(p.name)}`],
  [
    'WHERE x.f',
    (p) => `SELECT 1 FROM unnest(ARRAY[${literal(p.args[0])}]) x WHERE x.${ident(p.name)} IS NOT NULL`,
  ],
  ['ORDER BY x.f', (p) => `SELECT 1 FROM unnest(ARRAY[${literal(p.args[0])}]) x ORDER BY x.${ident(p.name)}`],
  [
    'GROUP BY x.f',
    (p) => `SELECT count(*) FROM unnest(ARRAY[${literal(p.args[0])}]) x GROUP BY x.${ident(p.name)}`,
  ],
  [
    'LATERAL x.f',
    (p) => `SELECT * FROM unnest(ARRAY[${literal(p.args[0])}]) x, LATERAL (SELECT x.${ident(p.name)}) s`,
  ],
  [
    'CTE column w.v.f',
    (p) => `WITH w AS (SELECT ${literal(p.args[0])} AS v) SELECT w.v.${ident(p.name)} FROM w`,
  ],
  ['VALUES alias', (p) => `SELECT v.c.${ident(p.name)} FROM (VALUES (${literal(p.args[0])})) AS v(c)`],
];

/** Every way to name a refused operator: infix, OPERATOR(schema.op), ANY/ALL of a subquery, USING. */
export function operatorCases(op: Operator): Case[] {
  const qualified = `OPERATOR(${ident(op.schema)}.${op.name})`;
  const sqls =
    op.kind === 'l'
      ? [`SELECT ${op.name} 'x'`, `SELECT ${qualified} 'x'`, `SELECT 1 WHERE (${qualified} 'x') IS NULL`]
      : [
          `SELECT 'x' ${op.name} 'y'`,
          `SELECT 'x' ${qualified} 'y'`,
          `SELECT 1 WHERE 'x' ${op.name} ANY (SELECT 'y')`,
          `SELECT 1 WHERE 'x' ${qualified} ALL (SELECT 'y')`,
          `SELECT 1 WHERE 'x' ${op.name} ANY (ARRAY['y'])`,
          `SELECT 1 ORDER BY 1 USING ${op.name}`,
          `SELECT 1 ORDER BY 1 USING ${qualified}`,
          `SELECT 1 FROM generate_series(1, 2) g WHERE (g ${op.name} g) IS NULL`,
        ];
  // A symbol that cannot stand between two literals (the lexer splits it differently) is skipped.
  return sqls.filter(parses).map((sql) => ({ sql, name: op.name }));
}

/** Casts to a type: `x::t`, `CAST(x AS schema.t)`, a typed literal, an array of it. */
export function castCases(type: { name: string; schema: string }): Case[] {
  const t = ident(type.name);
  return [
    `SELECT 'x'::${t}`,
    `SELECT CAST(NULL AS ${ident(type.schema)}.${t})`,
    `SELECT NULL::${t}[]`,
    `SELECT 1 WHERE 'x'::${ident(type.schema)}.${t} IS NULL`,
  ]
    .filter(parses)
    .map((sql) => ({ sql, name: type.name }));
}
