// Fleet-database migrations are namespaced per server: two servers that pick the same id both get
// their tables, an id without its server's namespace is refused, and a database migrated before
// ids were namespaced is renamed in place, never migrated twice. Against a real PostgreSQL.
import type { Migration } from '@mcp-fleet/core';
import { createLogger, migrate, migrationsOf } from '@mcp-fleet/core/internal';
import { createTestDatabase } from '@mcp-fleet/testkit';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import databaseDefinition from '../../servers/database/src/definition.js';

const logger = createLogger({ name: 'migrations-test', level: 'silent' });
let db: Awaited<ReturnType<typeof createTestDatabase>>;
let pool: pg.Pool;

beforeEach(async () => {
  db = await createTestDatabase('migration_ns');
  pool = new pg.Pool({ connectionString: db.url, max: 2 });
});
afterEach(async () => {
  await pool?.end();
  await db?.drop();
});

const ids = async () =>
  (await pool.query<{ id: string }>('SELECT id FROM fleet_migrations ORDER BY id')).rows.map((r) => r.id);
const tables = async () =>
  (
    await pool.query<{ t: string }>(
      "SELECT table_name AS t FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1",
    )
  ).rows.map((r) => r.t);

describe('fleet migrations, namespaced per server', () => {
  it('two servers choosing the same id both get their tables', async () => {
    const alpha = migrationsOf({
      name: 'alpha',
      migrations: [{ id: '0100_notes', sql: 'CREATE TABLE alpha_notes (id int)' }],
    });
    const beta = migrationsOf({
      name: 'beta',
      migrations: [{ id: '0100_notes', sql: 'CREATE TABLE beta_notes (id int)' }],
    });
    await migrate(pool, [...alpha, ...beta], logger);
    expect(await tables()).toEqual(expect.arrayContaining(['alpha_notes', 'beta_notes']));
    expect(await ids()).toEqual(expect.arrayContaining(['alpha/0100_notes', 'beta/0100_notes']));
    // A second run (another replica starting) changes nothing.
    expect(await migrate(pool, [...alpha, ...beta], logger)).toEqual([]);
  });

  it("refuses a server migration without its namespace, and one that names another server's", async () => {
    const bare: Migration = { id: '0100_notes', sql: 'CREATE TABLE stray (id int)' };
    await expect(migrate(pool, [bare], logger)).rejects.toThrow(/no server namespace/);
    expect(() =>
      migrationsOf({ name: 'alpha', migrations: [{ id: 'beta/0100_notes', sql: 'SELECT 1' }] }),
    ).toThrow(/of server alpha/);
    expect(await tables()).not.toContain('stray');
  });

  it('a database migrated under the old dashboards id is renamed, not migrated again', async () => {
    const [dashboards] = databaseDefinition.migrations ?? [];
    expect(dashboards?.previousId).toBe('0100_database_dashboards');
    // The state a fleet database was in before namespacing: the table with a row, the old id.
    const core = migrationsOf({ name: 'database' }).filter((m) => !m.id.includes('/'));
    await migrate(pool, core, logger);
    await pool.query(dashboards!.sql);
    await pool.query(
      "INSERT INTO fleet_migrations (id, applied_at) VALUES ('0100_database_dashboards', '2026-01-01T00:00:00Z')",
    );
    await pool.query(
      `INSERT INTO database_dashboards (tenant, name, title, description, panels, content_hash, created_by, updated_by)
       VALUES ('acme', 'kept', 'Kept', '', '[]', 'h', 'a', 'a')`,
    );
    const applied = await migrate(pool, migrationsOf(databaseDefinition), logger);
    expect(applied).toEqual([]); // nothing ran again
    expect(await ids()).toContain('database/0100_dashboards');
    expect(await ids()).not.toContain('0100_database_dashboards');
    const kept = await pool.query<{ applied_at: Date }>(
      "SELECT applied_at FROM fleet_migrations WHERE id = 'database/0100_dashboards'",
    );
    expect(kept.rows[0]?.applied_at.toISOString()).toBe('2026-01-01T00:00:00.000Z');
    expect((await pool.query('SELECT name FROM database_dashboards')).rows).toEqual([{ name: 'kept' }]);
    // Idempotent: concurrent or repeated starts after the rename do nothing.
    expect(await migrate(pool, migrationsOf(databaseDefinition), logger)).toEqual([]);
  });

  it('an old bare id of one server is never taken as another server’s migration', async () => {
    await migrate(pool, migrationsOf({ name: 'fleet' }), logger);
    await pool.query("INSERT INTO fleet_migrations (id) VALUES ('0100_notes')");
    await migrate(
      pool,
      migrationsOf({
        name: 'gamma',
        migrations: [{ id: '0100_notes', sql: 'CREATE TABLE gamma_notes (id int)' }],
      }),
      logger,
    );
    expect(await tables()).toContain('gamma_notes');
  });
});
