// The billing tests' server: the admin server's billing part (billingTools, billingSteps,
// connectBilling, billingReadiness) composed as a server named `admin`, booted with its own fleet
// database (real PostgreSQL), dev issuer and a real Stripe simulator reached through the stripe SDK.
// Approvals are opened by calls and decided through /approvals with approver tokens, as a person would.
import { randomUUID } from 'node:crypto';
import type { ServerDefinition } from '@mcp-fleet/core';
import { STRIPE_SIM, type StartedStripeSimulator, startStripeSimulator } from '@mcp-fleet/simulators';
import {
  type BootedServer,
  bootServer,
  type CallOutcome,
  callOutcome,
  connectClient,
  createTestDatabase,
  DevIssuer,
  type TestClient,
} from '@mcp-fleet/testkit';
import pg from 'pg';
import {
  type BillingConfig,
  type BillingConnectors,
  billingConfig,
  billingReadiness,
  billingSteps,
  billingTools,
  billingUnlisted,
  connectBilling,
} from '../../src/billing/index.js';

/** The billing part of the admin server, as a server of its own name. */
export const billingDefinition: ServerDefinition<BillingConnectors, BillingConfig> = {
  name: 'admin',
  version: '0.0.0-billing-test',
  defaultPort: 7405,
  config: billingConfig,
  tools: billingTools,
  unlisted: billingUnlisted,
  connect: ({ config, logger }) => ({ billing: connectBilling(config, logger) }),
  readiness: (c) => billingReadiness(c.billing),
  steps: billingSteps,
};

/** Everyone may call the billing tools (the tests are about what happens then). */
export const BILLING_POLICY = {
  version: 1,
  defaults: { limits: { perMinute: 100_000 } },
  roles: {
    admin: { grants: [{ servers: ['admin'], tools: ['*'] }], limits: { perMinute: 100_000 } },
  },
};

/** One request the simulator's control plane shows. */
export interface SimRequest {
  method: string;
  path: string;
  params: Record<string, string>;
  key: string;
  idempotencyKey?: string;
  replayed?: boolean;
}

/** A booted billing server and its upstream. */
export interface BillingFixture {
  s: BootedServer;
  sim: StartedStripeSimulator;
  /** A new agent client (its own agent id and session), acting for `user`. */
  agent(user?: string): Promise<TestClient & { agentId: string }>;
  call(client: TestClient, tool: string, args: Record<string, unknown>): Promise<CallOutcome>;
  /** Approves (or denies) as a person with an approver token; returns the HTTP status. */
  decide(id: string, how: 'approve' | 'deny', person?: string): Promise<number>;
  /** Approval requests of a tool in the fleet database. */
  approvals(tool?: string): Promise<{ id: string; status: string; agent_id: string }[]>;
  /** What reached the simulator (its control plane, over HTTP). */
  requests(): Promise<SimRequest[]>;
  /** POSTs that reached the simulator at a path (replays included unless told). */
  posts(path: string, opts?: { fresh?: boolean }): Promise<SimRequest[]>;
  /** Finished audit records of a tool. */
  audit(
    tool: string,
  ): Promise<{ outcome: string; details: Record<string, unknown> | null; agent_id: string }[]>;
  close(): Promise<void>;
}

export const approvalIdOf = (o: CallOutcome): string | undefined =>
  (o.meta?.['io.mcp-fleet/governance'] as { approvalId?: string } | undefined)?.approvalId;

/** Boots the server against a fresh simulator. */
export async function bootBilling(prefix: string, env: Record<string, string> = {}): Promise<BillingFixture> {
  const sim = await startStripeSimulator();
  const db = await createTestDatabase(prefix);
  const issuer = await DevIssuer.create();
  await issuer.listen();
  let s: BootedServer;
  try {
    s = await bootServer(billingDefinition, {
      policy: BILLING_POLICY,
      issuer,
      databaseUrl: db.url,
      env: { STRIPE_WRITE_KEY: STRIPE_SIM.writeKey, STRIPE_API_URL: sim.url, ...env },
    });
  } catch (err) {
    await sim.close();
    await issuer.close();
    await db.drop();
    throw err;
  }
  const pool = new pg.Pool({ connectionString: db.url, max: 2 });
  // The test database is dropped WITH (FORCE) at close: a connection the pool is still ending then is
  // terminated by the server ("terminating connection due to administrator command"), which the pool
  // re-emits; unheard, it is an uncaught exception that fails the whole run (seen in CI).
  pool.on('error', () => {});
  const clients: TestClient[] = [];
  const requests = async () =>
    ((await (await fetch(`${sim.url}/_simulator/requests`)).json()) as { requests: SimRequest[] }).requests;
  return {
    s,
    sim,
    agent: async (user = 'carol') => {
      const agentId = `billing-agent-${randomUUID().slice(0, 8)}`;
      const token = await s.token({
        sub: agentId,
        roles: ['admin'],
        tenant: 'acme',
        user,
        sid: randomUUID(),
      });
      const c = await connectClient('modern', s.url, token);
      clients.push(c);
      return Object.assign(c, { agentId });
    },
    call: (client, tool, args) => callOutcome(client, tool, args),
    decide: async (id, how, person = 'alice') => {
      const token = await issuer.mintApprover({
        sub: person,
        aud: `${s.baseUrl}/approvals`,
        preferredUsername: person,
        tenant: 'acme',
      });
      const res = await fetch(`${s.baseUrl}/approvals/${id}/${how}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ note: `${how} by ${person}` }),
      });
      return res.status;
    },
    approvals: async (tool) =>
      (
        await pool.query<{ id: string; status: string; agent_id: string }>(
          'SELECT id, status, agent_id FROM approvals WHERE ($1::text IS NULL OR tool = $1) ORDER BY requested_at',
          [tool ?? null],
        )
      ).rows,
    requests,
    posts: async (path, opts = {}) =>
      (await requests()).filter(
        (r) => r.method === 'POST' && r.path === path && (!opts.fresh || r.replayed !== true),
      ),
    audit: async (tool) =>
      (
        await pool.query<{ outcome: string; details: Record<string, unknown> | null; agent_id: string }>(
          `SELECT outcome, details, agent_id FROM audit_records WHERE tool = $1 AND outcome <> 'started' ORDER BY ts`,
          [tool],
        )
      ).rows,
    close: async () => {
      await Promise.all(clients.map((c) => c.close()));
      await s.close();
      await pool.end();
      await issuer.close();
      await sim.close();
      await db.drop();
    },
  };
}
