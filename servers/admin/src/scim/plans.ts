// What each directory change would do, with every rule checked: computed before a human is asked
// (scimSteps, for calls held for approval) and again at execution under the directory lock, where the
// write follows at once. A plan never writes.
import { type Identity, ToolError } from '@mcp-fleet/core';
import type { CallOptions, DirectoryGroup, DirectoryUser } from './client.js';
import type { ScimConnector } from './connector.js';
import {
  adminGroup,
  checkNotLastAdmin,
  checkTarget,
  precheck,
  resolveUser,
  type ScimChange,
} from './rules.js';

/** A disable or delete, checked. */
export interface UserPlan {
  user: DirectoryUser;
}

/** A set_user_groups, checked: the groups to join and to leave (by id). */
export interface GroupsPlan {
  user: DirectoryUser;
  add: DirectoryGroup[];
  remove: { id: string; display: string }[];
  /** The admins group, when the user leaves it (written with If-Match its version). */
  admins: DirectoryGroup | undefined;
}

/** disable_user / delete_user: the target exists, is not protected, not the caller, not the last admin. */
export async function planUserChange(
  conn: ScimConnector,
  identity: Identity,
  tool: 'disable_user' | 'delete_user',
  userName: string,
  o: CallOptions,
): Promise<UserPlan> {
  precheck(conn, identity, userName, tool);
  const user = await resolveUser(conn, userName, o);
  checkTarget(conn, identity, user, tool);
  await checkNotLastAdmin(conn, user, tool, o);
  return { user };
}

/** set_user_groups: every named group exists (never created), and the change breaks no rule. */
export async function planGroups(
  conn: ScimConnector,
  identity: Identity,
  args: { user_name: string; groups: readonly string[] },
  o: CallOptions,
): Promise<GroupsPlan> {
  const tool: ScimChange = 'set_user_groups';
  precheck(conn, identity, args.user_name, tool);
  const user = await resolveUser(conn, args.user_name, o);
  checkTarget(conn, identity, user, tool);
  const wanted: DirectoryGroup[] = [];
  const missing: string[] = [];
  for (const name of args.groups) {
    const g = await conn.client.findGroup(name, o);
    if (g) wanted.push(g);
    else missing.push(name);
  }
  if (missing.length)
    throw new ToolError(
      `no group named ${missing.map((m) => JSON.stringify(m)).join(', ')} in the directory (exact names; groups are never created): nothing was changed`,
      'unknown_group',
    );
  const current = user.groups
    ? user.groups.map((g) => ({ id: g.id, display: g.display ?? g.id }))
    : await conn.client.groupsOfUser(user.id, o);
  const currentIds = new Set(current.map((g) => g.id));
  const wantedIds = new Set(wanted.map((g) => g.id));
  const add = wanted.filter((g) => !currentIds.has(g.id));
  const remove = current.filter((g) => !wantedIds.has(g.id));
  let admins: DirectoryGroup | undefined;
  if (remove.length) {
    const group = await adminGroup(conn, o);
    if (remove.some((g) => g.id === group.id)) {
      await checkNotLastAdmin(conn, user, tool, o, group);
      admins = group;
    }
  }
  return { user, add, remove, admins };
}
