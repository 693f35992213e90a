// `pnpm start` honours every upstream variable of the operator contract (issue 16): each one set
// reaches the server untouched, so the local fleet talks to that upstream and not to a simulator of
// its own, and says so ("from your environment (not simulated)"). Generated from the list: every
// variable has a proof below, a call whose request reached OUR upstream — a second simulator instance
// behind a recording listener that checks the credential it receives is the one we set (then hands
// the simulator its own) — or whose effect shows our value. REDIS_URL and DATABASE_URL likewise.
// Two fleet starts: one with every global variable (all five servers), one with VENDOR_TENANTS_FILE
// (which replaces the vendors' global credentials) and DATABASE_URL.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { callOutcome, connectClient, createTestDatabase, eventually, testRedisUrl } from '@mcp-fleet/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import {
  localVendorHub,
  type SimulatorHub,
  STRIPE_DEMO,
  STRIPE_SIM,
  type StartedScimSimulator,
  startScimSimulator,
  startSimulatorHub,
  type VendorHub,
} from '../../packages/simulators/src/index.js';
import { buildDemoWarehouse } from '../../servers/database/src/demo/build-warehouse.js';
import { type LocalFleet, OPERATOR_VARIABLES, startLocalFleet } from './local-fleet.js';

type Variable = (typeof OPERATOR_VARIABLES)[number];

/** What a recording listener received: method, path and query, and the credential as sent. */
interface Seen {
  method: string;
  url: string;
  authorization: string;
  body: string;
}

/**
 * A recognisable upstream: a listener that records each request and forwards it to `target` (a
 * simulator), replacing the credentials we set (`swap`: ours → the simulator's) in Authorization.
 */
class RecordingUpstream {
  readonly seen: Seen[] = [];
  #server: Server | undefined;
  port = 0;
  constructor(
    readonly target: string,
    readonly swap: Record<string, string>,
  ) {}

  get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** `url` (one of the simulator's) with this listener's origin instead. */
  at(url: string): string {
    const u = new URL(url);
    return `${this.origin}${u.pathname === '/' ? '' : u.pathname}${u.search}`;
  }

  #swapped(auth: string): string {
    const apply = (s: string) => Object.entries(this.swap).reduce((t, [a, b]) => t.split(a).join(b), s);
    if (/^basic /i.test(auth)) {
      const decoded = Buffer.from(auth.slice(6), 'base64').toString('utf8');
      return `Basic ${Buffer.from(apply(decoded)).toString('base64')}`;
    }
    return apply(auth);
  }

