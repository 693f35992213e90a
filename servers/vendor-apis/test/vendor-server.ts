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
  DEMO_CUSTOMERS,
  hubspotCompanyId,
  hubspotContactId,
  startVendorHub,
  stripeCustomerId,
  type VendorHub,
} from '@mcp-fleet/simulators';
import {
  type BootedServer,
  bootServer,
  type CallOutcome,
  type ClientEra,
  callOutcome,
  connectClient,
  createTestDatabase,
  eventually,
  outcomeOf,
  type TestClient,
} from '@mcp-fleet/testkit';
import pg from 'pg';
import { stringify } from 'yaml';
import realDefinition from '../src/definition.js';

/** The writes of the server (every other tool only reads). */
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

/** A call's outcome as the tests read it (testkit's). */
export type Outcome = CallOutcome;
export { outcomeOf };

/** Calls a tool; a JSON-RPC error (e.g. invalid arguments) becomes an error outcome with code `rpc_error`. */
export const callTool = callOutcome;

/** The three vendors. */
export const VENDORS = ['stripe', 'hubspot', 'salesforce'] as const;
export type TestVendor = (typeof VENDORS)[number];

/** Starts the three vendor simulators on free ports (closed by the fixture when passed as an upstream). */
export const startVendors = (): Promise<VendorHub> => startVendorHub({ basePort: 0 });

/**
 * The server's environment for `hub`, multi-tenant: a tenant map giving `tenants` (default acme and
 * globex; initech left out, as in the local fleet) their own Stripe account, HubSpot portal and
 * Salesforce org, tokens in variables the map names. `vendors` limits which vendors are configured.
 */
export function multiTenantEnv(
  hub: VendorHub,
  o: { tenants?: readonly string[]; vendors?: readonly TestVendor[]; extra?: Record<string, string> } = {},
): Record<string, string> {
  const tenants = o.tenants ?? ['acme', 'globex'];
  const vendors = new Set(o.vendors ?? VENDORS);
  const env: Record<string, string> = {};
  const map: Record<string, Record<string, unknown>> = {};
  const f = hub.facts;
  for (const t of tenants as ('acme' | 'globex' | 'initech')[]) {
    const entry: Record<string, unknown> = {};
    if (vendors.has('stripe')) entry.stripe = { account: f.stripe.accounts[t] };
    if (vendors.has('hubspot')) {
      entry.hubspot = { tokenEnv: `HS_TOKEN_${t.toUpperCase()}` };
      env[`HS_TOKEN_${t.toUpperCase()}`] = f.hubspot.tokens[t];
    }
    if (vendors.has('salesforce')) {
      entry.salesforce = {
        instanceUrl: f.salesforce.orgs[t].instanceUrl,
        tokenEnv: `SF_TOKEN_${t.toUpperCase()}`,
      };
      env[`SF_TOKEN_${t.toUpperCase()}`] = f.salesforce.orgs[t].accessToken;
    }
    map[t] = entry;
  }
  if (vendors.has('stripe'))
    Object.assign(env, { STRIPE_API_KEY: f.stripe.apiKey, STRIPE_API_URL: f.stripe.url });
  if (vendors.has('hubspot')) env.HUBSPOT_API_URL = f.hubspot.url;
  env.VENDOR_TENANTS_FILE = writeTenantMap({ tenants: map });
  return { ...env, ...o.extra };
}

/** The server's environment for `hub`, single-tenant (global credentials of `tenant`'s account/portal/org). */
export function singleTenantEnv(
  hub: VendorHub,
  o: {
    tenant?: 'acme' | 'globex' | 'initech';
    vendors?: readonly TestVendor[];
    extra?: Record<string, string>;
  } = {},
): Record<string, string> {
  const t = o.tenant ?? 'acme';
  const vendors = new Set(o.vendors ?? VENDORS);
  const f = hub.facts;
  const env: Record<string, string> = {};
  // A single-tenant Stripe deployment uses the key's own account: the simulator's platform account.
  if (vendors.has('stripe'))
    Object.assign(env, { STRIPE_API_KEY: f.stripe.apiKey, STRIPE_API_URL: f.stripe.url });
  if (vendors.has('hubspot'))
    Object.assign(env, { HUBSPOT_ACCESS_TOKEN: f.hubspot.tokens[t], HUBSPOT_API_URL: f.hubspot.url });
  if (vendors.has('salesforce'))
    Object.assign(env, {
      SALESFORCE_INSTANCE_URL: f.salesforce.orgs[t].instanceUrl,
      SALESFORCE_ACCESS_TOKEN: f.salesforce.orgs[t].accessToken,
    });
  return { ...env, ...o.extra };
}

