// The README's promise about Redis for tests: TEST_REDIS_URL, else the Redis on the local port,
// else a redis-server from PATH started on a free port and stopped after; else a clear failure.
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../src/postgres.js';
import { answersPing, NO_REDIS, type RedisHandle, startTestRedis, testRedisUrl } from '../src/redis.js';

const started: RedisHandle[] = [];
afterEach(async () => {
  for (const h of started.splice(0)) await h.stop();
});

/** An address where nothing listens, standing in for a machine without its own Redis. */
async function closedLocal(): Promise<{ host: string; port: number }> {
  return { host: '127.0.0.1', port: await freePort() };
}

describe('startTestRedis', () => {
  it('uses TEST_REDIS_URL as given, without probing anything', async () => {
    const h = await startTestRedis({
      env: { TEST_REDIS_URL: 'redis://redis.test.invalid:6390' },
      local: await closedLocal(),
    });
    expect(h).toMatchObject({ url: 'redis://redis.test.invalid:6390', source: 'env' });
  });

  it('without one and with nothing on the local port, starts redis-server from PATH and stops it after', async () => {
    const h = await startTestRedis({ env: { PATH: process.env.PATH }, local: await closedLocal() });
    if (h) started.push(h);
    expect(h?.source).toBe('spawned');
    const port = Number(new URL(h!.url).port);
    expect(await answersPing('127.0.0.1', port)).toBe(true);
    await h!.stop();
    expect(await answersPing('127.0.0.1', port)).toBe(false);
  });

  it('uses a Redis that answers on the local port instead of starting one', async () => {
    const spawned = await startTestRedis({ env: { PATH: process.env.PATH }, local: await closedLocal() });
    started.push(spawned!);
    const local = { host: '127.0.0.1', port: Number(new URL(spawned!.url).port) };
    const h = await startTestRedis({ env: { PATH: process.env.PATH }, local });
    expect(h).toMatchObject({ url: `redis://127.0.0.1:${local.port}`, source: 'local' });
  });

  it('finds none when there is no URL, nothing local and no redis-server on PATH', async () => {
    const h = await startTestRedis({ env: { PATH: '/nonexistent' }, local: await closedLocal() });
    if (h) started.push(h);
    expect(h).toBeNull();
  });
});

describe('testRedisUrl', () => {
  it("gives the run's Redis, or fails saying what to install", () => {
    const saved = { url: process.env.FLEET_TEST_REDIS_URL, missing: process.env.FLEET_TEST_REDIS_MISSING };
    try {
      process.env.FLEET_TEST_REDIS_URL = 'redis://127.0.0.1:1234';
      expect(testRedisUrl()).toBe('redis://127.0.0.1:1234');
      delete process.env.FLEET_TEST_REDIS_URL;
      process.env.FLEET_TEST_REDIS_MISSING = NO_REDIS;
      expect(() => testRedisUrl()).toThrow(
        /apt-get install redis-server.*TEST_REDIS_URL=redis:\/\/host:port/,
      );
    } finally {
      for (const [key, value] of [
        ['FLEET_TEST_REDIS_URL', saved.url],
        ['FLEET_TEST_REDIS_MISSING', saved.missing],
      ] as const) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }
  });

  it('the global setup found a Redis for this run', () => {
    expect(testRedisUrl()).toMatch(/^redis:\/\//);
  });
});
