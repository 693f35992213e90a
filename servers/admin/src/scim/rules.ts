// The rules of every directory change (A10, A11, A13): who may never be changed, and who may not be
// the target. Checked before the directory is asked anything when the name alone decides it, again on
// the resolved user (its userName, emails, externalId), and — for held calls — both before a human is
// asked (scimSteps) and at execution, under the directory lock.
// - Protected principals (ADMIN_PROTECTED_USERS: break-glass, billing contact, the fleet's own service
//   account) are never disabled, deleted or regrouped.
// - The caller never targets itself: the agent id, the `user` it acts for, and the person identifiers
//   of its token (sub, preferred_username, email, upn) — no self-disable, self-delete or self-elevation.
// - ADMIN_GROUP is never left without an active member: the last active admin is never disabled,
//   deleted or removed from it.
import { claimValue, type Identity, ToolError } from '@mcp-fleet/core';
import type { CallOptions, DirectoryGroup, DirectoryUser } from './client.js';
import type { ScimConnector } from './connector.js';

/** The mutating user tools. */
export type ScimChange = 'disable_user' | 'delete_user' | 'set_user_groups';

const VERB: Record<ScimChange, string> = {
  disable_user: 'disabled',
  delete_user: 'deleted',
  set_user_groups: 'regrouped',
};

/** Token claims that name the person or agent behind a call. */
const PERSON_CLAIMS = ['sub', 'user', 'preferred_username', 'email', 'upn', 'unique_name', 'username'];

/** A name and, for an email-like name, its local part (lower-cased). */
function expand(v: string): string[] {
  const l = v.trim().toLowerCase();
  if (l === '') return [];
  const at = l.lastIndexOf('@');
  return at > 0 ? [l, l.slice(0, at)] : [l];
}

/** Every identifier of the caller (agent id, user, person claims), lower-cased, email local parts included. */
export function callerIdentifiers(identity: Identity): Set<string> {
  const out = new Set<string>();
  const add = (v: unknown) => {
    if (typeof v === 'string') for (const x of expand(v)) out.add(x);
  };
  add(identity.agentId);
  add(identity.user);
  for (const c of PERSON_CLAIMS) add(claimValue(identity, c));
  return out;
}

/** Every identifier of a directory user (userName, emails, externalId), lower-cased, local parts included. */
export function targetIdentifiers(
  user: Pick<DirectoryUser, 'userName' | 'emails' | 'externalId'>,
): Set<string> {
  const out = new Set<string>();
  for (const v of [user.userName, ...user.emails, user.externalId ?? ''])
    for (const x of expand(v)) out.add(x);
  return out;
}

const intersects = (a: Set<string>, b: Set<string>) => [...a].some((x) => b.has(x));

/** Refuses when the name alone decides it (before any directory request). */
export function precheck(conn: ScimConnector, identity: Identity, userName: string, tool: ScimChange): void {
  const names = new Set(expand(userName));
  if (intersects(names, callerIdentifiers(identity)))
    throw new ToolError(
      `${userName} is you (the caller or the person you act for): an agent never ${tool === 'set_user_groups' ? 'changes its own groups' : `${tool.split('_')[0]}s itself`}; a human administrator must do it.`,
      'self_action',
    );
  if (intersects(names, new Set(conn.config.protectedUsers)))
    throw new ToolError(
      `${userName} is a protected account (ADMIN_PROTECTED_USERS): it is never ${VERB[tool]} through the fleet.`,
      'protected_principal',
    );
}

/** The same rules on the resolved user (its emails and externalId may name the caller or a protected account). */
export function checkTarget(
  conn: ScimConnector,
  identity: Identity,
  user: DirectoryUser,
  tool: ScimChange,
): void {
  const ids = targetIdentifiers(user);
  if (intersects(ids, callerIdentifiers(identity)))
    throw new ToolError(
      `${user.userName} is you (the caller or the person you act for): an agent never acts on its own account; a human administrator must do it.`,
      'self_action',
    );
  if (intersects(ids, new Set(conn.config.protectedUsers.flatMap(expand))))
    throw new ToolError(
      `${user.userName} is a protected account (ADMIN_PROTECTED_USERS): it is never ${VERB[tool]} through the fleet.`,
      'protected_principal',
    );
}

/** Resolves the user by name; refuses (not_found) when the directory has none. */
export async function resolveUser(
  conn: ScimConnector,
  userName: string,
  o: CallOptions,
): Promise<DirectoryUser> {
  const user = await conn.client.findUser(userName, o);
  if (!user)
    throw new ToolError(
      `no user named ${userName} in the directory; check the exact login name with get_user`,
      'user_not_found',
    );
  return user;
}

/** The admins group (ADMIN_GROUP) with its members; refuses when the directory has no such group. */
export async function adminGroup(conn: ScimConnector, o: CallOptions): Promise<DirectoryGroup> {
  const g = await conn.client.findGroup(conn.config.adminGroup, o);
  if (!g)
    throw new ToolError(
      `the admins group (ADMIN_GROUP) does not exist in the directory, so the last-admin rule cannot be checked; nothing was changed. Tell the operator.`,
      'not_configured',
    );
  return conn.client.getGroup(g.id, o);
}

/**
 * Refuses when taking `user` out of the active admins (disabling, deleting, or removing them from
 * ADMIN_GROUP) would leave ADMIN_GROUP with no active member. An inactive user is not counted.
 */
export async function checkNotLastAdmin(
  conn: ScimConnector,
  user: DirectoryUser,
  tool: ScimChange,
  o: CallOptions,
  group?: DirectoryGroup,
): Promise<void> {
  if (user.active === false) return;
  const admins = group ?? (await adminGroup(conn, o));
  if (!(admins.members ?? []).includes(user.id)) return;
  if (await conn.client.hasOtherActiveMember(admins, user.id, o)) return;
  throw new ToolError(
    `${user.userName} is the last active member of the admins group (${conn.config.adminGroup}); the group is never left empty, so they are not ${VERB[tool]}. Add another active admin first.`,
    'last_admin',
  );
}
