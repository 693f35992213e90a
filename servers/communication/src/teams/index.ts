// The Teams part of the communication server: its tool, the planner of its send tool, its connector.
import type { AnyTool } from '@mcp-fleet/core';
import type { Connectors } from '../connectors.js';
import type { Planner } from '../outbound/plan.js';
import { planTeamsPostMessage, teamsPostMessage } from './tools.js';

export { type AdaptiveCard, prepareCard } from './card.js';
export { classifyTeamsStatus, TeamsConnector, type TeamsConnectorOptions } from './connector.js';

/** The Teams tools. */
export const teamsTools: readonly AnyTool<Connectors>[] = [teamsPostMessage];

/** The outbound planners of the Teams send tools, by tool name. */
export const teamsPlans: Record<string, Planner> = { teams_post_message: planTeamsPostMessage };
