// The result cache of read-only tools: an in-process LRU in front of Redis (when configured), so hot
// entries cost a map lookup and other replicas' results are one GET away. Only successful, complete
// results are ever stored; the caller decides that.
import type { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import type { CallToolResult } from '../kernel/call.js';
import { redisReady } from '../redis/redis-client.js';

interface Entry {
  result: CallToolResult;
  expiresAt: number;
  size: number;
}

/** A cache hit and which tier answered it. */
export interface CacheHit {
  result: CallToolResult;
  expiresAt: number;
  tier: 'memory' | 'redis';
}

/** Options for {@link ResultCache}. */
export interface ResultCacheOptions {
  redis?: Redis | undefined;
  keyPrefix: string;
  maxEntries: number;
  maxBytes: number;
  onStoreError?: (err: unknown, op: string) => void;
}

/** Two-tier result cache keyed by opaque strings built in cache-key.ts. */
export class ResultCache {
  readonly #opts: ResultCacheOptions;
  readonly #lru: LRUCache<string, Entry> | undefined;

  constructor(opts: ResultCacheOptions) {
    this.#opts = opts;
    this.#lru =
      opts.maxEntries > 0
        ? new LRUCache<string, Entry>({
            max: opts.maxEntries,
            maxSize: Math.max(opts.maxBytes, 1),
            sizeCalculation: (e) => e.size,
          })
        : undefined;
  }

  /** Looks the key up in memory, then in Redis. Redis trouble is a miss, never an error. */
  async get(key: string): Promise<CacheHit | undefined> {
    const now = Date.now();
    const local = this.#lru?.get(key);
    if (local) {
      if (local.expiresAt > now) return { result: local.result, expiresAt: local.expiresAt, tier: 'memory' };
      this.#lru?.delete(key);
    }
    const redis = this.#opts.redis;
    if (!redisReady(redis)) return undefined;
    let raw: string | null;
    try {
      raw = await redis.get(`${this.#opts.keyPrefix}:cache:${key}`);
    } catch (err) {
      this.#opts.onStoreError?.(err, 'cache_get');
      return undefined;
    }
    if (!raw) return undefined;
    try {
      const parsed = JSON.parse(raw) as { r: CallToolResult; e: number };
      if (!(parsed.e > now) || !parsed.r || !Array.isArray(parsed.r.content)) return undefined;
      this.#lru?.set(key, { result: parsed.r, expiresAt: parsed.e, size: raw.length + key.length });
      return { result: parsed.r, expiresAt: parsed.e, tier: 'redis' };
    } catch {
      return undefined;
    }
  }

  /** Stores a result for `ttlSeconds` in memory now and in Redis in the background. */
  set(key: string, result: CallToolResult, ttlSeconds: number): void {
    const expiresAt = Date.now() + ttlSeconds * 1000;
    const json = JSON.stringify({ r: result, e: expiresAt });
    if (json.length > this.#opts.maxBytes) return; // one result larger than the whole cache
    this.#lru?.set(key, { result, expiresAt, size: json.length + key.length });
    const redis = this.#opts.redis;
    if (!redisReady(redis)) return;
    redis.set(`${this.#opts.keyPrefix}:cache:${key}`, json, 'PX', ttlSeconds * 1000).catch((err: unknown) => {
      this.#opts.onStoreError?.(err, 'cache_set');
    });
  }

  /** Entries held in this process. */
  get size(): number {
    return this.#lru?.size ?? 0;
  }
}
