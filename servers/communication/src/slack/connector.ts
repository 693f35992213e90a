// The Slack connector: the official WebClient (no retries, rate limits rejected, a timeout), every request
// through the breaker, its errors classified into UpstreamFailure, and the cached workspace directory.
import { AsyncLocalStorage } from 'node:async_hooks';
import { type Logger, withUpstreamSpan } from '@mcp-fleet/core';
import { type WebAPICallResult, WebClient } from '@slack/web-api';
import type { UpstreamBreaker } from '../upstream/breaker.js';
import {
  DirectoryCache,
  type DirectorySnapshot,
  type SlackChannelEntry,
  type SlackUserEntry,
} from './directory.js';
import { classifySlackError } from './errors.js';

/** Options of {@link SlackConnector.open}. */
export interface SlackConnectorOptions {
  token: string;
  /** Web API base URL, ending in `/` (https://slack.com/api/ or a simulator). */
  apiUrl: string;
  /** Timeout of one request (ms). */
  timeoutMs: number;
  breaker: UpstreamBreaker;
  logger: Logger;
  /** How long the channel/user directory is trusted (ms, default 60 s). */
  directoryTtlMs?: number;
}

/** One message as read from a channel or thread. */
export interface SlackMessageData {
  ts: string;
  user?: string;
  botId?: string;
  text: string;
  threadTs?: string;
  replyCount?: number;
}

/** The Slack Web API as the tools use it. */
export class SlackConnector {
  readonly #client: WebClient;
  readonly #breaker: UpstreamBreaker;
  readonly #timeoutMs: number;
  readonly #signal = new AsyncLocalStorage<AbortSignal>();
  readonly #directory: DirectoryCache;

