// The admin server's user management over SCIM 2.0: what the definition wires in.
//   config:    scimConfig(env) (SCIM_BASE_URL, SCIM_TOKEN, ADMIN_PROTECTED_USERS, ADMIN_GROUP...)
//   connect:   connectScim(config | env, fleetDb, logger) -> connectors.scim (undefined: not configured)
//   tools:     scimTools (get_user, disable_user, delete_user, set_user_groups)
//   steps:     scimSteps (beforeApproval checks of held directory changes)
//   readiness: scimReadiness(connectors.scim)
//   unlisted:  scimUnlisted(config) (the user tools are not offered without SCIM_BASE_URL)
export {
  type CallOptions,
  type DirectoryGroup,
  type DirectoryUser,
  ScimClient,
  scimLiteral,
} from './client.js';
export { type ScimConfig, scimConfig, scimUnconfigured, scimUrlProblem } from './config.js';
export { connectScim, LOCK_WAIT_MS, ScimConnector } from './connector.js';
export { SCIM_SYSTEM } from './errors.js';
export { isScimId, SCIM_ID } from './ids.js';
export { groupNameProblem, MAX_GROUPS, userNameProblem } from './names.js';
export { scimReadiness } from './readiness.js';
export { callerIdentifiers, targetIdentifiers } from './rules.js';
export { scimSteps } from './steps.js';
export { scimTools } from './tools/index.js';
export { SCIM_NAMES, type ScimConnectors } from './tools/shared.js';

import type { ScimConfig } from './config.js';
import { scimUnconfigured } from './config.js';

/** The user tools not offered with this configuration, and why. */
export function scimUnlisted(config: ScimConfig): Record<string, string> {
  const why = scimUnconfigured(config);
  return why ? { get_user: why, disable_user: why, delete_user: why, set_user_groups: why } : {};
}
