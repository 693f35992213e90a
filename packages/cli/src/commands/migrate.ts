// `fleet migrate`: applies core's and every server's fleet-database migrations (DATABASE_URL).
import type { Migration } from '@mcp-fleet/core';
import { createFleetPool, createLogger, migrate, migrationsOf } from '@mcp-fleet/core/internal';
import { discoverServers, loadDefinition } from '../layout.js';

/** `fleet migrate` */
export async function migrateCommand(): Promise<number> {
  const url = process.env.DATABASE_URL;
  if (!url) {
    process.stderr.write('DATABASE_URL is required\n');
    return 2;
  }
  const logger = createLogger({ name: 'fleet-migrate' });
  // Core's once (migrate skips repeated ids), each server's under its own namespace.
  const migrations: Migration[] = [];
  for (const pkg of discoverServers()) migrations.push(...migrationsOf(await loadDefinition(pkg)));
  if (migrations.length === 0) migrations.push(...migrationsOf({ name: 'fleet' }));
  const pool = createFleetPool(url, logger, 1);
  try {
    const applied = await migrate(pool, migrations, logger);
    process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'up to date\n');
  } finally {
    await pool.end();
  }
  return 0;
}
