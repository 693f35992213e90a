// Slack destinations: a channel argument is resolved to ONE conversation id (ids, #names, @users, DMs),
// then compared by exact id with the granted channels (their names resolved the same way).
import { ToolError } from '@mcp-fleet/core';
import type { SlackRule } from '../dimensions.js';
import type { SlackConnector } from './connector.js';
import type { Directory, SlackChannelEntry } from './directory.js';

/** The spellings a channel argument may take; anything else is refused as ambiguous. */
export const CHANNEL_ARG = /^(#?[a-z0-9][a-z0-9._-]{0,79}|@[a-z0-9][a-z0-9._-]{0,79}|[CGDUW][A-Z0-9]{2,20})$/;
/** A Slack message timestamp, as thread_ts takes it. */
export const THREAD_TS = /^\d{10}\.\d{6}$/;

/** What a channel argument resolved to, and which granted values allow it. */
export interface ResolvedChannel {
  entry: SlackChannelEntry;
  /** The granted values that allow it (empty array = unconstrained). */
  rules: readonly SlackRule[];
}

const deny = (message: string) => new ToolError(message, 'destination_denied');
const advice =
  'Call slack_list_channels to see the channels you may use, and pass one of them as `#name` or its id.';

/** Finds the one conversation an argument names, refreshing the directory once on a miss. */
async function lookup(
  slack: SlackConnector,
  arg: string,
  signal: AbortSignal,
  mayOpenIm: boolean,
): Promise<SlackChannelEntry | undefined> {
  const find = (dir: Directory): SlackChannelEntry | 'ambiguous' | 'user' | undefined => {
    if (/^[CGD][A-Z0-9]+$/.test(arg)) return dir.channel(arg);
    if (/^[UW][A-Z0-9]+$/.test(arg) || arg.startsWith('@')) return 'user';
    const named = dir.channelsNamed(arg.replace(/^#/, ''));
    return named.length > 1 ? 'ambiguous' : named[0];
  };
  let dir = await slack.directory();
  let found = find(dir);
  if (found === undefined) {
    dir = await slack.refreshDirectory();
    found = find(dir);
  }
  if (found === 'ambiguous') throw deny(`\`${arg}\` names more than one conversation. ${advice}`);
  if (found !== 'user') return found;
  const users = arg.startsWith('@')
    ? dir.usersNamed(arg.slice(1))
    : [dir.user(arg)].filter((u) => u !== undefined);
  if (users.length !== 1 || users[0]?.deleted) return undefined;
  const userId = users[0]?.id ?? '';
  const im = dir.imWith(userId);
  if (im || !mayOpenIm) return im;
  // Opening a DM changes nothing anyone sees; done only when some grant could allow a DM at all.
  const id = await slack.openIm(userId, signal);
  dir = await slack.refreshDirectory();
  return (
    dir.channel(id) ?? {
      id,
      name: '',
      isPrivate: true,
      isExtShared: false,
      isIm: true,
      isArchived: false,
      isMember: true,
      user: userId,
    }
  );
}

/** The conversation ids a granted value lists (names resolved; unknown names match nothing). */
export function grantedIds(rule: SlackRule, dir: Directory): Set<string> {
  const ids = new Set<string>();
  for (const c of rule.channels) {
    if (c.startsWith('#')) {
      const named = dir.channelsNamed(c.slice(1));
      if (named.length === 1 && named[0]) ids.add(named[0].id);
    } else ids.add(c);
  }
  return ids;
}

/** The granted values (null = unconstrained) as rules, ignoring values that are not Slack rules. */
export function rulesOf(constraints: readonly unknown[] | null): readonly SlackRule[] | null {
  if (constraints === null) return null;
  return constraints.filter((v): v is SlackRule => !!v && Array.isArray((v as SlackRule).channels));
}

/** True when an entry may be used under these rules (null = unconstrained), and which rules allow it. */
export function allowingRules(
  entry: SlackChannelEntry,
  rules: readonly SlackRule[] | null,
  dir: Directory,
): readonly SlackRule[] | undefined {
  if (entry.isArchived) return undefined;
  // A direct message is allowed only when its own id is granted, even to an unconstrained ("*") caller.
  if (rules === null) return entry.isIm ? undefined : [];
  const ok = rules.filter((r) => grantedIds(r, dir).has(entry.id));
  return ok.length ? ok : undefined;
}

/**
 * Resolves a channel argument and checks it against the granted values. Throws ToolError
 * `destination_denied` for anything malformed, ambiguous, unknown, archived or not allow-listed.
 */
export async function resolveChannel(
  slack: SlackConnector,
  arg: unknown,
  constraints: readonly unknown[] | null,
  signal: AbortSignal,
): Promise<ResolvedChannel> {
  if (typeof arg !== 'string' || !CHANNEL_ARG.test(arg))
    throw deny(
      `\`${String(arg).slice(0, 100)}\` is not one channel (one "#name" or id, no spaces, commas or other characters). ${advice}`,
    );
  const rules = rulesOf(constraints);
  const mayOpenIm = rules?.some((r) => r.channels.some((c) => c.startsWith('D'))) ?? false;
  const entry = await lookup(slack, arg, signal, mayOpenIm);
  if (!entry) throw deny(`\`${arg}\` is no channel your role may use. ${advice}`);
  if (entry.isArchived) throw deny(`\`${arg}\` is archived; nothing can be posted there. ${advice}`);
  const dir = await slack.directory();
  const allowed = allowingRules(entry, rules, dir);
  if (!allowed) {
    const what = entry.isIm ? 'a direct message' : `\`${arg}\``;
    throw deny(`Your role may not use ${what}. ${advice}`);
  }
  return { entry, rules: allowed };
}

/** How a channel is shown: `#name (C…)`, or `direct message (D…)`. */
export function label(entry: SlackChannelEntry): string {
  return entry.isIm ? `direct message (${entry.id})` : `#${entry.name} (${entry.id})`;
}