/** One request a simulator received, with the tenant whose account/portal/org it reached. */
export interface SimRequest {
  method: string;
  path: string;
  /** acme, globex, initech; `platform` for Stripe without Stripe-Account; `none` when no credential matched. */
  tenant: string;
}

/** Every request each simulator of `hub` received so far, oldest first. */
export function requestsOf(hub: VendorHub): Record<TestVendor, SimRequest[]> {
  const accounts = new Map(Object.entries(hub.facts.stripe.accounts).map(([t, a]) => [a, t]));
  return {
    stripe: (hub.stripe?.requests ?? []).map((r) => ({
      method: r.method,
      path: r.path,
      tenant: r.account === undefined ? 'platform' : (accounts.get(r.account) ?? `unknown:${r.account}`),
    })),
    hubspot: (hub.hubspot?.requests ?? []).map((r) => ({
      method: r.method,
      path: r.path,
      tenant: r.portal ?? 'none',
    })),
    salesforce: (hub.salesforce?.requests ?? []).map((r) => ({
      method: r.method,
      path: r.path,
      tenant: (r.params as { org?: string } | undefined)?.org ?? 'none',
    })),
  };
}

/** The number of requests each simulator received so far. */
export function requestCounts(hub: VendorHub): Record<TestVendor, number> {
  const r = requestsOf(hub);
  return { stripe: r.stripe.length, hubspot: r.hubspot.length, salesforce: r.salesforce.length };
}

/** A demo warehouse customer of `tenant` (the `n`-th, default the first), as every simulator seeds it. */
export function customerOf(tenant: 'acme' | 'globex' | 'initech', n = 0) {
  const c = DEMO_CUSTOMERS.filter((x) => x.tenant === tenant)[n];
  if (!c) throw new Error(`no demo customer #${n} of ${tenant}`);
  return c;
}

/** The Salesforce ids of a demo customer in its tenant's simulated org (Account, its billing Contact). */
export function salesforceIdsOf(hub: VendorHub, customer: { tenant: string; name: string; email: string }) {
  const org = hub.salesforce?.orgs[customer.tenant as 'acme'];
  const find = (object: string, pred: (r: Record<string, unknown>) => boolean) =>
    [...(org?.records[object]?.values() ?? [])].find(pred)?.Id as string | undefined;
  const account = find('Account', (r) => r.Name === customer.name);
  const contact = find('Contact', (r) => r.Email === customer.email);
  if (!account || !contact) throw new Error(`no Salesforce account/contact for ${customer.name}`);
  return { account, contact };
}

/**
 * Valid arguments for every tool of the server, about one demo customer (ids of that customer's
 * tenant): the tests that run "every tool" take their calls from here, so a new tool without an entry
 * fails them. `unique` makes the write tools' content differ per call (keyless creates).
 */
export function sampleArgs(
  hub: VendorHub,
  customer: { id: number; tenant: 'acme' | 'globex' | 'initech'; name: string; email: string },
  unique = '',
): Record<string, Record<string, unknown>> {
  const cus = stripeCustomerId(customer.tenant, customer.id);
  const sf = salesforceIdsOf(hub, customer);
  return {
    stripe_get_customer: { customer_id: cus },
    stripe_search_customers: { email: customer.email },
    stripe_list_invoices: { customer_id: cus },
    stripe_list_payments: { customer_id: cus },
    stripe_get_subscription: { customer_id: cus },
    hubspot_search_contacts: { email: customer.email },
    hubspot_get_contact: { contact_id: hubspotContactId(customer.id) },
    hubspot_get_company: { company_id: hubspotCompanyId(customer.id) },
    hubspot_list_deals: { stage: 'closedwon' },
    hubspot_create_note: {
      contact_id: hubspotContactId(customer.id),
      body: `Called about the invoice ${unique}`,
    },
    salesforce_query: {
      object: 'Account',
      fields: ['Name'],
      where: [{ field: 'Name', op: 'eq', value: customer.name }],
    },
    salesforce_get_record: { object: 'Account', id: sf.account },
    salesforce_update_record: {
      object: 'Account',
      id: sf.account,
      fields: { Description: `Reviewed ${unique}` },
    },
    salesforce_create_task: { subject: `Follow up ${unique}`, what_id: sf.account, who_id: sf.contact },
  };
}

/** `args` with an `idempotency_key` when `tool` is a write (core's reserved argument of mutating tools). */
export function withKey(
  tool: string,
  args: Record<string, unknown> | undefined,
  key: string,
): Record<string, unknown> {
  return WRITE_TOOLS.includes(tool) ? { ...args, idempotency_key: key } : { ...args };
}
