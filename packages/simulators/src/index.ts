// Public surface of @mcp-fleet/simulators: local simulators that speak the real wire protocols of the
// vendors (Slack Web API, SMTP, Teams incoming webhooks, Jira Cloud REST v3, Stripe, HubSpot, Salesforce),
// alone or together in a hub (communication's, and the vendor hub of the vendor-apis server).
export {
  OUTBOX_FILE,
  readOutbox,
  type SimulatorEnv,
  type SimulatorHub,
  type SimulatorHubOptions,
  startSimulatorHub,
} from './hub.js';
export * from './hubspot/index.js';
export { JIRA_ACCOUNT } from './jira/issues.js';
export { JqlError } from './jira/jql.js';
export {
  adf,
  adfText,
  JIRA_EXFILTRATION_TEXT,
  JIRA_INJECTION_TEXT,
  type JiraIssue,
  type JiraProject,
} from './jira/seed.js';
export { JiraSimulator, type JiraSimulatorOptions } from './jira/simulator.js';
export { LOCAL_STRIPE_VARIABLES, localStripeSimulated, localStripeVariablesSet } from './local-stripe.js';
export * from './salesforce/index.js';
export * from './scim/index.js';
export { ANY, type Fault, FaultBox } from './shared/faults.js';
export { HttpSimulator, type ListenOptions } from './shared/http.js';
export { escapeHtml, OUTBOX_TITLE, renderOutbox } from './shared/outbox-page.js';
export { type OutboxEntry, type RecordedRequest, Recorder } from './shared/records.js';
export { SLACK_MAX_TEXT } from './slack/methods.js';
export {
  INJECTION_TEXT,
  SLACK_IDS,
  type SlackChannel,
  type SlackMessage,
  type SlackUser,
} from './slack/seed.js';
export { type SlackPost, SlackSimulator, type SlackSimulatorOptions } from './slack/simulator.js';
export { type SmtpMessage, SmtpSimulator, type SmtpSimulatorOptions, type SmtpStage } from './smtp.js';
export * from './stripe/index.js';
export { TEAMS_MAX_BYTES, type TeamsPost, TeamsSimulator, type TeamsSimulatorOptions } from './teams.js';
export {
  localVendorHub,
  type SimulatedVendor,
  startVendorHub,
  VENDOR_SIM_PORT,
  type VendorHub,
  type VendorHubFacts,
  type VendorHubOptions,
  type VendorSimTenant,
} from './vendor-hub.js';
export { DEMO_CUSTOMERS, DEMO_DATASET_VERSION, type DemoCustomer } from './vendors/demo-customers.js';
export {
  DEMO_GROUPS,
  DEMO_PEOPLE,
  type DemoGroup,
  type DemoGroupName,
  type DemoPerson,
  demoPerson,
} from './vendors/demo-people.js';