  async start(): Promise<this> {
    const target = new URL(this.target);
    this.#server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const authorization = req.headers.authorization ?? '';
        this.seen.push({
          method: req.method ?? '',
          url: req.url ?? '',
          authorization,
          body: body.toString(),
        });
        const headers = { ...req.headers, host: target.host };
        if (authorization) headers.authorization = this.#swapped(authorization);
        const out = request(
          { host: target.hostname, port: target.port, method: req.method, path: req.url, headers },
          (answer) => {
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(res);
          },
        );
        out.on('error', () => {
          res.writeHead(502).end();
        });
        out.end(body);
      });
    });
    await new Promise<void>((r) => this.#server!.listen(0, '127.0.0.1', r));
    const a = this.#server.address();
    this.port = typeof a === 'object' && a ? a.port : 0;
    return this;
  }

  close(): Promise<void> {
    return new Promise((r) => (this.#server ? this.#server.close(() => r()) : r()));
  }

  /** Whether some request matched `m` and carried `credential` (as we set it). */
  got(m: RegExp, credential?: string): boolean {
    return this.seen.some(
      (s) =>
        m.test(`${s.method} ${s.url}`) &&
        (credential === undefined ||
          s.authorization.includes(credential) ||
          (/^basic /i.test(s.authorization) &&
            Buffer.from(s.authorization.slice(6), 'base64').toString('utf8').includes(credential))),
    );
  }
}

const tag = randomBytes(4).toString('hex');
/** Credentials of ours, recognisable, that the simulators do not know (the listener swaps them). */
const OURS = {
  slackToken: `xoxb-upstream-test-${tag}`,
  jiraEmail: `upstream-test-${tag}@example.com`,
  jiraToken: `jira-upstream-test-${tag}`,
  stripeKey: `rk_test_upstreamtest${tag}`,
  stripeWriteKey: `rk_test_upstreamwrite${tag}`,
  hubspotToken: `pat-upstream-test-${tag}`,
  salesforceToken: `00Dupstreamtest!${tag}`,
  scimToken: `scim-upstream-test-${tag}`,
  emailFrom: `Upstream test ${tag} <upstream-${tag}@example.com>`,
};

/** Fleet A: every global variable set, all five servers. */
let fleet: LocalFleet;
let comms: SimulatorHub;
let vendors: VendorHub;
let scim: StartedScimSimulator;
const up: Record<
  'slack' | 'teams' | 'jira' | 'stripe' | 'hubspot' | 'salesforce' | 'scim',
  RecordingUpstream
> = {} as never;
let warehouse: { adminUrl: string; database: string; role: string; marker: string };

/** `fleet token` as a user runs it, once per fleet and arguments (each run starts a CLI process). */
const tokens = new Map<string, Promise<string>>();
const token = (role: string, server: string, f: LocalFleet = fleet, ...more: string[]) => {
  const args = ['token', '--agent', `upstreams-${tag}`, '--role', role, '--server', server, ...more];
  const key = `${f.pid} ${args.join(' ')}`;
  if (!tokens.has(key))
    tokens.set(
      key,
      f.fleet(...args).then((t) => t.trim()),
    );
  return tokens.get(key)!;
};

async function call(
  f: LocalFleet,
  server: string,
  role: string,
  tool: string,
  args: Record<string, unknown>,
) {
  const client = await connectClient('modern', f.urls[server]!, await token(role, server, f));
  try {
    return await callOutcome(client, tool, args);
  } finally {
    await client.close();
  }
}

beforeAll(async () => {
  comms = await startSimulatorHub({ dataDir: mkdtempSync(join(tmpdir(), 'upstreams-outbox-')) });
  vendors = await localVendorHub({ basePort: 0, vendors: ['stripe', 'hubspot', 'salesforce'] });
  scim = await startScimSimulator({ port: 0 });
  const sim = comms.env;
  const teamsHook = (JSON.parse(sim.TEAMS_CHANNELS) as Record<string, string>)['ops-alerts']!;
  up.slack = await new RecordingUpstream(sim.SLACK_API_URL, {
    [OURS.slackToken]: sim.SLACK_BOT_TOKEN,
  }).start();
  up.teams = await new RecordingUpstream(teamsHook, {}).start();
  up.jira = await new RecordingUpstream(sim.JIRA_URL, {
    [OURS.jiraEmail]: sim.JIRA_EMAIL,
    [OURS.jiraToken]: sim.JIRA_API_TOKEN,
  }).start();
  const v = vendors.facts;
  up.stripe = await new RecordingUpstream(v.stripe.url, {
    [OURS.stripeKey]: v.stripe.apiKey,
    [OURS.stripeWriteKey]: STRIPE_SIM.writeKey,
  }).start();
  up.hubspot = await new RecordingUpstream(v.hubspot.url, {
    [OURS.hubspotToken]: v.hubspot.tokens.acme,
  }).start();
  up.salesforce = await new RecordingUpstream(v.salesforce.orgs.acme.instanceUrl, {
    [OURS.salesforceToken]: v.salesforce.orgs.acme.accessToken,
  }).start();
  up.scim = await new RecordingUpstream(scim.baseUrl, { [OURS.scimToken]: scim.token }).start();

  // A warehouse of ours (a demo warehouse in the test PostgreSQL, under its own names) with a marker.
  const adminUrl = process.env.FLEET_TEST_PG_URL!;
  const database = `wh_upstreams_${tag}`;
  const role = `wh_upstreams_reader_${tag}`;
  const built = await buildDemoWarehouse({ adminUrl, database, readerRole: role, scale: 1 });
  const marker = `upstream-marker-${tag}`;
  const ownerUrl = new URL(adminUrl);
  ownerUrl.pathname = `/${database}`;
  const admin = new pg.Client({ connectionString: ownerUrl.toString() });
  await admin.connect();
  try {
    await admin.query(
      `CREATE TABLE support.upstream_marker (note text); INSERT INTO support.upstream_marker VALUES ('${marker}')`,
    );
    await admin.query(`GRANT SELECT ON support.upstream_marker TO ${role}`);
  } finally {
    await admin.end();
  }
  warehouse = { adminUrl, database, role, marker };

  fleet = await startLocalFleet({
    env: {
      WAREHOUSE_URL: built.readerUrl,
      SLACK_BOT_TOKEN: OURS.slackToken,
      SLACK_API_URL: up.slack.at(sim.SLACK_API_URL),
      SMTP_URL: sim.SMTP_URL,
      EMAIL_FROM: OURS.emailFrom,
      TEAMS_CHANNELS: JSON.stringify({ 'ops-alerts': up.teams.at(teamsHook) }),
      JIRA_URL: up.jira.at(sim.JIRA_URL),
      JIRA_EMAIL: OURS.jiraEmail,
      JIRA_API_TOKEN: OURS.jiraToken,
      STRIPE_API_KEY: OURS.stripeKey,
      STRIPE_API_URL: up.stripe.at(v.stripe.url),
      HUBSPOT_ACCESS_TOKEN: OURS.hubspotToken,
      HUBSPOT_API_URL: up.hubspot.at(v.hubspot.url),
      SALESFORCE_INSTANCE_URL: up.salesforce.at(v.salesforce.orgs.acme.instanceUrl),
      SALESFORCE_ACCESS_TOKEN: OURS.salesforceToken,
      SCIM_BASE_URL: up.scim.at(scim.baseUrl),
      SCIM_TOKEN: OURS.scimToken,
      STRIPE_WRITE_KEY: OURS.stripeWriteKey,
      // carol is not protected by default; ours protects her.
      ADMIN_PROTECTED_USERS: 'breakglass,billing-contact,fleet-service,carol',
      // The demo directory's approvers group instead of the default admins group.
      ADMIN_GROUP: 'fleet-approvers',
      REDIS_URL: testRedisUrl(),
      REDIS_KEY_PREFIX: `e2e-upstreams-${tag}`,
    },
  });
}, 300_000);

afterAll(async () => {
  if (fleet) expect(await fleet.stop()).toBe(0);
  await Promise.all(Object.values(up).map((u) => u?.close()));
  await comms?.close();
  await vendors?.close();
  await scim?.close();
  if (warehouse) {
    const c = new pg.Client({ connectionString: warehouse.adminUrl });
    await c.connect();
    try {
      await c.query(`DROP DATABASE IF EXISTS ${warehouse.database} WITH (FORCE)`);
      await c.query(`DROP ROLE IF EXISTS ${warehouse.role}`);
    } finally {
      await c.end();
    }
  }
}, 120_000);

/** For each variable: how it is proved used (fleet A unless it names fleet B). */
const PROOFS: Record<Variable, () => Promise<void>> = {
  WAREHOUSE_URL: async () => {
    const r = await call(fleet, 'database', 'support', 'run_query', {
      sql: 'SELECT note FROM support.upstream_marker',
    });
    expect(r.isError, r.text).toBe(false);
    expect(JSON.stringify(r.data)).toContain(warehouse.marker);
  },
  SLACK_API_URL: async () => {
    const r = await call(fleet, 'communication', 'support', 'slack_read_channel', {
      channel: '#support-escalations',
    });
    expect(r.isError, r.text).toBe(false);
    expect(up.slack.got(/conversations\./)).toBe(true);
  },
  SLACK_BOT_TOKEN: async () => {
    await PROOFS.SLACK_API_URL();
    expect(up.slack.got(/conversations\./, OURS.slackToken)).toBe(true);
  },
  SMTP_URL: async () => {
    const before = comms.smtp.messages.length;
    const r = await call(fleet, 'communication', 'admin', 'send_email', {
      to: 'ops@example.com',
      subject: `upstream ${tag}`,
      text: 'sent through the SMTP_URL of the test',
    });
    expect(r.isError, r.text).toBe(false);
    expect(await eventually(() => comms.smtp.messages.length > before, 10_000)).toBe(true);
    expect(comms.smtp.messages.at(-1)!.parsed.subject).toBe(`upstream ${tag}`);
  },
  EMAIL_FROM: async () => {
    await PROOFS.SMTP_URL();
    expect(comms.smtp.messages.at(-1)!.parsed.from).toContain(`upstream-${tag}@example.com`);
  },
  TEAMS_CHANNELS: async () => {
    const r = await call(fleet, 'communication', 'admin', 'teams_post_message', {
      channel: 'ops-alerts',
      text: `upstream ${tag}`,
    });
    expect(r.isError, r.text).toBe(false);
    expect(up.teams.seen.some((s) => s.method === 'POST' && s.body.includes(`upstream ${tag}`))).toBe(true);
  },
  JIRA_URL: async () => {
    const r = await call(fleet, 'communication', 'support', 'get_ticket', { issue_key: 'SUP-1' });
    expect(r.isError, r.text).toBe(false);
    expect(up.jira.got(/SUP-1/)).toBe(true);
  },
  JIRA_EMAIL: async () => {
    await PROOFS.JIRA_URL();
    expect(up.jira.got(/SUP-1/, OURS.jiraEmail)).toBe(true);
  },
  JIRA_API_TOKEN: async () => {
    await PROOFS.JIRA_URL();
    expect(up.jira.got(/SUP-1/, OURS.jiraToken)).toBe(true);
  },
  STRIPE_API_URL: async () => {
    const r = await call(fleet, 'vendor-apis', 'support', 'stripe_search_customers', {
      email: 'billing@customer1.example.com',
    });
    expect(r.isError, r.text).toBe(false);
    expect(up.stripe.got(/\/v1\/customers/)).toBe(true);
  },
  STRIPE_API_KEY: async () => {
    await PROOFS.STRIPE_API_URL();
    expect(up.stripe.got(/\/v1\/customers/, OURS.stripeKey)).toBe(true);
  },
  HUBSPOT_API_URL: async () => {
    const r = await call(fleet, 'vendor-apis', 'support', 'hubspot_search_contacts', {
      email: 'billing@customer1.example.com',
    });
    expect(r.isError, r.text).toBe(false);
    expect(up.hubspot.got(/contacts/)).toBe(true);
  },
  HUBSPOT_ACCESS_TOKEN: async () => {
    await PROOFS.HUBSPOT_API_URL();
    expect(up.hubspot.got(/contacts/, OURS.hubspotToken)).toBe(true);
  },
  SALESFORCE_INSTANCE_URL: async () => {
    const r = await call(fleet, 'vendor-apis', 'support', 'salesforce_query', {
      object: 'Account',
      fields: ['Name'],
      where: [{ field: 'Name', op: 'eq', value: 'nobody' }],
    });
    expect(r.isError, r.text).toBe(false);
    expect(up.salesforce.got(/query/)).toBe(true);
  },
  SALESFORCE_ACCESS_TOKEN: async () => {
    await PROOFS.SALESFORCE_INSTANCE_URL();
    expect(up.salesforce.got(/query/, OURS.salesforceToken)).toBe(true);
  },
  SCIM_BASE_URL: async () => {
    const r = await call(fleet, 'admin', 'admin', 'get_user', { user_name: 'alice' });
    expect(r.isError, r.text).toBe(false);
    expect(up.scim.got(/Users/)).toBe(true);
  },
  SCIM_TOKEN: async () => {
    await PROOFS.SCIM_BASE_URL();
    expect(up.scim.got(/Users/, OURS.scimToken)).toBe(true);
  },
  ADMIN_PROTECTED_USERS: async () => {
    const r = await call(fleet, 'admin', 'admin', 'disable_user', { user_name: 'carol' });
    expect(r.isError).toBe(true);
    expect(r.text).toMatch(/protected/i);
    expect(up.scim.seen.some((s) => s.method === 'PATCH' || s.method === 'PUT')).toBe(false);
  },
  ADMIN_GROUP: async () => {
    // Whether bob may be disabled depends on the admins group: the server looks ours up.
    await call(fleet, 'admin', 'admin', 'disable_user', { user_name: 'bob' });
    expect(up.scim.seen.some((s) => decodeURIComponent(s.url).includes('fleet-approvers'))).toBe(true);
    expect(up.scim.seen.some((s) => decodeURIComponent(s.url).includes('fleet-admins'))).toBe(false);
  },
  STRIPE_WRITE_KEY: async () => {
    const subscription = STRIPE_DEMO.subscriptions.active;
    const args = { subscription, price: STRIPE_DEMO.prices.growthMonthlyUsd };
    const client = await connectClient(
      'modern',
      fleet.urls.admin!,
      await token('admin', 'admin', fleet, '--user', 'bob'),
    );
    try {
      const held = await callOutcome(client, 'change_subscription_plan', args);
      expect(held.code, held.text).toBe('awaiting_approval');
      const approvalId =
        (held.meta?.['io.mcp-fleet/governance'] as { approvalId?: string } | undefined)?.approvalId ?? '';
      const approver = (await fleet.fleet('token', '--approver', 'alice', '--server', 'admin')).trim();
      await fleet.fleet(
        'approvals',
        'approve',
        approvalId,
        '--token',
        approver,
        '--url',
        fleet.urls.admin!.replace(/\/mcp$/, ''),
      );
      const done = await callOutcome(client, 'change_subscription_plan', {
        ...args,
        approval_id: approvalId,
      });
      expect(done.isError, done.text).toBe(false);
    } finally {
      await client.close();
    }
    expect(up.stripe.got(new RegExp(`POST /v1/subscriptions/${subscription}`), OURS.stripeWriteKey)).toBe(
      true,
    );
  },
  REDIS_URL: async () => {
    for (const url of Object.values(fleet.urls)) {
      const ready = (await (await fetch(new URL('/readyz', url))).json()) as {
        checks: Record<string, string>;
      };
      expect(ready.checks.redis, url).toBe('ok');
      const metrics = await (await fetch(new URL('/metrics', url))).text();
      expect(metrics, url).toMatch(/^mcp_redis_up\{[^}]*\} 1$/m);
    }
  },
  VENDOR_TENANTS_FILE: async () => {
    await withTenantMapFleet();
    expect(tenantMapSeen.hubspot).toBe(true);
  },
  DATABASE_URL: async () => {
    await withTenantMapFleet();
    expect(tenantMapSeen.audited).toBe(true);
  },
};

