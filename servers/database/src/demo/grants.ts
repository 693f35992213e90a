// The exact privileges of the warehouse's read-only login role. The local demo runs these, and
// docs/database.md shows the same statements for the platform team to run on a real warehouse.

const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** Options for {@link readerRoleSql}. */
export interface ReaderRoleOptions {
  role: string;
  database: string;
  schemas: readonly string[];
  /** Role whose future tables should be readable too (ALTER DEFAULT PRIVILEGES FOR ROLE ...). */
  owner?: string;
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
    // PUBLIC gets CONNECT and TEMP on every new database by default; take both away.
    `REVOKE ALL ON DATABASE ${ident(o.database)} FROM PUBLIC`,
    `GRANT CONNECT ON DATABASE ${ident(o.database)} TO ${role}`,
    // Before PostgreSQL 15, PUBLIC may create objects in schema public.
    `REVOKE CREATE ON SCHEMA public FROM PUBLIC`,
    `REVOKE ALL ON SCHEMA ${schemas} FROM PUBLIC`,
    `GRANT USAGE ON SCHEMA ${schemas} TO ${role}`,
    `GRANT SELECT ON ALL TABLES IN SCHEMA ${schemas} TO ${role}`,
    `ALTER DEFAULT PRIVILEGES${forOwner} IN SCHEMA ${schemas} GRANT SELECT ON TABLES TO ${role}`,
    // Large objects live outside any schema, and PostgreSQL 15 lets a READ ONLY transaction create
    // them; their writer functions are executable by PUBLIC by default. Take them away in this database.
    `REVOKE EXECUTE ON FUNCTION lo_from_bytea(oid, bytea), lo_create(oid), lo_creat(integer), lo_put(oid, bigint, bytea),
       lowrite(integer, bytea), lo_unlink(oid), lo_truncate(integer, integer), lo_truncate64(integer, bigint),
       lo_import(text), lo_import(text, oid) FROM PUBLIC`,
  ];
}
