// slack_post_message: posts one message to one allow-listed channel (or a thread in it), link previews
// off, broadcasts escaped unless policy allows them, sent once (a 429 retried once only if it fits).
import { setTimeout as sleep } from 'node:timers/promises';
import { ToolError } from '@mcp-fleet/core';
import { z } from 'zod';
import { slack as slackDimension } from '../../dimensions.js';
import { tool } from '../../tools/tool.js';
import { isUpstreamFailure, uncertainPostError, upstreamToolError } from '../../upstream/failures.js';
import { CHANNEL_ARG, label, THREAD_TS } from '../destinations.js';
import { planSlackPost, slackOf } from '../plan.js';

/** The send tool's timeout: one request, a Retry-After wait that fits, and one more request. */
export const SLACK_SEND_TIMEOUT_MS = 30_000;

/**
 * A post whose outcome is unknown (no answer in time, a dropped connection after the request went out, a
 * 5xx or Slack's own fatal/internal error) may be in the channel: Slack has no idempotency key to ask.
 */
const SLACK_UNCERTAIN = {
  unaskable: 'Slack',
  check: 'Read the channel (slack_read_channel) to see whether it arrived',
};

const input = z
  .object({
    channel: z
      .string()
      .min(1)
      .max(100)
      .describe('One channel: "#name" or its id (C…); see slack_list_channels. Never a list.'),
    text: z
      .string()
      .min(1)
      .max(100_000)
      .describe('The message (Slack mrkdwn). Link previews are always off.'),
    thread_ts: z
      .string()
      .regex(THREAD_TS)
      .optional()
      .describe('Reply in the thread of this message ts (of the same channel), e.g. 1731990000.000100'),
  })
  .strict();

/** slack_post_message tool. */
export const slackPostMessage = tool({
  name: 'slack_post_message',
  title: 'Post a Slack message',
  description:
    'Posts one message to one Slack channel your role may post to (see slack_list_channels), optionally as a reply in a thread. ' +
    'Link previews are off; @channel/@here style broadcasts are shown as plain text unless your role may broadcast; links whose ' +
    'text names another address are refused. Returns the message ts (use it as thread_ts to reply). Not retried automatically.',
  input,
  output: z.object({
    channel: z.string(),
    channelName: z.string(),
    ts: z.string(),
    threadTs: z.string().optional(),
  }),
  governance: { readOnly: false, commits: true, openWorld: false, timeoutMs: SLACK_SEND_TIMEOUT_MS },
  constraint: {
    dimension: slackDimension,
    check: (args, value) => {
      if (!CHANNEL_ARG.test(args.channel)) return `\`${args.channel.slice(0, 100)}\` is not one channel`;
      const names = value.channels.some((c) => c.startsWith('#'));
      if (!names && /^[CGD][A-Z0-9]+$/.test(args.channel) && !value.channels.includes(args.channel))
        return `your role may not post to ${args.channel}; call slack_list_channels`;
      return null;
    },
  },
  toText: (d) =>
    `Posted to ${d.channelName ? `#${d.channelName}` : 'a direct message'} (${d.channel})${d.threadTs ? ` in thread ${d.threadTs}` : ''}: ts ${d.ts}.`,
  handler: async (args, ctx) => {
    const started = Date.now();
    const slack = slackOf(ctx.connectors);
    const planned = await planSlackPost(args, {
      connectors: ctx.connectors,
      constraints: ctx.constraints,
      signal: ctx.signal,
    });
    const { entry } = planned.channel;
    ctx.detail('destinations', planned.plan.destinations);
    const send = () =>
      slack.postMessage(
        {
          channel: entry.id,
          text: planned.text,
          ...(planned.threadTs ? { threadTs: planned.threadTs } : {}),
        },
        ctx.signal,
      );
    ctx.commit();
    let posted: Awaited<ReturnType<typeof send>>;
    try {
      try {
        posted = await send();
      } catch (err) {
        // A 429 means Slack did not accept the post: one retry, only when the wait fits in the time left.
        if (!isUpstreamFailure(err) || err.kind !== 'rate_limited') throw err;
        const wait = err.retryAfterMs;
        const left = SLACK_SEND_TIMEOUT_MS - (Date.now() - started) - ctx.connectors.config.upstreamTimeoutMs;
        if (wait === undefined || wait > left) throw upstreamToolError(err);
        ctx.logger.info(
          { requestId: ctx.requestId, waitMs: wait },
          'slack rate-limited; one retry after Retry-After',
        );
        await sleep(wait);
        ctx.detail('retriedAfterRateLimitMs', wait);
        posted = await send();
      }
    } catch (err) {
      throw (isUpstreamFailure(err) && uncertainPostError(err, 'slack', SLACK_UNCERTAIN)) || err;
    }
    if (!posted.ts) throw new ToolError('Slack accepted the post but returned no ts.', 'upstream_rejected');
    ctx.detail('upstreamId', posted.ts);
    ctx.logger.info({ requestId: ctx.requestId, destination: label(entry) }, 'slack message posted');
    return {
      data: {
        channel: entry.id,
        channelName: entry.name,
        ts: posted.ts,
        ...(planned.threadTs ? { threadTs: planned.threadTs } : {}),
      },
    };
  },
});
