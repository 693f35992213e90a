// core's shared Redis client auto-pipelines: a script defined (ioredis defineCommand) in a tick whose
// auto-pipeline already holds a command, and called in that tick, must still answer, and so must the
// batch's other commands. rate-limiter-flexible defines its script when a limiter is first created,
// inside a request whose other Redis commands (the flow guard's) went out the same tick: ioredis threw
// an uncaught `results[i] is not iterable` and never settled that batch.
import { randomUUID } from 'node:crypto';
import { testRedisUrl } from '@mcp-fleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/observability/logger.js';
import { LimiterPool } from '../src/rate-limit/limiter-pool.js';
import { createRedisClient, type Redis } from '../src/redis/redis-client.js';

const logger = createLogger({ level: 'silent' });
let redis: Redis;
const uncaught: unknown[] = [];
const onUncaught = (err: unknown) => uncaught.push(err);

beforeAll(async () => {
  redis = createRedisClient({ url: testRedisUrl(), logger, commandTimeoutMs: 2_000 });
  if (redis.status !== 'ready') await new Promise((r) => redis.once('ready', r));
  process.on('uncaughtException', onUncaught);
});
afterAll(() => {
  process.off('uncaughtException', onUncaught);
  redis?.disconnect();
});

/** Settles within 3 s, or says it hung (an unsettled batch never times out in ioredis). */
const settled = <T>(p: Promise<T>) =>
  Promise.race([p, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 3_000).unref())]);

describe('createRedisClient (auto-pipelining)', () => {
  it('a script defined in a tick after other commands, and called in it, answers; so do the others', async () => {
    const key = `rc-${randomUUID()}`;
    const name = `probe${randomUUID().replaceAll('-', '')}`;
    const first = redis.set(key, 'v');
    redis.defineCommand(name, { numberOfKeys: 1, lua: "return redis.call('GET', KEYS[1])" });
    const script = (redis as unknown as Record<string, (k: string) => Promise<unknown>>)[name]!(key);
    const after = redis.get(key);
    expect(await settled(Promise.all([first, script, after]))).toEqual(['OK', 'v', 'v']);
    await new Promise((r) => setImmediate(r));
    expect(uncaught.map(String)).toEqual([]);
  });

  it('a rate limiter created in a tick after other commands counts in Redis from its first call', async () => {
    const prefix = `rc-${randomUUID()}`;
    const errors: unknown[] = [];
    const pool = new LimiterPool({ redis, keyPrefix: prefix, onStoreError: (e) => errors.push(e) });
    const limit = { kind: 'caller' as const, key: 'k', points: 2, windowSeconds: 60, cost: 1 };
    const other = redis.set(`${prefix}:other`, 'v');
    const refused = await settled(
      Promise.all([pool.consume([limit]), pool.consume([limit]), pool.consume([limit]), other]),
    );
    expect(refused === 'hung' ? 'hung' : refused.slice(0, 3).map((r) => r !== null)).toEqual([
      false,
      false,
      true,
    ]);
    await new Promise((r) => setImmediate(r));
    expect(uncaught.map(String)).toEqual([]);
    expect(errors.map(String)).toEqual([]);
  });
});
