// Start-up check that the warehouse login role can only read. The SQL guard and READ ONLY
// transactions already stop writes; this is the layer that still holds if both had a bug.
import type pg from 'pg';
import { extended } from './extended.js';

/** One way the connected role could change the warehouse. */
export interface WriteCapability {
  kind: 'role' | 'membership' | 'database' | 'schema' | 'table' | 'sequence';
  detail: string;
}

const ROLE_SQL = `
  SELECT current_user AS role, r.rolsuper, r.rolcreaterole, r.rolcreatedb, r.rolreplication,
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

/** Lists every way the connected role could write; empty when it can only read. */
export async function findWriteCapabilities(client: pg.Pool | pg.PoolClient): Promise<WriteCapability[]> {
  const q = async <R extends pg.QueryResultRow>(text: string) => (await client.query<R>(extended(text))).rows;
  const found: WriteCapability[] = [];
  const [role] = await q<{
    role: string;
    rolsuper: boolean;
    rolcreaterole: boolean;
    rolcreatedb: boolean;
    rolreplication: boolean;
    db_create: boolean;
    memberships: string[];
  }>(ROLE_SQL);
  if (role) {
    if (role.rolsuper) found.push({ kind: 'role', detail: `role ${role.role} is a superuser` });
    if (role.rolcreaterole) found.push({ kind: 'role', detail: `role ${role.role} has CREATEROLE` });
    if (role.rolcreatedb) found.push({ kind: 'role', detail: `role ${role.role} has CREATEDB` });
    if (role.rolreplication) found.push({ kind: 'role', detail: `role ${role.role} has REPLICATION` });
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
  return found;
}

/** The start-up refusal message: what is wrong, and where the fix is documented. No URL, no password. */
export function writableRoleMessage(found: WriteCapability[]): string {
  const shown = found.slice(0, 8).map((f) => `  - ${f.detail}`);
  const more = found.length > shown.length ? [`  - ... and ${found.length - shown.length} more`] : [];
  return [
    'Refusing to start: the warehouse role in WAREHOUSE_URL can change the warehouse:',
    ...shown,
    ...more,
    'Connect as a read-only login role (the GRANT/REVOKE statements are in docs/database.md),',
    'or set WAREHOUSE_ALLOW_WRITABLE_ROLE=true for a throw-away warehouse (queries stay read-only, but one layer of defence is gone).',
  ].join('\n');
}
