// Test fixture of the email tests: the SMTP simulator, a fleet database, and the communication
// server's email tools booted behind the outbound governance step with a test policy.
import { SmtpSimulator } from '@mcp-fleet/simulators';
import type { TestClient } from '@mcp-fleet/testkit';
import { EmailConnector, emailPlans, emailTools } from '../src/email/index.js';
import {
  bootComm,
  type CommServer,
  callTool,
  testBreaker,
  testComposition,
  auditRows as toolAuditRows,
} from './comm-server.js';
import { ALLOWED_DOMAINS } from './email-hostile.js';

export type { Outcome } from './comm-server.js';

/** The fixed sender the server is configured with. */
export const EMAIL_FROM = 'mcp-fleet <agents@example.com>';

/**
 * Roles: `admin` (the allowed test domains, 5 recipients), `small` (2 recipients, 400 bytes),
 * `open` ("*": only the server's caps), `approver` (example.com, secrets held for approval).
 */
export const emailPolicy = {
  version: 1,
  defaults: { limits: { perMinute: 100_000 } },
  roles: {
    admin: {
      grants: [
        {
          servers: ['communication'],
          tools: ['send_email'],
          constraints: { 'communication.email': { domains: ALLOWED_DOMAINS, maxRecipients: 5 } },
        },
      ],
    },
    small: {
      grants: [
        {
          servers: ['communication'],
          tools: ['send_email'],
          constraints: {
            'communication.email': { domains: ['example.com'], maxRecipients: 2, maxBytes: 400 },
          },
        },
      ],
    },
    open: {
      grants: [
        { servers: ['communication'], tools: ['send_email'], constraints: { 'communication.email': '*' } },
      ],
    },
  },
};

const definition = testComposition('Email tools', emailTools, emailPlans, ({ config }) => ({
  config,
  email: new EmailConnector({
    smtpUrl: config.smtpUrl as string,
    from: config.emailFrom as string,
    replyTo: config.emailReplyTo,
    timeoutMs: config.upstreamTimeoutMs,
    breaker: testBreaker('email'),
  }),
}));

/** The running fixture. */
export interface EmailFleet extends CommServer {
  sim: SmtpSimulator;
}

/** Starts the SMTP simulator, a fleet database and the server. */
export async function bootEmail(env: Record<string, string> = {}): Promise<EmailFleet> {
  const sim = new SmtpSimulator();
  const url = await sim.start();
  const f = await bootComm({
    prefix: 'comm_email',
    definition,
    policy: emailPolicy,
    upstreams: [sim],
    env: {
      SMTP_URL: url,
      EMAIL_FROM,
      EMAIL_REPLY_TO: 'support@example.com',
      COMMUNICATION_DESTINATION_PER_MINUTE: '10000',
      COMMUNICATION_UPSTREAM_TIMEOUT_MS: '3000',
      ...env,
    },
  });
  return { ...f, sim };
}

/** Calls send_email; a JSON-RPC error becomes an error outcome. */
export const call = (client: TestClient, args: Record<string, unknown>, meta?: Record<string, unknown>) =>
  callTool(client, 'send_email', args, meta);

/** The audit records of send_email, oldest first. */
export const auditRows = (dbUrl: string) => toolAuditRows(dbUrl, 'send_email');
