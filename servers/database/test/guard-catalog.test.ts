// The guard's corpus generated from the catalog of a real PostgreSQL: every function not on the
// allow-list, in every form that can invoke it; every refused operator in every position; every
// cast target and setting not on its allow-list. Derived from pg_proc, pg_operator, pg_type and
// pg_settings rather than typed by hand, so a function the lists forgot is a failing case.
import { createTestDatabase } from '@mcp-fleet/testkit';
import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { warehouseNames } from '../src/connectors/catalog.js';
import type { ReadOnlySession } from '../src/connectors/warehouse.js';
import {
  ALLOWED_CAST_TYPES,
  ALLOWED_FUNCTIONS,
  ALLOWED_OPERATORS,
  CHECKED_CALLS,
  READABLE_SETTINGS,
  READABLE_SYSTEM_RELATIONS,
} from '../src/sql/allow-list.js';
import {
  checkReadOnlySql,
  registerWarehouseNames,
  SqlRefused,
  type WarehouseNames,
} from '../src/sql/guard.js';
import {
  ATTRIBUTE_FORMS,
  CALL_FORMS,
  type Case,
  castCases,
  type Form,
  ident,
  type Operator,
  operatorCases,
  type Proc,
} from './guard-catalog-forms.js';

let db: { url: string; drop: () => Promise<void> };
let version = '';
let procs: Proc[] = [];
let operators: (Operator & { volatile: boolean })[] = [];
let types: { name: string; schema: string }[] = [];
let settings: string[] = [];
let learned: WarehouseNames;
let volatility = new Map<string, string[]>();
let systemRelations: { schema: string; name: string }[] = [];
// OIDs of objects in a schema no caller may read: a table (and its row type) and a text search configuration.
let forbidden: { table: number; type: number; config: number };

// Objects a hostile warehouse could hold: a function, a type and an operator of its own.
const WAREHOUSE_OBJECTS = [
  'CREATE FUNCTION public.exfiltrate(text) RETURNS text LANGUAGE sql AS $$ SELECT $1 $$',
  'CREATE FUNCTION public.exfiltrate_op(text, text) RETURNS boolean LANGUAGE sql AS $$ SELECT true $$',
  'CREATE TYPE public.evil_type AS (a int)',
  'CREATE OPERATOR public.=== (LEFTARG = text, RIGHTARG = text, FUNCTION = public.exfiltrate_op)',
  // Shadows of allowed names: a better match than pg_catalog's for varchar, and for text operands.
  'CREATE FUNCTION public.initcap(character varying) RETURNS text LANGUAGE sql AS $$ SELECT $1 $$',
  'CREATE OPERATOR public.-|- (LEFTARG = text, RIGHTARG = text, FUNCTION = public.exfiltrate_op)',
  // A schema the caller may not read: its objects' OIDs must not be turned into names.
  'CREATE SCHEMA secret',
  'CREATE TABLE secret.payroll (salary int)',
  'CREATE TEXT SEARCH CONFIGURATION secret.cfg (COPY = pg_catalog.english)',
];

