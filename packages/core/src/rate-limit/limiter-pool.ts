// Fixed-window counters for rate limits and budgets (rate-limiter-flexible): in Redis when configured,
// shared by every replica, with an in-process "insurance" limiter that takes over while Redis is away,
// so limits keep holding per process instead of failing open or failing every call.
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';

/** Which counter refused a call. Bounded: also a metric label. */
export type LimitKind = 'caller' | 'caller_tool' | 'tool_global' | 'session' | 'window' | 'destination';

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

/** Budgets spend a tool's cost; rate limits count calls. */
export function isBudget(kind: LimitKind): boolean {
  return kind === 'session' || kind === 'window';
}

/** A refusal from the counter itself (it counted this call); not an in-memory block, which counted nothing. */
function tookUnits(err: unknown): boolean {
  return err instanceof RateLimiterRes && err.consumedPoints > 0;
}

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
        // Once a caller is over a rate limit, refuse it in memory until the window ends: no Redis
        // trip. Not for budgets: a call too expensive for what is left must not block cheaper ones.
        ...(isBudget(c.kind) ? {} : { inMemoryBlockOnConsumed: c.points + 1 }),
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
   * longest wait; then every unit this call took is given back, so a refused call spends nothing
   * (a budget keeps its remaining units for cheaper calls; other limits are not eaten into).
   */
  async consume(checks: readonly LimitCheck[]): Promise<LimitRefusal | null> {
    if (checks.length === 1) {
      const c = checks[0]!;
      try {
        await this.#limiter(c).consume(c.key, c.cost);
        return null;
      } catch (err) {
        const r = this.#refusal(c, err);
        if (r && tookUnits(err)) await this.#giveBack(c);
        return r;
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
      // Awaited (refusal path only), so the next call of this caller sees the units back.
      await Promise.all(
        checks.map((c, i) =>
          settled[i]!.status === 'fulfilled' || tookUnits((settled[i] as PromiseRejectedResult).reason)
            ? this.#giveBack(c)
            : undefined,
        ),
      );
    }
    return worst;
  }

  async #giveBack(c: LimitCheck): Promise<void> {
    await this.#limiter(c)
      .reward(c.key, c.cost)
      .catch(() => {});
  }

  #refusal(c: LimitCheck, err: unknown): LimitRefusal | null {
    if (err instanceof RateLimiterRes) {
      return {
        kind: c.kind,
        points: c.points,
        windowSeconds: c.windowSeconds,
        cost: c.cost,
        retryAfterMs: Math.max(1, err.msBeforeNext),
      };
    }
    // Neither Redis nor the insurance limiter answered (should not happen): let the call through.
    this.#opts.onStoreError?.(err);
    return null;
  }
}
