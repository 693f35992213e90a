// Test fixture of the ticket tests: the Jira simulator, a fleet database, and the communication
// server's ticket tools (real jira.js over real sockets) behind the outbound governance step.
import { JiraSimulator } from '@mcp-fleet/simulators';
import { JiraBackend, ticketPlans, ticketTools } from '../src/tickets/index.js';
import { bootComm, type CommServer, testBreaker, testComposition } from './comm-server.js';

export { auditRows, callTool as call, type Outcome } from './comm-server.js';

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

const definition = testComposition('Ticket tools', ticketTools, ticketPlans, ({ config }) => ({
  config,
  tickets: new JiraBackend({
    url: config.jiraUrl as string,
    email: config.jiraEmail as string,
    apiToken: config.jiraApiToken as string,
    timeoutMs: config.upstreamTimeoutMs,
    breaker: testBreaker('tickets'),
  }),
}));

/** The running fixture. */
export interface TicketFleet extends CommServer {
  sim: JiraSimulator;
}

/** Starts the Jira simulator, a fleet database and the server. */
export async function bootTickets(env: Record<string, string> = {}): Promise<TicketFleet> {
  const sim = new JiraSimulator({ email: JIRA_EMAIL, apiToken: JIRA_TOKEN });
  const url = await sim.start();
  const f = await bootComm({
    prefix: 'comm_tickets',
    definition,
    policy: ticketPolicy,
    upstreams: [sim],
    env: {
      JIRA_URL: url,
      JIRA_EMAIL,
      JIRA_API_TOKEN: JIRA_TOKEN,
      COMMUNICATION_DESTINATION_PER_MINUTE: '10000',
      COMMUNICATION_UPSTREAM_TIMEOUT_MS: '1500',
      ...env,
    },
  });
  return { ...f, sim };
}