/** Fleet B (vendor-apis only): a tenant map of ours and a fleet database of ours. */
const tenantMapSeen = { hubspot: false, audited: false };
let tenantMapRun: Promise<void> | undefined;
function withTenantMapFleet(): Promise<void> {
  tenantMapRun ??= (async () => {
    const acmeToken = `pat-tenant-acme-${tag}`;
    const hub = await new RecordingUpstream(vendors.facts.hubspot.url, {
      [acmeToken]: vendors.facts.hubspot.tokens.acme,
    }).start();
    const dir = mkdtempSync(join(tmpdir(), 'upstreams-tenants-'));
    const file = join(dir, 'tenants.yaml');
    writeFileSync(
      file,
      stringify({ tenants: { acme: { hubspot: { tokenEnv: 'UPSTREAM_TEST_HUBSPOT_ACME' } } } }),
    );
    const db = await createTestDatabase('upstreams_fleet');
    const b = await startLocalFleet({
      env: {
        VENDOR_TENANTS_FILE: file,
        UPSTREAM_TEST_HUBSPOT_ACME: acmeToken,
        HUBSPOT_API_URL: hub.at(vendors.facts.hubspot.url),
        DATABASE_URL: db.url,
      },
      args: ['--only', 'vendor-apis'],
    });
    try {
      expect(b.output()).toMatch(
        /VENDOR_TENANTS_FILE is set: every vendor from your environment, nothing simulated/,
      );
      expect(b.output()).toContain('fleet database from your environment (DATABASE_URL)');
      expect(b.output()).not.toContain('SIMULATED');
      const r = await call(b, 'vendor-apis', 'support', 'hubspot_search_contacts', {
        email: 'billing@customer1.example.com',
      });
      expect(r.isError, r.text).toBe(false);
      tenantMapSeen.hubspot = hub.got(/contacts/, acmeToken);
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      try {
        tenantMapSeen.audited = await eventually(
          async () =>
            (
              await c.query(
                `SELECT 1 FROM audit_records WHERE agent_id = $1 AND tool = 'hubspot_search_contacts' AND outcome = 'ok'`,
                [`upstreams-${tag}`],
              )
            ).rowCount === 1,
          15_000,
        );
      } finally {
        await c.end();
      }
    } finally {
      expect(await b.stop()).toBe(0);
      await hub.close();
      await db.drop();
    }
  })();
  return tenantMapRun;
}

describe('fleet start with every upstream variable set', () => {
  it('says each upstream comes from your environment, and simulates none', () => {
    const out = fleet.output();
    expect(out).not.toContain('SIMULATED');
    expect(out).toMatch(/database\s+warehouse from your environment \(not simulated\): WAREHOUSE_URL/);
    expect(out).toMatch(
      /communication\s+upstreams from your environment \(not simulated\): slack, email, teams, tickets/,
    );
    expect(out).toMatch(
      /vendor-apis\s+vendors from your environment \(not simulated\): stripe, hubspot, salesforce/,
    );
    expect(out).toMatch(/admin\s+from your environment \(not simulated\): SCIM directory, Stripe/);
    expect(out).toMatch(/redis\s+from your environment \(REDIS_URL\)/);
    // No credential of ours is printed.
    for (const secret of [
      OURS.slackToken,
      OURS.jiraToken,
      OURS.stripeKey,
      OURS.scimToken,
      OURS.stripeWriteKey,
    ])
      expect(out).not.toContain(secret);
  });

  for (const variable of OPERATOR_VARIABLES)
    it(`honours ${variable}`, async () => {
      await PROOFS[variable]();
    }, 180_000);
});
