// The one way the SCIM tests boot the admin server's user tools: the real SCIM pieces (scimConfig,
// connectScim, scimTools, scimSteps, scimReadiness) composed as the admin definition wires them, against
// a real SCIM simulator over HTTP, a real fleet database (TEST_DATABASE_URL) and a dev issuer; clients
// per caller; approvals decided over /approvals with an approver token; what reached the directory.
import { Writable } from 'node:stream';
import type { ServerDefinition } from '@mcp-fleet/core';
import { ScimSimulator, type StartedScimSimulator, startScimSimulator } from '@mcp-fleet/simulators';
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
  connectScim,
  type ScimConfig,
  type ScimConnectors,
  scimConfig,
  scimReadiness,
  scimSteps,
  scimTools,
  scimUnlisted,
} from '../../src/scim/index.js';

export const PROTECTED = ['breakglass', 'billing-contact', 'fleet-service'] as const;
export const ADMIN_GROUP = 'fleet-admins';
export const MUTATING = ['disable_user', 'delete_user', 'set_user_groups'] as const;
export type MutatingTool = (typeof MUTATING)[number];

/** The admin server's SCIM side as the definition wires it. */
export const scimDefinition: ServerDefinition<ScimConnectors, ScimConfig> = {
  name: 'admin',
  version: '0.0.0-test',
  defaultPort: 7405,
  config: (env) => scimConfig(env),
  tools: () => scimTools,
  unlisted: scimUnlisted,
  steps: scimSteps,
  connect: ({ config, fleetDb, logger }) => ({ scim: connectScim(config, fleetDb, logger) }),
  readiness: (c) => scimReadiness(c.scim),
};

/** Admins may call every admin tool; support only reads (the example policy's shape, no throttling). */
export const SCIM_TEST_POLICY = {
  version: 1,
  defaults: { limits: { perMinute: 1_000_000 } },
  roles: {
    admin: { grants: [{ servers: ['admin'], tools: ['*'] }], limits: { perMinute: 1_000_000 } },
    support: { grants: [{ servers: ['admin'], access: 'read' }], limits: { perMinute: 1_000_000 } },
  },
};

/** Who calls: agent `sub`, the `user` it acts for, roles (default admin). */
export interface Caller {
  sub: string;
  user?: string;
  roles?: string[];
  extra?: Record<string, unknown>;
}

export interface ScimFixture {
  sim: ScimSimulator;
  directory: StartedScimSimulator;
  servers: BootedServer[];
  s: BootedServer;
  dbUrl: string;
  client(caller: Caller, replica?: number): Promise<TestClient>;
  call(client: TestClient, tool: string, args: Record<string, unknown>): Promise<CallOutcome>;
  /** Approves a held call as `approver` (a person, not the agent or its user); returns the HTTP status. */
  approve(approvalId: string, approver?: string): Promise<number>;
  /** Calls, expects the call held, approves it, calls again with the approval id. */
  callApproved(client: TestClient, tool: string, args: Record<string, unknown>): Promise<CallOutcome>;
  /** Requests that changed (or tried to change) the directory. */
  writes(): number;
  /** Every request that reached the directory. */
  requests(): number;
  logs(): string[];
  auditLines(): string[];
  audit(tool?: string): Promise<{ tool: string; outcome: string; details: Record<string, unknown> | null }[]>;
  close(): Promise<void>;
}

