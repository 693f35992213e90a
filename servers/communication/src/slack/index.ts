// The Slack part of the communication server: its tools, the planner of its send tool, its connector.
import type { AnyTool } from '@mcp-fleet/core';
import type { Connectors } from '../connectors.js';
import type { Planner } from '../outbound/plan.js';
import { planSlackPostMessage } from './plan.js';
import { slackListChannels } from './tools/list-channels.js';
import { slackPostMessage } from './tools/post-message.js';
import { slackReadChannel } from './tools/read-channel.js';

export { SlackConnector, type SlackConnectorOptions } from './connector.js';
export { classifySlackError } from './errors.js';

/** The Slack tools, in the order tools/list shows them. */
export const slackTools: readonly AnyTool<Connectors>[] = [
  slackListChannels,
  slackReadChannel,
  slackPostMessage,
];

/** The outbound planners of the Slack send tools, by tool name. */
export const slackPlans: Record<string, Planner> = { slack_post_message: planSlackPostMessage };
