// Start-up check that the warehouse login role can only read, and only within its limits. The SQL
// guard and READ ONLY transactions already stop writes; this is the layer that still holds if both
// had a bug: no write privileges, no built-in that runs SQL from text, signals, locks, sleeps, reads
// files or writes, no way around row-level security, and a cap on temporary files.
import type pg from 'pg';
import { extended } from './extended.js';

/** One way the connected role could change the warehouse. */
export interface WriteCapability {
  kind: 'role' | 'membership' | 'database' | 'schema' | 'table' | 'sequence' | 'function' | 'limit';
  detail: string;
}

/**
 * The built-ins a warehouse reader must not execute, by name (POSIX regex over pg_proc.proname):
 * those that run SQL given as text (ts_stat, the *_to_xml family), signal or kill backends, take
 * advisory locks, sleep, read server files, touch large objects, change settings, send
 * notifications, assign transaction ids or write WAL messages or index summaries, reload or rotate
 * the server, and dblink's writable connections. Matched in pg_catalog and in extensions' schemas, so a new
 * variant of a family (another overload, another PostgreSQL version) is covered without a list.
 * pg_cancel_backend is the one exception: the fleet cancels its own timed-out queries with it from
 * its control connection, which logs in as the same role (it stops a statement, never a session).
 */
export const DANGEROUS_FUNCTION_NAMES =
  '^(ts_stat|.*_to_xml.*|pg_(terminate|signal)_backend|pg_(try_)?advisory.*|pg_read_(binary_)?file|pg_ls_.*|pg_stat_file' +
  '|lo_.*|lo(read|write)|set_config|dblink.*|pg_sleep.*|pg_notify|txid_current|pg_current_xact_id|pg_logical_emit_message' +
  '|pg_reload_conf|pg_rotate_logfile|pg_file_.*|pg_stat_reset.*|.*_reset|pg_log_.*|pg_promote|pg_wal_replay_.*' +
  '|pg_switch_wal|pg_create_restore_point|pg_(start|stop)_backup|pg_backup_(start|stop)|pg_.*replication_slot.*' +
  '|pg_replication_origin_.*|pg_import_system_collations|pg_nextoid|brin_.*summarize.*|gin_clean_pending_list)$';

/**
 * SQL condition over `pg_proc p` selecting the dangerous built-ins: the names above, plus
 * ts_rewrite's overload that runs its query text (the tsquery-only ones are harmless).
 */
export const DANGEROUS_FUNCTION_WHERE = `
  (p.pronamespace = 'pg_catalog'::regnamespace
     OR EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                WHERE d.classid = 'pg_catalog.pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'))
  AND (p.proname ~ '${DANGEROUS_FUNCTION_NAMES}'
       OR (p.proname = 'ts_rewrite' AND 'text'::regtype = ANY (p.proargtypes::oid[])))`;

const FUNCTION_SQL = `
  SELECT p.oid::regprocedure::text AS name FROM pg_catalog.pg_proc p
  WHERE ${DANGEROUS_FUNCTION_WHERE} AND has_function_privilege(p.oid, 'EXECUTE')
  ORDER BY 1 LIMIT 50`;

const ROLE_SQL = `
  SELECT current_user AS role, r.rolsuper, r.rolcreaterole, r.rolcreatedb, r.rolreplication, r.rolbypassrls,
         current_setting('temp_file_limit') AS temp_file_limit,
         has_database_privilege(current_database(), 'CREATE') AS db_create,
         ARRAY(SELECT m FROM unnest(ARRAY['pg_write_all_data', 'pg_write_server_files', 'pg_execute_server_program']) AS m
               WHERE EXISTS (SELECT 1 FROM pg_roles WHERE rolname = m) AND pg_has_role(current_user, m, 'MEMBER')) AS memberships
  FROM pg_roles r WHERE r.rolname = current_user`;

const SCHEMA_SQL = `
  SELECT n.nspname AS name FROM pg_namespace n
  WHERE n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'
    AND has_schema_privilege(n.oid, 'CREATE')
  ORDER BY 1 LIMIT 20`;

const TABLE_SQL = `
  SELECT * FROM (
  SELECT format('%I.%I', n.nspname, c.relname) AS name,
         array_remove(ARRAY[
           CASE WHEN has_table_privilege(c.oid, 'INSERT') OR has_any_column_privilege(c.oid, 'INSERT') THEN 'INSERT' END,
           CASE WHEN has_table_privilege(c.oid, 'UPDATE') OR has_any_column_privilege(c.oid, 'UPDATE') THEN 'UPDATE' END,
           CASE WHEN has_table_privilege(c.oid, 'DELETE') THEN 'DELETE' END,
           CASE WHEN has_table_privilege(c.oid, 'TRUNCATE') THEN 'TRUNCATE' END,
           CASE WHEN pg_has_role(c.relowner, 'USAGE') THEN 'OWNER' END
         ], NULL) AS privileges
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
    AND n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'
  ) t WHERE cardinality(privileges) > 0
  ORDER BY 1 LIMIT 50`;

