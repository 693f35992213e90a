// Sliding-window counters (a log of accepted events per key) for limits that must hold over ANY span
// of the window, e.g. "at most 30 sends a minute into one channel": a fixed window lets twice the
// limit through across a window boundary. In Redis (sorted sets, one Lua script per check, Redis's
// own clock) when configured, shared by every replica; in process while Redis is away or absent.
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

/** One sliding counter a call must fit into. */
export interface SlidingCheck {
  key: string;
  points: number;
  windowSeconds: number;
}

/** Returns [1, now] when the event was added (at Redis's `now`, ms), [0, msUntilRoom] when the window is full. */
const SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= limit then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {0, math.max(1, tonumber(oldest[2]) + window - now)}
end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], window)
return {1, now}
`;

/** How a {@link SlidingWindows.consume} ended. */
export type SlidingResult =
  | { ok: true; at: number }
  | { ok: false; check: SlidingCheck; retryAfterMs: number };

/** Sliding-window counters, Redis-backed with an in-process fallback. */
export class SlidingWindows {
  readonly #redis: Redis | undefined;
  readonly #prefix: string;
  readonly #memory = new Map<string, number[]>();
  readonly #onStoreError: ((err: unknown) => void) | undefined;

  constructor(opts: { redis?: Redis | undefined; keyPrefix: string; onStoreError?: (err: unknown) => void }) {
    this.#redis = opts.redis;
    this.#prefix = `${opts.keyPrefix}:sw`;
    this.#onStoreError = opts.onStoreError;
  }

  /**
   * Adds one event to every check's window (answering when it counted, in the store's clock, ms);
   * when one is full, removes what this call added and answers the full check with the wait until it
   * has room.
   */
  async consume(checks: readonly SlidingCheck[]): Promise<SlidingResult> {
    const added: { check: SlidingCheck; member: string; where: 'redis' | 'memory' }[] = [];
    let at = 0;
    for (const check of checks) {
      const member = randomUUID();
      const r = await this.#add(check, member);
      if (r.ok) {
        added.push({ check, member, where: r.where });
        at = Math.max(at, r.at);
        continue;
      }
      for (const a of added) await this.#remove(a.check, a.member, a.where);
      return { ok: false, check, retryAfterMs: r.retryAfterMs };
    }
    return { ok: true, at };
  }

  async #add(
    check: SlidingCheck,
    member: string,
  ): Promise<{ ok: true; where: 'redis' | 'memory'; at: number } | { ok: false; retryAfterMs: number }> {
    const windowMs = check.windowSeconds * 1000;
    if (this.#redis && this.#redis.status === 'ready') {
      try {
        const [added, value] = (await this.#redis.eval(
          SCRIPT,
          1,
          `${this.#prefix}:${check.key}`,
          windowMs,
          check.points,
          member,
        )) as [number, number];
        return added === 1 ? { ok: true, where: 'redis', at: value } : { ok: false, retryAfterMs: value };
      } catch (err) {
        this.#onStoreError?.(err);
      }
    }
    // No Redis (or it failed): the limit holds per process.
    const now = Date.now();
    const log = (this.#memory.get(check.key) ?? []).filter((t) => t > now - windowMs);
    if (log.length >= check.points) {
      this.#memory.set(check.key, log);
      return { ok: false, retryAfterMs: Math.max(1, log[0]! + windowMs - now) };
    }
    log.push(now);
    this.#memory.set(check.key, log);
    if (this.#memory.size > 50_000) this.#prune(now);
    return { ok: true, where: 'memory', at: now };
  }

  async #remove(check: SlidingCheck, member: string, where: 'redis' | 'memory'): Promise<void> {
    if (where === 'redis') {
      await this.#redis?.zrem(`${this.#prefix}:${check.key}`, member).catch(() => {});
      return;
    }
    this.#memory.get(check.key)?.pop();
  }

  /** Drops keys whose newest event left every window (bounded memory under many destinations). */
  #prune(now: number): void {
    for (const [key, log] of this.#memory) {
      if (log.length === 0 || log[log.length - 1]! < now - 3_600_000) this.#memory.delete(key);
    }
  }
}
