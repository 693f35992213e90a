// The simulated Slack workspace's state and its JSON shapes (channel, user, message objects as the Web API
// returns them), plus Slack-style cursor pagination.
import {
  SLACK_IDS,
  type SlackChannel,
  type SlackMessage,
  type SlackUser,
  seedChannels,
  seedMessages,
  seedUsergroups,
  seedUsers,
} from './seed.js';

/** Slack's answer for an application error. */
export class SlackError extends Error {
  constructor(readonly code: string) {
    super(code);
  }
}

/** Mutable state of the workspace: channels, users, messages, and the ts clock for new messages. */
export class SlackWorkspace {
  readonly channels: SlackChannel[] = seedChannels();
  readonly users: SlackUser[] = seedUsers();
  readonly usergroups = seedUsergroups();
  readonly messages: Map<string, SlackMessage[]> = seedMessages();
  #seq = 0;

  /** A fresh message ts, `1732000001.000100` and upward, unique and increasing. */
  nextTs(): string {
    this.#seq += 1;
    return `${1_732_000_000 + this.#seq}.000100`;
  }

  /** Finds a conversation by id, `name` or `#name`; throws `channel_not_found`. */
  channel(ref: unknown): SlackChannel {
    if (typeof ref !== 'string' || !ref) throw new SlackError('channel_not_found');
    const name = ref.startsWith('#') ? ref.slice(1) : ref;
    const c = this.channels.find((ch) => ch.id === ref || (!ch.isIm && ch.name === name));
    // Private channels the bot is not in are invisible to it, as in Slack.
    if (!c || (c.isPrivate && !c.isMember)) throw new SlackError('channel_not_found');
    return c;
  }

  /** The DM with `userId`, opened if needed. */
  openIm(userId: string): SlackChannel {
    const existing = this.channels.find((c) => c.isIm && c.user === userId);
    if (existing) return existing;
    const dm: SlackChannel = {
      id: `D0${userId.slice(2, 10).padEnd(8, '0')}`,
      name: '',
      isPrivate: true,
      isIm: true,
      isArchived: false,
      isExtShared: false,
      isGeneral: false,
      isMember: true,
      user: userId,
      topic: '',
      purpose: '',
      created: Math.floor(Date.now() / 1000),
    };
    this.channels.push(dm);
    this.messages.set(dm.id, []);
    return dm;
  }

  /** Finds a user by id; throws `user_not_found`. */
  user(id: unknown): SlackUser {
    const u = this.users.find((x) => x.id === id);
    if (!u) throw new SlackError('user_not_found');
    return u;
  }

  /** Messages of a channel, oldest first (top-level and replies). */
  history(channelId: string): SlackMessage[] {
    let list = this.messages.get(channelId);
    if (!list) {
      list = [];
      this.messages.set(channelId, list);
    }
    return list;
  }

  /** A message of a channel by ts; throws `message_not_found`. */
  message(channelId: string, ts: unknown): SlackMessage {
    const msg = this.history(channelId).find((x) => x.ts === ts);
    if (!msg) throw new SlackError('message_not_found');
    return msg;
  }
}

/** A channel as conversations.list / conversations.info return it. */
export function channelJson(c: SlackChannel, ws: SlackWorkspace) {
  if (c.isIm) {
    return {
      id: c.id,
      created: c.created,
      is_im: true,
      is_org_shared: false,
      user: c.user,
      is_user_deleted: false,
    };
  }
  return {
    id: c.id,
    name: c.name,
    is_channel: !c.isPrivate,
    is_group: c.isPrivate,
    is_im: false,
    is_mpim: false,
    is_private: c.isPrivate,
    created: c.created,
    is_archived: c.isArchived,
    is_general: c.isGeneral,
    unlinked: 0,
    name_normalized: c.name,
    is_shared: c.isExtShared,
    is_ext_shared: c.isExtShared,
    is_org_shared: false,
    is_pending_ext_shared: false,
    is_member: c.isMember,
    creator: 'U0CEO00001',
    topic: { value: c.topic, creator: '', last_set: 0 },
    purpose: { value: c.purpose, creator: '', last_set: 0 },
    previous_names: [],
    num_members: ws.users.length,
  };
}

/** A user as users.list / users.info return it. */
export function userJson(u: SlackUser) {
  return {
    id: u.id,
    team_id: SLACK_IDS.teamId,
    name: u.name,
    deleted: false,
    real_name: u.realName,
    tz: 'Europe/Paris',
    is_admin: u.isAdmin,
    is_owner: false,
    is_bot: u.isBot,
    is_app_user: false,
    profile: {
      real_name: u.realName,
      display_name: u.name,
      ...(u.email ? { email: u.email } : {}),
      ...(u.isBot ? { bot_id: SLACK_IDS.botId } : {}),
    },
  };
}

/** A message with the thread summary Slack adds to parents. */
export function messageJson(msg: SlackMessage, all: SlackMessage[]) {
  const replies = all.filter((r) => r.thread_ts === msg.ts && r.ts !== msg.ts);
  if (!replies.length) return { ...msg };
  return {
    ...msg,
    thread_ts: msg.ts,
    reply_count: replies.length,
    reply_users: [...new Set(replies.map((r) => r.user ?? r.bot_id))],
    latest_reply: replies[replies.length - 1]!.ts,
  };
}

/** One page of `items` for Slack's cursor pagination; throws `invalid_cursor`. */
export function paginate<T>(items: T[], cursor: unknown, limit: unknown, def = 100) {
  let start = 0;
  if (typeof cursor === 'string' && cursor) {
    const m = /^offset:(\d+)$/.exec(Buffer.from(cursor, 'base64').toString('utf8'));
    if (!m) throw new SlackError('invalid_cursor');
    start = Number(m[1]);
  }
  const n = Math.min(Math.max(Number(limit) || def, 1), 1000);
  const page = items.slice(start, start + n);
  const next = start + n < items.length ? Buffer.from(`offset:${start + n}`).toString('base64') : '';
  return { page, next };
}
