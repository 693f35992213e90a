// teams_post_message and its planner: a configured channel NAME (never a URL or id from the model),
// text or a bounded Adaptive Card, content rules applied, sent once.
import { setTimeout as sleep } from 'node:timers/promises';
import { ToolError } from '@mcp-fleet/core';
import { z } from 'zod';
import type { Connectors } from '../connectors.js';
import { type TeamsRule, teams as teamsDimension } from '../dimensions.js';
import type { OutboundPlan, PlanContext } from '../outbound/plan.js';
import { tool } from '../tools/tool.js';
import { isUpstreamFailure, uncertainPostError, upstreamToolError } from '../upstream/failures.js';
import { cardMessage, cardTexts, checkBytes, prepareCard, textCard } from './card.js';

/** The send tool's timeout: one request, a Retry-After wait that fits, and one more request. */
export const TEAMS_SEND_TIMEOUT_MS = 30_000;

/** Arguments of teams_post_message. */
export interface TeamsPostArgs {
  channel: string;
  text?: string | undefined;
  card?: Record<string, unknown> | undefined;
}

/** A post whose outcome is unknown may be in the channel: a webhook has no idempotency key to ask. */
const TEAMS_UNCERTAIN = {
  unaskable: 'A Teams webhook',
  check: 'Ask someone in the channel whether it arrived',
};

const deny = (m: string) => new ToolError(m, 'destination_denied');

/** Resolves and checks a Teams post; returns the plan and the exact payload that will be sent. */
export async function planTeamsPost(
  args: TeamsPostArgs,
  ctx: PlanContext,
): Promise<{ plan: OutboundPlan; payload: unknown }> {
  const teams = ctx.connectors.teams;
  if (!teams) throw new ToolError('Teams is not configured on this server.', 'not_configured');
  const name = args.channel;
  // One answer for "not configured" and "not granted", so a caller cannot probe which channels exist;
  // only an unconstrained caller (who may use every configured channel) is told their names.
  const denied = () =>
    deny(
      `\`${name.slice(0, 80)}\` is no Teams channel your role may post to.` +
        (ctx.constraints === null ? ` Configured: ${teams.names().join(', ')}.` : ''),
    );
  if (!teams.has(name)) throw denied();
  let rules: readonly TeamsRule[] = [];
  if (ctx.constraints !== null) {
    rules = (ctx.constraints as TeamsRule[]).filter((r) => r?.channels?.includes(name));
    if (!rules.length) throw denied();
  }
  const cap = ctx.connectors.config.teamsMaxBytes;
  const caps = rules.map((r) => Math.min(r.maxBytes ?? cap, cap));
  const maxBytes = caps.length ? Math.max(...caps) : cap;
  if ((args.text === undefined) === (args.card === undefined))
    throw new ToolError('Pass exactly one of `text` or `card`.', 'invalid_arguments');
  // A text message is a one-TextBlock card, so both go through the same checks.
  const card = prepareCard(args.card ?? textCard(args.text ?? ''), maxBytes);
  const payload = cardMessage(card);
  checkBytes(payload, maxBytes);
  const content =
    args.card !== undefined ? cardTexts(card, ['card']) : [{ path: ['text'], text: args.text ?? '' }];
  return {
    plan: {
      system: 'teams',
      destinations: [`teams:${name}`],
      content,
      onSecrets: rules.some((r) => r.secrets === 'approval') ? 'approval' : 'refuse',
    },
    payload,
  };
}

/** The outbound planner of teams_post_message. */
export const planTeamsPostMessage = async (args: TeamsPostArgs, ctx: PlanContext): Promise<OutboundPlan> =>
  (await planTeamsPost(args, ctx)).plan;

/** teams_post_message tool. */
export const teamsPostMessage = tool({
  name: 'teams_post_message',
  title: 'Post to a Teams channel',
  description:
    'Posts a message to a Microsoft Teams channel by its configured NAME (e.g. "ops-alerts"), as text (markdown) or as an Adaptive Card ' +
    '(TextBlock, FactSet, Container, ColumnSet, Action.OpenUrl to https; no images). Links whose text names another address are refused. ' +
    'Not retried automatically.',
  input: z
    .object({
      channel: z.string().min(1).max(80).describe('A configured Teams channel name your role may post to'),
      text: z.string().min(1).max(28_000).optional().describe('The message text (markdown); or pass `card`'),
      card: z
        .record(z.string(), z.unknown())
        .optional()
        .describe('An Adaptive Card object (type "AdaptiveCard", version, body)'),
    })
    .strict(),
  output: z.object({ channel: z.string(), bytes: z.number().int() }),
  governance: { readOnly: false, commits: true, openWorld: false, timeoutMs: TEAMS_SEND_TIMEOUT_MS },
  constraint: {
    dimension: teamsDimension,
    check: (args, value) =>
      value.channels.includes(args.channel)
        ? null
        : `\`${args.channel.slice(0, 80)}\` is no Teams channel your role may post to`,
  },
  toText: (d) => `Posted to the Teams channel ${d.channel} (${d.bytes} bytes).`,
  handler: async (args, ctx) => {
    const started = Date.now();
    const { plan, payload } = await planTeamsPost(
      args,
      planContext(ctx.connectors, ctx.constraints, ctx.signal),
    );
    const teams = ctx.connectors.teams;
    if (!teams) throw new ToolError('Teams is not configured on this server.', 'not_configured');
    ctx.detail('destinations', plan.destinations);
    ctx.commit();
    try {
      try {
        await teams.post(args.channel, payload, ctx.signal);
      } catch (err) {
        // A 429 means Teams did not accept the message: one retry, only when the wait fits in the time left.
        if (!isUpstreamFailure(err) || err.kind !== 'rate_limited') throw err;
        const left = TEAMS_SEND_TIMEOUT_MS - (Date.now() - started) - ctx.connectors.config.upstreamTimeoutMs;
        if (err.retryAfterMs === undefined || err.retryAfterMs > left) throw upstreamToolError(err);
        await sleep(err.retryAfterMs);
        ctx.detail('retriedAfterRateLimitMs', err.retryAfterMs);
        await teams.post(args.channel, payload, ctx.signal);
      }
    } catch (err) {
      throw (isUpstreamFailure(err) && uncertainPostError(err, 'teams', TEAMS_UNCERTAIN)) || err;
    }
    ctx.detail('upstreamId', args.channel);
    return { data: { channel: args.channel, bytes: Buffer.byteLength(JSON.stringify(payload)) } };
  },
});

function planContext(
  connectors: Connectors,
  constraints: readonly unknown[] | null,
  signal: AbortSignal,
): PlanContext {
  return { connectors, constraints, signal };
}
