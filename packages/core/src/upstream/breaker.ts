// One circuit breaker per upstream (cockatiel): after consecutive 'unavailable'/'timeout' failures the
// upstream is not called for a while and tools answer upstream_unavailable at once; readiness and
// metrics show it (see upstream/readiness.ts).
import {
  BrokenCircuitError,
  type CircuitBreakerPolicy,
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  handleWhen,
  IsolatedCircuitError,
} from 'cockatiel';
import { isUpstreamFailure, UpstreamFailure } from './failure.js';

/** Options of an UpstreamBreaker. */
export interface BreakerOptions {
  /** Consecutive unavailable/timeout failures that open the breaker (default 5). */
  threshold?: number;
  /** How long it stays open before one trial call is let through (ms, default 30 s). */
  halfOpenAfterMs?: number;
}

/** The breaker's state as readiness reports it. */
export type BreakerState = 'closed' | 'open' | 'half_open';

/** Only failures that say "the upstream is not well" count; a refusal or 429 is an answer, not an outage. */
const counts = (e: unknown): boolean =>
  isUpstreamFailure(e) && (e.kind === 'unavailable' || e.kind === 'timeout');

/** A circuit breaker around every request a connector makes to its upstream. */
export class UpstreamBreaker {
  readonly system: string;
  private readonly policy: CircuitBreakerPolicy;
  private readonly halfOpenAfterMs: number;
  private openedAt: number | undefined;

  constructor(system: string, opts: BreakerOptions = {}) {
    this.system = system;
    this.halfOpenAfterMs = opts.halfOpenAfterMs ?? 30_000;
    this.policy = circuitBreaker(handleWhen(counts), {
      halfOpenAfter: this.halfOpenAfterMs,
      breaker: new ConsecutiveBreaker(opts.threshold ?? 5),
    });
    this.policy.onBreak(() => {
      this.openedAt = Date.now();
    });
    this.policy.onReset(() => {
      this.openedAt = undefined;
    });
  }

  /**
   * Runs one upstream request. Throws UpstreamFailure('unavailable') without calling `fn` while the
   * breaker is open; otherwise whatever `fn` throws (connectors throw UpstreamFailure).
   */
  async execute<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await this.policy.execute(() => fn());
    } catch (e) {
      if (e instanceof BrokenCircuitError || e instanceof IsolatedCircuitError) {
        const left =
          this.openedAt === undefined ? undefined : this.openedAt + this.halfOpenAfterMs - Date.now();
        throw new UpstreamFailure(
          this.system,
          'unavailable',
          'several requests in a row failed, so calls are paused',
          {
            retryAfterMs: left === undefined ? this.halfOpenAfterMs : Math.max(1000, left),
            cause: e,
          },
        );
      }
      throw e;
    }
  }

  /** closed (calls go through), open (calls refused at once), half_open (one trial call goes through). */
  get state(): BreakerState {
    switch (this.policy.state) {
      case CircuitState.Closed:
        return 'closed';
      case CircuitState.HalfOpen:
        return 'half_open';
      default:
        return 'open';
    }
  }
}
