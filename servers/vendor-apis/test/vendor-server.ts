// The one way the vendor-apis tests boot the server: the REAL definition with a test policy, its own
// fleet database (real PostgreSQL, TEST_DATABASE_URL) and dev issuer, the environment a test gives
// (pointing at simulators the caller started), clients per role, tenant and protocol era, the audit
// records of the fleet database, /readyz and /metrics, and every log line and audit line the server
// wrote (so a test can assert what was, and what was never, logged).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { ServerDefinition } from '@mcp-fleet/core';
import {
  type BootedServer,
  bootServer,
  type ClientEra,
  connectClient,
  createTestDatabase,
  eventually,
  type TestClient,
  textOf,
} from '@mcp-fleet/testkit';
import pg from 'pg';
import { stringify } from 'yaml';
import realDefinition from '../src/definition.js';

/** The reads of the server (every tool but the three writes). */
export const WRITE_TOOLS = ['hubspot_create_note', 'salesforce_update_record', 'salesforce_create_task'];

/**
 * The test policy: `support` the reads and hubspot_create_note, `analyst` the reads, `admin`
 * everything (the example policy's shape, without rate limits or budgets that a property run would hit).
 */
export const VENDOR_TEST_POLICY = {
  version: 1,
  defaults: { limits: { perMinute: 100_000 } },
  roles: {
    support: {
      grants: [
        { servers: ['vendor-apis'], access: 'read' },
        { servers: ['vendor-apis'], tools: ['hubspot_create_note'] },
      ],
      limits: { perMinute: 100_000 },
    },
    analyst: { grants: [{ servers: ['vendor-apis'], access: 'read' }], limits: { perMinute: 100_000 } },
    admin: { grants: [{ servers: ['vendor-apis'], tools: ['*'] }], limits: { perMinute: 100_000 } },
  },
};

/** Anything the fixture closes with the server (simulators). */
export interface Closable {
  close(): Promise<unknown> | unknown;
}

/** What {@link bootVendor} needs. */
export interface VendorServerOptions {
  /** Fleet database name prefix (letters, digits, underscore). */
  prefix: string;
  /** The server's environment: credentials and URLs of the simulators, tenant map, timeouts... */
  env: Record<string, string>;
  /** Simulators already started: closed (in order) with the server, or when booting fails. */
  upstreams?: Closable[];
  /** Default {@link VENDOR_TEST_POLICY}. */
  policy?: unknown;
  /** The real vendor-apis definition unless a test composes its own. */
  // biome-ignore lint/suspicious/noExplicitAny: any composition of the server's definition
  definition?: ServerDefinition<any, any>;
}

/** Who a client is: role, agent `sub` (default `<role>-agent`), tenant claim (none when undefined). */
export interface Caller {
  role: string;
  tenant?: string;
  sub?: string;
  era?: ClientEra;
}

/** An audit record as the tests read it. */
export interface AuditRecord {
  tool: string | null;
  tenant: string | null;
  agent_id: string | null;
  outcome: string;
  decision: string;
  decision_reason: string | null;
  result_summary: string | null;
  details: Record<string, unknown> | null;
  arguments: unknown;
}

/** A booted vendor-apis server. */
export interface VendorServer {
  s: BootedServer;
  server: BootedServer['server'];
  dbUrl: string;
  /** A client of the caller (modern era unless told), closed by `close`. */
  clientFor(caller: Caller): Promise<TestClient>;
  /** Every log line the server wrote (JSON text, one per entry), oldest first. */
  logs(): string[];
  /** Every audit line the server wrote to its audit stream (JSON text), oldest first. */
  auditLines(): string[];
  /** The finished audit records (not `started`), oldest first; of one tool when `tool` is given. */
  audit(tool?: string): Promise<AuditRecord[]>;
  /** Waits until `n` finished records of `tool` exist (audit writes may trail the answer), then returns them. */
  auditOf(tool: string, n?: number): Promise<AuditRecord[]>;
  /** GET /readyz. */
  readyz(): Promise<{ status: string; checks: Record<string, string> }>;
  /** GET /metrics (Prometheus text). */
  metrics(): Promise<string>;
  /** Closes the clients, the server, the database and the upstreams. */
  close(): Promise<void>;
}

