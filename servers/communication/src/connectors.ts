// What the tools reach: one connector per configured upstream (absent when its system is not
// configured, and then its tools are not listed).
import type { CommunicationConfig } from './config.js';
import type { EmailConnector } from './email/connector.js';
import type { SlackConnector } from './slack/connector.js';
import type { TeamsConnector } from './teams/connector.js';
import type { TicketBackend } from './tickets/backend.js';

/** What every tool of this server receives as `ctx.connectors`. */
export interface Connectors {
  config: CommunicationConfig;
  slack?: SlackConnector;
  email?: EmailConnector;
  teams?: TeamsConnector;
  tickets?: TicketBackend;
}