  private constructor(opts: SlackConnectorOptions) {
    this.#breaker = opts.breaker;
    this.#timeoutMs = opts.timeoutMs;
    const signals = this.#signal;
    this.#client = new WebClient(opts.token, {
      slackApiUrl: opts.apiUrl.endsWith('/') ? opts.apiUrl : `${opts.apiUrl}/`,
      retryConfig: { retries: 0 },
      rejectRateLimitedCalls: true,
      timeout: opts.timeoutMs,
      allowAbsoluteUrls: false,
      // WebClient takes no per-call signal: the caller's signal rides along in async context.
      fetch: (url, init) => {
        const caller = signals.getStore();
        const signal =
          caller && init?.signal ? AbortSignal.any([caller, init.signal]) : (caller ?? init?.signal);
        return fetch(url, { ...init, signal: signal ?? null, redirect: 'error' });
      },
      logger: quietLogger(opts.logger),
    });
    this.#directory = new DirectoryCache(() => this.#loadDirectory(), opts.directoryTtlMs ?? 60_000);
  }

  /** Creates the connector (no request is made; `readiness()` checks the token). */
  static async open(opts: SlackConnectorOptions): Promise<SlackConnector> {
    return new SlackConnector(opts);
  }

  /** Throws an UpstreamFailure unless Slack accepts the token (auth.test). */
  async readiness(): Promise<void> {
    await this.call('auth.test', {}, AbortSignal.timeout(this.#timeoutMs));
  }

  /** The workspace directory (cached). */
  directory() {
    return this.#directory.get();
  }

  /** Reloads the directory after a miss (rate-limited internally). */
  refreshDirectory() {
    return this.#directory.refresh();
  }

  /** Calls one Web API method through the breaker; throws UpstreamFailure (or the caller's abort). */
  async call(
    method: string,
    params: Record<string, unknown>,
    signal: AbortSignal,
  ): Promise<WebAPICallResult> {
    signal.throwIfAborted();
    return withUpstreamSpan(`slack ${method}`, { 'upstream.system': 'slack', 'rpc.method': method }, () =>
      this.#breaker.execute(() =>
        this.#signal.run(signal, async () => {
          try {
            return await this.#client.apiCall(method, params);
          } catch (err) {
            if (signal.aborted) throw signal.reason;
            throw classifySlackError(err, this.#timeoutMs);
          }
        }),
      ),
    );
  }

  /** Recent top-level messages of a channel, newest first, or one thread (parent first). */
  async messages(channel: string, limit: number, threadTs: string | undefined, signal: AbortSignal) {
    const r = threadTs
      ? await this.call('conversations.replies', { channel, ts: threadTs, limit }, signal)
      : await this.call('conversations.history', { channel, limit }, signal);
    const list = (r as { messages?: Record<string, unknown>[] }).messages ?? [];
    return list.slice(0, limit).map(
      (m): SlackMessageData => ({
        ts: String(m.ts ?? ''),
        ...(typeof m.user === 'string' ? { user: m.user } : {}),
        ...(typeof m.bot_id === 'string' ? { botId: m.bot_id } : {}),
        text: typeof m.text === 'string' ? m.text : '',
        ...(typeof m.thread_ts === 'string' ? { threadTs: m.thread_ts } : {}),
        ...(typeof m.reply_count === 'number' ? { replyCount: m.reply_count } : {}),
      }),
    );
  }

  /**
   * Posts one message: link previews off, no name linking, no `parse: full`. Sent once: the client
   * never retries, so a failure after this call started may or may not have posted.
   */
  async postMessage(
    p: { channel: string; text: string; threadTs?: string },
    signal: AbortSignal,
  ): Promise<{ ts: string; channel: string }> {
    const r = (await this.call(
      'chat.postMessage',
      {
        channel: p.channel,
        text: p.text,
        ...(p.threadTs ? { thread_ts: p.threadTs } : {}),
        unfurl_links: false,
        unfurl_media: false,
        parse: 'none',
        mrkdwn: true,
      },
      signal,
    )) as { ts?: string; channel?: string };
    return { ts: String(r.ts ?? ''), channel: String(r.channel ?? p.channel) };
  }

  async #loadDirectory(): Promise<DirectorySnapshot> {
    const signal = AbortSignal.timeout(this.#timeoutMs * 3);
    const channels: SlackChannelEntry[] = [];
    for await (const page of this.#pages('conversations.list', 'channels', signal, {
      types: 'public_channel,private_channel,mpim,im',
      exclude_archived: false,
    })) {
      const c = page as Record<string, unknown>;
      if (typeof c.id !== 'string') continue;
      channels.push({
        id: c.id,
        name: typeof c.name === 'string' ? c.name : '',
        isPrivate: c.is_private === true || c.is_im === true,
        isExtShared: c.is_ext_shared === true || c.is_shared === true,
        isIm: c.is_im === true || c.is_mpim === true,
        isArchived: c.is_archived === true,
        isMember: c.is_member === true || c.is_im === true,
        ...(typeof c.user === 'string' ? { user: c.user } : {}),
      });
    }
    const users: SlackUserEntry[] = [];
    for await (const page of this.#pages('users.list', 'members', signal, {})) {
      const u = page as Record<string, unknown>;
      if (typeof u.id !== 'string') continue;
      const profile = (u.profile ?? {}) as Record<string, unknown>;
      users.push({
        id: u.id,
        name: typeof u.name === 'string' ? u.name : '',
        ...(typeof profile.email === 'string' ? { email: profile.email } : {}),
        isBot: u.is_bot === true || u.id === 'USLACKBOT',
        deleted: u.deleted === true,
      });
    }
    return { channels, users };
  }

  async *#pages(method: string, key: string, signal: AbortSignal, params: Record<string, unknown>) {
    let cursor: string | undefined;
    for (let i = 0; i < 50; i++) {
      const page = { ...params, limit: 200, ...(cursor ? { cursor } : {}) };
      const r = (await this.call(method, page, signal)) as unknown as Record<string, unknown>;
      for (const item of (r[key] as unknown[] | undefined) ?? []) yield item;
      cursor = (r.response_metadata as { next_cursor?: string } | undefined)?.next_cursor || undefined;
      if (!cursor) return;
    }
  }
}

/** WebClient's logger, quiet: its warnings can carry request URLs; debug never. */
function quietLogger(logger: Logger) {
  let level = 'warn';
  const noop = () => {};
  return {
    debug: noop,
    info: noop,
    warn: (...msg: unknown[]) =>
      logger.warn({ slack: msg.map(String).join(' ').slice(0, 200) }, 'slack client'),
    error: (...msg: unknown[]) =>
      logger.error({ slack: msg.map(String).join(' ').slice(0, 200) }, 'slack client'),
    setLevel: (l: string) => {
      level = l;
    },
    getLevel: () => level,
    setName: noop,
  } as unknown as ConstructorParameters<typeof WebClient>[1] extends infer O
    ? O extends { logger?: infer L }
      ? L
      : never
    : never;
}
