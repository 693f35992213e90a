// slack_list_channels: the channels the caller may read and post to — only those, never the rest of
// the workspace (names of other channels are information too).
import { z } from 'zod';
import { slack as slackDimension } from '../../dimensions.js';
import { tool } from '../../tools/tool.js';
import { allowingRules, rulesOf } from '../destinations.js';
import { slackOf } from '../plan.js';

const channel = z.object({
  id: z.string(),
  name: z.string(),
  private: z.boolean(),
  externalShared: z
    .boolean()
    .describe('Shared with another organisation: people outside the company read it'),
  directMessage: z.boolean(),
  botIsMember: z.boolean(),
});

/** slack_list_channels tool. */
export const slackListChannels = tool({
  name: 'slack_list_channels',
  title: 'List Slack channels',
  description:
    'Lists the Slack channels your role may read and post to (id, name, whether private or shared with another organisation). ' +
    'Use the id or "#name" with slack_read_channel and slack_post_message.',
  input: z.object({}).strict(),
  output: z.object({ channels: z.array(channel) }),
  governance: { readOnly: true, cacheTtlSeconds: 30, openWorld: false, timeoutMs: 20_000 },
  constraint: { dimension: slackDimension, check: () => null },
  toText: (d) =>
    d.channels.length === 0
      ? 'Your role may use no Slack channel.'
      : `Slack channels you may use:\n${d.channels
          .map(
            (c) =>
              `- ${c.directMessage ? 'direct message' : `#${c.name}`} (${c.id})${c.private ? ', private' : ''}` +
              `${c.externalShared ? ', SHARED with another organisation' : ''}${c.botIsMember ? '' : ', bot not a member'}`,
          )
          .join('\n')}`,
  handler: async (_args, ctx) => {
    const dir = await slackOf(ctx.connectors).directory();
    const rules = rulesOf(ctx.constraints);
    const channels = dir.snapshot.channels
      .filter((c) => allowingRules(c, rules, dir) !== undefined)
      .map((c) => ({
        id: c.id,
        name: c.name,
        private: c.isPrivate,
        externalShared: c.isExtShared,
        directMessage: c.isIm,
        botIsMember: c.isMember,
      }))
      .sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
    return { data: { channels } };
  },
});