const SEQUENCE_SQL = `
  SELECT format('%I.%I', n.nspname, c.relname) AS name
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind = 'S' AND n.nspname NOT LIKE 'pg\\_%'
    AND (has_sequence_privilege(c.oid, 'UPDATE') OR has_sequence_privilege(c.oid, 'USAGE'))
  ORDER BY 1 LIMIT 20`;

/**
 * Lists every way the connected role could write, call a dangerous built-in, read around row-level
 * security or fill the disk with temporary files; empty when it can only read, within bounds.
 */
export async function findWriteCapabilities(client: pg.Pool | pg.PoolClient): Promise<WriteCapability[]> {
  const q = async <R extends pg.QueryResultRow>(text: string) => (await client.query<R>(extended(text))).rows;
  const found: WriteCapability[] = [];
  const [role] = await q<{
    role: string;
    rolsuper: boolean;
    rolcreaterole: boolean;
    rolcreatedb: boolean;
    rolreplication: boolean;
    rolbypassrls: boolean;
    temp_file_limit: string;
    db_create: boolean;
    memberships: string[];
  }>(ROLE_SQL);
  if (role) {
    if (role.rolsuper) found.push({ kind: 'role', detail: `role ${role.role} is a superuser` });
    if (role.rolcreaterole) found.push({ kind: 'role', detail: `role ${role.role} has CREATEROLE` });
    if (role.rolcreatedb) found.push({ kind: 'role', detail: `role ${role.role} has CREATEDB` });
    if (role.rolreplication) found.push({ kind: 'role', detail: `role ${role.role} has REPLICATION` });
    // Row-level security is what keeps one tenant's token from another tenant's rows.
    if (role.rolbypassrls && !role.rolsuper)
      found.push({
        kind: 'role',
        detail: `role ${role.role} has BYPASSRLS (reads around row-level security)`,
      });
    // A sort or hash that spills is bounded only by this (statement_timeout bounds time, not disk);
    // the role cannot set it itself (superuser-only), so it must come with the role.
    if (role.temp_file_limit === '-1')
      found.push({
        kind: 'limit',
        detail: `role ${role.role} has no temp_file_limit (one query could fill the warehouse's disk)`,
      });
    for (const m of role.memberships)
      found.push({ kind: 'membership', detail: `role ${role.role} is a member of ${m}` });
    if (role.db_create)
      found.push({ kind: 'database', detail: 'CREATE on the database (can create schemas)' });
  }
  for (const s of await q<{ name: string }>(SCHEMA_SQL))
    found.push({ kind: 'schema', detail: `CREATE on schema ${s.name}` });
  for (const t of await q<{ name: string; privileges: string[] }>(TABLE_SQL)) {
    found.push({ kind: 'table', detail: `${t.privileges.join('/')} on ${t.name}` });
  }
  for (const s of await q<{ name: string }>(SEQUENCE_SQL))
    found.push({ kind: 'sequence', detail: `USAGE/UPDATE on sequence ${s.name} (nextval)` });
  // A superuser can execute everything; listing each function would only hide the first finding.
  if (!role?.rolsuper)
    for (const f of await q<{ name: string }>(FUNCTION_SQL))
      found.push({ kind: 'function', detail: `EXECUTE on ${f.name}` });
  return found;
}

/** The start-up refusal message: what is wrong, and where the fix is documented. No URL, no password. */
export function writableRoleMessage(found: WriteCapability[]): string {
  const shown = found.slice(0, 8).map((f) => `  - ${f.detail}`);
  const more = found.length > shown.length ? [`  - ... and ${found.length - shown.length} more`] : [];
  return [
    'Refusing to start: the warehouse role in WAREHOUSE_URL can change the warehouse or escape its limits:',
    ...shown,
    ...more,
    'Connect as a read-only login role (the GRANT/REVOKE statements, the REVOKE EXECUTE of the dangerous',
    'built-ins and the ALTER ROLE ... SET temp_file_limit are in docs/database.md),',
    'or set WAREHOUSE_ALLOW_WRITABLE_ROLE=true for a throw-away warehouse (queries stay read-only, but one layer of defence is gone).',
  ].join('\n');
}
