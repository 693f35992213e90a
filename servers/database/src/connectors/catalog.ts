// Schema discovery from the PostgreSQL catalogs: trusted SQL with bound values, run inside the
// same read-only sessions as everything else. Only what the warehouse role may read is shown.
import { registerWarehouseNames, type WarehouseNames } from '../sql/guard.js';
import type { ReadOnlySession, Warehouse } from './warehouse.js';

const USER_SCHEMAS = `n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'`;

/** A schema the warehouse role can use. */
export interface SchemaInfo {
  name: string;
  comment: string | null;
  tables: number;
}

/** A table or view in a schema. */
export interface TableInfo {
  name: string;
  kind: string;
  rowEstimate: number | null;
  comment: string | null;
}

/** One column of a described table. */
export interface ColumnInfo {
  name: string;
  type: string;
  nullable: boolean;
  default: string | null;
  comment: string | null;
  /** The allowed labels when the column is of an enum type. */
  enumValues: string[] | null;
}

/** A described table: columns, keys, references and indexes. */
export interface TableDescription {
  schema: string;
  table: string;
  kind: string;
  comment: string | null;
  rowEstimate: number | null;
  columns: ColumnInfo[];
  primaryKey: string[] | null;
  foreignKeys: { name: string; columns: string[]; references: string; referencedColumns: string[] }[];
  referencedBy: { name: string; table: string; columns: string[] }[];
  uniqueConstraints: { name: string; columns: string[] }[];
  checks: { name: string; definition: string }[];
  indexes: { name: string; unique: boolean; definition: string }[];
  viewDefinition: string | null;
}

const KIND = `CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'partitioned table' WHEN 'v' THEN 'view'
  WHEN 'm' THEN 'materialized view' WHEN 'f' THEN 'foreign table' END`;
const ESTIMATE = `CASE WHEN c.reltuples < 0 OR (c.reltuples = 0 AND c.relpages = 0) THEN NULL ELSE c.reltuples::bigint END`;
const READABLE = `(has_table_privilege(c.oid, 'SELECT') OR has_any_column_privilege(c.oid, 'SELECT'))`;

/** Schemas the role has USAGE on (system schemas only when asked). */
export async function listSchemas(s: ReadOnlySession, includeSystem: boolean): Promise<SchemaInfo[]> {
  return s.query<SchemaInfo & Record<string, unknown>>(
    `SELECT n.nspname AS name, obj_description(n.oid, 'pg_namespace') AS comment,
       (SELECT count(*) FROM pg_class c WHERE c.relnamespace = n.oid AND c.relkind IN ('r','p','v','m','f') AND ${READABLE})::int AS tables
     FROM pg_namespace n
     WHERE has_schema_privilege(n.oid, 'USAGE') AND ($1::boolean OR (${USER_SCHEMAS}))
       AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'
     ORDER BY (${USER_SCHEMAS}) DESC, 1`,
    [includeSystem],
  );
}

/** Whether the schema exists and the role may use it. */
export async function schemaExists(s: ReadOnlySession, schema: string): Promise<boolean> {
  const rows = await s.query(
    `SELECT 1 FROM pg_namespace n WHERE n.nspname = $1 AND has_schema_privilege(n.oid, 'USAGE')`,
    [schema],
  );
  return rows.length > 0;
}

/** Readable tables and views of one schema, optionally filtered by a case-insensitive name fragment. */
export async function listTables(
  s: ReadOnlySession,
  schema: string,
  nameContains: string | undefined,
  limit: number,
): Promise<TableInfo[]> {
  return s.query<TableInfo & Record<string, unknown>>(
    `SELECT c.relname AS name, ${KIND} AS kind, ${ESTIMATE} AS "rowEstimate", obj_description(c.oid, 'pg_class') AS comment
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = $1 AND c.relkind IN ('r','p','v','m','f') AND NOT c.relispartition AND ${READABLE}
       AND ($2::text IS NULL OR strpos(lower(c.relname), lower($2)) > 0)
     ORDER BY 1 LIMIT $3`,
    [schema, nameContains ?? null, limit],
  );
}

