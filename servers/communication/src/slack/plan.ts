// The planner of slack_post_message: where the post goes (one resolved, allow-listed conversation) and
// the exact text that will leave (content rules applied). Governance runs it first; the handler again.

import { ToolError } from '@mcp-fleet/core';
import type { Connectors } from '../connectors.js';
import { prepareSlackText } from '../content/chat-text.js';
import type { SlackRule } from '../dimensions.js';
import type { OutboundPlan, PlanContext } from '../outbound/plan.js';
import { type ResolvedChannel, resolveChannel, THREAD_TS } from './destinations.js';

/** Arguments of slack_post_message. */
export interface SlackPostArgs {
  channel: string;
  text: string;
  thread_ts?: string | undefined;
}

/** A checked post: the plan governance sees, and what the handler sends. */
export interface SlackPostPlan {
  plan: OutboundPlan;
  channel: ResolvedChannel;
  /** The text as it goes to Slack (escaped). */
  text: string;
  threadTs?: string;
}

/** The Slack connector, or a refusal when Slack is not configured. */
export function slackOf(connectors: Connectors) {
  if (!connectors.slack) throw new ToolError('Slack is not configured on this server.', 'not_configured');
  return connectors.slack;
}

/** The effective content rules of the values that allowed a destination (none = unconstrained). */
export function contentRules(rules: readonly SlackRule[], configMax: number) {
  const caps = rules.map((r) => Math.min(r.maxChars ?? configMax, configMax));
  return {
    broadcast: rules.length > 0 && rules.some((r) => r.broadcast),
    maxChars: caps.length ? Math.max(...caps) : configMax,
    onSecrets: rules.some((r) => r.secrets === 'approval') ? ('approval' as const) : ('refuse' as const),
  };
}

/** Resolves, checks and prepares one post; throws ToolError (destination_denied, disguised_link, …). */
export async function planSlackPost(args: SlackPostArgs, ctx: PlanContext): Promise<SlackPostPlan> {
  const slack = slackOf(ctx.connectors);
  if (args.thread_ts !== undefined && !THREAD_TS.test(args.thread_ts))
    throw new ToolError(
      'thread_ts must be a Slack message timestamp such as 1731990000.000100.',
      'invalid_thread',
    );
  const channel = await resolveChannel(slack, args.channel, ctx.constraints, ctx.signal);
  const rules = contentRules(channel.rules, ctx.connectors.config.slackMaxChars);
  const dir = await slack.directory();
  const text = prepareSlackText(args.text, { ...rules, isUser: (id) => dir.isUser(id) });
  return {
    plan: {
      system: 'slack',
      destinations: [`slack:${channel.entry.id}`],
      externallyShared: channel.entry.isExtShared ? [`slack:${channel.entry.id}`] : [],
      content: [{ path: ['text'], text: args.text }],
      onSecrets: rules.onSecrets,
    },
    channel,
    text,
    ...(args.thread_ts ? { threadTs: args.thread_ts } : {}),
  };
}

/** The outbound planner of slack_post_message (governance step and handler share it). */
export const planSlackPostMessage = async (args: SlackPostArgs, ctx: PlanContext): Promise<OutboundPlan> =>
  (await planSlackPost(args, ctx)).plan;
