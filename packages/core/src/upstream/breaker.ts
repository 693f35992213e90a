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

/** An answer from the upstream itself (a status it sent that is not an outage): proof that it is up. */
const isAnswer = (e: unknown): boolean => isUpstreamFailure(e) && e.status !== undefined && !counts(e);

/**
 * A trial request (half-open) that ended without an answer from the upstream — cancelled by its caller,
 * or failed before the upstream said anything. It proves nothing, so it counts as a failure and the
 * breaker stays open (cockatiel would count any error it does not handle as a success, and close).
 */
class InconclusiveTrial extends Error {
  constructor(readonly inner: unknown) {
    super('inconclusive trial request');
  }
}

/** A circuit breaker around every request a connector makes to its upstream. */
export class UpstreamBreaker {
  readonly system: string;
  private readonly policy: CircuitBreakerPolicy;
  private readonly halfOpenAfterMs: number;
  private openedAt: number | undefined;

  constructor(system: string, opts: BreakerOptions = {}) {
    this.system = system;
    this.halfOpenAfterMs = opts.halfOpenAfterMs ?? 30_000;
    this.policy = circuitBreaker(
      handleWhen((e) => counts(e) || e instanceof InconclusiveTrial),
      {
        halfOpenAfter: this.halfOpenAfterMs,
        breaker: new ConsecutiveBreaker(opts.threshold ?? 5),
      },
    );
    this.policy.onBreak(() => {
      this.openedAt = Date.now();
    });
    this.policy.onReset(() => {
      this.openedAt = undefined;
    });
  }

  /**
   * Runs one upstream request. Throws UpstreamFailure('unavailable') without calling `fn` while the
   * breaker is open, and while a trial request of a half-open breaker is in flight (other calls fail
   * fast rather than queue behind it); otherwise whatever `fn` throws (connectors throw UpstreamFailure).
   */
  async execute<T>(fn: () => Promise<T>): Promise<T> {
    // Half-open means a trial is running (cockatiel enters that state only inside the trial's execute).
    if (this.policy.state === CircuitState.HalfOpen) throw this.pausedFailure();
    const trial = this.policy.state !== CircuitState.Closed;
    try {
      return await this.policy.execute(() =>
        trial
          ? fn().catch((e: unknown) => {
              throw isAnswer(e) || counts(e) ? e : new InconclusiveTrial(e);
            })
          : fn(),
      );
    } catch (e) {
      if (e instanceof InconclusiveTrial) throw e.inner;
      if (e instanceof BrokenCircuitError || e instanceof IsolatedCircuitError) throw this.pausedFailure(e);
      throw e;
    }
  }

  /** The failure a call gets while calls are paused, with how long until the next trial. */
  private pausedFailure(cause?: unknown): UpstreamFailure {
    const left = this.openedAt === undefined ? undefined : this.openedAt + this.halfOpenAfterMs - Date.now();
    return new UpstreamFailure(
      this.system,
      'unavailable',
      'several requests in a row failed, so calls are paused',
      {
        retryAfterMs: left === undefined ? this.halfOpenAfterMs : Math.max(1000, left),
        notSent: true,
        ...(cause === undefined ? {} : { cause }),
      },
    );
  }

  /**
   * Calls are refused right now: open and still within its pause, or half-open with the trial in flight.
   * An open breaker whose pause is over lets the next call through as its trial, so it is not paused
   * (readiness says so, rather than "open" for as long as nobody calls).
   */
  get paused(): boolean {
    const s = this.state;
    if (s === 'half_open') return true;
    if (s !== 'open') return false;
    return this.openedAt === undefined || Date.now() < this.openedAt + this.halfOpenAfterMs;
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

/**
 * One breaker per key of an upstream, e.g. per tenant: where each tenant reaches its own account, portal
 * or org, one tenant's broken org must not pause every other tenant's calls. Created on first use; the
 * group's state is the worst of its breakers (for readiness and metrics).
 */
export class UpstreamBreakers {
  readonly system: string;
  private readonly opts: BreakerOptions;
  private readonly byKey = new Map<string, UpstreamBreaker>();

  constructor(system: string, opts: BreakerOptions = {}) {
    this.system = system;
    this.opts = opts;
  }

  /** The breaker of one key (created closed on first use). */
  of(key: string): UpstreamBreaker {
    let b = this.byKey.get(key);
    if (!b) {
      b = new UpstreamBreaker(this.system, this.opts);
      this.byKey.set(key, b);
    }
    return b;
  }

  /** The keys whose calls are paused right now (see {@link UpstreamBreaker.paused}), with the state. */
  pausedKeys(): { key: string; state: BreakerState }[] {
    return [...this.byKey].filter(([, b]) => b.paused).map(([key, b]) => ({ key, state: b.state }));
  }

  /** Some key's calls are paused right now. */
  get paused(): boolean {
    return [...this.byKey.values()].some((b) => b.paused);
  }

  /** open if any breaker is open, half_open if any is half-open, otherwise closed. */
  get state(): BreakerState {
    const states = new Set([...this.byKey.values()].map((b) => b.state));
    return states.has('open') ? 'open' : states.has('half_open') ? 'half_open' : 'closed';
  }
}
