// Where the local IdP keeps its state (sessions, interactions, codes, grants, registered clients):
// in this process's memory, on purpose. A restart of `fleet start` signs everyone out and forgets
// registered MCP clients (they register again). Entries expire with the lifetime oidc-provider gives.
import type { Adapter, AdapterPayload } from 'oidc-provider';

interface Entry {
  payload: AdapterPayload;
  expiresAt: number | undefined;
}

/** One store per IdP, shared by the adapter instances oidc-provider makes (one per model name). */
export class MemoryStore {
  readonly #entries = new Map<string, Entry>();
  readonly #byUid = new Map<string, string>();
  readonly #byUserCode = new Map<string, string>();
  readonly #byGrant = new Map<string, Set<string>>();

  /** The adapter class oidc-provider instantiates per model. */
  adapter(): new (name: string) => Adapter {
    const store = this;
    return class implements Adapter {
      constructor(readonly name: string) {}
      #key(id: string) {
        return `${this.name}:${id}`;
      }
      async upsert(id: string, payload: AdapterPayload, expiresIn: number) {
        const key = this.#key(id);
        store.#entries.set(key, {
          payload,
          expiresAt: expiresIn ? Date.now() + expiresIn * 1000 : undefined,
        });
        if (payload.uid) store.#byUid.set(payload.uid, key);
        if (payload.userCode) store.#byUserCode.set(payload.userCode, key);
        if (payload.grantId) {
          const keys = store.#byGrant.get(payload.grantId) ?? new Set<string>();
          keys.add(key);
          store.#byGrant.set(payload.grantId, keys);
        }
      }
      async find(id: string) {
        return store.get(this.#key(id));
      }
      async findByUid(uid: string) {
        const key = store.#byUid.get(uid);
        return key ? store.get(key) : undefined;
      }
      async findByUserCode(userCode: string) {
        const key = store.#byUserCode.get(userCode);
        return key ? store.get(key) : undefined;
      }
      async consume(id: string) {
        const entry = store.#entries.get(this.#key(id));
        if (entry) entry.payload.consumed = Math.floor(Date.now() / 1000);
      }
      async destroy(id: string) {
        store.delete(this.#key(id));
      }
      async revokeByGrantId(grantId: string) {
        for (const key of store.#byGrant.get(grantId) ?? []) store.delete(key);
        store.#byGrant.delete(grantId);
      }
    };
  }

  get(key: string): AdapterPayload | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt !== undefined && entry.expiresAt <= Date.now()) {
      this.delete(key);
      return undefined;
    }
    return entry.payload;
  }

  delete(key: string): void {
    const entry = this.#entries.get(key);
    if (!entry) return;
    this.#entries.delete(key);
    if (entry.payload.uid) this.#byUid.delete(entry.payload.uid);
    if (entry.payload.userCode) this.#byUserCode.delete(entry.payload.userCode);
  }

  /** Drops every expired entry (run now and then, so a long-running fleet does not grow without bound). */
  sweep(): void {
    const now = Date.now();
    for (const [key, entry] of this.#entries) {
      if (entry.expiresAt !== undefined && entry.expiresAt <= now) this.delete(key);
    }
    for (const [grant, keys] of this.#byGrant) {
      for (const key of keys) if (!this.#entries.has(key)) keys.delete(key);
      if (keys.size === 0) this.#byGrant.delete(grant);
    }
  }
}
