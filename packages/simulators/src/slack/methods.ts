// The Slack Web API methods the simulator answers, each taking the request parameters (form fields are
// strings, JSON fields typed) and returning the `ok: true` body or throwing SlackError.
import { SLACK_IDS, type SlackMessage } from './seed.js';
import {
  channelJson,
  messageJson,
  paginate,
  SlackError,
  type SlackWorkspace,
  userJson,
} from './workspace.js';

/** Request parameters of a Web API call. */
export type SlackParams = Record<string, unknown>;

/** What a posting method tells the simulator to record. */
export interface SlackSend {
  kind: 'post' | 'update' | 'reaction';
  channel: string;
  channelName: string;
  ts: string;
  text: string;
  threadTs?: string;
  params: SlackParams;
}

/** Context of a method call. */
export interface MethodContext {
  ws: SlackWorkspace;
  params: SlackParams;
  send(s: SlackSend): void;
}

/** Slack truncates nothing: above this many characters chat.postMessage answers `msg_too_long`. */
export const SLACK_MAX_TEXT = 40_000;

const bool = (v: unknown) => v === true || v === 'true' || v === '1' || v === 1;
const str = (v: unknown) => (typeof v === 'string' ? v : v == null ? '' : String(v));
const json = (v: unknown) => {
  if (typeof v !== 'string') return v;
  try {
    return JSON.parse(v);
  } catch {
    throw new SlackError('invalid_arguments');
  }
};

function readable(ctx: MethodContext) {
  const c = ctx.ws.channel(ctx.params.channel);
  if (!c.isMember) throw new SlackError('not_in_channel');
  return c;
}

function postable(ctx: MethodContext) {
  const ref = str(ctx.params.channel);
  // Posting to a user id opens (or reuses) the DM, as Slack does.
  if (/^U[A-Z0-9]+$/.test(ref)) return ctx.ws.openIm(ctx.ws.user(ref).id);
  const c = ctx.ws.channel(ref);
  if (c.isArchived) throw new SlackError('is_archived');
  if (!c.isMember) throw new SlackError('not_in_channel');
  return c;
}

