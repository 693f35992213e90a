// Fault injection shared by every simulator: one-shot and persistent faults keyed by operation
// (a Slack method, a Jira operation, a Teams webhook id, an SMTP stage), so tests can make the upstream misbehave.

/** A failure a simulator produces instead of its normal answer. */
export type Fault =
  /** Answer with this HTTP status (SMTP: this reply code) and the vendor's usual error body. */
  | { status: number; message?: string }
  /** Never answer; the connection stays open until the client gives up or the simulator closes. */
  | { hang: true }
  /** Answer 429 (SMTP: 421/451) with `Retry-After: <seconds>`. */
  | { rateLimit: number }
  /** Answer the vendor's application error with this code (Slack `{ok:false,error}`; Jira 401/400 body). */
  | { error: string }
  /** Close the connection without answering. */
  | { drop: true }
  /**
   * Do the operation (the change lands: a Jira or SCIM write, a Slack method, an SMTP message accepted
   * at the end of DATA), then close the connection instead of answering.
   */
  | { dropAfterCommit: true }
  /** Do the operation (the change lands, as above), then answer only after this many ms. */
  | { delayAfterCommit: number };

/** True for the faults that let the operation happen and only spoil its answer. */
export function isAfterCommit(f: Fault): f is { dropAfterCommit: true } | { delayAfterCommit: number } {
  return 'dropAfterCommit' in f || 'delayAfterCommit' in f;
}

/** The wildcard key: a fault set on it applies to every operation of the simulator. */
export const ANY = '*';

/** Holds one-shot and persistent faults per operation key; `take` consumes the next one that applies. */
export class FaultBox {
  readonly #once = new Map<string, Fault[]>();
  readonly #always = new Map<string, Fault>();

  /** Queue a fault for the next call of `key` (or of anything, with `'*'`). */
  failNext(key: string, fault: Fault): void {
    const list = this.#once.get(key) ?? [];
    list.push(fault);
    this.#once.set(key, list);
  }

  /** Every call of `key` fails this way until `setFault(key, null)` or `clearFaults()`. */
  setFault(key: string, fault: Fault | null): void {
    if (fault) this.#always.set(key, fault);
    else this.#always.delete(key);
  }

  /** Forget every queued and persistent fault. */
  clearFaults(): void {
    this.#once.clear();
    this.#always.clear();
  }

  /** The fault that applies to this call, if any: one-shot before persistent, the given keys before `'*'`. */
  take(key: string | readonly string[]): Fault | undefined {
    const keys = [...(typeof key === 'string' ? [key] : key), ANY];
    for (const k of keys) {
      const list = this.#once.get(k);
      if (list?.length) {
        const f = list.shift();
        if (!list.length) this.#once.delete(k);
        return f;
      }
    }
    for (const k of keys) {
      const f = this.#always.get(k);
      if (f) return f;
    }
    return undefined;
  }
}

/** A promise that never settles: the handler of a hung request waits on it forever (the socket is destroyed on close). */
export function never(): Promise<never> {
  return new Promise<never>(() => {});
}