/** Boots `replicas` admin servers (one fleet database, one issuer) against a fresh SCIM simulator. */
export async function bootScim(
  o: { prefix: string; env?: Record<string, string>; replicas?: number } = { prefix: 'scim' },
): Promise<ScimFixture> {
  const directory = await startScimSimulator({});
  const db = await createTestDatabase(o.prefix);
  const issuer = await DevIssuer.create();
  await issuer.listen();
  const logLines: string[] = [];
  const auditLines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n')) if (line.trim()) logLines.push(line);
      done();
    },
  });
  const servers: BootedServer[] = [];
  const clients: TestClient[] = [];
  try {
    for (let i = 0; i < (o.replicas ?? 1); i++)
      servers.push(
        await bootServer(scimDefinition, {
          policy: SCIM_TEST_POLICY,
          issuer,
          databaseUrl: db.url,
          env: {
            AUDIT_STDOUT: 'true',
            LOG_LEVEL: 'debug',
            SCIM_BASE_URL: directory.baseUrl,
            SCIM_TOKEN: directory.token,
            ADMIN_PROTECTED_USERS: PROTECTED.join(','),
            ADMIN_GROUP,
            ...o.env,
          },
          serverOptions: { logDestination: sink, auditWrite: (line) => auditLines.push(line) },
        }),
      );
  } catch (err) {
    for (const s of servers) await s.close();
    await issuer.close();
    await directory.close();
    await db.drop();
    throw err;
  }
  const s = servers[0] as BootedServer;
  const fx: ScimFixture = {
    sim: directory.simulator,
    directory,
    servers,
    s,
    dbUrl: db.url,
    client: async (caller, replica = 0) => {
      const server = servers[replica] as BootedServer;
      const token = await server.token({
        sub: caller.sub,
        roles: caller.roles ?? ['admin'],
        ...(caller.user !== undefined ? { user: caller.user } : {}),
        ...(caller.extra ? { extra: caller.extra as never } : {}),
      });
      const c = await connectClient('modern', server.url, token);
      clients.push(c);
      return c;
    },
    call: (client, tool, args) => callOutcome(client, tool, args),
    approve: async (approvalId, approver = 'human-approver') => {
      const token = await issuer.mintApprover({ sub: approver, aud: `${s.baseUrl}/approvals` });
      const res = await fetch(`${s.baseUrl}/approvals/${approvalId}/approve`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ note: 'ok' }),
      });
      await res.text();
      return res.status;
    },
    callApproved: async (client, tool, args) => {
      const held = await callOutcome(client, tool, args);
      if (held.code !== 'awaiting_approval') return held;
      const id = approvalIdOf(held);
      const status = await fx.approve(id);
      if (status !== 200) throw new Error(`approve answered ${status}`);
      return callOutcome(client, tool, { ...args, approval_id: id });
    },
    writes: () => directory.simulator.writeRequests.length,
    requests: () => directory.simulator.requests.filter((r) => !r.path.includes('/_simulator')).length,
    logs: () => [...logLines],
    auditLines: () => [...auditLines],
    audit: async (tool) => {
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      try {
        const { rows } = await c.query(
          `SELECT tool, outcome, details FROM audit_records
            WHERE outcome <> 'started' AND ($1::text IS NULL OR tool = $1) ORDER BY ts`,
          [tool ?? null],
        );
        return rows;
      } finally {
        await c.end();
      }
    },
    close: async () => {
      await Promise.all(clients.map((c) => c.close().catch(() => {})));
      for (const server of servers) await server.close();
      await issuer.close();
      await directory.close();
      await db.drop();
    },
  };
  return fx;
}

/** The approval id of a held call's answer. */
export function approvalIdOf(o: CallOutcome): string {
  const gov = o.meta?.['io.mcp-fleet/governance'] as { approvalId?: string } | undefined;
  if (!gov?.approvalId) throw new Error(`no approval id in ${o.text}`);
  return gov.approvalId;
}

/** Valid arguments of each mutating tool for `userName`. */
export const argsFor = (tool: MutatingTool, userName: string): Record<string, unknown> =>
  tool === 'set_user_groups' ? { user_name: userName, groups: [] } : { user_name: userName };

/** A fresh simulator state for a test: the seeded demo directory. */
export function resetDirectory(sim: ScimSimulator): void {
  const fresh = new ScimSimulator();
  sim.users.clear();
  sim.groups.clear();
  for (const [k, v] of fresh.users) sim.users.set(k, v);
  for (const [k, v] of fresh.groups) sim.groups.set(k, v);
  sim.clearFaults();
  sim.recorder.clear();
}