/** Every supported method by name. */
export const slackMethods: Record<string, (ctx: MethodContext) => object> = {
  'api.test': ({ params }) => ({ args: params }),
  'auth.test': () => ({
    url: 'https://mcp-fleet-sim.slack.com/',
    team: SLACK_IDS.teamName,
    user: SLACK_IDS.botName,
    team_id: SLACK_IDS.teamId,
    user_id: SLACK_IDS.botUserId,
    bot_id: SLACK_IDS.botId,
    is_enterprise_install: false,
  }),
  'conversations.list': ({ ws, params }) => {
    const types = new Set(str(params.types || 'public_channel').split(','));
    const list = ws.channels.filter((c) => {
      if (bool(params.exclude_archived) && c.isArchived) return false;
      if (c.isIm) return types.has('im');
      if (c.isPrivate) return types.has('private_channel') && c.isMember;
      return types.has('public_channel');
    });
    const { page, next } = paginate(list, params.cursor, params.limit);
    return { channels: page.map((c) => channelJson(c, ws)), response_metadata: { next_cursor: next } };
  },
  'conversations.info': ({ ws, params }) => ({ channel: channelJson(ws.channel(params.channel), ws) }),
  'conversations.history': (ctx) => {
    const c = readable(ctx);
    const all = ctx.ws.history(c.id);
    const oldest = Number(ctx.params.oldest ?? 0);
    const latest = ctx.params.latest ? Number(ctx.params.latest) : Number.POSITIVE_INFINITY;
    const top = all
      .filter((x) => !x.thread_ts || x.thread_ts === x.ts)
      .filter((x) => Number(x.ts) >= oldest && Number(x.ts) <= latest)
      .reverse();
    const { page, next } = paginate(top, ctx.params.cursor, ctx.params.limit);
    return {
      messages: page.map((x) => messageJson(x, all)),
      has_more: next !== '',
      pin_count: 0,
      response_metadata: { next_cursor: next },
    };
  },
  'conversations.replies': (ctx) => {
    const c = readable(ctx);
    const all = ctx.ws.history(c.id);
    const parent = all.find((x) => x.ts === ctx.params.ts);
    if (!parent) throw new SlackError('thread_not_found');
    const root = parent.thread_ts ?? parent.ts;
    const thread = all.filter((x) => x.ts === root || x.thread_ts === root);
    const { page, next } = paginate(thread, ctx.params.cursor, ctx.params.limit, 1000);
    return {
      messages: page.map((x) => messageJson(x, all)),
      has_more: next !== '',
      response_metadata: { next_cursor: next },
    };
  },
  'conversations.open': ({ ws, params }) => {
    const users = str(params.users).split(',').filter(Boolean);
    if (users.length !== 1)
      throw new SlackError(users.length ? 'not_implemented' : 'users_list_not_supplied');
    const dm = ws.openIm(ws.user(users[0]).id);
    return bool(params.return_im) ? { channel: channelJson(dm, ws) } : { channel: { id: dm.id } };
  },
  'users.list': ({ ws, params }) => {
    const { page, next } = paginate(ws.users, params.cursor, params.limit, 1000);
    return { members: page.map(userJson), cache_ts: 1_732_000_000, response_metadata: { next_cursor: next } };
  },
  'users.info': ({ ws, params }) => ({ user: userJson(ws.user(params.user)) }),
  'users.lookupByEmail': ({ ws, params }) => {
    const email = str(params.email).toLowerCase();
    const u = ws.users.find((x) => x.email?.toLowerCase() === email);
    if (!u) throw new SlackError('users_not_found');
    return { user: userJson(u) };
  },
  'usergroups.list': ({ ws, params }) => ({
    usergroups: ws.usergroups.map((g) => ({
      id: g.id,
      team_id: SLACK_IDS.teamId,
      is_usergroup: true,
      name: g.name,
      handle: g.handle,
      description: '',
      user_count: g.users.length,
      ...(bool(params.include_users) ? { users: g.users } : {}),
    })),
  }),
  'chat.postMessage': (ctx) => {
    const { params, ws } = ctx;
    const text = str(params.text);
    const blocks = params.blocks ? json(params.blocks) : undefined;
    const attachments = params.attachments ? json(params.attachments) : undefined;
    if (!text && !blocks && !attachments) throw new SlackError('no_text');
    if (text.length > SLACK_MAX_TEXT) throw new SlackError('msg_too_long');
    const c = postable(ctx);
    const threadTs = params.thread_ts ? str(params.thread_ts) : undefined;
    if (threadTs && !ws.history(c.id).some((x) => x.ts === threadTs))
      throw new SlackError('thread_not_found');
    const ts = ws.nextTs();
    const msg: SlackMessage = {
      type: 'message',
      ts,
      bot_id: SLACK_IDS.botId,
      user: SLACK_IDS.botUserId,
      text,
    };
    if (threadTs) msg.thread_ts = threadTs;
    if (blocks) msg.blocks = blocks;
    if (attachments) msg.attachments = attachments;
    ws.history(c.id).push(msg);
    ctx.send({ kind: 'post', channel: c.id, channelName: c.name, ts, text, threadTs, params });
    return { channel: c.id, ts, message: { ...msg, app_id: 'A0SIMAPP01', team: SLACK_IDS.teamId } };
  },
  'chat.update': (ctx) => {
    const { params, ws } = ctx;
    const c = postable(ctx);
    const msg = ws.message(c.id, params.ts);
    if (msg.bot_id !== SLACK_IDS.botId) throw new SlackError('cant_update_message');
    const text = str(params.text);
    if (text.length > SLACK_MAX_TEXT) throw new SlackError('msg_too_long');
    msg.text = text;
    msg.edited = { user: SLACK_IDS.botUserId, ts: ws.nextTs() };
    ctx.send({ kind: 'update', channel: c.id, channelName: c.name, ts: msg.ts, text, params });
    return { channel: c.id, ts: msg.ts, text, message: { ...msg } };
  },
  'reactions.add': (ctx) => {
    const { params, ws } = ctx;
    const c = readable(ctx);
    const msg = ws.message(c.id, params.timestamp);
    const name = str(params.name);
    if (!/^[a-z0-9_+'-]+$/.test(name)) throw new SlackError('invalid_name');
    msg.reactions ??= [];
    const r = msg.reactions.find((x) => x.name === name);
    if (r?.users.includes(SLACK_IDS.botUserId)) throw new SlackError('already_reacted');
    if (r) {
      r.users.push(SLACK_IDS.botUserId);
      r.count += 1;
    } else msg.reactions.push({ name, users: [SLACK_IDS.botUserId], count: 1 });
    ctx.send({ kind: 'reaction', channel: c.id, channelName: c.name, ts: msg.ts, text: `:${name}:`, params });
    return {};
  },
};
