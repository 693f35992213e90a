// One call's cancellation: who cancelled it (client disconnect, notifications/cancelled, timeout) and
// why, with an AbortSignal built only when something asks for one. A trivial call never builds an
// AbortController: creating, linking and aborting two of them per call was ~5 % of a governed call's
// CPU in the bench profile (`BENCH_PROFILE=fleet-governed pnpm bench`).

/**
 * What cancelled a call (`parent`: the tool that made this nested call ended or was cancelled;
 * `suspension`: a person suspended the calling agent while the call was in flight).
 */
export type CancelSource = 'disconnect' | 'notification' | 'timeout' | 'finished' | 'parent' | 'suspension';

/** Cancellation state of one tool call, shared by the protocol host and the handler run. */
export class CallCancellation {
  #source: CancelSource | undefined;
  #reason: unknown;
  #controller: AbortController | undefined;
  #listeners: ((reason: unknown) => void)[] | undefined;
  #committed = false;
  #guards: (() => void)[] | undefined;

  /** Builds one that is cancelled when `signal` aborts (the SDK path hands the host a signal). */
  static from(signal: AbortSignal | undefined, source: CancelSource = 'disconnect'): CallCancellation {
    const c = new CallCancellation();
    if (!signal) return c;
    if (signal.aborted) c.cancel(source, signal.reason);
    else signal.addEventListener('abort', () => c.cancel(source, signal.reason), { once: true });
    return c;
  }

  /** True once cancelled (for any reason, including the call having finished). */
  get cancelled(): boolean {
    return this.#source !== undefined;
  }

  /** What cancelled the call, if anything has. */
  get source(): CancelSource | undefined {
    return this.#source;
  }

  get reason(): unknown {
    return this.#reason;
  }

  /** An AbortSignal that fires on cancellation (built on first use). */
  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#source !== undefined) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  /** True once the handler passed its point of no return ({@link commit}). */
  get committed(): boolean {
    return this.#committed;
  }

  /**
   * The point of no return: throws the cancellation's reason if the call was already cancelled (so
   * the change never starts), else makes every later cancellation a no-op except the call's own end.
   */
  commit(): void {
    if (this.#guards) for (const guard of this.#guards) guard();
    if (this.#source !== undefined) throw this.#reason;
    this.#committed = true;
  }

  /**
   * Runs `guard` at {@link commit}, before the point of no return is passed: it may cancel the call
   * (e.g. the agent was suspended since the call was admitted), and then the change never starts.
   */
  beforeCommit(guard: () => void): void {
    this.#guards ??= [];
    this.#guards.push(guard);
  }

  /**
   * Cancels once; later calls are ignored, and so is anything but `finished` after {@link commit}.
   * Returns whether this call cancelled it.
   */
  cancel(source: CancelSource, reason: unknown): boolean {
    if (this.#source !== undefined || (this.#committed && source !== 'finished')) return false;
    this.#source = source;
    this.#reason = reason;
    const listeners = this.#listeners;
    this.#listeners = undefined;
    if (listeners) for (const fn of listeners) fn(reason);
    this.#controller?.abort(reason);
    return true;
  }

  /** Runs `fn` on cancellation (at once if already cancelled). Returns an unsubscribe function. */
  onCancel(fn: (reason: unknown) => void): () => void {
    if (this.#source !== undefined) {
      fn(this.#reason);
      return () => {};
    }
    const listeners = this.#listeners ?? [];
    this.#listeners = listeners;
    listeners.push(fn);
    return () => {
      const i = listeners.indexOf(fn);
      if (i >= 0) listeners.splice(i, 1);
    };
  }
}
