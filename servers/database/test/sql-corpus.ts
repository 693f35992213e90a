// SQL written to escape read-only mode: the public bypasses of THREATS.md and further variants of
// each class. Every entry must be refused, with a message matching `why`, and change nothing.
import { REVIEW_ATTACKS } from './sql-corpus-review.js';

/** One hostile statement. */
export interface Attack {
  sql: string;
  /** What the refusal must say. */
  why: RegExp;
}

const STACKED = /Only one statement per call/;
const NOT_SELECT = /Only read-only SELECT queries are allowed/;
const FUNCTION = /function .+\(\) is not allowed/;
const NESTED = /is not allowed anywhere in a query/;
const LOCKING = /FOR UPDATE\/SHARE takes row locks/;
const UNPARSABLE = /could not be parsed|is empty/;

/** Classes of attack, each with several variants. */
export const ATTACKS: Record<string, Attack[]> = {
  'stacked statements': [
    { sql: 'SELECT 1; COMMIT; DROP TABLE support.tickets;', why: STACKED },
    { sql: 'SELECT 1; DROP TABLE support.tickets', why: STACKED },
    { sql: 'SELECT 1;DELETE FROM support.tickets', why: STACKED },
    { sql: "SELECT 1\n;\nUPDATE support.tickets SET status = 'closed'", why: STACKED },
    { sql: 'COMMIT; DROP TABLE support.tickets', why: STACKED },
    { sql: 'ROLLBACK; SET TRANSACTION READ WRITE; DELETE FROM support.tickets', why: STACKED },
    { sql: 'SELECT 1; -- harmless\nTRUNCATE support.tickets', why: STACKED },
    { sql: '/* ; */ SELECT 1; /* */ DROP SCHEMA support CASCADE', why: STACKED },
    { sql: 'SeLeCt 1; dRoP tAbLe support.tickets', why: STACKED },
  ],
  'functions in the FROM clause': [
    { sql: "SELECT * FROM pg_read_file('/etc/passwd') AS t", why: FUNCTION },
    { sql: "SELECT * FROM pg_catalog.pg_read_file('/etc/passwd') AS t", why: FUNCTION },
    { sql: "SELECT * FROM pg_ls_dir('.') AS t", why: FUNCTION },
    { sql: "SELECT * FROM pg_read_binary_file('/etc/hostname') AS t", why: FUNCTION },
    { sql: "SELECT * FROM ROWS FROM (pg_read_file('/etc/passwd')) AS t", why: FUNCTION },
    { sql: "SELECT * FROM support.tickets, LATERAL pg_stat_file('/etc/passwd') AS f", why: FUNCTION },
    { sql: "SELECT * FROM generate_series(1, 1) AS g, pg_read_file('/etc/passwd') AS f", why: FUNCTION },
    { sql: "SELECT * FROM (SELECT * FROM pg_read_file('/etc/passwd') AS x) AS y", why: FUNCTION },
    { sql: 'SELECT * FROM U&"pg_read\\005Ffile"(\'/etc/passwd\') AS t', why: FUNCTION },
    { sql: 'SELECT "pg_read_file"(\'/etc/passwd\')', why: FUNCTION },
    { sql: "SELECT PG_READ_FILE('/etc/passwd')", why: FUNCTION },
    { sql: "VALUES ((SELECT pg_read_file('/etc/passwd')))", why: FUNCTION },
    { sql: "SELECT ARRAY(SELECT pg_ls_dir('/'))", why: FUNCTION },
    { sql: "SELECT CASE WHEN true THEN pg_read_file('/etc/passwd') END", why: FUNCTION },
    { sql: "SELECT id FROM support.tickets ORDER BY pg_read_file('/etc/passwd')", why: FUNCTION },
  ],
  dblink: [
    { sql: "SELECT dblink_exec('dbname=postgres', 'DROP TABLE support.tickets')", why: FUNCTION },
    {
      sql: "SELECT * FROM dblink('dbname=postgres', 'DELETE FROM support.tickets RETURNING 1') AS t(x int)",
      why: FUNCTION,
    },
    { sql: "SELECT public.dblink_connect('c', 'dbname=postgres')", why: FUNCTION },
    {
      sql: "SELECT * FROM support.tickets WHERE dblink_exec('dbname=postgres', 'DROP TABLE support.tickets') = 'x'",
      why: FUNCTION,
    },
  ],
  'data-modifying CTEs': [
    { sql: 'WITH d AS (DELETE FROM support.tickets RETURNING *) SELECT count(*) FROM d', why: NESTED },
    { sql: "WITH u AS (UPDATE support.tickets SET priority = 'low' RETURNING 1) SELECT 1", why: NESTED },
    { sql: 'WITH i AS (INSERT INTO sales.customers (id) VALUES (0) RETURNING 1) SELECT 1', why: NESTED },
    { sql: 'WITH a AS (SELECT 1), b AS (DELETE FROM sales.orders RETURNING 1) SELECT * FROM a', why: NESTED },
    {
      sql: 'SELECT * FROM (WITH d AS (DELETE FROM support.tickets RETURNING id) SELECT id FROM d) AS x',
      why: NESTED,
    },
    {
      sql: 'WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r), d AS (DELETE FROM sales.orders RETURNING 1) SELECT 1',
      why: NESTED,
    },
  ],
  'EXPLAIN ANALYZE of DML': [
    { sql: 'EXPLAIN ANALYZE DELETE FROM support.tickets', why: NOT_SELECT },
    { sql: "EXPLAIN (ANALYZE, FORMAT JSON) UPDATE support.tickets SET status = 'closed'", why: NOT_SELECT },
    {
      sql: 'EXPLAIN ANALYZE WITH d AS (DELETE FROM support.tickets RETURNING 1) SELECT * FROM d',
      why: NOT_SELECT,
    },
    { sql: 'EXPLAIN ANALYZE CREATE TABLE support.x AS SELECT 1', why: NOT_SELECT },
  ],
  'COPY ... PROGRAM and files': [
    { sql: "COPY (SELECT 1) TO PROGRAM 'touch /tmp/mcp-fleet-pwned'", why: NOT_SELECT },
    { sql: "COPY support.tickets FROM PROGRAM 'echo 1'", why: NOT_SELECT },
    { sql: "COPY support.tickets TO '/tmp/mcp-fleet-tickets.csv'", why: NOT_SELECT },
    { sql: 'copy support.tickets to stdout', why: NOT_SELECT },
  ],
  'SQL executed from strings': [
    { sql: "SELECT query_to_xml('DELETE FROM support.tickets RETURNING 1', true, false, '')", why: FUNCTION },
    { sql: "SELECT * FROM query_to_xml_and_xmlschema('SELECT 1', true, false, '') AS t", why: FUNCTION },
    { sql: "SELECT table_to_xml('support.tickets', true, false, '')", why: FUNCTION },
    { sql: "SELECT cursor_to_xml('c', 1, true, false, '')", why: FUNCTION },
    { sql: "SELECT database_to_xml(true, false, '')", why: FUNCTION },
    {
      sql: "SELECT 1 FROM support.tickets WHERE query_to_xml('SELECT pg_sleep(10)', true, false, '') IS NOT NULL",
      why: FUNCTION,
    },
  ],
  'large objects': [
    { sql: "SELECT lo_import('/etc/passwd')", why: FUNCTION },
    { sql: 'SELECT lo_create(0)', why: FUNCTION },
    { sql: "SELECT lo_from_bytea(0, '\\x00'::bytea)", why: FUNCTION },
    { sql: "SELECT lo_export(1, '/tmp/mcp-fleet-lo')", why: FUNCTION },
    { sql: "SELECT lo_put(1, 0, '\\x00'::bytea)", why: FUNCTION },
    { sql: 'SELECT lo_unlink(1)', why: FUNCTION },
    { sql: 'SELECT * FROM lo_get(1) AS t', why: FUNCTION },
  ],
  'sleeping and slow functions': [
    { sql: 'SELECT pg_sleep(5)', why: FUNCTION },
    { sql: "SELECT pg_sleep_for('5 seconds')", why: FUNCTION },
    { sql: "SELECT pg_sleep_until(now() + interval '5 seconds')", why: FUNCTION },
    { sql: 'SELECT * FROM support.tickets WHERE pg_sleep(1) IS NULL', why: FUNCTION },
    { sql: 'SELECT (SELECT pg_sleep(1))', why: FUNCTION },
    { sql: 'SELECT count(*) FILTER (WHERE pg_sleep(1) IS NULL) FROM support.tickets', why: FUNCTION },
    { sql: "SELECT repeat('x', 1000000000)", why: FUNCTION },
  ],
  'role changes': [
    { sql: 'SET ROLE postgres', why: NOT_SELECT },
    { sql: 'SET SESSION AUTHORIZATION postgres', why: NOT_SELECT },
    { sql: 'SET LOCAL role TO postgres', why: NOT_SELECT },
    { sql: 'RESET ROLE', why: NOT_SELECT },
    { sql: "SELECT set_config('role', 'postgres', false)", why: FUNCTION },
    { sql: "SELECT set_config('session_authorization', 'postgres', true)", why: FUNCTION },
    { sql: "SELECT * FROM set_config('role', 'postgres', false) AS t", why: FUNCTION },
    { sql: "SELECT pg_catalog.set_config('transaction_read_only', 'off', true)", why: FUNCTION },
    { sql: 'SET TRANSACTION READ WRITE', why: NOT_SELECT },
    { sql: 'BEGIN READ WRITE', why: NOT_SELECT },
  ],
  'session settings': [
    { sql: 'SET statement_timeout = 0', why: NOT_SELECT },
    { sql: 'SET search_path = billing, public', why: NOT_SELECT },
    { sql: "SELECT set_config('search_path', 'billing', false)", why: FUNCTION },
    { sql: 'SET default_transaction_read_only = off', why: NOT_SELECT },
    { sql: 'RESET ALL', why: NOT_SELECT },
    { sql: 'DISCARD ALL', why: NOT_SELECT },
  ],
  'comment and quoting tricks': [
    { sql: 'SELECT 1/*! ; DROP TABLE support.tickets */;DROP TABLE support.tickets', why: STACKED },
    { sql: "SELECT E'\\'';DROP TABLE support.tickets;--'", why: STACKED },
    { sql: 'SELECT $a$ $$ $a$; DELETE FROM support.tickets', why: STACKED },
    { sql: "SELECT U&'\\0027'; DROP TABLE support.tickets", why: STACKED },
    { sql: '-- SELECT 1\nDELETE FROM support.tickets', why: NOT_SELECT },
    { sql: '/* SELECT */ DELETE FROM support.tickets', why: NOT_SELECT },
  ],
  'row locks': [
    { sql: 'SELECT * FROM support.tickets FOR UPDATE', why: LOCKING },
    { sql: 'SELECT * FROM support.tickets FOR NO KEY UPDATE', why: LOCKING },
    { sql: 'SELECT * FROM support.tickets FOR SHARE', why: LOCKING },
    { sql: 'SELECT * FROM support.tickets FOR KEY SHARE SKIP LOCKED', why: LOCKING },
    { sql: 'SELECT * FROM (SELECT * FROM support.tickets FOR UPDATE) AS t', why: LOCKING },
    { sql: 'WITH t AS (SELECT * FROM support.tickets FOR UPDATE NOWAIT) SELECT * FROM t', why: LOCKING },
  ],
  'procedures, DO, prepared statements, cursors': [
    { sql: 'CALL support.close_all_tickets()', why: NOT_SELECT },
    { sql: 'DO $$ BEGIN DELETE FROM support.tickets; END $$', why: NOT_SELECT },
    { sql: 'PREPARE p AS DELETE FROM support.tickets', why: NOT_SELECT },
    { sql: 'EXECUTE p', why: NOT_SELECT },
    { sql: 'DEALLOCATE ALL', why: NOT_SELECT },
    { sql: 'DECLARE c CURSOR WITH HOLD FOR SELECT 1', why: NOT_SELECT },
    { sql: 'FETCH ALL FROM c', why: NOT_SELECT },
  ],
  'locks and notifications': [
    { sql: 'LOCK TABLE support.tickets IN ACCESS EXCLUSIVE MODE', why: NOT_SELECT },
    { sql: "NOTIFY fleet, 'x'", why: NOT_SELECT },
    { sql: 'LISTEN fleet', why: NOT_SELECT },
    { sql: "SELECT pg_notify('fleet', 'x')", why: FUNCTION },
    { sql: 'SELECT pg_advisory_lock(1)', why: FUNCTION },
    { sql: 'SELECT pg_try_advisory_lock(1)', why: FUNCTION },
    { sql: 'SELECT pg_advisory_xact_lock(1)', why: FUNCTION },
  ],
  sequences: [
    { sql: "SELECT nextval('support.tickets_id_seq')", why: FUNCTION },
    { sql: "SELECT setval('support.tickets_id_seq', 1)", why: FUNCTION },
    { sql: "SELECT * FROM nextval('support.tickets_id_seq') AS n", why: FUNCTION },
    { sql: 'SELECT txid_current()', why: FUNCTION },
  ],
  'signalling the server': [
    { sql: 'SELECT pg_terminate_backend(pg_backend_pid())', why: FUNCTION },
    { sql: 'SELECT pg_cancel_backend(pg_backend_pid())', why: FUNCTION },
    { sql: 'SELECT pg_reload_conf()', why: FUNCTION },
    { sql: 'SELECT pg_switch_wal()', why: FUNCTION },
    {
      sql: 'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid = pg_backend_pid()',
      why: FUNCTION,
    },
  ],
  'writes and DDL': [
    {
      sql: "INSERT INTO support.tickets (id, customer_id, subject, status, priority, channel, created_at, updated_at) VALUES (0, 1, 'x', 'new', 'low', 'web', now(), now())",
      why: NOT_SELECT,
    },
    { sql: "UPDATE support.tickets SET status = 'closed'", why: NOT_SELECT },
    { sql: 'DELETE FROM support.tickets', why: NOT_SELECT },
    { sql: 'TRUNCATE support.tickets CASCADE', why: NOT_SELECT },
    { sql: 'DROP TABLE support.tickets CASCADE', why: NOT_SELECT },
    { sql: 'ALTER TABLE support.tickets DROP COLUMN subject', why: NOT_SELECT },
    { sql: 'CREATE TABLE support.x AS SELECT 1', why: NOT_SELECT },
    { sql: 'SELECT * INTO support.copy FROM support.tickets', why: /SELECT \.\.\. INTO creates a table/ },
    { sql: 'CREATE TEMP TABLE t (x int)', why: NOT_SELECT },
    { sql: 'GRANT ALL ON support.tickets TO PUBLIC', why: NOT_SELECT },
    { sql: "ALTER SYSTEM SET work_mem = '1GB'", why: NOT_SELECT },
    { sql: 'VACUUM support.tickets', why: NOT_SELECT },
    { sql: 'ANALYZE support.tickets', why: NOT_SELECT },
    {
      sql: 'MERGE INTO support.tickets t USING (SELECT 1 AS id) s ON t.id = s.id WHEN MATCHED THEN DELETE',
      why: NOT_SELECT,
    },
    { sql: 'CREATE FUNCTION support.f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$', why: NOT_SELECT },
    { sql: 'CHECKPOINT', why: NOT_SELECT },
  ],
  'other escapes': [
    { sql: 'SELECT * FROM otherdb.support.tickets', why: /other databases/ },
    { sql: 'SELECT $1', why: /parameters/ },
    { sql: 'SELECT 1 OPERATOR(public.===) 1', why: /operator .+ is not allowed/ },
    { sql: "SELECT xmlparse(document '<a/>')", why: /XmlExpr/ },
    { sql: "SELECT * FROM xmltable('/a' PASSING '<a/>' COLUMNS x int)", why: /RangeTableFunc/ },
    { sql: "SELECT * FROM json_to_record('{}') AS x(a int)", why: FUNCTION },
  ],
  // Round 3: generate_series bounds the guard must count exactly, or refuse.
  'uncountable generate_series': [
    {
      sql: 'select count(*) from (select generate_series(0, 1, 1e-400) limit 12000000) s',
      why: /generate_series\(\) (needs literal bounds|may produce at most)/,
    },
    {
      sql: 'select count(*) from generate_series(1000000000000000000000000000000, 1000000000000000070000000000000) g',
      why: /generate_series\(\) (needs literal bounds|may produce at most)/,
    },
    {
      sql: "select count(*) from (select generate_series(timestamp '2025-03-31', timestamp '2025-04-30', interval '-1 mon 31 days') limit 12000000) s",
      why: /generate_series\(\) (needs literal bounds|may produce at most)/,
    },
  ],
  'unparsable or empty': [
    { sql: 'SELEC 1', why: UNPARSABLE },
    { sql: "SELECT 'unterminated", why: UNPARSABLE },
    { sql: '   ', why: UNPARSABLE },
    { sql: '-- only a comment', why: UNPARSABLE },
  ],
};

