// Spots redundant calls: the same tool with the same arguments again within one agent session.
// Per replica (an in-process LRU), which is enough to find wasteful agents in /metrics.
import { LRUCache } from 'lru-cache';

const WINDOW_MS = 10 * 60_000;

/** Remembers recent (session, tool, arguments) fingerprints. */
export class RedundantCalls {
  readonly #seen = new LRUCache<string, number>({ max: 50_000 });

  /** Records a call; true when the same call was seen in this session within the last 10 minutes. */
  observe(session: string, tool: string, argsHash: string): boolean {
    const key = `${session}\u0000${tool}\u0000${argsHash}`;
    const now = Date.now();
    const last = this.#seen.get(key);
    this.#seen.set(key, now);
    return last !== undefined && now - last < WINDOW_MS;
  }
}