/** Creates a fleet database and boots the vendor-apis server against it and the given upstreams. */
export async function bootVendor(o: VendorServerOptions): Promise<VendorServer> {
  const upstreams = o.upstreams ?? [];
  const closeUpstreams = async () => {
    for (const u of upstreams) await u.close();
  };
  const logLines: string[] = [];
  const auditLines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n')) if (line.trim()) logLines.push(line);
      done();
    },
  });
  let db: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
  let s: BootedServer;
  try {
    db = await createTestDatabase(o.prefix);
    s = await bootServer(o.definition ?? realDefinition, {
      policy: o.policy ?? VENDOR_TEST_POLICY,
      databaseUrl: db.url,
      // The server's own logger (masked by its auditRedact, as in production), written here.
      env: { AUDIT_STDOUT: 'true', LOG_LEVEL: 'debug', ...o.env },
      serverOptions: { logDestination: sink, auditWrite: (line) => auditLines.push(line) },
    });
  } catch (err) {
    await closeUpstreams();
    await db?.drop();
    throw err;
  }
  const database = db;
  const clients: TestClient[] = [];
  const audit = async (tool?: string): Promise<AuditRecord[]> => {
    const c = new pg.Client({ connectionString: database.url });
    await c.connect();
    try {
      const { rows } = await c.query<AuditRecord>(
        `SELECT tool, tenant, agent_id, outcome, decision, decision_reason, result_summary, details, arguments
           FROM audit_records WHERE outcome <> 'started' AND ($1::text IS NULL OR tool = $1) ORDER BY ts`,
        [tool ?? null],
      );
      return rows;
    } finally {
      await c.end();
    }
  };
  return {
    s,
    server: s.server,
    dbUrl: database.url,
    clientFor: async ({ role, tenant, sub = `${role}-agent`, era = 'modern' }) => {
      const token = await s.token({ sub, roles: [role], ...(tenant !== undefined ? { tenant } : {}) });
      const c = await connectClient(era, s.url, token);
      clients.push(c);
      return c;
    },
    logs: () => [...logLines],
    auditLines: () => [...auditLines],
    audit,
    auditOf: async (tool, n = 1) => {
      let rows: AuditRecord[] = [];
      await eventually(async () => {
        rows = await audit(tool);
        return rows.length >= n;
      });
      return rows;
    },
    readyz: async () => (await (await fetch(`${s.baseUrl}/readyz`)).json()) as VendorServerReady,
    metrics: async () => (await fetch(`${s.baseUrl}/metrics`)).text(),
    close: async () => {
      await Promise.all(clients.map((c) => c.close()));
      await s.close();
      await closeUpstreams();
      await database.drop();
    },
  };
}

type VendorServerReady = { status: string; checks: Record<string, string> };

/** Writes a tenant map (VENDOR_TENANTS_FILE) to a fresh temporary file and returns its path. */
export function writeTenantMap(map: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'vendor-tenants-'));
  const file = join(dir, 'tenants.yaml');
  writeFileSync(file, typeof map === 'string' ? map : stringify(map));
  return file;
}

/** A call's outcome as the tests read it. */
export interface Outcome {
  isError: boolean;
  code: string | undefined;
  text: string;
  data: Record<string, unknown> | undefined;
  meta: Record<string, unknown> | undefined;
}

/** A tool result as an outcome. */
export function outcomeOf(r: Awaited<ReturnType<TestClient['callTool']>>): Outcome {
  const meta = (r as { _meta?: Record<string, unknown> })._meta;
  const err = meta?.['io.mcp-fleet/error'] as { code?: string } | undefined;
  return {
    isError: r.isError === true,
    code: err?.code,
    text: textOf(r),
    data: r.structuredContent as Record<string, unknown> | undefined,
    meta,
  };
}

/** Calls a tool; a JSON-RPC error (e.g. invalid arguments) becomes an error outcome with code `rpc_error`. */
export async function callTool(
  client: TestClient,
  tool: string,
  args: Record<string, unknown>,
  meta?: Record<string, unknown>,
): Promise<Outcome> {
  try {
    return outcomeOf(await client.callTool(tool, args, meta));
  } catch (e) {
    return { isError: true, code: 'rpc_error', text: (e as Error).message, data: undefined, meta: undefined };
  }
}