/** Statements that look dangerous but are one harmless SELECT: they run, and change nothing. */
export const HARMLESS: string[] = [
  'SELECT 1 -- ; DROP TABLE support.tickets',
  "SELECT 'a'';DROP TABLE support.tickets;--' AS s",
  'SELECT $$; DELETE FROM support.tickets; $$ AS s',
  'SELECT 1 /* ; DROP TABLE support.tickets; */',
  "SELECT 'pg_read_file(''/etc/passwd'')' AS s",
  'SELECT "pg_sleep" FROM (SELECT 1 AS "pg_sleep") AS t',
  'SELECT count(*) FROM support.tickets;',
  // Column names that are also function names stay usable (sum is the default name of sum(...)).
  'SELECT c.name, c.email FROM sales.customers c LIMIT 1',
  'SELECT s.sum, s.count FROM (SELECT sum(id), count(*) FROM support.tickets) s',
  'SELECT (t).name FROM (SELECT c AS t FROM sales.customers c LIMIT 1) x',
  "SELECT pg_total_relation_size('support.tickets'), obj_description('support.tickets'::regclass)",
  "SELECT current_setting('TimeZone'), current_setting('fleet.tenant', true)",
  "SELECT format('%s: %-10s|%5s', 1, 'a', 'b'), '2025-01-01'::date, 1::numeric(10, 2), '{}'::jsonb",
  'SELECT count(*) FROM generate_series(1, 1000) g',
  // Round 2 fixes keep the ordinary forms working.
  "SELECT count(*) FROM generate_series(now() - interval '30 days', now(), interval '1 day') g",
  "SELECT g FROM generate_series(date '2025-01-01', date '2025-12-01', interval '1 month') g",
  "SELECT replace('a-b', '-', ', '), regexp_replace('a  b', '\\s+', ' ', 'g'), array_to_string(ARRAY[1, 2], ', '), concat_ws(', ', 'a', 'b')",
  "SELECT to_tsvector('english', 'cats'), ts_headline('english', 'a cat', to_tsquery('english'::regconfig, 'cat'))",
  "SELECT x.date, x.text, x.name FROM unnest(ARRAY['2025-01-01']) x",
  "SELECT c.relname, c.oid FROM pg_catalog.pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'support'",
  "SELECT table_name FROM information_schema.tables WHERE table_schema = 'support'",
];

/** Every attack, flattened with its class. */
export function allAttacks(): (Attack & { kind: string })[] {
  return Object.entries({ ...ATTACKS, ...REVIEW_ATTACKS }).flatMap(([kind, list]) =>
    list.map((a) => ({ ...a, kind })),
  );
}
