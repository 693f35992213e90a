// Test fixture of the email tests: the SMTP simulator, a fleet database, and the communication
// server's email tools booted behind the outbound governance step with a test policy.
import { defineServer } from '@mcp-fleet/core';
import { SmtpSimulator } from '@mcp-fleet/simulators';
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
import { EmailConnector, emailPlans, emailTools } from '../src/email/index.js';
import { outboundStep } from '../src/governance/outbound-step.js';
import { UpstreamBreaker } from '../src/upstream/breaker.js';
import { isUpstreamFailure, upstreamToolError } from '../src/upstream/failures.js';
import { ALLOWED_DOMAINS } from './email-hostile.js';

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

/** The email tools as the server will compose them (glue's definition.ts replaces this once it lands). */
const definition = defineServer(import.meta.url, {
  instructions: 'Email tools of the communication server (test composition).',
  config: loadConfig,
  tools: emailTools,
  steps: [{ at: 'checks', step: outboundStep(emailPlans) }],
  mapError: (err) => (isUpstreamFailure(err) ? upstreamToolError(err) : undefined),
  connect: ({ config }: { config: CommunicationConfig }): Connectors => ({
    config,
    email: new EmailConnector({
      smtpUrl: config.smtpUrl as string,
      from: config.emailFrom as string,
      replyTo: config.emailReplyTo,
      timeoutMs: config.upstreamTimeoutMs,
      breaker: new UpstreamBreaker('email', { threshold: 1_000 }),
    }),
  }),
});

/** The running fixture. */
export interface EmailFleet {
  sim: SmtpSimulator;
  s: BootedServer;
  dbUrl: string;
  close(): Promise<void>;
}

/** Starts the SMTP simulator, a fleet database and the server. */
export async function bootEmail(env: Record<string, string> = {}): Promise<EmailFleet> {
  const sim = new SmtpSimulator();
  const url = await sim.start();
  const db = await createTestDatabase('comm_email');
  try {
    const s = await bootServer(definition, {
      policy: emailPolicy,
      databaseUrl: db.url,
      env: {
        SMTP_URL: url,
        EMAIL_FROM,
        EMAIL_REPLY_TO: 'support@example.com',
        COMMUNICATION_DESTINATION_PER_MINUTE: '10000',
        COMMUNICATION_UPSTREAM_TIMEOUT_MS: '3000',
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

/** Calls send_email (or another tool); a JSON-RPC error becomes an error outcome. */
export async function call(
  client: TestClient,
  args: Record<string, unknown>,
  meta?: Record<string, unknown>,
): Promise<Outcome> {
  try {
    const r = (await client.callTool('send_email', args, meta)) as Awaited<
      ReturnType<TestClient['callTool']>
    > & {
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

/** The audit records of send_email, oldest first. */
export async function auditRows(
  dbUrl: string,
): Promise<{ outcome: string; details: Record<string, unknown>; arguments: unknown }[]> {
  const c = new pg.Client({ connectionString: dbUrl });
  await c.connect();
  try {
    const { rows } = await c.query(
      `SELECT outcome, details, arguments FROM audit_records WHERE tool = 'send_email' AND outcome <> 'started' ORDER BY ts`,
    );
    return rows;
  } finally {
    await c.end();
  }
}