/** Describes one readable table or view; null when it does not exist or cannot be read. */
export async function describeTable(
  s: ReadOnlySession,
  schema: string,
  table: string,
  /** Schemas the caller may read (null: any); other tables are not named in the description. */
  allowed: ReadonlySet<string> | null = null,
): Promise<TableDescription | null> {
  const [rel] = await s.query<{
    oid: number;
    kind: string;
    comment: string | null;
    rowEstimate: number | null;
    view: string | null;
  }>(
    `SELECT c.oid::int AS oid, ${KIND} AS kind, obj_description(c.oid, 'pg_class') AS comment, ${ESTIMATE} AS "rowEstimate",
       CASE WHEN c.relkind IN ('v','m') THEN pg_get_viewdef(c.oid, true) END AS view
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r','p','v','m','f') AND ${READABLE}`,
    [schema, table],
  );
  if (!rel) return null;
  const columns = await s.query<ColumnInfo & Record<string, unknown>>(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, NOT a.attnotnull AS nullable,
       pg_get_expr(d.adbin, d.adrelid) AS default, col_description(a.attrelid, a.attnum) AS comment,
       (SELECT array_agg(e.enumlabel::text ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = a.atttypid) AS "enumValues"
     FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
     WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
    [rel.oid],
  );
  const constraints = await s.query<{
    name: string;
    type: string;
    columns: string[];
    ref: string | null;
    refSchema: string | null;
    refReadable: boolean | null;
    refColumns: string[];
    definition: string;
  }>(
    `SELECT con.conname AS name, con.contype::text AS type,
       ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(num, ord)
             JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.num ORDER BY k.ord) AS columns,
       (SELECT format('%I.%I', rn.nspname, rc.relname) FROM pg_class rc JOIN pg_namespace rn ON rn.oid = rc.relnamespace
        WHERE rc.oid = con.confrelid) AS ref,
       (SELECT rn.nspname::text FROM pg_class rc JOIN pg_namespace rn ON rn.oid = rc.relnamespace
        WHERE rc.oid = con.confrelid) AS "refSchema",
       (SELECT ${READABLE} FROM pg_class c WHERE c.oid = con.confrelid) AS "refReadable",
       ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(num, ord)
             JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.num ORDER BY k.ord) AS "refColumns",
       pg_get_constraintdef(con.oid, true) AS definition
     FROM pg_constraint con WHERE con.conrelid = $1 AND con.contype IN ('p','f','u','c') ORDER BY con.contype, con.conname`,
    [rel.oid],
  );
  const referencing = await s.query<{ name: string; table: string; schema: string; columns: string[] }>(
    `SELECT con.conname AS name, format('%I.%I', n.nspname, c.relname) AS table, n.nspname::text AS schema,
       ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(num, ord)
             JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.num ORDER BY k.ord) AS columns
     FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE con.confrelid = $1 AND con.contype = 'f' AND ${READABLE} ORDER BY 2, 1 LIMIT 100`,
    [rel.oid],
  );
  const visible = (schemaName: string | null) =>
    schemaName !== null && (allowed === null || allowed.has(schemaName));
  const referencedBy = referencing
    .filter((r) => visible(r.schema))
    .map(({ name, table: t, columns: cols }) => ({ name, table: t, columns: cols }));
  // A view over tables the caller may not read: its text would name them.
  let view = rel.view;
  if (view !== null && allowed !== null) {
    const used = await s.query<{ schema: string }>(
      `SELECT DISTINCT n.nspname::text AS schema FROM pg_rewrite r
       JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid AND d.refclassid = 'pg_class'::regclass
       JOIN pg_class c ON c.oid = d.refobjid JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE r.ev_class = $1 AND c.oid <> $1`,
      [rel.oid],
    );
    if (used.some((u) => !visible(u.schema))) view = null;
  }
  const indexes = await s.query<{ name: string; unique: boolean; definition: string }>(
    `SELECT i.relname AS name, ix.indisunique AS unique, pg_get_indexdef(ix.indexrelid) AS definition
     FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid WHERE ix.indrelid = $1 ORDER BY 1`,
    [rel.oid],
  );
  const pk = constraints.find((c) => c.type === 'p');
  return {
    schema,
    table,
    kind: rel.kind,
    comment: rel.comment,
    rowEstimate: rel.rowEstimate,
    columns,
    primaryKey: pk ? pk.columns : null,
    foreignKeys: constraints
      // A key to a table the caller may not read or whose schema policy hides is left out.
      .filter((c) => c.type === 'f' && c.refReadable === true && visible(c.refSchema))
      .map((c) => ({
        name: c.name,
        columns: c.columns,
        references: c.ref ?? '?',
        referencedColumns: c.refColumns,
      })),
    referencedBy,
    uniqueConstraints: constraints
      .filter((c) => c.type === 'u')
      .map((c) => ({ name: c.name, columns: c.columns })),
    checks: constraints
      .filter((c) => c.type === 'c')
      .map((c) => ({ name: c.name, definition: c.definition })),
    indexes,
    viewDefinition: view,
  };
}

/**
 * Resolves the relations a query names to the schemas they live in. A qualified name is in the
 * schema it names. An unqualified one is looked up the way PostgreSQL will run it: search_path of
 * this very session (which skips schemas the role cannot use). Names that resolve to nothing are
 * CTEs or typos; PostgreSQL reports the typos itself.
 */
export async function resolveRelationSchemas(
  s: ReadOnlySession,
  relations: readonly { schema: string | null; name: string }[],
): Promise<{ relation: string; schema: string }[]> {
  const quote = (x: string) => (/^[a-z_][a-z0-9_$]*$/.test(x) ? x : `"${x.replace(/"/g, '""')}"`);
  const resolved = relations.flatMap((r) =>
    r.schema === null ? [] : [{ relation: `${quote(r.schema)}.${quote(r.name)}`, schema: r.schema }],
  );
  const bare = [...new Set(relations.filter((r) => r.schema === null).map((r) => r.name))];
  if (bare.length === 0) return resolved;
  const found = await s.query<{ relation: string; schema: string }>(
    `SELECT format('%I.%I', n.nspname, c.relname) AS relation, n.nspname AS schema
     FROM unnest($1::text[]) AS r(name)
     JOIN pg_class c ON c.oid = to_regclass(quote_ident(r.name))
     JOIN pg_namespace n ON n.oid = c.relnamespace`,
    [bare],
  );
  return [...resolved, ...found];
}

/**
 * The schemas whose data a query over these resolved relations can return, for the flow guard's
 * sources (`ctx.source('schema', ...)`): each relation's own schema, and for a view (or materialized
 * view) every schema of what it reads, recursively. When that cannot be known — a view calls a
 * warehouse-defined function (which may read any table), or a relation no longer resolves — it is
 * every schema the caller could read (`allowed`, or every warehouse schema the role can use): a
 * query never comes out with fewer labels than its data carries. System schemas are not named.
 */
export async function schemasRead(
  s: ReadOnlySession,
  resolved: readonly { relation: string }[],
  allowed: ReadonlySet<string> | null,
): Promise<string[]> {
  if (resolved.length === 0) return [];
  const [row] = await s.query<{ schemas: string[] | null; uncertain: boolean }>(
    `WITH RECURSIVE named AS (SELECT r AS name, to_regclass(r)::oid AS oid FROM unnest($1::text[]) AS r),
     rel(oid) AS (
       SELECT oid FROM named WHERE oid IS NOT NULL
       UNION
       SELECT d.refobjid FROM rel
         JOIN pg_catalog.pg_rewrite w ON w.ev_class = rel.oid
         JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.objid = w.oid
           AND d.refclassid = 'pg_catalog.pg_class'::regclass AND d.refobjid <> rel.oid
     )
     SELECT (SELECT array_agg(DISTINCT n.nspname::text) FROM rel
               JOIN pg_catalog.pg_class c ON c.oid = rel.oid
               JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
             WHERE ${USER_SCHEMAS}) AS schemas,
       EXISTS (SELECT 1 FROM named WHERE oid IS NULL)
       OR EXISTS (SELECT 1 FROM rel
               JOIN pg_catalog.pg_rewrite w ON w.ev_class = rel.oid
               JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.objid = w.oid
                 AND d.refclassid = 'pg_catalog.pg_proc'::regclass
               JOIN pg_catalog.pg_proc p ON p.oid = d.refobjid
             WHERE p.pronamespace <> 'pg_catalog'::regnamespace) AS uncertain`,
    [resolved.map((r) => r.relation)],
  );
  const known = row?.schemas ?? [];
  if (row && !row.uncertain) return [...known].sort();
  const all = allowed ? [...allowed] : (await listSchemas(s, false)).map((x) => x.name);
  return [...new Set([...known, ...all])].sort();
}

// Objects of the warehouse's own on the role's search path: not pg_catalog, not extension members.
const OWN = (catalog: string, namespace: string) => `${namespace} <> 'pg_catalog'::regnamespace
  AND ${namespace} = ANY (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = ANY (current_schemas(false)))
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                  WHERE d.classid = '${catalog}'::regclass AND d.objid = x.oid AND d.deptype = 'e')`;

// Argument types whose input reads the catalog (text casts to regclass implicitly): a function
// taking one may say whether a table exists, so it never counts as pure.
const CATALOG_LOOKUPS = `ARRAY(SELECT oid FROM pg_catalog.pg_type
  WHERE typnamespace = 'pg_catalog'::regnamespace AND typname LIKE 'reg%')`;

/** Function, operator and type names the SQL guard needs from the warehouse's catalog. */
export async function warehouseNames(s: ReadOnlySession): Promise<WarehouseNames> {
  const [row] = await s.query<Record<keyof WarehouseNames, string[] | null>>(
    `SELECT (SELECT array_agg(DISTINCT proname::text) FROM pg_catalog.pg_proc) AS functions,
       (SELECT array_agg(DISTINCT x.proname::text) FROM pg_catalog.pg_proc x
         WHERE ${OWN('pg_catalog.pg_proc', 'x.pronamespace')}) AS "ownFunctions",
       (SELECT array_agg(DISTINCT x.oprname::text) FROM pg_catalog.pg_operator x
         WHERE ${OWN('pg_catalog.pg_operator', 'x.oprnamespace')}) AS "ownOperators",
       (SELECT array_agg(name) FROM (SELECT proname::text AS name FROM pg_catalog.pg_proc
         GROUP BY proname HAVING bool_and(provolatile = 'i' AND NOT proargtypes::oid[] && ${CATALOG_LOOKUPS})) x)
         AS "pureFunctions",
       (SELECT array_agg(DISTINCT typname::text) FROM pg_catalog.pg_type WHERE typtype NOT IN ('c', 'p'))
         AS types`,
  );
  return {
    functions: row?.functions ?? [],
    ownFunctions: row?.ownFunctions ?? [],
    ownOperators: row?.ownOperators ?? [],
    pureFunctions: row?.pureFunctions ?? [],
    // Domains, enums, ranges and base types: `x.t` is a cast to t, which runs t's input function and
    // checks. Table row types are left out: a column named like a table is common, and record input
    // runs only its columns' own (listed) types.
    types: row?.types ?? [],
  };
}

// Read once per warehouse, and again now and then so an extension installed later is known too.
const RELEARN_MS = 5 * 60_000;
const learned = new WeakMap<Warehouse, { at: number; done: Promise<void> }>();

/**
 * Teaches the SQL guard every function name of this warehouse before it checks model SQL, so that
 * `x.f` (PostgreSQL's attribute notation for `f(x)`) is refused for functions the built-in list
 * lacks. A failure to read the catalog fails the call: the guard never runs half-informed.
 */
export function learnWarehouseNames(warehouse: Warehouse): Promise<void> {
  const seen = learned.get(warehouse);
  if (seen && Date.now() - seen.at < RELEARN_MS) return seen.done;
  // Not the caller's signal: other calls share this read, and one caller's cancel must not fail them.
  const done = warehouse
    .readOnly({ signal: new AbortController().signal, timeoutMs: 10_000 }, warehouseNames)
    .then(registerWarehouseNames);
  learned.set(warehouse, { at: Date.now(), done });
  done.catch(() => learned.delete(warehouse));
  return done;
}
