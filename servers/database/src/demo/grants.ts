// The exact privileges of the warehouse's read-only login role. The local demo runs these, and
// docs/database.md shows the same statements for the platform team to run on a real warehouse.
import { DANGEROUS_FUNCTION_WHERE } from '../connectors/role-check.js';

const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;
const literal = (value: string) => `'${value.replace(/'/g, "''")}'`;

/** Options for {@link readerRoleSql}. */
export interface ReaderRoleOptions {
  role: string;
  database: string;
  schemas: readonly string[];
  /** Role whose future tables should be readable too (ALTER DEFAULT PRIVILEGES FOR ROLE ...). */
  owner?: string;
  /** Most temporary-file space one of its queries may use (temp_file_limit; default 1GB). */
  tempFileLimit?: string;
  /** Memory per sort or hash before it spills (work_mem; default 16MB). */
  workMem?: string;
}

/**
 * REVOKE EXECUTE on every dangerous built-in (the catalog decides which exist: see
 * DANGEROUS_FUNCTION_WHERE) from PUBLIC, which is how every role reaches them by default, and from
 * the role itself in case it was granted one. Needs the functions' owner (a superuser): a role's
 * grant cannot take away what PUBLIC has.
 */
function revokeDangerousFunctionsSql(role: string): string {
  return `DO $revoke$
DECLARE f regprocedure;
BEGIN
  FOR f IN SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p WHERE ${DANGEROUS_FUNCTION_WHERE.trim()}
  LOOP
    EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC, %I', f, ${literal(role)});
  END LOOP;
END
$revoke$`;
}

/**
 * Statements that make `role` a login role that can read `schemas` of `database` and nothing
 * else: no CREATE anywhere, no TEMP, no writes, default_transaction_read_only on.
 * (Role creation and its password are separate, so passwords never sit in this text.)
 */
export function readerRoleSql(o: ReaderRoleOptions): string[] {
  const role = ident(o.role);
  const schemas = o.schemas.map(ident).join(', ');
  const forOwner = o.owner ? ` FOR ROLE ${ident(o.owner)}` : '';
  return [
    `ALTER ROLE ${role} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT CONNECTION LIMIT 50`,
    `ALTER ROLE ${role} SET default_transaction_read_only = on`,
    `ALTER ROLE ${role} SET statement_timeout = '5min'`,
    // Bounds that hold even for a session that did not come through the fleet: disk for spilling
    // sorts and hashes (superuser-only, so the role cannot raise it), memory per sort or hash, and
    // how long a transaction may sit idle holding its snapshot.
    `ALTER ROLE ${role} SET temp_file_limit = ${literal(o.tempFileLimit ?? '1GB')}`,
    `ALTER ROLE ${role} SET work_mem = ${literal(o.workMem ?? '16MB')}`,
    `ALTER ROLE ${role} SET idle_in_transaction_session_timeout = '10min'`,
    // PUBLIC gets CONNECT and TEMP on every new database by default; take both away.
    `REVOKE ALL ON DATABASE ${ident(o.database)} FROM PUBLIC`,
    `GRANT CONNECT ON DATABASE ${ident(o.database)} TO ${role}`,
    // Before PostgreSQL 15, PUBLIC may create objects in schema public.
    `REVOKE CREATE ON SCHEMA public FROM PUBLIC`,
    `REVOKE ALL ON SCHEMA ${schemas} FROM PUBLIC`,
    `GRANT USAGE ON SCHEMA ${schemas} TO ${role}`,
    `GRANT SELECT ON ALL TABLES IN SCHEMA ${schemas} TO ${role}`,
    `ALTER DEFAULT PRIVILEGES${forOwner} IN SCHEMA ${schemas} GRANT SELECT ON TABLES TO ${role}`,
    // Built-ins that run SQL from text, signal, lock, sleep, read files or write (large objects,
    // which PostgreSQL 15 lets a READ ONLY transaction create, among them) are executable by PUBLIC
    // by default. Take them away in this database (function privileges are per database).
    revokeDangerousFunctionsSql(o.role),
  ];
}
