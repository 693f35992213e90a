// What the tools of this server reach: one connector per configured vendor (absent when the vendor
// has no credentials, or a Stripe secret key is refused), each holding per-tenant SDK clients, its
// circuit breaker and its error classification; and the configuration with the tenant directory.
import type { VendorApisConfig } from './config.js';
import type { HubSpotConnector } from './hubspot/connector.js';
import type { SalesforceConnector } from './salesforce/connector.js';
import type { StripeConnector } from './stripe/connector.js';

export interface Connectors {
  config: VendorApisConfig;
  stripe?: StripeConnector;
  hubspot?: HubSpotConnector;
  salesforce?: SalesforceConnector;
}
