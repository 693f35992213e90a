// One ticket write per idempotency key: look the key up, hold back while an earlier attempt of the
// key may still be on its way to the ticket system, then write; concurrent identical calls share one.
import { ToolError } from '@mcp-fleet/core';
import { isUpstreamFailure } from '../upstream/failures.js';
import type { TicketCallOptions, WriteOutcome } from './backend.js';

/**
 * True when a failed write got no answer at all and may still be travelling to the ticket system
 * (our timeout, a gateway's 504): it can land later, so a retry must not write at once. A dropped
 * connection or a 5xx the server answered is different: the request got there, a lookup settles it.
 */
export function mayStillLand(err: unknown): boolean {
  return isUpstreamFailure(err) && (err.kind === 'timeout' || err.status === 504);
}

/** Waits `ms`, or rejects when `signal` fires. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Most keys remembered as unsettled (oldest forgotten first). */
const MAX_UNSETTLED = 10_000;

/**
 * The exactly-once guard of one backend (per process). `settleMs` is how long after a write without
 * an answer its request is assumed able to land (2 × the request timeout); `requestMs` is one
 * request's timeout (the time a recheck and the write need after waiting).
 */
export class ExactlyOnce {
  readonly #inflight = new Map<string, Promise<WriteOutcome>>();
  /** Epoch ms at which a write of the key failed without an answer, for keys still settling. */
  readonly #unsettled = new Map<string, number>();

  constructor(
    readonly settleMs: number,
    readonly requestMs: number,
  ) {}

  /**
   * Runs `find`, then `write` only when nothing was found. When an earlier attempt of this key in
   * this process got no answer less than `settleMs` ago, the write waits out the rest of that time and
   * looks again first (if the wait, the recheck and the write fit before the deadline), otherwise it
   * refuses, nothing sent, saying when to retry. `opts.commit` is called right before `write`.
   */
  run<T extends WriteOutcome>(
    key: string,
    thing: 'ticket' | 'comment',
    opts: TicketCallOptions,
    find: () => Promise<T | null>,
    write: () => Promise<T>,
  ): Promise<T> {
    const running = this.#inflight.get(key) as Promise<T> | undefined;
    if (running) return running.then((o) => ({ ...o, created: false }));
    const p = this.#settle(key, thing, opts, find, write).finally(() => this.#inflight.delete(key));
    this.#inflight.set(key, p);
    return p;
  }

  async #settle<T extends WriteOutcome>(
    key: string,
    thing: 'ticket' | 'comment',
    opts: TicketCallOptions,
    find: () => Promise<T | null>,
    write: () => Promise<T>,
  ): Promise<T> {
    const found = await find();
    if (found) return found;
    const wait = this.#waitFor(key);
    if (wait > 0) {
      if (opts.deadline === undefined || Date.now() + wait + 2 * this.requestMs > opts.deadline)
        throw new ToolError(
          `An earlier attempt of this same request got no answer from Jira and may still reach it, so nothing was sent now. ` +
            `Retry with the same idempotency_key after ${Math.ceil(wait / 1000)} s: it will find the ${thing} if that attempt landed, ` +
            `and ${thing === 'ticket' ? 'create' : 'add'} it only if not.`,
          'upstream_timeout',
          { retryAfterMs: wait, rerunSafe: true },
        );
      await sleep(wait, opts.signal);
      const later = await find();
      if (later) return later;
    }
    opts.commit?.();
    try {
      return await write();
    } catch (err) {
      // No answer (or the call itself was cancelled mid-request): the request may still land.
      if (mayStillLand(err) || opts.signal.aborted) this.#markUnsettled(key);
      throw err;
    }
  }

  /** Ms left of the key's settle time (0 when none). */
  #waitFor(key: string): number {
    const at = this.#unsettled.get(key);
    if (at === undefined) return 0;
    const left = at + this.settleMs - Date.now();
    if (left <= 0) this.#unsettled.delete(key);
    return Math.max(0, left);
  }

  #markUnsettled(key: string): void {
    const now = Date.now();
    for (const [k, at] of this.#unsettled) if (at + this.settleMs <= now) this.#unsettled.delete(k);
    this.#unsettled.delete(key);
    this.#unsettled.set(key, now);
    while (this.#unsettled.size > MAX_UNSETTLED) {
      const oldest = this.#unsettled.keys().next().value as string;
      this.#unsettled.delete(oldest);
    }
  }
}
