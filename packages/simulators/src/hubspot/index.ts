// Public surface of the HubSpot simulator (re-exported by the package index).
export { parseSearch, runSearch, SEARCH_LIMITS, SearchError } from './search.js';
export {
  HUBSPOT_DEAL_STAGES,
  HUBSPOT_INJECTION_CONTACT_ID,
  HUBSPOT_INJECTION_TEXT,
  HUBSPOT_TENANTS,
  type HubSpotObject,
  type HubSpotOwner,
  type HubSpotPortal,
  type HubSpotTenantName,
  hubspotCompanyId,
  hubspotContactId,
  hubspotDealId,
} from './seed.js';
export {
  type HubSpotRequest,
  HubSpotSimulator,
  type StartedHubSpotSimulator,
  startHubSpotSimulator,
} from './simulator.js';
