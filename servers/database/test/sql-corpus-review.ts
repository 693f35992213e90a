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
};
