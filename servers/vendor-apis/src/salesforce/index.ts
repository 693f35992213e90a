// Salesforce for the vendor-apis server: what the glue needs (connector, tools) and what tests use.
export { type CallBounds, SalesforceConnector, type SfRecord } from './connector.js';
export { classifySalesforceError, failureOfResponse, GovernedTransport } from './errors.js';
export { idOf, isIdOf, KEY_PREFIX, type SfObject, salesforceId } from './ids.js';
export { SF_FIELDS, SF_OBJECTS, type SfFieldSpec, type SfFieldType } from './objects.js';
export {
  type BuiltQuery,
  buildQuery,
  type Condition,
  escapeLike,
  escapeSoqlString,
  OPS,
  type Op,
} from './soql.js';
export { salesforceTools } from './tools/index.js';
export { writableFields } from './tools/update-record.js';
