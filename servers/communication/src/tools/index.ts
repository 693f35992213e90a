// The communication server's tools, in the order tools/list shows them, and the outbound planners of
// the send tools, composed from the four system modules (Slack, Teams, email, tickets).
import type { AnyTool } from '@mcp-fleet/core';
import type { Connectors } from '../connectors.js';
import { emailPlans, emailTools } from '../email/index.js';
import type { Planner } from '../outbound/plan.js';
import { slackPlans, slackTools } from '../slack/index.js';
import { teamsPlans, teamsTools } from '../teams/index.js';
import { ticketPlans, ticketTools } from '../tickets/index.js';

/** Which system each tool belongs to (its tools are listed only when that system is configured). */
export type SystemOfTool = 'slack' | 'email' | 'teams' | 'tickets';

/** Every tool of the server, by system. */
export const toolsBySystem: Readonly<Record<SystemOfTool, readonly AnyTool<Connectors>[]>> = {
  slack: slackTools,
  teams: teamsTools,
  email: emailTools,
  tickets: ticketTools as readonly AnyTool<Connectors>[],
};

/** Every tool the server declares (those of unconfigured systems are then unlisted). */
export const tools: readonly AnyTool<Connectors>[] = Object.values(toolsBySystem).flat();

/** The planner of each send tool, by tool name (the outbound step and the handlers run them). */
export const outboundPlans: Readonly<Record<string, Planner>> = {
  ...slackPlans,
  ...teamsPlans,
  ...emailPlans,
  ...ticketPlans,
};
