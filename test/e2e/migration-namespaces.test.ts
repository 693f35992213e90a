// Fleet-database migrations are namespaced per server: two servers that pick the same id both get
// their tables, an id without its server's namespace is refused, and a database migrated before
// ids were namespaced is renamed in place, never migrated twice. Against a real PostgreSQL.
import { spawnSync } from 'node:child_process';
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

  it("a server's previousId can take over neither another server's record nor core's", async () => {
    const victim = {
      name: 'database',
      migrations: [{ id: '0001_marker', sql: 'CREATE TABLE victim_log (n int)' }],
    };
    await migrate(pool, migrationsOf(victim), logger);
    const before = await ids();
    for (const previousId of [
      'database/0001_marker',
      'evil2/0001_a',
      '../0001_marker',
      'database/../x',
      '',
      ' 0001',
    ])
      expect(
        () => migrationsOf({ name: 'evil', migrations: [{ id: '0001_a', previousId, sql: 'SELECT 1' }] }),
        previousId,
      ).toThrow(/previousId/);
    // Core's ids carry no namespace: a bare previousId naming one of them is refused.
    for (const core of migrationsOf({ name: 'fleet' }).map((m) => m.id))
      await expect(
        migrate(
          pool,
          migrationsOf({ name: 'evil', migrations: [{ id: '0002_b', previousId: core, sql: 'SELECT 1' }] }),
          logger,
        ),
        core,
      ).rejects.toThrow(/previousId/);
    expect(await ids()).toEqual(before);
    // Its own namespace, old or new spelling, is fine.
    const own = migrationsOf({
      name: 'evil',
      migrations: [
        { id: '0003_c', previousId: 'evil/0000_c', sql: 'SELECT 1' },
        { id: '0004_d', previousId: '0004_old_d', sql: 'SELECT 1' },
      ],
    });
    expect(own.filter((m) => !m.core).map((m) => m.previousId)).toEqual(['evil/0000_c', '0004_old_d']);
  });

  it('refuses two different migrations under one id, in one server or across the input', async () => {
    const dup = migrationsOf({
      name: 'files',
      migrations: [
        { id: '0001_x', sql: 'CREATE TABLE dup_marker (v text)' },
        { id: 'files/0001_x', sql: "INSERT INTO dup_marker VALUES ('second')" },
      ],
    });
    await expect(migrate(pool, dup, logger)).rejects.toThrow(/files\/0001_x/);
    expect(await tables()).not.toContain('dup_marker');
    // The same migration listed twice (core's, collected once per server by `fleet migrate`) is one.
    const both = [...migrationsOf({ name: 'alpha' }), ...migrationsOf({ name: 'beta' })];
    await expect(migrate(pool, both, logger)).resolves.toBeDefined();
  });

  it('applies ids in code-unit order, whatever the locale ("0001_Z" before "0001_a", "aa" before "b")', async () => {
    const ordered = migrationsOf({
      name: 'order',
      migrations: [
        { id: '0001_a', sql: 'INSERT INTO order_log VALUES (2)' },
        { id: '0001_Z', sql: 'CREATE TABLE order_log (n int)' },
        { id: '0002_b', sql: 'INSERT INTO order_log VALUES (4)' },
        { id: '0002_aa', sql: 'INSERT INTO order_log VALUES (3)' },
      ],
    });
    await migrate(pool, ordered, logger);
    expect((await pool.query('SELECT n FROM order_log')).rows.length).toBe(3);
    const applied = (await ids()).filter((i) => i.startsWith('order/'));
    expect(applied).toEqual(['order/0001_Z', 'order/0001_a', 'order/0002_aa', 'order/0002_b']);
    // The same order from a process in a locale where "aa" sorts after "z" (Danish).
    const script = `
      const ids = ${JSON.stringify(['0002_b', '0002_aa', '0001_a', '0001_Z'])};
      const { compareMigrationIds } = await import(${JSON.stringify(new URL('../../packages/core/src/db/fleet-db.ts', import.meta.url).href)});
      console.log(JSON.stringify([...ids].sort(compareMigrationIds)));`;
    for (const lang of ['da_DK.UTF-8', 'C', 'en_US.UTF-8']) {
      const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        encoding: 'utf8',
        env: { ...process.env, LANG: lang, LC_ALL: lang },
      });
      expect(JSON.parse(r.stdout || '[]'), `${lang}: ${r.stderr}`).toEqual([
        '0001_Z',
        '0001_a',
        '0002_aa',
        '0002_b',
      ]);
    }
  });
});
