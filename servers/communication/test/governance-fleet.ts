// Test fixture of the governance tests: the simulator hub, a fleet database of its own, and the whole
// communication server (its real definition) booted against both with the example policy.
import { type SimulatorHub, startSimulatorHub } from '@mcp-fleet/simulators';
import { examplePolicy, type TestClient } from '@mcp-fleet/testkit';
import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { LOCAL_EMAIL_FROM } from '../src/local-setup.js';
import { bootComm, type CommServer, outcomeOf } from './comm-server.js';

/** The example policy plus `support_held`: support's Slack grant, with secrets held for approval. */
export function governancePolicy(): Record<string, unknown> {
  const p = examplePolicy() as { roles: Record<string, unknown> };
  p.roles.support_held = {
    grants: [
      {
        servers: ['communication'],
        tools: ['slack_post_message'],
        constraints: { 'communication.slack': { channels: ['#support-escalations'], secrets: 'approval' } },
      },
    ],
  };
  return p;
}

/** A booted communication server, its simulators and its fleet database. */
export interface CommunicationFleet extends CommServer {
  hub: SimulatorHub;
  db: pg.Pool;
  /** Audit records of `tool` once none is still `started` (records reach PostgreSQL in batches). */
  audit(where: string, params: unknown[], count: number): Promise<AuditRow[]>;
  close(...first: ({ close(): Promise<void> } | undefined)[]): Promise<void>;
}

/** The audit columns the tests read. */
export interface AuditRow {
  tool: string;
  agent_id: string;
  outcome: string;
  arguments: Record<string, unknown> | null;
  details: Record<string, unknown> | null;
}

/** Starts the hub, a fleet database named after `prefix` and the server with every system configured. */
export async function bootCommunication(
  prefix: string,
  env: Record<string, string> = {},
): Promise<CommunicationFleet> {
  const hub = await startSimulatorHub();
  const f = await bootComm({
    prefix,
    policy: governancePolicy(),
    upstreams: [hub],
    env: { ...hub.env, EMAIL_FROM: LOCAL_EMAIL_FROM, ...env },
  });
  const db = new pg.Pool({ connectionString: f.dbUrl, max: 2 });
  return {
    ...f,
    hub,
    db,
    audit: async (where, params, count) => {
      let rows: AuditRow[] = [];
      for (let i = 0; i < 100; i++) {
        ({ rows } = await db.query<AuditRow>(
          `SELECT tool, agent_id, outcome, arguments, details FROM audit_records WHERE ${where} ORDER BY ts`,
          params,
        ));
        if (rows.length >= count && rows.every((r) => r.outcome !== 'started')) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      return rows;
    },
    close: async (...first) => {
      await Promise.all(first.map((c) => c?.close()));
      await db.end();
      await f.close();
    },
  };
}

/** The outbound tests' fleet and clients: support, support_held, and two admin agents of different eras. */
export type OutboundFleet = CommunicationFleet & Record<'support' | 'held' | 'adminA' | 'adminB', TestClient>;

/** Boots the server before the file's tests (and closes it after them); filled in by then. */
export function outboundFleet(prefix: string, env: Record<string, string> = {}): OutboundFleet {
  const out = {} as OutboundFleet;
  beforeAll(async () => {
    const f = await bootCommunication(prefix, env);
    Object.assign(out, f, {
      support: await f.clientFor('modern', 'support'),
      held: await f.clientFor('legacy', 'support_held'),
      adminA: await f.clientFor('modern', 'admin', 'admin-a'),
      adminB: await f.clientFor('legacy', 'admin', 'admin-b'),
    });
  }, 60_000);
  afterAll(() => out.close?.());
  return out;
}

/** Generated secrets of the Stripe, Slack bot and AWS key classes the scan knows. */
export const secretClasses = [
  fc.stringMatching(/^[A-Za-z0-9]{24,40}$/).map((s) => `sk_live_${s}`),
  fc.stringMatching(/^[0-9]{12}-[A-Za-z0-9]{24}$/).map((s) => `xoxb-${s}`),
  fc.stringMatching(/^[A-Z0-9]{16}$/).map((s) => `AKIA${s}`),
];

/** A tool call's result as the tests read it (a JSON-RPC error is thrown). */
export async function call(client: TestClient, tool: string, args: Record<string, unknown>) {
  return outcomeOf(await client.callTool(tool, args));
}
