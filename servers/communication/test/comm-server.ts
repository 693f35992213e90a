// The one way the communication tests boot a server: a server definition (the real one unless a test
// composes its own) with a test policy, its own fleet database and dev issuer, against simulators the
// caller started; clients made with clientFor are closed with it. Also the shared call-outcome helper.
import { type AnyTool, defineServer, type Logger, type ServerDefinition } from '@mcp-fleet/core';
import {
  type BootedServer,
  bootServer,
  type CallOutcome,
  type ClientEra,
  callOutcome,
  clientAs,
  createTestDatabase,
  outcomeOf,
  type TestClient,
} from '@mcp-fleet/testkit';
import pg from 'pg';
import { type CommunicationConfig, loadConfig } from '../src/config.js';
import type { Connectors } from '../src/connectors.js';
import realDefinition from '../src/definition.js';
import { outboundStep } from '../src/governance/outbound-step.js';
import type { Planner } from '../src/outbound/plan.js';
import { UpstreamBreaker } from '../src/upstream/breaker.js';
import { isUpstreamFailure, type System, upstreamToolError } from '../src/upstream/failures.js';

/** A breaker that does not open during a test (the tests that need an open one use the real server). */
export const testBreaker = (system: System) => new UpstreamBreaker(system, { threshold: 1_000 });

/**
 * Some systems' tools behind the outbound governance step only (no destination limit step, no audit
 * redaction): the composition the per-system tests were written against.
 */
export function testComposition(
  what: string,
  tools: readonly AnyTool<Connectors>[],
  plans: Record<string, Planner>,
  connect: (o: { config: CommunicationConfig; logger: Logger }) => Connectors | Promise<Connectors>,
): ServerDefinition<Connectors, CommunicationConfig> {
  return defineServer(import.meta.url, {
    instructions: `${what} of the communication server (test composition).`,
    config: loadConfig,
    tools,
    steps: [{ at: 'checks', step: outboundStep(plans) }],
    mapError: (err) => (isUpstreamFailure(err) ? upstreamToolError(err) : undefined),
    connect,
  });
}

/** Anything the fixture closes with the server (simulators, pools). */
export interface Closable {
  close(): Promise<unknown> | unknown;
}

/** What {@link bootComm} needs. */
export interface CommServerOptions {
  /** Fleet database name prefix. */
  prefix: string;
  policy: unknown;
  /** The server to boot: the real communication server unless a test composes its own. */
  // biome-ignore lint/suspicious/noExplicitAny: any test composition of the server's definition
  definition?: ServerDefinition<any, any>;
  env: Record<string, string>;
  /** Simulators already started: closed (in order) with the server, or when booting fails. */
  upstreams: Closable[];
}

/** A booted communication server. */
export interface CommServer {
  s: BootedServer;
  server: BootedServer['server'];
  issuer: BootedServer['issuer'];
  dbUrl: string;
  /** A client of `era` with `role` (agent `sub`, `<role>-agent` unless told), closed by `close`. */
  clientFor(era: ClientEra, role: string, sub?: string): Promise<TestClient>;
  /** Closes the clients, the server, the database and the upstreams. */
  close(): Promise<void>;
}

/** Creates a fleet database and boots the server against it and the given upstreams. */
export async function bootComm(o: CommServerOptions): Promise<CommServer> {
  const closeUpstreams = async () => {
    for (const u of o.upstreams) await u.close();
  };
  let db: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
  let s: BootedServer;
  try {
    db = await createTestDatabase(o.prefix);
    s = await bootServer(o.definition ?? realDefinition, {
      policy: o.policy,
      databaseUrl: db.url,
      env: o.env,
    });
  } catch (err) {
    await closeUpstreams();
    await db?.drop();
    throw err;
  }
  const database = db;
  const clients: TestClient[] = [];
  return {
    s,
    server: s.server,
    issuer: s.issuer,
    dbUrl: database.url,
    clientFor: async (era, role, sub = `${role}-agent`) => {
      const c = await clientAs(s, era, role, sub);
      clients.push(c);
      return c;
    },
    close: async () => {
      await Promise.all(clients.map((c) => c.close()));
      await s.close();
      await closeUpstreams();
      await database.drop();
    },
  };
}

/** A call's outcome as the tests read it (testkit's). */
export type Outcome = CallOutcome;
export { outcomeOf };

/** Calls a tool; a JSON-RPC error (e.g. invalid arguments) becomes an error outcome with code `rpc_error`. */
export const callTool = callOutcome;

/** An audit record as the tests read it. */
export interface AuditRecord {
  outcome: string;
  details: Record<string, unknown>;
  arguments: unknown;
}

/** The finished audit records of one tool, oldest first. */
export async function auditRows(dbUrl: string, tool: string): Promise<AuditRecord[]> {
  const c = new pg.Client({ connectionString: dbUrl });
  await c.connect();
  try {
    const { rows } = await c.query<AuditRecord>(
      `SELECT outcome, details, arguments FROM audit_records WHERE tool = $1 AND outcome <> 'started' ORDER BY ts`,
      [tool],
    );
    return rows;
  } finally {
    await c.end();
  }
}
