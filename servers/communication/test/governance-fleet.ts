// Test fixture of the governance tests: the simulator hub, a fleet database of its own, and the whole
// communication server (its real definition) booted against both with the example policy.
import { type SimulatorHub, startSimulatorHub } from '@mcp-fleet/simulators';
import {
  type BootedServer,
  bootServer,
  createTestDatabase,
  examplePolicy,
  type TestClient,
  textOf,
} from '@mcp-fleet/testkit';
import pg from 'pg';
import definition from '../src/definition.js';
import { LOCAL_EMAIL_FROM } from '../src/local-setup.js';

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
export interface CommunicationFleet {
  hub: SimulatorHub;
  s: BootedServer;
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
  const database = await createTestDatabase(prefix);
  const s = await bootServer(definition, {
    policy: governancePolicy(),
    databaseUrl: database.url,
    env: { ...hub.env, EMAIL_FROM: LOCAL_EMAIL_FROM, ...env },
  });
  const db = new pg.Pool({ connectionString: database.url, max: 2 });
  return {
    hub,
    s,
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
      await s.close();
      await db.end();
      await database.drop();
      await hub.close();
    },
  };
}

/** A tool call's result as the tests read it: text, error flag and error code. */
export async function call(client: TestClient, tool: string, args: Record<string, unknown>) {
  const r = await client.callTool(tool, args);
  const meta = (r as { _meta?: Record<string, unknown> })._meta;
  const sc = r.structuredContent as Record<string, unknown> | undefined;
  return { text: textOf(r), isError: r.isError === true, data: sc, meta, raw: r };
}
