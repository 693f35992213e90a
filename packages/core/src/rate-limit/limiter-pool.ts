// Fixed-window counters for rate limits and budgets (rate-limiter-flexible): in Redis when configured,
// shared by every replica, with an in-process "insurance" limiter that takes over while Redis is away,
// so limits keep holding per process instead of failing open or failing every call.
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';

/** Which counter refused a call. Bounded: also a metric label. */
export type LimitKind = 'caller' | 'caller_tool' | 'tool_global' | 'session' | 'window';

/** One counter a call must fit into. */
export interface LimitCheck {
  kind: LimitKind;
  /** Counter key, already scoped (server, tenant, agent...). */
  key: string;
  /** Allowed units per window. */
  points: number;
  windowSeconds: number;
  /** Units this call uses (1 for rate limits, the tool's cost for budgets). */
  cost: number;
}

/** Why a call was refused and when it may be retried. */
export interface LimitRefusal {
  kind: LimitKind;
  points: number;
  windowSeconds: number;
  cost: number;
  retryAfterMs: number;
}

type Limiter = RateLimiterMemory | RateLimiterRedis;

/** Options for {@link LimiterPool}. */
export interface LimiterPoolOptions {
  redis?: Redis | undefined;
  /** Prefix of every Redis key (isolates fleets and tests sharing one Redis). */
  keyPrefix: string;
  onStoreError?: (err: unknown) => void;
}

/** Creates limiters on first use, one per (kind, points, window), and checks calls against them. */
export class LimiterPool {
  readonly #opts: LimiterPoolOptions;
  readonly #limiters = new Map<string, Limiter>();

  constructor(opts: LimiterPoolOptions) {
    this.#opts = opts;
  }

  #limiter(c: LimitCheck): Limiter {
    const id = `${c.kind}:${c.points}:${c.windowSeconds}`;
    let l = this.#limiters.get(id);
    if (l) return l;
    // Counters are keyed by kind and window, not by the limit: changing a limit keeps the count.
    const keyPrefix = `${this.#opts.keyPrefix}:rl:${c.kind}:${c.windowSeconds}`;
    const memory = new RateLimiterMemory({ keyPrefix, points: c.points, duration: c.windowSeconds });
    if (this.#opts.redis) {
      l = new RateLimiterRedis({
        storeClient: this.#opts.redis,
        keyPrefix,
        points: c.points,
        duration: c.windowSeconds,
        // Not connected: use the insurance limiter at once instead of waiting for a timeout.
        rejectIfRedisNotReady: true,
        // Once a key is over its limit, refuse it in memory until the window ends: no Redis trip.
        inMemoryBlockOnConsumed: c.points + 1,
        insuranceLimiter: memory,
      });
    } else {
      l = memory;
    }
    this.#limiters.set(id, l);
    return l;
  }

  /**
   * Counts the call against every check. Returns null when all have room, else the refusal with the
   * longest wait; then the units taken from the checks that had room are given back, so a refused
   * call does not eat into other limits.
   */
  async consume(checks: readonly LimitCheck[]): Promise<LimitRefusal | null> {
    if (checks.length === 1) {
      const c = checks[0]!;
      try {
        await this.#limiter(c).consume(c.key, c.cost);
        return null;
      } catch (err) {
        return this.#refusal(c, err);
      }
    }
    const settled = await Promise.allSettled(checks.map((c) => this.#limiter(c).consume(c.key, c.cost)));
    let worst: LimitRefusal | null = null;
    settled.forEach((s, i) => {
      if (s.status === 'fulfilled') return;
      const r = this.#refusal(checks[i]!, s.reason);
      if (r && (!worst || r.retryAfterMs > worst.retryAfterMs)) worst = r;
    });
    if (worst) {
      settled.forEach((s, i) => {
        if (s.status !== 'fulfilled') return;
        const c = checks[i]!;
        this.#limiter(c)
          .reward(c.key, c.cost)
          .catch(() => {});
      });
    }
    return worst;
  }

  #refusal(c: LimitCheck, err: unknown): LimitRefusal | null {
    if (err instanceof RateLimiterRes) {
      return { kind: c.kind, points: c.points, windowSeconds: c.windowSeconds, cost: c.cost, retryAfterMs: Math.max(1, err.msBeforeNext) };
    }
    // Neither Redis nor the insurance limiter answered (should not happen): let the call through.
    this.#opts.onStoreError?.(err);
    return null;
  }
}
