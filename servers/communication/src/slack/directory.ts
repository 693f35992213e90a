// A cached snapshot of the workspace's conversations and users, used to resolve destinations
// (names to ids) before the allow-list check. Refreshed on a TTL, and on a miss (at most every few seconds).

/** One conversation as the directory keeps it. */
export interface SlackChannelEntry {
  id: string;
  /** Channel name without `#` (empty for DMs). */
  name: string;
  isPrivate: boolean;
  isExtShared: boolean;
  /** A direct message (D…) or group DM. */
  isIm: boolean;
  isArchived: boolean;
  /** The bot is a member (it can read and post). */
  isMember: boolean;
  /** DM peer (user id), for IMs. */
  user?: string;
}

/** One user as the directory keeps it. */
export interface SlackUserEntry {
  id: string;
  name: string;
  email?: string;
  isBot: boolean;
  deleted: boolean;
}

/** A snapshot of the workspace. */
export interface DirectorySnapshot {
  channels: readonly SlackChannelEntry[];
  users: readonly SlackUserEntry[];
}

/** Lookups over one snapshot. */
export class Directory {
  readonly #byId = new Map<string, SlackChannelEntry>();
  readonly #byName = new Map<string, SlackChannelEntry[]>();
  readonly #users = new Map<string, SlackUserEntry>();
  readonly #usersByName = new Map<string, SlackUserEntry[]>();
  readonly #imByUser = new Map<string, SlackChannelEntry>();

  constructor(readonly snapshot: DirectorySnapshot) {
    for (const c of snapshot.channels) {
      this.#byId.set(c.id, c);
      if (c.name && !c.isIm) this.#byName.set(c.name, [...(this.#byName.get(c.name) ?? []), c]);
      if (c.isIm && c.user) this.#imByUser.set(c.user, c);
    }
    for (const u of snapshot.users) {
      this.#users.set(u.id, u);
      this.#usersByName.set(u.name, [...(this.#usersByName.get(u.name) ?? []), u]);
    }
  }

  /** The conversation with exactly this id. */
  channel(id: string): SlackChannelEntry | undefined {
    return this.#byId.get(id);
  }

  /** The conversations with exactly this name (more than one means the name is ambiguous). */
  channelsNamed(name: string): readonly SlackChannelEntry[] {
    return this.#byName.get(name) ?? [];
  }

  /** The user with exactly this id. */
  user(id: string): SlackUserEntry | undefined {
    return this.#users.get(id);
  }

  /** The users with exactly this handle. */
  usersNamed(name: string): readonly SlackUserEntry[] {
    return this.#usersByName.get(name) ?? [];
  }

  /** The DM the bot already has with a user. */
  imWith(userId: string): SlackChannelEntry | undefined {
    return this.#imByUser.get(userId);
  }

  /** True when `id` is an active human user (mentions may name only those). */
  isUser(id: string): boolean {
    const u = this.#users.get(id);
    return u !== undefined && !u.deleted && !u.isBot;
  }
}

/**
 * Keeps a directory fresh: `get()` answers from cache within the TTL; `refresh()` reloads (one load at a
 * time, and not more often than `minRefreshMs`, so a stream of misses cannot flood Slack).
 */
export class DirectoryCache {
  #current: { dir: Directory; at: number } | undefined;
  #loading: Promise<Directory> | undefined;

  constructor(
    private readonly load: () => Promise<DirectorySnapshot>,
    private readonly ttlMs = 60_000,
    private readonly minRefreshMs = 5_000,
  ) {}

  /** The directory, loaded when absent or older than the TTL. */
  async get(): Promise<Directory> {
    const c = this.#current;
    if (c && Date.now() - c.at < this.ttlMs) return c.dir;
    return this.refresh(true);
  }

  /** Reloads after a miss (skipped when the directory is younger than `minRefreshMs`, unless `force`). */
  async refresh(force = false): Promise<Directory> {
    const c = this.#current;
    if (!force && c && Date.now() - c.at < this.minRefreshMs) return c.dir;
    this.#loading ??= this.load()
      .then((snap) => {
        const dir = new Directory(snap);
        this.#current = { dir, at: Date.now() };
        return dir;
      })
      .finally(() => {
        this.#loading = undefined;
      });
    return this.#loading;
  }

  /** Forgets the snapshot (tests, and after a workspace change the caller knows of). */
  invalidate(): void {
    this.#current = undefined;
  }
}
