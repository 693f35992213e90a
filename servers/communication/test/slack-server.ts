// Test fixture of the Slack and Teams tests: the Slack and Teams simulators, a fleet database, and the
// communication server's Slack and Teams tools behind the outbound governance step, with a test policy.
import { SlackSimulator, TeamsSimulator } from '@mcp-fleet/simulators';
import { expect } from 'vitest';
import { SlackConnector, slackPlans, slackTools } from '../src/slack/index.js';
import { TeamsConnector, teamsPlans, teamsTools } from '../src/teams/index.js';
import { bootComm, type CommServer, testBreaker, testComposition } from './comm-server.js';

export { auditRows, callTool as call, type Outcome } from './comm-server.js';

const SLACK_TOOLS = ['slack_list_channels', 'slack_read_channel', 'slack_post_message'];
const slackGrant = (value: unknown) => ({
  servers: ['communication'],
  tools: SLACK_TOOLS,
  constraints: { 'communication.slack': value },
});

/**
 * Roles: `support` (#support-escalations by name), `analyst` (C0ANALYT01 by id), `herald` (#general
 * with broadcasts), `terse` (#support-escalations, 40 characters), `open` ("*"), `dm` (only the DM
 * D0ALICE001 with alice), `teams` (ops-alerts).
 */
export const chatPolicy = {
  version: 1,
  defaults: { limits: { perMinute: 100_000 } },
  roles: {
    support: { grants: [slackGrant({ channels: ['#support-escalations'] })] },
    analyst: { grants: [slackGrant({ channels: ['C0ANALYT01'] })] },
    herald: { grants: [slackGrant({ channels: ['#general'], broadcast: true })] },
    terse: { grants: [slackGrant({ channels: ['#support-escalations'], maxChars: 40 })] },
    open: { grants: [slackGrant('*')] },
    dm: { grants: [slackGrant({ channels: ['D0ALICE001'] })] },
    teams: {
      grants: [
        {
          servers: ['communication'],
          tools: ['teams_post_message'],
          constraints: { 'communication.teams': { channels: ['ops-alerts'] } },
        },
      ],
    },
  },
};

const definition = testComposition(
  'Slack and Teams tools',
  [...slackTools, ...teamsTools],
  { ...slackPlans, ...teamsPlans },
  async ({ config, logger }) => ({
    config,
    slack: await SlackConnector.open({
      token: config.slackBotToken as string,
      apiUrl: config.slackApiUrl,
      timeoutMs: config.upstreamTimeoutMs,
      breaker: testBreaker('slack'),
      logger,
      directoryTtlMs: 200,
    }),
    teams: new TeamsConnector({
      channels: config.teamsChannels ?? new Map(),
      timeoutMs: config.upstreamTimeoutMs,
      breaker: testBreaker('teams'),
    }),
  }),
);

/** The running fixture. */
export interface ChatFleet extends CommServer {
  slack: SlackSimulator;
  teams: TeamsSimulator;
}

/** Starts both simulators, a fleet database and the server. */
export async function bootChat(env: Record<string, string> = {}): Promise<ChatFleet> {
  const slack = new SlackSimulator();
  const teams = new TeamsSimulator();
  await slack.start();
  await teams.start();
  const f = await bootComm({
    prefix: 'comm_chat',
    definition,
    policy: chatPolicy,
    upstreams: [slack, teams],
    env: {
      SLACK_BOT_TOKEN: slack.token,
      SLACK_API_URL: slack.apiUrl,
      TEAMS_CHANNELS: JSON.stringify(teams.channels),
      COMMUNICATION_DESTINATION_PER_MINUTE: '10000',
      COMMUNICATION_UPSTREAM_TIMEOUT_MS: '3000',
      ...env,
    },
  });
  return { ...f, slack, teams };
}

/** Runs `fn` and counts the chat.postMessage requests and recorded posts it caused. */
export async function postDelta<T>(f: ChatFleet, fn: () => Promise<T>) {
  const postRequests = () => f.slack.requests.filter((r) => r.operation === 'chat.postMessage').length;
  const r0 = postRequests();
  const p0 = f.slack.posts.length;
  const out = await fn();
  return { out, requests: postRequests() - r0, posts: f.slack.posts.length - p0 };
}

/** The structured result's array field (empty when absent). */
export const listOf = <T>(o: { data?: Record<string, unknown> }, key: string) => (o.data?.[key] ?? []) as T[];

/** Every request chat.postMessage received has previews off, parse none and no name linking. */
export function expectSafeParams(params: Record<string, unknown>) {
  expect(String(params.unfurl_links)).toBe('false');
  expect(String(params.unfurl_media)).toBe('false');
  expect(params.link_names).toBeUndefined();
  expect(params.parse).toBe('none');
}
