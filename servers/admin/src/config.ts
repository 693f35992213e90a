// The admin server's environment, parsed once at start-up: each part reads its own variables — the
// SCIM directory's (scim/config.ts: SCIM_*, ADMIN_PROTECTED_USERS, ADMIN_GROUP), billing's
// (billing/config.ts: STRIPE_WRITE_KEY, STRIPE_API_URL, ADMIN_REFUND_MAX_MINOR...) and the console's
// (console/config.ts: CONSOLE_*); this module puts them together. Core reads its own (AUTH_*,
// APPROVER_GROUP...). A bad variable fails the start with FLEET_ERR_CONFIG naming it, never its value.
import type { Env } from '@mcp-fleet/core';
import { type BillingConfig, billingConfig } from './billing/index.js';
import { type ConsoleConfig, consoleConfig } from './console/config.js';
import { type ScimConfig, scimConfig } from './scim/index.js';

/** The parsed configuration of the admin server. */
export interface AdminConfig {
  scim: ScimConfig;
  billing: BillingConfig;
  /** The approvals console's settings (adminHttp reads them from here). */
  console: ConsoleConfig;
}

/** Parses the environment; throws FLEET_ERR_CONFIG naming the bad variables. */
export function loadConfig(vars: Env): AdminConfig {
  return { scim: scimConfig(vars), billing: billingConfig(vars), console: consoleConfig(vars) };
}
