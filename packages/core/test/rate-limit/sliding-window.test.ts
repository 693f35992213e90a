// Servers' own limits (sends per destination) hold over ANY span of their window, in Redis across
// replicas and in process: a fixed window would let twice the limit through across a boundary.
// Events are fired over several windows; the verdict is computed from when each was accepted.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { testRedisUrl } from '@mcp-fleet/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SlidingWindows } from '../../src/rate-limit/sliding-window.js';

let redis: Redis;
beforeAll(async () => {
  redis = new Redis(testRedisUrl(), { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
});
afterAll(async () => {
  await redis?.quit();
});

/** Fires bursts for ~3.5 windows of 1 s; returns when each accepted event counted (the store's clock, ms). */
async function fire(windows: SlidingWindows[], key: string, points: number): Promise<number[]> {
  const accepted: number[] = [];
  for (let round = 0; round < 14; round++) {
    const results = await Promise.all(
      Array.from({ length: points }, (_, i) =>
        windows[i % windows.length]!.consume([{ key, points, windowSeconds: 1 }]),
      ),
    );
    for (const r of results) if (r.ok) accepted.push(r.at);
    await sleep(250);
  }
  return accepted.sort((a, b) => a - b);
}

/** The most events inside any span of `windowMs` (a sliding check over the accepted times). */
function busiestSpan(times: number[], windowMs: number): number {
  let most = 0;
  let start = 0;
  for (let end = 0; end < times.length; end++) {
    while (times[end]! - times[start]! >= windowMs) start++;
    most = Math.max(most, end - start + 1);
  }
  return most;
}

describe('sliding windows of servers own limits', () => {
  it('two replicas sharing Redis never accept more than the limit in any span of the window', async () => {
    const prefix = `sw-${randomUUID()}`;
    const replicas = [
      new SlidingWindows({ redis, keyPrefix: prefix }),
      new SlidingWindows({ redis, keyPrefix: prefix }),
    ];
    const times = await fire(replicas, 'dest:C1', 5);
    // Some went through in several windows (so the test saw boundaries), never more than 5 per span.
    expect(times.length).toBeGreaterThan(5);
    expect(busiestSpan(times, 1000)).toBeLessThanOrEqual(5);
  });

  it('a full window answers with the wait until the oldest event leaves it, and a refused multi-check adds nothing', async () => {
    const w = new SlidingWindows({ redis, keyPrefix: `sw-${randomUUID()}` });
    for (let i = 0; i < 3; i++)
      expect((await w.consume([{ key: 'a', points: 3, windowSeconds: 60 }])).ok).toBe(true);
    const full = await w.consume([
      { key: 'b', points: 3, windowSeconds: 60 },
      { key: 'a', points: 3, windowSeconds: 60 },
    ]);
    if (full.ok) throw new Error('the window of "a" is full: the call must be refused');
    expect(full.check.key).toBe('a');
    expect(full.retryAfterMs).toBeGreaterThan(0);
    expect(full.retryAfterMs).toBeLessThanOrEqual(60_000);
    // 'b' took nothing from the refused call: three more fit.
    for (let i = 0; i < 3; i++)
      expect((await w.consume([{ key: 'b', points: 3, windowSeconds: 60 }])).ok).toBe(true);
    expect((await w.consume([{ key: 'b', points: 3, windowSeconds: 60 }])).ok).toBe(false);
  });

  it('without Redis the limit holds per process, over any span too', async () => {
    const local = new SlidingWindows({ keyPrefix: `sw-${randomUUID()}` });
    const accepted: number[] = [];
    for (let round = 0; round < 14; round++) {
      const results = await Promise.all(
        Array.from({ length: 4 }, () => local.consume([{ key: 'dest', points: 4, windowSeconds: 1 }])),
      );
      for (const r of results) if (r.ok) accepted.push(r.at);
      await sleep(250);
    }
    expect(accepted.length).toBeGreaterThan(4);
    expect(busiestSpan(accepted, 1000)).toBeLessThanOrEqual(4);
  });
});
