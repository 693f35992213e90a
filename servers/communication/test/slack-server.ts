// Test fixture of the Slack and Teams tests: the Slack and Teams simulators, a fleet database, and the
// communication server's Slack and Teams tools behind the outbound governance step, with a test policy.
import { defineServer, type Logger } from '@mcp-fleet/core';
import { SlackSimulator, TeamsSimulator } from '@mcp-fleet/simulators';
import {
  type BootedServer,
  bootServer,
  createTestDatabase,
  type TestClient,
  textOf,
} from '@mcp-fleet/testkit';
import pg from 'pg';
import { type CommunicationConfig, loadConfig } from '../src/config.js';
import type { Connectors } from '../src/connectors.js';
import { outboundStep } from '../src/governance/outbound-step.js';
import { SlackConnector, slackPlans, slackTools } from '../src/slack/index.js';
import { TeamsConnector, teamsPlans, teamsTools } from '../src/teams/index.js';
import { UpstreamBreaker } from '../src/upstream/breaker.js';
import { isUpstreamFailure, upstreamToolError } from '../src/upstream/failures.js';

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

/** The Slack and Teams tools as the server will compose them (glue's definition.ts replaces this). */
const definition = defineServer(import.meta.url, {
  instructions: 'Slack and Teams tools of the communication server (test composition).',
  config: loadConfig,
  tools: [...slackTools, ...teamsTools],
  steps: [{ at: 'checks', step: outboundStep({ ...slackPlans, ...teamsPlans }) }],
  mapError: (err) => (isUpstreamFailure(err) ? upstreamToolError(err) : undefined),
  connect: async ({
    config,
    logger,
  }: {
    config: CommunicationConfig;
    logger: Logger;
  }): Promise<Connectors> => ({
    config,
    slack: await SlackConnector.open({
      token: config.slackBotToken as string,
      apiUrl: config.slackApiUrl,
      timeoutMs: config.upstreamTimeoutMs,
      breaker: new UpstreamBreaker('slack', { threshold: 1_000 }),
      logger,
      directoryTtlMs: 200,
    }),
    teams: new TeamsConnector({
      channels: config.teamsChannels ?? new Map(),
      timeoutMs: config.upstreamTimeoutMs,
      breaker: new UpstreamBreaker('teams', { threshold: 1_000 }),
    }),
  }),
});

/** The running fixture. */
export interface ChatFleet {
  slack: SlackSimulator;
  teams: TeamsSimulator;
  s: BootedServer;
  dbUrl: string;
  close(): Promise<void>;
}

/** Starts both simulators, a fleet database and the server. */
export async function bootChat(env: Record<string, string> = {}): Promise<ChatFleet> {
  const slack = new SlackSimulator();
  const teams = new TeamsSimulator();
  await slack.start();
  await teams.start();
  const db = await createTestDatabase('comm_chat');
  try {
    const s = await bootServer(definition, {
      policy: chatPolicy,
      databaseUrl: db.url,
      env: {
        SLACK_BOT_TOKEN: slack.token,
        SLACK_API_URL: slack.apiUrl,
        TEAMS_CHANNELS: JSON.stringify(teams.channels),
        COMMUNICATION_DESTINATION_PER_MINUTE: '10000',
        COMMUNICATION_UPSTREAM_TIMEOUT_MS: '3000',
        ...env,
      },
    });
    return {
      slack,
      teams,
      s,
      dbUrl: db.url,
      close: async () => {
        await s.close();
        await slack.close();
        await teams.close();
        await db.drop();
      },
    };
  } catch (err) {
    await slack.close();
    await teams.close();
    await db.drop();
    throw err;
  }
}

/** A call's outcome as the tests read it. */
export interface Outcome {
  isError: boolean;
  code: string | undefined;
  text: string;
  data: Record<string, unknown> | undefined;
  meta: Record<string, unknown> | undefined;
}

/** Calls a tool; a JSON-RPC error becomes an error outcome. */
export async function call(
  client: TestClient,
  tool: string,
  args: Record<string, unknown>,
  meta?: Record<string, unknown>,
): Promise<Outcome> {
  try {
    const r = (await client.callTool(tool, args, meta)) as Awaited<ReturnType<TestClient['callTool']>> & {
      _meta?: Record<string, unknown>;
    };
    const err = r._meta?.['io.mcp-fleet/error'] as { code?: string } | undefined;
    return {
      isError: Boolean(r.isError),
      code: err?.code,
      text: textOf(r),
      data: r.structuredContent,
      meta: r._meta,
    };
  } catch (e) {
    return { isError: true, code: 'rpc_error', text: (e as Error).message, data: undefined, meta: undefined };
  }
}

/** The finished audit records of one tool, oldest first. */
export async function auditRows(
  dbUrl: string,
  tool: string,
): Promise<{ outcome: string; details: Record<string, unknown> }[]> {
  const c = new pg.Client({ connectionString: dbUrl });
  await c.connect();
  try {
    const { rows } = await c.query(
      `SELECT outcome, details FROM audit_records WHERE tool = $1 AND outcome <> 'started' ORDER BY ts`,
      [tool],
    );
    return rows;
  } finally {
    await c.end();
  }
}
