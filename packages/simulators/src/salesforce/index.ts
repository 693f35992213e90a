// The Salesforce simulator's public surface (re-exported by the package index).
export { QUERY_BATCH, SalesforceOrg, SfApiError } from './org.js';
export { KEY_PREFIX, SF_OBJECTS, type SfField, type SfFieldType, to18 } from './schema.js';
export {
  orgFacts,
  SALESFORCE_INJECTION_TEXT,
  SALESFORCE_TENANTS,
  type SalesforceOrgFacts,
  type SalesforceTenantName,
  type SfRecord,
} from './seed.js';
export {
  type SalesforceCall,
  type SalesforceOrgAccess,
  SalesforceSimulator,
  type StartedSalesforceSimulator,
  startSalesforceSimulator,
} from './simulator.js';
export {
  type LikePart,
  parseSoql,
  type SoqlCondition,
  SoqlError,
  type SoqlQuery,
  type SoqlValue,
} from './soql.js';