beforeAll(async () => {
  db = await createTestDatabase('guard');
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  try {
    for (const sql of WAREHOUSE_OBJECTS) await c.query(sql);
    version =
      (await c.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]?.v ?? '?';
    procs = (
      await c.query<Proc>(
        `SELECT p.proname AS name, n.nspname AS schema, p.pronargs AS nargs, p.pronargdefaults AS ndefaults,
           ARRAY(SELECT t.typname::text FROM unnest(p.proargtypes) WITH ORDINALITY a(oid, i)
                 JOIN pg_type t ON t.oid = a.oid ORDER BY a.i) AS args
         FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace ORDER BY 1, 2`,
      )
    ).rows;
    operators = (
      await c.query<Operator & { volatile: boolean }>(
        `SELECT o.oprname AS name, n.nspname AS schema, o.oprkind AS kind, p.provolatile = 'v' AS volatile
         FROM pg_operator o JOIN pg_namespace n ON n.oid = o.oprnamespace JOIN pg_proc p ON p.oid = o.oprcode`,
      )
    ).rows;
    types = (
      await c.query<{ name: string; schema: string }>(
        `SELECT t.typname AS name, n.nspname AS schema FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
         WHERE n.nspname NOT LIKE 'pg\\_toast%'`,
      )
    ).rows;
    settings = (await c.query<{ name: string }>('SELECT name FROM pg_settings')).rows.map((r) => r.name);
    systemRelations = (
      await c.query<{ schema: string; name: string }>(
        `SELECT n.nspname AS schema, c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname IN ('pg_catalog', 'information_schema') AND c.relkind IN ('r', 'v', 'm', 'p', 'f')`,
      )
    ).rows;
    forbidden = (
      await c.query<{ table: number; type: number; config: number }>(
        `SELECT 'secret.payroll'::regclass::oid::int AS table, 'secret.payroll'::regtype::oid::int AS type,
                'secret.cfg'::regconfig::oid::int AS config`,
      )
    ).rows[0] as typeof forbidden;
    // What run_query and explain_query do before checking SQL: learn the warehouse's names.
    const session = {
      query: async (text: string) => (await c.query(text)).rows,
    } as unknown as ReadOnlySession;
    learned = await warehouseNames(session);
    registerWarehouseNames(learned);
    const rows = await c.query<{ name: string; v: string[] }>(
      'SELECT proname AS name, array_agg(provolatile::text) AS v FROM pg_proc GROUP BY 1',
    );
    volatility = new Map(rows.rows.map((r) => [r.name, r.v]));
  } finally {
    await c.end();
  }
});
afterAll(async () => db?.drop());

