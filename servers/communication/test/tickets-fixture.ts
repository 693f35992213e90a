// Test fixture of the ticket tests: the Jira simulator, a fleet database, and the communication
// server's ticket tools (real jira.js over real sockets) behind the outbound governance step.
import { defineServer } from '@mcp-fleet/core';
import { JiraSimulator } from '@mcp-fleet/simulators';
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
import { JiraBackend, ticketPlans, ticketTools } from '../src/tickets/index.js';
import { UpstreamBreaker } from '../src/upstream/breaker.js';
import { isUpstreamFailure, upstreamToolError } from '../src/upstream/failures.js';

const TOOLS = ['create_ticket', 'add_ticket_comment', 'get_ticket'];
const grant = (value: unknown, tools = TOOLS) => ({
  servers: ['communication'],
  tools,
  constraints: { 'communication.tickets': value },
});

/**
 * Roles: `support` (SUP, Task and Bug, no extra fields — the example policy's), `admin` (SUP and OPS,
 * priority and labels), `split` (SUP/Task and OPS/Incident as two grants: SUP/Incident is not allowed),
 * `open` ("*"), `reader` (get_ticket in SUP only).
 */
export const ticketPolicy = {
  version: 1,
  defaults: { limits: { perMinute: 100_000 } },
  roles: {
    support: { grants: [grant({ projects: ['SUP'], issueTypes: ['Task', 'Bug'] })] },
    admin: {
      grants: [
        grant({
          projects: ['SUP', 'OPS'],
          issueTypes: ['Task', 'Bug', 'Incident'],
          fields: ['priority', 'labels'],
        }),
      ],
    },
    split: {
      grants: [
        grant({ projects: ['SUP'], issueTypes: ['Task'] }),
        grant({ projects: ['OPS'], issueTypes: ['Incident'] }),
      ],
    },
    open: { grants: [grant('*')] },
    reader: { grants: [grant({ projects: ['SUP'] }, ['get_ticket'])] },
  },
};

/** The sim's credentials. */
export const JIRA_EMAIL = 'agents@example.com';
export const JIRA_TOKEN = 'jira-sim-api-token';

/** The ticket tools as the server will compose them (glue's definition.ts replaces this once it lands). */
const definition = defineServer(import.meta.url, {
  instructions: 'Ticket tools of the communication server (test composition).',
  config: loadConfig,
  tools: ticketTools,
  steps: [{ at: 'checks', step: outboundStep(ticketPlans) }],
  mapError: (err) => (isUpstreamFailure(err) ? upstreamToolError(err) : undefined),
  connect: ({ config }: { config: CommunicationConfig }): Connectors => ({
    config,
    tickets: new JiraBackend({
      url: config.jiraUrl as string,
      email: config.jiraEmail as string,
      apiToken: config.jiraApiToken as string,
      timeoutMs: config.upstreamTimeoutMs,
      breaker: new UpstreamBreaker('tickets', { threshold: 1_000 }),
    }),
  }),
});

/** The running fixture. */
export interface TicketFleet {
  sim: JiraSimulator;
  s: BootedServer;
  dbUrl: string;
  close(): Promise<void>;
}

/** Starts the Jira simulator, a fleet database and the server. */
export async function bootTickets(env: Record<string, string> = {}): Promise<TicketFleet> {
  const sim = new JiraSimulator({ email: JIRA_EMAIL, apiToken: JIRA_TOKEN });
  const url = await sim.start();
  const db = await createTestDatabase('comm_tickets');
  try {
    const s = await bootServer(definition, {
      policy: ticketPolicy,
      databaseUrl: db.url,
      env: {
        JIRA_URL: url,
        JIRA_EMAIL,
        JIRA_API_TOKEN: JIRA_TOKEN,
        COMMUNICATION_DESTINATION_PER_MINUTE: '10000',
        COMMUNICATION_UPSTREAM_TIMEOUT_MS: '1500',
        ...env,
      },
    });
    return {
      sim,
      s,
      dbUrl: db.url,
      close: async () => {
        await s.close();
        await sim.close();
        await db.drop();
      },
    };
  } catch (err) {
    await sim.close();
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

/** Calls a tool; a JSON-RPC error (e.g. invalid arguments) becomes an error outcome. */
export async function call(
  client: TestClient,
  tool: string,
  args: Record<string, unknown>,
): Promise<Outcome> {
  try {
    const r = (await client.callTool(tool, args)) as Awaited<ReturnType<TestClient['callTool']>> & {
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

/** The final audit records of `tool`, oldest first. */
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
