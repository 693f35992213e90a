// What the tools of this server reach: the SCIM directory connection and the Stripe write client,
// each undefined when its system is not configured (its tools are then unlisted, and a tool that
// still ran would refuse with not_configured), and the configuration.
import type { BillingConnectors } from './billing/index.js';
import type { AdminConfig } from './config.js';
import type { ScimConnectors } from './scim/index.js';

export interface Connectors extends ScimConnectors, BillingConnectors {
  config: AdminConfig;
}
