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

/**
 * Finds the one conversation an argument names, refreshing the directory once on a miss (reads only).
 * A user (`@name`, `U…`) resolves to the DM the bot ALREADY has with them (conversations.list lists
 * IMs with their `user`); no DM is ever opened: `conversations.open` changes state at Slack, and a DM
 * not yet open has no id a grant could list, so it could never be allowed anyway.
 */
async function lookup(slack: SlackConnector, arg: string): Promise<SlackChannelEntry | undefined> {
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
  if (found === 'ambiguous') return undefined;
  if (found !== 'user') return found;
  const users = arg.startsWith('@')
    ? dir.usersNamed(arg.slice(1))
    : [dir.user(arg)].filter((u) => u !== undefined);
  if (users.length !== 1 || users[0]?.deleted) return undefined;
  return dir.imWith(users[0]?.id ?? '');
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
  _signal: AbortSignal,
): Promise<ResolvedChannel> {
  if (typeof arg !== 'string' || !CHANNEL_ARG.test(arg))
    throw deny(
      `\`${String(arg).slice(0, 100)}\` is not one channel (one "#name" or id, no spaces, commas or other characters). ${advice}`,
    );
  const rules = rulesOf(constraints);
  const entry = await lookup(slack, arg);
  // One answer for "does not exist", "ambiguous", "a DM" and "not allowed": the text may not tell a
  // caller which channels, DMs or users exist. Only a caller allowed the channel learns it is archived.
  const denied = () => deny(`\`${arg}\` is no channel your role may use. ${advice}`);
  if (!entry) throw denied();
  const dir = await slack.directory();
  const allowed = allowingRules({ ...entry, isArchived: false }, rules, dir);
  if (!allowed) throw denied();
  if (entry.isArchived) throw deny(`\`${arg}\` is archived; nothing can be posted there. ${advice}`);
  return { entry, rules: allowed };
}

/** How a channel is shown: `#name (C…)`, or `direct message (D…)`. */
export function label(entry: SlackChannelEntry): string {
  return entry.isIm ? `direct message (${entry.id})` : `#${entry.name} (${entry.id})`;
}
