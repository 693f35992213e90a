// vitest global setup: one PostgreSQL server for the whole run, shared with workers by environment.
import { type PostgresHandle, startTestPostgres } from './postgres.js';

let handle: PostgresHandle | undefined;

export async function setup(): Promise<void> {
  handle = await startTestPostgres();
  process.env.FLEET_TEST_PG_URL = handle.url;
  process.env.FLEET_TEST_PG_SOURCE = handle.source;
}

export async function teardown(): Promise<void> {
  await handle?.stop();
}