/** Runs every case through the guard; returns the first failures (accepted, or refused for another reason). */
function failuresOf(cases: Case[], why: (c: Case) => RegExp): string[] {
  const failures: string[] = [];
  for (const c of cases) {
    let error: unknown;
    try {
      checkReadOnlySql(c.sql);
    } catch (err) {
      error = err;
    }
    if (!(error instanceof SqlRefused)) failures.push(`accepted: ${c.sql}`);
    else if (!why(c).test(error.message)) failures.push(`${c.sql} -> ${error.message}`);
    if (failures.length >= 20) break;
  }
  return failures;
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const namesIt = (c: Case) => new RegExp(`${escapeRegExp(c.name)}.*not allowed`, 'i');
const casesOf = (build: Form[1], list: Proc[]): Case[] =>
  list.flatMap((p) => {
    const sql = build(p);
    return sql === undefined ? [] : [{ sql, name: p.name }];
  });

const counted: Record<string, number> = {};
const count = (group: string, cases: Case[]) => {
  counted[group] = (counted[group] ?? 0) + cases.length;
  return cases;
};

describe('every function pg_proc holds that is not on the allow-list', () => {
  const refusedCalls = () => procs.filter((p) => !ALLOWED_FUNCTIONS.has(p.name));
  // `x.f` passes only for allowed functions whose arguments need no inspection, and type names.
  const refusedAttributes = () =>
    procs.filter(
      (p) =>
        p.nargs >= 1 &&
        p.nargs - p.ndefaults <= 1 &&
        !ALLOWED_CAST_TYPES.has(p.name) &&
        !learned.pureFunctions.includes(p.name) &&
        !(ALLOWED_FUNCTIONS.has(p.name) && !CHECKED_CALLS.has(p.name)),
    );

  for (const [label, build] of CALL_FORMS) {
    it(`is refused in functional notation: ${label}`, () => {
      const cases = count('calls', casesOf(build, refusedCalls()));
      expect(cases.length).toBeGreaterThan(1000);
      expect(failuresOf(cases, namesIt)).toEqual([]);
    });
  }

  for (const [label, build] of ATTRIBUTE_FORMS) {
    it(`is refused in attribute notation: ${label}`, () => {
      const cases = count('attributes', casesOf(build, refusedAttributes()));
      expect(cases.length).toBeGreaterThan(300);
      expect(failuresOf(cases, namesIt)).toEqual([]);
    });
  }

  it('includes the warehouse’s own functions, which the built-in list cannot know', () => {
    const own = { name: 'exfiltrate', schema: 'public', nargs: 1, ndefaults: 0, args: ['text'] };
    const cases = [...CALL_FORMS, ...ATTRIBUTE_FORMS].flatMap(([, b]) => {
      const sql = b(own);
      return sql === undefined ? [] : [{ sql, name: own.name }];
    });
    expect(failuresOf(count('warehouse functions', cases), namesIt)).toEqual([]);
  });

  it('lets through x.f of other functions only where every overload is IMMUTABLE', () => {
    const impure = learned.pureFunctions.filter((name) => volatility.get(name)?.some((v) => v !== 'i'));
    expect(impure).toEqual([]);
    // Common column names stay usable qualified; format and the catalog readers do not.
    expect(() =>
      checkReadOnlySql('SELECT t.width, t.height, t.path, t.host, t.area FROM support.tickets t'),
    ).not.toThrow();
    expect(() => checkReadOnlySql('SELECT t.format FROM support.tickets t')).toThrow(
      /format\(\) is not allowed/,
    );
    expect(() => checkReadOnlySql('SELECT t.pg_partition_root FROM support.tickets t')).toThrow(SqlRefused);
  });

  it('lets through x.f only where f is harmless: type conversions, never volatile', () => {
    const risky = procs.filter(
      (p) => ALLOWED_CAST_TYPES.has(p.name) && !ALLOWED_FUNCTIONS.has(p.name) && p.schema !== 'pg_catalog',
    );
    // A warehouse function that shares a type's name is not a conversion: only pg_catalog's are.
    expect(risky.map((p) => `${p.schema}.${p.name}`)).toEqual([]);
  });
});

describe('allowed names the warehouse redefines on its search path', () => {
  // An unqualified call picks the best match across the search path, not pg_catalog's (CVE-2018-1058).
  it('are refused unqualified and in attribute notation, and pass qualified with pg_catalog', () => {
    const refused = [
      "SELECT initcap('x'::varchar)",
      "SELECT x.initcap FROM unnest(ARRAY['a']) x",
      "SELECT 'a' -|- 'b'",
      "SELECT 1 WHERE 'a' -|- ANY (SELECT 'b')",
    ];
    const cases = count(
      'shadowing',
      refused.map((sql) => ({ sql, name: sql.includes('-|-') ? '-|-' : 'initcap' })),
    );
    expect(failuresOf(cases, (c) => new RegExp(`${escapeRegExp(c.name)}.* is not allowed`))).toEqual([]);
    expect(() =>
      checkReadOnlySql("SELECT pg_catalog.initcap('x'), 'a' OPERATOR(pg_catalog.-|-) 'b'"),
    ).not.toThrow();
  });
});

describe('every operator pg_operator holds that is not allowed', () => {
  it('is refused infix, prefix, as OPERATOR(schema.op), with ANY/ALL and in ORDER BY USING', () => {
    const refused = operators.filter((o) => !ALLOWED_OPERATORS.has(o.name) || o.schema !== 'pg_catalog');
    // An allowed symbol in any other schema is another function: OPERATOR(public.=) is refused too.
    const elsewhere = [...ALLOWED_OPERATORS]
      .flatMap((name) => operatorCases({ name, schema: 'public', kind: 'b' }))
      .filter((c) => c.sql.includes('OPERATOR(public.'));
    const cases = count('operators', [...refused.flatMap(operatorCases), ...elsewhere]);
    expect(cases.length).toBeGreaterThan(200);
    expect(failuresOf(cases, (c) => new RegExp(`operator .*${escapeRegExp(c.name)} is not allowed`))).toEqual(
      [],
    );
  });

  it('allows only symbols whose built-in functions are never volatile', () => {
    const volatile = operators.filter(
      (o) => ALLOWED_OPERATORS.has(o.name) && o.schema === 'pg_catalog' && o.volatile,
    );
    expect(volatile.map((o) => `${o.schema}.${o.name}`)).toEqual([]);
  });
});

describe('every cast target and setting not on its allow-list', () => {
  it('refuses casts to every other type pg_type holds', () => {
    const refused = types.filter((t) => !ALLOWED_CAST_TYPES.has(t.name) && t.name !== 'regclass');
    const cases = count('casts', refused.flatMap(castCases));
    expect(cases.length).toBeGreaterThan(500);
    expect(
      failuresOf(cases, (c) => new RegExp(`cast to .*${escapeRegExp(c.name)}.* is not allowed`, 'i')),
    ).toEqual([]);
  });

  it('refuses current_setting() of every other setting pg_settings lists', () => {
    const refused = settings.filter((s) => !READABLE_SETTINGS.has(s.toLowerCase()));
    const cases = count(
      'settings',
      refused.flatMap((s) => [
        { sql: `SELECT current_setting('${s}')`, name: s },
        { sql: `SELECT pg_catalog.current_setting('${s.toUpperCase()}', true)`, name: s },
        { sql: `SELECT 1 WHERE current_setting('${s}') IS NOT NULL`, name: s },
      ]),
    );
    expect(cases.length).toBeGreaterThan(500);
    expect(failuresOf(cases, () => /setting .+ is not one a query may read/)).toEqual([]);
  });
});

// R1: `x.t` is the function-style cast t(x) when t is a type (and not a column of x).
describe('every type pg_type holds that a cast may not target, in attribute notation', () => {
  const quotedName = (name: string) => `"${name.replace(/"/g, '""')}"`;
  const forms: [string, (t: string) => string | undefined][] = [
    ['x.t', (t) => `SELECT x.${ident(t)} FROM unnest(ARRAY['x']) x`],
    ['(x).t', (t) => `SELECT (x).${ident(t)} FROM unnest(ARRAY['x']) AS x`],
    ['x."t"', (t) => `SELECT x.${quotedName(t)} FROM unnest(ARRAY['x']) AS x`],
    ['X.T', (t) => (ident(t) === t ? `SELECT X.${t.toUpperCase()} FROM unnest(ARRAY['x']) X` : undefined)],
    ["('x'::text).t", (t) => `SELECT ('x'::text).${ident(t)}`],
    ['w.v.t', (t) => `WITH w AS (SELECT 'x' AS v) SELECT 1 FROM w WHERE w.v.${ident(t)} IS NULL`],
  ];
  // Built-in types: the guard knows them without reading the warehouse's catalog. (information_schema
  // is not on the search path; its types are domains over built-in ones and its views' row types.)
  const refused = () => types.filter((t) => t.schema === 'pg_catalog' && !ALLOWED_CAST_TYPES.has(t.name));

  for (const [label, build] of forms) {
    it(`is refused as ${label}`, () => {
      const cases = count(
        'attribute casts',
        refused().flatMap((t) => {
          const sql = build(t.name);
          return sql === undefined ? [] : [{ sql, name: t.name }];
        }),
      );
      expect(cases.length).toBeGreaterThan(300);
      expect(failuresOf(cases, (c) => new RegExp(`cast to ${escapeRegExp(c.name)} is not allowed`))).toEqual(
        [],
      );
    });
  }

  it('includes the reg* types and their arrays, and lets allowed types through as conversions', () => {
    const names = refused().map((t) => t.name);
    for (const t of ['regnamespace', 'regtype', '_regclass', 'regprocedure', 'regrole', '_xml', 'xml'])
      expect(names).toContain(t);
    expect(() =>
      checkReadOnlySql("SELECT x.date, x.text, x.int4, x.path, x.oid FROM unnest(ARRAY['1']) x"),
    ).not.toThrow();
  });

  it('refuses types the warehouse defines once its catalog has been read', () => {
    registerWarehouseNames({ ...learned, types: ['evil_type'] });
    expect(() => checkReadOnlySql("SELECT x.evil_type FROM unnest(ARRAY['(1)']) x")).toThrow(
      /cast to evil_type is not allowed/,
    );
  });
});

// R2: an allowed function that takes an OID (or reg*) and answers with a name reveals the objects of
// schemas the caller may not read: format_type(o, NULL) over a series listed their tables.
describe('every allowed function with an OID or reg* parameter', () => {
  const OID_TYPES = /^(oid|reg[a-z]+)$/;
  // Aggregates over OIDs answer with the OID itself, never a name.
  const NO_NAMES = new Set(['min', 'max']);
  const literalOf = (type: string) =>
    /^(int2|int4|int8|float4|float8|numeric)$/.test(type) ? '1' : type === 'bool' ? 'true' : "'x'";

  it('is refused when given a forbidden object’s OID, however it is written', () => {
    const targets = procs.filter(
      (p) => ALLOWED_FUNCTIONS.has(p.name) && !NO_NAMES.has(p.name) && p.args.some((a) => OID_TYPES.test(a)),
    );
    expect(targets.map((p) => p.name)).toEqual(
      expect.arrayContaining(['obj_description', 'col_description', 'pg_relation_size', 'to_tsvector']),
    );
    const cases: Case[] = [];
    for (const p of targets) {
      const oid = (type: string) =>
        type === 'regconfig' ? forbidden.config : type === 'regtype' ? forbidden.type : forbidden.table;
      p.args.forEach((type, i) => {
        if (!OID_TYPES.test(type)) return;
        const ways = [
          `${oid(type)}`,
          `${oid(type)}::oid`,
          `'${oid(type)}'`,
          `(SELECT ${oid(type)})`,
          'o',
          `o::${type}`,
          `o::text::${type}`,
        ];
        for (const way of ways) {
          const args = p.args.map((t, j) => (j === i ? way : literalOf(t))).join(', ');
          cases.push({
            sql: `SELECT ${ident(p.name)}(${args}) FROM generate_series(${oid(type)}, ${oid(type)}) o`,
            name: p.name,
          });
        }
      });
    }
    count('oid arguments', cases);
    expect(cases.length).toBeGreaterThan(100);
    expect(failuresOf(cases, () => /./)).toEqual([]);
  });

  it('refuses the OID-to-name readers outright, and is told which', () => {
    for (const name of [
      'format_type',
      'pg_get_userbyid',
      'to_regtype',
      'pg_describe_object',
      'pg_identify_object',
    ])
      expect(ALLOWED_FUNCTIONS.has(name), name).toBe(false);
  });
});

// R4: pg_catalog and information_schema relations that show other sessions' data or settings.
describe('every relation of pg_catalog and information_schema not on the readable list', () => {
  const forms = (r: { schema: string; name: string }): string[] => {
    const q = `${ident(r.schema)}.${ident(r.name)}`;
    const out = [
      `SELECT * FROM ${q}`,
      `TABLE ${q}`,
      `SELECT 1 WHERE EXISTS (SELECT 1 FROM ${q})`,
      `WITH w AS (SELECT * FROM ${q}) SELECT count(*) FROM w`,
      `SELECT * FROM support.tickets t LEFT JOIN ${q} x ON true`,
      `SELECT * FROM "${r.schema}"."${r.name}"`,
      `SELECT pg_relation_size('${r.schema}.${r.name}')`,
    ];
    if (ident(r.name) === r.name) out.push(`SELECT * FROM ${r.schema.toUpperCase()}.${r.name.toUpperCase()}`);
    // pg_catalog is searched first: unqualified names are its relations.
    if (r.schema === 'pg_catalog') out.push(`SELECT * FROM ${ident(r.name)}`, `TABLE ${ident(r.name)}`);
    return out;
  };

  it('is refused in every clause and spelling', () => {
    const refused = systemRelations.filter((r) => !READABLE_SYSTEM_RELATIONS.has(`${r.schema}.${r.name}`));
    const cases = count(
      'system relations',
      refused.flatMap((r) => forms(r).map((sql) => ({ sql, name: r.name }))),
    );
    expect(cases.length).toBeGreaterThan(1000);
    expect(
      failuresOf(cases, (c) => new RegExp(`system relation .*${escapeRegExp(c.name)} is not readable`)),
    ).toEqual([]);
  });

  it('lets the readable ones through, and each of them exists', () => {
    const known = new Set(systemRelations.map((r) => `${r.schema}.${r.name}`));
    for (const key of READABLE_SYSTEM_RELATIONS) {
      expect(known.has(key), key).toBe(true);
      const [schema, name] = key.split('.') as [string, string];
      expect(() => checkReadOnlySql(`SELECT * FROM ${schema}.${name}`), key).not.toThrow();
    }
  });
});

describe('random wrappers around a refused call', () => {
  // Whatever expression, clause or subquery surrounds it, a forbidden call stays refused.
  it('are refused whatever surrounds the call', () => {
    const refused = procs.filter((p) => !ALLOWED_FUNCTIONS.has(p.name) && p.nargs - p.ndefaults <= 1);
    const wrappers = [
      (e: string) => `coalesce(${e}, NULL)`,
      (e: string) => `(SELECT ${e})`,
      (e: string) => `CASE WHEN true THEN ${e} END`,
      (e: string) => `(${e})::text`,
      (e: string) => `ARRAY[${e}]`,
      (e: string) => `ROW(${e})`,
      (e: string) => `(${e}) IS NULL`,
      (e: string) => `greatest(${e}, ${e})`,
      (e: string) => `(SELECT max(v) FROM (SELECT ${e} AS v) s)`,
      (e: string) => `EXISTS (SELECT 1 WHERE ${e} IS NULL)`,
    ];
    const clauses = [
      (e: string) => `SELECT ${e}`,
      (e: string) => `SELECT 1 FROM generate_series(1, 2) g WHERE ${e} IS NULL`,
      (e: string) => `SELECT 1 ORDER BY ${e}`,
      (e: string) => `WITH w AS (SELECT ${e} AS v) SELECT * FROM w`,
      (e: string) => `SELECT * FROM generate_series(1, 2) g, LATERAL (SELECT ${e}) s`,
    ];
    fc.assert(
      fc.property(
        fc.constantFrom(...refused),
        fc.boolean(),
        fc.array(fc.constantFrom(...wrappers), { maxLength: 5 }),
        fc.constantFrom(...clauses),
        (p, attribute, wrap, clause) => {
          const arg = p.args[0] && /^int|^float|^numeric/.test(p.args[0]) ? '1' : "'x'";
          const core =
            attribute &&
            p.nargs >= 1 &&
            !ALLOWED_CAST_TYPES.has(p.name) &&
            !learned.pureFunctions.includes(p.name)
              ? `(${arg}).${ident(p.name)}`
              : `${ident(p.name)}(${p.nargs - p.ndefaults ? arg : ''})`;
          const sql = clause(wrap.reduce((e, w) => w(e), core));
          expect(() => checkReadOnlySql(sql), sql).toThrow(SqlRefused);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

afterAll(() => {
  const total = Object.values(counted).reduce((a, b) => a + b, 0);
  console.log(
    `guard corpus: ${total} cases from pg_proc of PostgreSQL ${version} (${JSON.stringify(counted)})`,
  );
});
