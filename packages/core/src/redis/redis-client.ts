// The shared Redis connection of one process (rate limits, budgets, result cache, cancellations).
// Commands fail fast instead of queueing while Redis is away, so callers fall back to in-process state.
import { Redis } from 'ioredis';
import type { Logger } from '../observability/logger.js';

export type { Redis };

/** Options for {@link createRedisClient}. */
export interface RedisClientOptions {
  url: string;
  logger: Logger;
  /** A command that takes longer fails, and the caller falls back (ms). */
  commandTimeoutMs: number;
  /** Called with true/false when the connection becomes ready / goes away. */
  onStatus?: (up: boolean) => void;
}

/**
 * Connects to Redis. Never throws on an unreachable server: the client keeps reconnecting in the
 * background (capped backoff) while every command fails immediately.
 */
export function createRedisClient(o: RedisClientOptions): Redis {
  const client = new Redis(o.url, {
    lazyConnect: false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: o.commandTimeoutMs,
    connectTimeout: Math.max(1_000, o.commandTimeoutMs * 4),
    enableAutoPipelining: true,
    retryStrategy: (attempt) => Math.min(100 * 2 ** Math.min(attempt, 5), 2_000),
  });
  let lastLog = 0;
  client.on('ready', () => {
    o.logger.info('redis connected');
    o.onStatus?.(true);
  });
  client.on('error', (err: Error) => {
    // Reconnects raise an error each time; log at most every 10 s.
    if (Date.now() - lastLog > 10_000) {
      lastLog = Date.now();
      o.logger.warn({ err: err.message }, 'redis unavailable: limits and cache fall back to this process');
    }
  });
  client.on('close', () => o.onStatus?.(false));
  return client;
}

/** True when commands can be sent now. */
export function redisReady(client: Redis | undefined): client is Redis {
  return client !== undefined && client.status === 'ready';
}
