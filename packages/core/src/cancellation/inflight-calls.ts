// Calls in flight, by caller and JSON-RPC id, so a legacy `notifications/cancelled` (which arrives as
// its own stateless POST) can abort the call it names. With Redis, a cancellation that finds nothing
// here is broadcast, and the replica running the call aborts it.
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { inflightKey } from '../identity/caller-keys.js';
import type { Identity } from '../identity/identity.js';
import type { Logger } from '../observability/logger.js';
import { redisReady } from '../redis/redis-client.js';

type Abort = (source: string) => void;

/** Options for {@link InflightCalls}. */
export interface InflightCallsOptions {
  redis?: Redis | undefined;
  keyPrefix: string;
  logger: Logger;
}

/** The registry of one process. */
export class InflightCalls {
  readonly #calls = new Map<string, Set<Abort>>();
  readonly #opts: InflightCallsOptions;
  readonly #origin = randomUUID();
  readonly #channel: string;
  #subscriber: Redis | undefined;

  constructor(opts: InflightCallsOptions) {
    this.#opts = opts;
    this.#channel = `${opts.keyPrefix}:cancel`;
  }

  /** The key of a call: only the same verified caller (tenant, agent, user, session) can name it. */
  static key(
    identity: Pick<Identity, 'tenant' | 'agentId' | 'user' | 'session'>,
    rpcId: string | number,
  ): string {
    return inflightKey(identity, rpcId);
  }

  /** Registers a running call; returns the function that removes it. */
  register(key: string, abort: Abort): () => void {
    let set = this.#calls.get(key);
    if (!set) {
      set = new Set();
      this.#calls.set(key, set);
    }
    set.add(abort);
    return () => {
      const s = this.#calls.get(key);
      if (!s) return;
      s.delete(abort);
      if (s.size === 0) this.#calls.delete(key);
    };
  }

  /** Aborts the caller's call with this id here, or asks the other replicas to. Returns local aborts. */
  cancel(key: string, source: string): number {
    const n = this.#abortLocal(key, source);
    if (n === 0 && redisReady(this.#opts.redis)) {
      this.#opts.redis
        .publish(this.#channel, JSON.stringify({ o: this.#origin, k: key, s: source }))
        .catch(() => {});
    }
    return n;
  }

  #abortLocal(key: string, source: string): number {
    const set = this.#calls.get(key);
    if (!set) return 0;
    const aborts = [...set];
    for (const a of aborts) a(source);
    return aborts.length;
  }

  /** Listens for cancellations from other replicas (Redis only). */
  start(): void {
    const redis = this.#opts.redis;
    if (!redis || this.#subscriber) return;
    const sub = redis.duplicate({ enableOfflineQueue: true, commandTimeout: undefined });
    sub.on('error', () => {}); // the main client logs Redis trouble
    sub.on('message', (_channel: string, message: string) => {
      try {
        const m = JSON.parse(message) as { o: string; k: string; s: string };
        if (m.o !== this.#origin && typeof m.k === 'string') this.#abortLocal(m.k, `${m.s}`);
      } catch {
        // not ours
      }
    });
    sub
      .subscribe(this.#channel)
      .catch((err: Error) =>
        this.#opts.logger.debug({ err: err.message }, 'cancel channel subscribe failed'),
      );
    this.#subscriber = sub;
  }

  /** Number of calls running in this process. */
  get size(): number {
    return this.#calls.size;
  }

  /** Stops listening. */
  async close(): Promise<void> {
    const sub = this.#subscriber;
    this.#subscriber = undefined;
    if (sub) sub.disconnect();
  }
}
