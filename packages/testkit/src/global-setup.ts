// vitest global setup: one PostgreSQL server and one Redis for the whole run, shared with workers
// by environment. A machine without Redis still runs the suite; the tests that need it fail.
import { type PostgresHandle, startTestPostgres } from './postgres.js';
import { NO_REDIS, type RedisHandle, startTestRedis } from './redis.js';

let handle: PostgresHandle | undefined;
let redis: RedisHandle | null = null;

export async function setup(): Promise<void> {
  handle = await startTestPostgres();
  process.env.FLEET_TEST_PG_URL = handle.url;
  process.env.FLEET_TEST_PG_SOURCE = handle.source;
  try {
    redis = await startTestRedis();
  } catch (err) {
    process.env.FLEET_TEST_REDIS_MISSING = (err as Error).message;
    return;
  }
  if (redis) {
    process.env.FLEET_TEST_REDIS_URL = redis.url;
    process.env.FLEET_TEST_REDIS_SOURCE = redis.source;
  } else {
    process.env.FLEET_TEST_REDIS_MISSING = NO_REDIS;
  }
}

export async function teardown(): Promise<void> {
  await redis?.stop();
  await handle?.stop();
}
