// The SQL guard payloads of the security review (REVIEW.md F1, F9, F10, S5, S6) and variants of each
// class: functions reached without a FuncCall node, casts, operators, settings and oversized values.
import type { Attack } from './sql-corpus.js';

const FUNCTION = /function .+\(\) is not allowed/;
const CAST = /cast to .+ is not allowed/;
const OPERATOR = /operator .+ is not allowed/;
const SETTING = /setting .+ is not one a query may read|current_setting\(\) needs/;
const FORMAT = /format\(\) needs|format\(\) width/;
const RELATION_ARG = /needs the table as a literal/;
const SERIES = /generate_series\(\) may produce at most/;
const SERIES_LITERAL = /generate_series\(\) needs literal bounds/;
const CONFIG = /needs its text search configuration first, as a literal|cast to regconfig is not allowed/;
const SYSTEM = /system relation .+ is not readable here/;
const DEEP = /nested too deeply \(at most \d+ levels/;
const GROWTH = /could multiply a value's size by|needs its (replacement|separator|null text) as a literal/;

const nested = (open: string, close: string, n: number, core = '1') =>
  `SELECT ${open.repeat(n)}${core}${close.repeat(n)}`;

/** Classes of attack found by the review, each with several variants. */
export const REVIEW_ATTACKS: Record<string, Attack[]> = {
  // F1: PostgreSQL reads `x.f` and `(x).f` as `f(x)`, so a function runs without any FuncCall node.
  'attribute notation': [
    {
      sql: "SELECT q.ts_stat FROM unnest(ARRAY['SELECT array_to_tsvector(array_agg(format(''%s|%s'', i.id, i.amount_cents))) FROM billing.invoices i']) q",
      why: FUNCTION,
    },
    { sql: 'SELECT p.pg_terminate_backend FROM unnest(ARRAY[pg_backend_pid()]) p', why: FUNCTION },
    { sql: 'SELECT p.pg_cancel_backend FROM generate_series(1, 100000) p', why: FUNCTION },
    { sql: 'SELECT k.pg_try_advisory_lock FROM unnest(ARRAY[424242::bigint]) k', why: FUNCTION },
    { sql: 'SELECT k.pg_advisory_xact_lock FROM unnest(ARRAY[1::bigint]) k', why: FUNCTION },
    { sql: "SELECT f.pg_read_file FROM unnest(ARRAY['/etc/hostname']) f", why: FUNCTION },
    { sql: "SELECT f.lo_import FROM unnest(ARRAY['/etc/hostname']) f", why: FUNCTION },
    { sql: "SELECT (f).pg_read_file FROM unnest(ARRAY['/etc/hostname']) f", why: FUNCTION },
    { sql: 'SELECT (f)."pg_read_file" FROM unnest(ARRAY[\'/etc/hostname\']) AS f', why: FUNCTION },
    { sql: 'SELECT f."lo_import" FROM unnest(ARRAY[\'/etc/hostname\']) AS f', why: FUNCTION },
    { sql: "SELECT F.PG_READ_FILE FROM unnest(ARRAY['/etc/hostname']) F", why: FUNCTION },
    { sql: "SELECT f.pg_read_file FROM unnest(ARRAY['/etc/hostname']) AS f(x)", why: FUNCTION },
    { sql: "SELECT (ROW('/etc/hostname')).pg_read_file", why: FUNCTION },
    { sql: "SELECT ('/etc/hostname'::text).pg_read_file", why: FUNCTION },
    { sql: "SELECT (unnest(ARRAY['/etc/hostname'])).pg_read_file", why: FUNCTION },
    { sql: "SELECT 1 FROM unnest(ARRAY['/etc/hostname']) f WHERE f.pg_read_file IS NOT NULL", why: FUNCTION },
    { sql: "SELECT 1 FROM unnest(ARRAY['/etc/hostname']) f ORDER BY f.pg_read_file", why: FUNCTION },
    { sql: "SELECT count(*) FROM unnest(ARRAY['/etc/hostname']) f GROUP BY f.pg_read_file", why: FUNCTION },
    {
      sql: "WITH f AS (SELECT unnest(ARRAY['/etc/hostname']) AS p) SELECT f.p.pg_read_file FROM f",
      why: FUNCTION,
    },
    {
      sql: "SELECT * FROM unnest(ARRAY['/etc/hostname']) f, LATERAL (SELECT f.pg_read_file) x",
      why: FUNCTION,
    },
    { sql: 'SELECT s.pg_sleep FROM unnest(ARRAY[5]) s', why: FUNCTION },
    { sql: "SELECT (f.*).pg_read_file FROM unnest(ARRAY['/etc/hostname']) f", why: FUNCTION },
    { sql: "SELECT (ARRAY['/etc/hostname'])[1].pg_read_file", why: FUNCTION },
    { sql: "SELECT (f).x.pg_read_file FROM (SELECT ROW('/etc/hostname') AS x) f", why: FUNCTION },
    { sql: "SELECT f.x.pg_read_file FROM (SELECT '/etc/hostname' AS x) AS f", why: FUNCTION },
    { sql: 'SELECT U&"pg_read\\005Ffile"(f) FROM unnest(ARRAY[\'/etc/hostname\']) f', why: FUNCTION },
    { sql: 'SELECT f.U&"pg_read\\005Ffile" FROM unnest(ARRAY[\'/etc/hostname\']) f', why: FUNCTION },
    { sql: "SELECT c.set_config FROM unnest(ARRAY['role']) c", why: FUNCTION },
    { sql: "SELECT c.current_setting FROM unnest(ARRAY['fleet.secret']) c", why: FUNCTION },
    { sql: "SELECT q.query_to_xml FROM unnest(ARRAY['SELECT 1']) q", why: FUNCTION },
    { sql: "SELECT r.pg_total_relation_size FROM unnest(ARRAY['billing.invoices']) r", why: FUNCTION },
    { sql: "SELECT c.dblink_connect FROM unnest(ARRAY['dbname=postgres']) c", why: FUNCTION },
  ],
  // A cast runs the target type's input or cast function; reg* input functions read the catalog.
  'casts that run functions': [
    { sql: "SELECT 'billing'::regnamespace", why: CAST },
    { sql: "SELECT 'pg_read_file'::regproc", why: CAST },
    { sql: "SELECT 'pg_read_file(text)'::regprocedure", why: CAST },
    { sql: "SELECT CAST('postgres' AS regrole)", why: CAST },
    { sql: "SELECT x::regclass FROM unnest(ARRAY['billing.invoices']) x", why: CAST },
    { sql: "SELECT '<a/>'::xml", why: CAST },
    { sql: "SELECT 'x'::support.ticket_status", why: CAST },
    { sql: "SELECT '1'::public.evil_type", why: CAST },
    { sql: "SELECT 'x'::pg_catalog.regoper", why: CAST },
  ],
  // S6: every node that names an operator, not only A_Expr.
  'operators in every position': [
    { sql: 'SELECT 1 WHERE 1 OPERATOR(public.===) ANY (SELECT 1)', why: OPERATOR },
    { sql: 'SELECT 1 WHERE 1 OPERATOR(public.=) ALL (SELECT 1)', why: OPERATOR },
    { sql: 'SELECT 1 ORDER BY 1 USING OPERATOR(public.<)', why: OPERATOR },
    { sql: 'SELECT 1 ORDER BY 1 USING ##', why: OPERATOR },
    { sql: "SELECT point '(1,1)' ## lseg '((0,0),(2,2))'", why: OPERATOR },
    { sql: 'SELECT 1 OPERATOR(public.+) 1', why: OPERATOR },
  ],
  // Nodes that run handler functions the guard cannot name: refused by node type, whatever they call.
  'sampling and table functions': [
    { sql: 'SELECT * FROM support.tickets TABLESAMPLE SYSTEM (10)', why: /RangeTableSample/ },
    { sql: 'SELECT * FROM support.tickets TABLESAMPLE public.evil_sampler (10)', why: /RangeTableSample/ },
    {
      sql: "SELECT * FROM JSON_TABLE('[1]'::jsonb, '$[*]' COLUMNS (a int PATH '$')) AS j",
      why: /JsonTable/,
    },
    { sql: "SELECT JSON_OBJECT('a': pg_backend_pid())", why: /JsonObjectConstructor/ },
    { sql: "SELECT '{}' IS JSON", why: /JsonIsPredicate/ },
  ],
  // S5: settings can hold secrets (ALTER ROLE ... SET app.key = ...).
  'settings read back': [
    { sql: "SELECT current_setting('app.secret_key')", why: SETTING },
    { sql: "SELECT current_setting('data_directory')", why: SETTING },
    { sql: "SELECT current_setting('app.secret_key', true)", why: SETTING },
    { sql: "SELECT current_setting(x) FROM unnest(ARRAY['app.secret_key']) x", why: SETTING },
    { sql: "SELECT pg_catalog.current_setting('config_file')", why: SETTING },
  ],
  // F10: regclass strings name relations the schema check must see.
  'relations named in strings': [
    { sql: "SELECT pg_total_relation_size(x) FROM unnest(ARRAY['billing.invoices']) x", why: RELATION_ARG },
    { sql: "SELECT obj_description(('billing.' || 'invoices')::regclass)", why: RELATION_ARG },
    { sql: 'SELECT pg_relation_size(16384)', why: RELATION_ARG },
    { sql: "SELECT col_description(lower('BILLING.INVOICES')::regclass, 1)", why: RELATION_ARG },
    { sql: "SELECT pg_table_size('billing.invoices; x')", why: RELATION_ARG },
    { sql: "SELECT pg_indexes_size('otherdb.billing.invoices')", why: /other databases/ },
    {
      sql: "SELECT 'billing.invoices'::regclass::oid + x FROM unnest(ARRAY[1]) x WHERE x::regclass IS NULL",
      why: CAST,
    },
    { sql: "SELECT pg_relation_size('16384')", why: RELATION_ARG },
  ],
  // F9: allowed functions that allocate what the caller asks for.
  'memory amplification': [
    { sql: "SELECT length(format('%50000000s', 'x'))", why: FORMAT },
    { sql: "SELECT format('%*s', 50000000, 'x')", why: FORMAT },
    { sql: "SELECT format('%1$*2$s', 'x', 50000000)", why: FORMAT },
    { sql: "SELECT format(f, 'x') FROM unnest(ARRAY['%50000000s']) f", why: FORMAT },
    { sql: "SELECT format('%-50000000s|', 'x')", why: FORMAT },
    { sql: "SELECT string_agg('x', '') FROM generate_series(1, 1000000000)", why: SERIES },
    { sql: 'SELECT count(*) FROM generate_series(1::bigint, 9000000000000000000)', why: SERIES },
    { sql: 'SELECT array_agg(g) FROM generate_series(-1e12, 1e12) g', why: SERIES },
  ],

  // Round 2, against the running server. R1: `x.t` is the cast t(x) when t is a type and not a
  // column (function-style cast), so the cast allow-list must hold for field names too.
  'casts in attribute notation': [
    { sql: "SELECT x.regnamespace FROM unnest(ARRAY['billing']) x", why: CAST },
    { sql: "SELECT x.regtype FROM unnest(ARRAY['billing.invoices']) x", why: CAST },
    { sql: "SELECT (x._regclass)[1]::text FROM unnest(ARRAY['{billing.invoices}']) x", why: CAST },
    { sql: "SELECT x.regprocedure FROM unnest(ARRAY['pg_sleep(float8)']) x", why: CAST },
    { sql: "SELECT x._xml FROM unnest(ARRAY['{<a/>}']) x", why: CAST },
    { sql: "SELECT x.xml FROM unnest(ARRAY['<a/>']) x", why: CAST },
    { sql: "SELECT (x).regrole FROM unnest(ARRAY['postgres']) AS x", why: CAST },
    { sql: 'SELECT x."regnamespace" FROM unnest(ARRAY[\'billing\']) x', why: CAST },
    { sql: "SELECT X.REGNAMESPACE FROM unnest(ARRAY['billing']) X", why: CAST },
    { sql: "SELECT ('billing'::text).regnamespace", why: CAST },
    { sql: "SELECT w.v.regoper FROM (SELECT '+' AS v) w", why: CAST },
    { sql: "SELECT 1 FROM unnest(ARRAY['billing']) x WHERE x.regnamespace IS NOT NULL", why: CAST },
    {
      sql: "SELECT x.regclass FROM unnest(ARRAY['billing.invoices']) x",
      why: /cast to regclass|regclass\(\) is not allowed/,
    },
    { sql: "SELECT x.regconfig FROM unnest(ARRAY['16385']) x", why: CAST },
  ],
  // R2: functions that turn any OID into a catalog name reveal forbidden schemas' objects.
  'catalog names from OIDs': [
    { sql: 'SELECT o, format_type(o, NULL) FROM generate_series(16384, 40000) o', why: FUNCTION },
    { sql: 'SELECT format_type(16385, NULL)', why: FUNCTION },
    { sql: 'SELECT pg_catalog.format_type(16385::oid, -1)', why: FUNCTION },
    { sql: 'SELECT obj_description(o) FROM generate_series(16384, 16500) o', why: RELATION_ARG },
    { sql: "SELECT obj_description(16385, 'pg_class')", why: RELATION_ARG },
    { sql: 'SELECT col_description(o, 1) FROM generate_series(16384, 16500) o', why: RELATION_ARG },
    { sql: "SELECT to_tsvector(o, 'x') FROM generate_series(16384, 16500) o", why: CONFIG },
    { sql: "SELECT to_tsvector(o::regconfig, 'x') FROM generate_series(16384, 16500) o", why: CONFIG },
    { sql: "SELECT '16385'::regconfig::text", why: CONFIG },
    { sql: "SELECT to_tsquery('16385', 'x')", why: CONFIG },
    { sql: "SELECT ts_headline(o, 'x', 'x'::tsquery) FROM generate_series(16384, 16500) o", why: CONFIG },
    { sql: "SELECT websearch_to_tsquery((SELECT 16385), 'x')", why: CONFIG },
  ],
  // R3: a series bound the guard cannot read can ask for any number of rows.
  'series without literal bounds': [
    { sql: 'SELECT count(*) FROM generate_series(1, (SELECT 150000000)) g', why: SERIES_LITERAL },
    { sql: 'SELECT count(*) FROM unnest(ARRAY[150000000]) x, generate_series(1, x) g', why: SERIES_LITERAL },
    { sql: 'SELECT count(*) FROM generate_series(1, 10, (SELECT 0.00000001)) g', why: SERIES_LITERAL },
    {
      sql: "SELECT count(*) FROM generate_series(1, length('xxxxxxxxx') * 100000000) g",
      why: SERIES_LITERAL,
    },
    { sql: 'SELECT count(*) FROM generate_series(1, 10, 0.0000001) g', why: SERIES },
    { sql: 'SELECT count(*) FROM generate_series(1, 150000 * 1000) g', why: SERIES },
    {
      sql: "SELECT count(*) FROM generate_series(date '2025-01-01', 'infinity'::timestamp, interval '1 day') g",
      why: SERIES_LITERAL,
    },
    {
      sql: "SELECT count(*) FROM generate_series(now(), now() + interval '1000 years', interval '1 second') g",
      why: SERIES,
    },
    {
      sql: "SELECT count(*) FROM generate_series(now(), now() + x, interval '1 second') g, unnest(ARRAY[interval '100 years']) x",
      why: SERIES_LITERAL,
    },
    {
      sql: "SELECT count(*) FROM generate_series(date '2025-01-01', date '2026-01-01', (SELECT interval '1 microsecond')) g",
      why: SERIES_LITERAL,
    },
  ],
  // R4: system views that show other sessions' SQL, settings and credentials, whatever the role.
  'system relations': [
    { sql: 'SELECT pid, usename, state, query FROM pg_stat_activity', why: SYSTEM },
    { sql: 'SELECT * FROM pg_catalog.pg_stat_activity', why: SYSTEM },
    { sql: 'SELECT * FROM PG_CATALOG.PG_STAT_ACTIVITY', why: SYSTEM },
    { sql: 'SELECT * FROM "pg_catalog"."pg_settings"', why: SYSTEM },
    { sql: 'SELECT * FROM pg_db_role_setting', why: SYSTEM },
    { sql: 'SELECT rolname, rolconfig FROM pg_roles', why: SYSTEM },
    { sql: 'SELECT usename, useconfig FROM pg_user', why: SYSTEM },
    { sql: 'SELECT name, setting FROM pg_settings', why: SYSTEM },
    { sql: 'SELECT * FROM pg_authid', why: SYSTEM },
    { sql: 'SELECT * FROM pg_stat_statements', why: SYSTEM },
    { sql: 'SELECT * FROM public.pg_stat_statements', why: SYSTEM },
    { sql: 'TABLE pg_user_mappings', why: SYSTEM },
    { sql: 'SELECT * FROM pg_shadow', why: SYSTEM },
    { sql: 'SELECT * FROM pg_file_settings', why: SYSTEM },
    { sql: 'SELECT * FROM pg_hba_file_rules', why: SYSTEM },
    { sql: 'SELECT * FROM pg_stat_replication', why: SYSTEM },
    { sql: 'SELECT * FROM pg_locks', why: SYSTEM },
    { sql: 'SELECT * FROM pg_prepared_statements', why: SYSTEM },
    { sql: 'SELECT * FROM information_schema.user_mapping_options', why: SYSTEM },
    { sql: 'SELECT (SELECT query FROM pg_stat_activity LIMIT 1)', why: SYSTEM },
    { sql: 'WITH a AS (SELECT * FROM pg_stat_activity) SELECT * FROM a', why: SYSTEM },
    { sql: 'SELECT * FROM support.tickets t JOIN pg_locks l ON true', why: SYSTEM },
    { sql: "SELECT pg_relation_size('pg_catalog.pg_authid')", why: SYSTEM },
  ],
  // R5: nesting that overflowed the guard's recursive walk ("internal error").
  'nesting depth': [
    { sql: nested('(SELECT ', ')', 1000), why: DEEP },
    { sql: nested('(SELECT ', ')', 300), why: DEEP },
    { sql: `SELECT 1${'+1'.repeat(9000)}`, why: DEEP },
    { sql: `SELECT 'a'${"||'a'".repeat(3000)}`, why: DEEP },
    { sql: nested('ARRAY[', ']', 2000), why: DEEP },
    { sql: nested('coalesce(', ')', 1500), why: DEEP },
    { sql: nested('abs(', ')', 2000), why: DEEP },
    { sql: nested('NOT (', ')', 2000, 'true'), why: DEEP },
    { sql: nested('ROW(', ')', 2000), why: DEEP },
    { sql: nested('(CASE WHEN true THEN ', ' END)', 500), why: DEEP },
    { sql: `SELECT 1 FROM ${'(SELECT 1 FROM '.repeat(500)}(SELECT 1) s${') s'.repeat(500)}`, why: DEEP },
  ],
  // R6: allowed functions whose output is a multiple of their input, nested into exponential growth.
  'value amplification': [
    {
      sql: "SELECT length(replace(replace(replace(replace('a', 'a', 'aaaaaaaaaa'), 'a', 'aaaaaaaaaa'), 'a', 'aaaaaaaaaa'), 'a', 'aaaaaaaaaa'))",
      why: GROWTH,
    },
    {
      sql: "SELECT length(regexp_replace(regexp_replace('ab', '.*', '\\&\\&\\&\\&\\&\\&\\&\\&\\&\\&\\&\\&\\&\\&\\&\\&\\&\\&\\&\\&\\&\\&\\&\\&\\&\\&\\&\\&\\&\\&\\&\\&'), '.*', '\\&\\&\\&\\&\\&\\&\\&\\&\\&\\&\\&\\&\\&\\&\\&\\&\\&\\&\\&\\&\\&\\&\\&\\&\\&\\&\\&\\&\\&\\&\\&\\&'))",
      why: GROWTH,
    },
    { sql: "SELECT replace('a', 'a', x) FROM unnest(ARRAY['aaaaaaaaaa']) x", why: GROWTH },
    { sql: "SELECT regexp_replace('a', 'a', (SELECT 'aaaaaaaaaa'))", why: GROWTH },
    {
      sql: `WITH a AS (SELECT replace('a', 'a', '${'a'.repeat(100)}') v), b AS (SELECT replace(v, 'a', '${'a'.repeat(100)}') v FROM a) SELECT length(v) FROM b`,
      why: GROWTH,
    },
    {
      sql: `SELECT length(array_to_string(string_to_array(array_to_string(string_to_array('abc', NULL), '${'x'.repeat(40)}'), NULL), '${'x'.repeat(40)}'))`,
      why: GROWTH,
    },
    { sql: "SELECT array_to_string(ARRAY[1, 2], s) FROM unnest(ARRAY[',']) s", why: GROWTH },
    { sql: `SELECT concat_ws('${'x'.repeat(1001)}', VARIADIC ARRAY['a', 'b'])`, why: GROWTH },
    { sql: `SELECT replace('a', 'a', '${'a'.repeat(1001)}')`, why: GROWTH },
    { sql: "SELECT jsonb_pretty('[[[[[[[[1]]]]]]]]'::jsonb)", why: FUNCTION },
    { sql: 'SELECT array_fill(1, ARRAY[100000000])', why: FUNCTION },
  ],
};
