// What the glue needs of HubSpot: the connector (built in `connect`) and the tools.
export { classifyHubSpotError, HubSpotConnector } from './connector.js';
export { HUBSPOT_ID } from './ids.js';
export { hubspotTools } from './tools/index.js';
