// The shared Redis connection of one process (rate limits, budgets, result cache, cancellations).
// Commands fail fast instead of queueing while Redis is away, so callers fall back to in-process state.
import { Redis } from 'ioredis';
import type { Logger } from '../observability/logger.js';
import { activeTracer, SpanKind, withSpan } from '../observability/tracing.js';

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
  traceCommands(client);
  return client;
}

/** Commands that do not answer one promise per call (transactions, pipelines, subscriptions). */
const UNTRACED_COMMANDS = new Set([
  'multi',
  'exec',
  'pipeline',
  'monitor',
  'subscribe',
  'psubscribe',
  'ssubscribe',
]);

/**
 * A CLIENT span (`redis <command>`) per command sent under a traced request. Wrapped on the instance at
 * each command method, where the caller's context still holds (auto-pipelining sends a tick later).
 */
const TRACED = Symbol('traced redis command');

function traceCommands(client: Redis): void {
  const methods = client as unknown as Record<string, unknown>;
  const wrap = (name: string) => {
    const original = methods[name];
    if (typeof original !== 'function' || TRACED in original) return; // a script defined twice

    const attributes = { 'db.system.name': 'redis', 'db.operation.name': name };
    methods[name] = Object.assign(
      function (this: unknown, ...args: unknown[]) {
        // A pipeline copies the client's script methods: only the client's own call is a span.
        if (this !== client || !activeTracer()) return original.apply(this, args);
        return withSpan(`redis ${name}`, { kind: SpanKind.CLIENT, attributes }, () =>
          original.apply(this, args),
        );
      },
      { [TRACED]: true },
    );
  };
  for (const name of client.getBuiltinCommands()) if (!UNTRACED_COMMANDS.has(name)) wrap(name);
  // Scripts defined later (rate-limiter-flexible's) are commands of their own.
  const define = client.defineCommand.bind(client);
  client.defineCommand = (name, definition) => {
    define(name, definition);
    wrap(name);
    addToOpenAutoPipelines(client, name);
  };
}

/**
 * ioredis copies a client's script methods into a pipeline when it creates one, and auto-pipelining
 * creates the tick's pipeline at the tick's first command. A script defined later in that tick and
 * called in it (rate-limiter-flexible defines its script when a limiter is created, on the first call
 * that needs one, after e.g. the flow guard's HGETALL went out) joins a pipeline without the method:
 * ioredis then throws an uncaught `results[i] is not iterable` and never settles the batch's other
 * commands (the limiter fell back to memory and let calls through; other callers hung). So a newly
 * defined script is added to the pipelines still open. (`_autoPipelines` is ioredis-internal: when it
 * is not there, nothing is done; test/redis-client.test.ts fails if the bug comes back.)
 */
function addToOpenAutoPipelines(client: Redis, name: string): void {
  const open = (client as unknown as { _autoPipelines?: unknown })._autoPipelines;
  if (!(open instanceof Map)) return;
  const methods = client as unknown as Record<string, unknown>;
  for (const pipeline of open.values() as Iterable<Record<string, unknown>>) {
    pipeline[name] = methods[name];
    pipeline[`${name}Buffer`] = methods[`${name}Buffer`];
  }
}

/** True when commands can be sent now. */
export function redisReady(client: Redis | undefined): client is Redis {
  return client !== undefined && client.status === 'ready';
}
