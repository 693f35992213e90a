// The people who can sign in at the local IdP. The fleet's demo people are defined once, in
// @mcp-fleet/simulators (vendors/demo-people.ts); this is the structural shape the IdP reads.
import { timingSafeEqual } from 'node:crypto';

/** A person as DEMO_PEOPLE lists them; only those with a password can sign in at the IdP. */
export interface DevPerson {
  userName: string;
  displayName: string;
  email: string;
  groups: readonly string[];
  active?: boolean;
  /** Present for the people who can sign in at the local IdP (`dev`). */
  password?: string;
  /** The roles an agent acting for this person gets in its /mcp token. */
  agentRoles?: readonly string[];
}

/** A person who can sign in at the IdP. */
export interface DevUser extends DevPerson {
  password: string;
  agentRoles: readonly string[];
}

/** The people of `people` who can sign in: active, with a password. */
export function idpUsers(people: readonly DevPerson[]): DevUser[] {
  return people
    .filter(
      (p): p is DevPerson & { password: string } => typeof p.password === 'string' && p.active !== false,
    )
    .map((p) => ({ ...p, agentRoles: p.agentRoles ?? [] }));
}

/**
 * The user `userName` if `password` is theirs. Every refusal looks the same (unknown user or wrong
 * password), and the password comparison does not stop at the first differing byte.
 */
export function checkPassword(
  users: readonly DevUser[],
  userName: string,
  password: string,
): DevUser | undefined {
  const user = users.find((u) => u.userName === userName);
  const expected = Buffer.from(user?.password ?? '\u0000no-such-user\u0000');
  const given = Buffer.from(password);
  const same = expected.length === given.length && timingSafeEqual(expected, given);
  return user && same ? user : undefined;
}
