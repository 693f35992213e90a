// What the tools reach. The example catalog stands in for the real system: replace it with that
// system's client, opened in definition.ts's connect.
import type { CommunicationConfig } from './config.js';

/** One item of the example catalog. */
export interface Item {
  id: string;
  title: string;
  category: string;
}

/** An in-memory catalog (the example upstream). */
export class ExampleCatalog {
  readonly #items: readonly Item[] = [
    { id: 'item-1', title: 'Welcome guide', category: 'public' },
    { id: 'item-2', title: 'Price list', category: 'public' },
    { id: 'item-3', title: 'Quarterly plan', category: 'internal' },
  ];

  /** The items of one category, at most `limit`. */
  async list(category: string, limit: number, signal: AbortSignal): Promise<Item[]> {
    signal.throwIfAborted();
    return this.#items.filter((i) => i.category === category).slice(0, limit);
  }
}

/** What every tool of this server receives as `ctx.connectors`. */
export interface Connectors {
  catalog: ExampleCatalog;
  config: CommunicationConfig;
}
