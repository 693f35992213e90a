// The demo people of the local fleet, in ONE place: the local IdP (login, password, agent roles,
// approver group), the SCIM simulator (users, groups, active flag) and any other simulator that names
// a person take them from here, so `alice` is the same person everywhere (agent token `user` claim,
// approver `preferred_username`, SCIM `userName`). Names match the Slack simulator's users
// (Alice Martin, Bob Chen, Casey Ortega).

/** A SCIM group of the demo directory (its SCIM `displayName`). */
export type DemoGroupName = 'fleet-admins' | 'fleet-approvers' | 'support' | 'analysts' | 'billing';

/** One demo person. */
export interface DemoPerson {
  /** The login name everywhere (SCIM userName, IdP login, token `user`/`sub`/`preferred_username`). */
  userName: string;
  displayName: string;
  givenName: string;
  familyName: string;
  /** Always `<userName>@example.com`. */
  email: string;
  /** SCIM group memberships (displayNames from DEMO_GROUPS). */
  groups: readonly DemoGroupName[];
  /** SCIM `active`. */
  active: boolean;
  /** Only the people who can log in at the local IdP have a password (always `dev`). */
  password?: 'dev';
  /** Roles an agent acting for this person gets (IdP users only). */
  agentRoles?: readonly string[];
}

/** One demo group. */
export interface DemoGroup {
  displayName: DemoGroupName;
  description: string;
}

export const DEMO_GROUPS: readonly DemoGroup[] = [
  { displayName: 'fleet-admins', description: 'Administrators of the directory; never left empty' },
  { displayName: 'fleet-approvers', description: 'People who may approve held agent actions' },
  { displayName: 'support', description: 'Customer support' },
  { displayName: 'analysts', description: 'Data and reporting' },
  { displayName: 'billing', description: 'Billing and invoicing' },
];

const person = (
  userName: string,
  givenName: string,
  familyName: string,
  groups: readonly DemoGroupName[],
  extra: Partial<Pick<DemoPerson, 'active' | 'password' | 'agentRoles'>> = {},
): DemoPerson => ({
  userName,
  displayName: `${givenName} ${familyName}`,
  givenName,
  familyName,
  email: `${userName}@example.com`,
  groups,
  active: extra.active ?? true,
  ...(extra.password ? { password: extra.password } : {}),
  ...(extra.agentRoles ? { agentRoles: extra.agentRoles } : {}),
});

export const DEMO_PEOPLE: readonly DemoPerson[] = [
  // The three people who log in at the local IdP.
  person('alice', 'Alice', 'Martin', ['fleet-approvers', 'fleet-admins'], {
    password: 'dev',
    agentRoles: ['admin'],
  }),
  person('bob', 'Bob', 'Chen', ['fleet-approvers'], { password: 'dev', agentRoles: ['admin'] }),
  person('carol', 'Carol', 'Diaz', ['support'], { password: 'dev', agentRoles: ['support'] }),
  // Protected principals (ADMIN_PROTECTED_USERS locally: breakglass,billing-contact,fleet-service).
  person('breakglass', 'Break', 'Glass', ['fleet-admins']),
  person('billing-contact', 'Billing', 'Contact', ['billing']),
  person('fleet-service', 'Fleet', 'Service', []),
  // Ordinary directory users.
  person('dave', 'Dave', 'Okafor', []),
  person('erin', 'Erin', 'Novak', ['support']),
  person('frank', 'Frank', 'Moreau', ['analysts']),
  person('ceo', 'Casey', 'Ortega', []),
  person('grace', 'Grace', 'Lindqvist', ['analysts', 'billing']),
  person('henry', 'Henry', 'Walsh', ['support'], { active: false }),
];

/** The demo person with this login name, if any. */
export function demoPerson(userName: string): DemoPerson | undefined {
  return DEMO_PEOPLE.find((p) => p.userName === userName);
}
