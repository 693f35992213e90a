// Interop: the client configurations the README shows (Claude Desktop through mcp-remote, Cursor,
// LangChain's MultiServerMCPClient) and both SDK eras, against ONE local fleet started as a user starts
// it (`fleet start`, all five servers, all simulators). The configurations are read from README.md
// (test/interop/readme.ts) and run with the fleet's ports and freshly minted tokens substituted; each
// client lists and calls tools on every server, the answers carry the demo data, and the fleet's own
// audit trail holds each call under the client's agent id. Then every read-only tool each role is
// listed is called by a 2026-07-28 client. The scripted support example runs last (example.ts).
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { MultiServerMCPClient } from '@langchain/mcp-adapters';
import { MODERN_PROTOCOL_VERSION } from '@mcp-fleet/core/protocol';
import { DevIssuer, eventually } from '@mcp-fleet/testkit';
import {
  Client as ModernClient,
  StreamableHTTPClientTransport as ModernTransport,
} from '@modelcontextprotocol/client';
import { Client as LegacyClient } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport as LegacyTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { transform } from 'esbuild';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Step } from '../../examples/support-scenario/main.js';
import { ROOT } from '../../packages/cli/src/layout.js';
import { type LocalFleet, startLocalFleet } from '../e2e/local-fleet.js';
import { readmeClients, serverOfUrl, toFleet, tokenCommand } from './readme.js';

const run = promisify(execFile);
const SERVERS = ['database', 'communication', 'files', 'vendor-apis', 'admin'] as const;
type Server = (typeof SERVERS)[number];
const EMAIL = 'billing@customer1.example.com';
/** Audit outcomes of a call that was answered: run upstream, or served from the fleet's cache. */
const ANSWERED = ['ok', 'cached'];

/**
 * One read call per server that any role reaching that server may make, and what the demo data
 * makes it answer. (support and analyst are given no admin tool by the example policy: admin's is
 * called with an admin token, see roleFor.)
 */
const SAMPLE: Record<Server, { tool: string; args: Record<string, unknown>; shows: RegExp }> = {
  database: { tool: 'find_customers', args: { query: 'customer1.example.com' }, shows: /Juniper Works 1/ },
  communication: { tool: 'slack_list_channels', args: {}, shows: /support-escalations|analytics/ },
  files: { tool: 'read_document', args: { path: 'docs/support/refund-policy.md' }, shows: /Refund policy/ },
  'vendor-apis': { tool: 'stripe_search_customers', args: { email: EMAIL }, shows: /Juniper Works 1/ },
  admin: { tool: 'get_user', args: { user_name: 'alice' }, shows: /fleet-approvers/ },
};
/** The README's role, except on the admin server, which the policy opens to admins only. */
const roleFor = (server: string, readmeRole: string) => (server === 'admin' ? 'admin' : readmeRole);

let fleet: LocalFleet;
let issuer: DevIssuer;
let db: pg.Pool;
const readme = readmeClients();

/** A token minted in-process from the fleet's dev issuer (what `fleet token` does). */
const mint = (agent: string, role: string, server: string) =>
  issuer.mint({
    sub: agent,
    roles: [role],
    aud: fleet.urls[server]!,
    scope: 'mcp:tools',
    tenant: 'acme',
    sid: randomUUID(),
  });

/** The README's `fleet token ...` command run against this fleet, with `--server`/`--role` changed. */
async function readmeToken(args: string[], change: Record<string, string> = {}): Promise<string> {
  const out = [...args];
  for (const [flag, value] of Object.entries(change)) {
    const i = out.indexOf(flag);
    if (i >= 0) out[i + 1] = value;
  }
  return (await fleet.fleet('token', ...out)).trim();
}

/** The tools/call audit records of an agent: server, tool, outcome, protocol version. */
async function audited(agent: string) {
  const { rows } = await db.query<{
    server: string;
    tool: string;
    outcome: string;
    protocol_version: string;
  }>(
    `SELECT server, tool, outcome, protocol_version FROM audit_records
      WHERE agent_id = $1 AND method = 'tools/call' ORDER BY ts`,
    [agent],
  );
  return rows;
}

/** Waits until the agent's audit trail holds a successful SAMPLE call on every server in `servers`. */
async function expectAuditedOnEvery(agent: string, servers: readonly string[] = SERVERS) {
  const has = async () => {
    const rows = await audited(agent);
    return servers.every((s) =>
      rows.some((r) => r.server === s && r.tool === SAMPLE[s as Server].tool && ANSWERED.includes(r.outcome)),
    );
  };
  await eventually(has, 10_000);
  const rows = await audited(agent);
  for (const s of servers)
    expect(
      rows.filter((r) => r.server === s && r.tool === SAMPLE[s as Server].tool),
      `${agent} on ${s}: ${JSON.stringify(rows)}`,
    ).toContainEqual(expect.objectContaining({ outcome: expect.toBeOneOf(ANSWERED) }));
  return rows;
}

function textOf(r: unknown): string {
  const content = (r as { content?: { text?: string }[] }).content ?? [];
  return content.map((c) => c.text ?? '').join('\n');
}

/** A connected MCP client of either SDK era. */
interface AnyClient {
  listTools(): Promise<{ tools: { name: string }[] }>;
  callTool(params: { name: string; arguments: Record<string, unknown> }): Promise<Record<string, unknown>>;
}

/** The server lists its SAMPLE tool, and calling it answers with the demo data. */
async function expectSampleAnswers(client: AnyClient, server: Server) {
  const { tools } = await client.listTools();
  expect(tools.map((t) => t.name)).toContain(SAMPLE[server].tool);
  const r = await client.callTool({ name: SAMPLE[server].tool, arguments: SAMPLE[server].args });
  expect(r.isError, textOf(r)).toBeFalsy();
  expect(textOf(r)).toMatch(SAMPLE[server].shows);
}

/** This process's environment for a child process: its defined variables, less those in `drop`. */
function childEnv(drop: readonly string[] = []): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !drop.includes(k)) env[k] = v;
  return env;
}

/** Everything a stdio transport's child writes to stderr, for the failure message. */
function stderrOf(transport: StdioClientTransport): () => string {
  let stderr = '';
  transport.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  return () => stderr;
}

beforeAll(async () => {
  fleet = await startLocalFleet();
  issuer = await DevIssuer.fromFile(
    join(fleet.env.FLEET_DIR!, 'dev-issuer.json'),
    `http://127.0.0.1:${fleet.env.FLEET_ISSUER_PORT}`,
  );
  db = new pg.Pool({
    connectionString: `postgres://fleet:fleet@127.0.0.1:${fleet.env.FLEET_PG_PORT}/fleet`,
    max: 2,
  });
}, 180_000);
afterAll(async () => {
  await db?.end();
  await fleet?.stop();
});

describe("the README's client configurations, run as written against the local fleet", () => {
  it('Claude Desktop: the mcp-remote command with a --header token lists and calls tools on every server', async () => {
    // The README's one entry (fleet-database) is the template: the same command, args and env for
    // every server, its URL and its token's --server changed. The command is spawned exactly
    // (`npx -y mcp-remote ...`): run in the repository, npx finds mcp-remote in node_modules/.bin;
    // npm_config_offline makes sure it never fetches one from the network instead.
    const [name, entry] = Object.entries(readme.claudeDesktop)[0]!;
    expect(name).toMatch(/^fleet-/);
    expect(entry.command).toBe('npx');
    expect(entry.args).toContain('mcp-remote');
    const template = entry.args.find((a) => a.startsWith('http://'))!;
    const placeholder = Object.values(entry.env ?? {})[0]!;
    const cmd = tokenCommand(placeholder);
    const agent = cmd[cmd.indexOf('--agent') + 1]!;
    const readmeRole = cmd[cmd.indexOf('--role') + 1]!;
    // The token the README tells people to paste is for the server the entry points at.
    expect(cmd[cmd.indexOf('--server') + 1]).toBe(serverOfUrl(template));
    const configDir = mkdtempSync(join(tmpdir(), 'mcp-remote-config-'));
    // The README's `fleet token` command as written for its server; for the others the same claims
    // (agent, role, tenant) minted in-process for that server, which is what `--server <name>` does.
    const tokens = await Promise.all(
      SERVERS.map((server) =>
        server === serverOfUrl(template)
          ? readmeToken(cmd)
          : mint(agent, roleFor(server, readmeRole), server),
      ),
    );
    // One mcp-remote per server, side by side (as Claude Desktop starts its servers).
    const runOne = async (server: Server, i: number) => {
      const env = childEnv();
      for (const k of Object.keys(entry.env ?? {})) env[k] = tokens[i]!;
      Object.assign(env, { npm_config_offline: 'true', MCP_REMOTE_CONFIG_DIR: configDir });
      const transport = new StdioClientTransport({
        command: entry.command,
        args: entry.args.map((a) => (a === template ? fleet.urls[server]! : a)),
        env,
        cwd: ROOT,
        stderr: 'pipe',
      });
      const stderr = stderrOf(transport);
      const client = new LegacyClient({ name: 'claude-desktop-via-mcp-remote', version: '1.0.0' });
      try {
        await client.connect(transport);
        await expectSampleAnswers(client, server);
      } catch (err) {
        throw new Error(`${server}: ${(err as Error).message}\n--- mcp-remote stderr ---\n${stderr()}`);
      } finally {
        await client.close();
      }
    };
    await Promise.all(SERVERS.map(runOne));
    // The fleet recorded each call under the agent id of the README's token command.
    await expectAuditedOnEvery(agent);
  }, 120_000);

  it('mcp-remote with no header: the OAuth flow at the local IdP signs carol in, then tools list and answer', async () => {
    // The README's line as written (`npx mcp-remote <url>`), its URL the fleet's. The browser it opens
    // is packages/idp's login driver (a fake `xdg-open` / $BROWSER that signs carol in over HTTP).
    const line = readme.mcpRemoteLines[0];
    expect(line, 'README shows an mcp-remote line with no header').toBeTruthy();
    const [command, ...args] = toFleet(line!.replace(/#.*$/, ''), fleet.urls).trim().split(/\s+/);
    expect(args).not.toContain('--header');
    const server = Object.entries(fleet.urls).find(([, u]) => args.includes(u))![0] as Server;
    const work = mkdtempSync(join(tmpdir(), 'mcp-remote-oauth-'));
    const log = join(work, 'browser.log');
    const browser = join(work, 'fake-browser');
    const driver = join(ROOT, 'packages/idp/test/login-driver.ts');
    writeFileSync(
      browser,
      `#!/bin/sh\ncd "${ROOT}" && exec "${process.execPath}" --conditions=mcp-fleet-source --import tsx "${driver}" "$1"\n`,
    );
    chmodSync(browser, 0o755);
    mkdirSync(join(work, 'bin'));
    writeFileSync(join(work, 'bin', 'xdg-open'), `#!/bin/sh\nexec "${browser}" "$1"\n`);
    chmodSync(join(work, 'bin', 'xdg-open'), 0o755);
    const env = childEnv(['DISPLAY', 'WAYLAND_DISPLAY', 'XDG_CURRENT_DESKTOP', 'DESKTOP_SESSION']);
    Object.assign(env, {
      PATH: `${join(work, 'bin')}:${process.env.PATH}`,
      BROWSER: browser,
      MCP_REMOTE_CONFIG_DIR: join(work, 'config'),
      FLEET_LOGIN_USER: 'carol',
      FLEET_LOGIN_LOG: log,
      npm_config_offline: 'true',
    });
    const transport = new StdioClientTransport({ command: command!, args, env, cwd: ROOT, stderr: 'pipe' });
    const stderr = stderrOf(transport);
    const client = new LegacyClient({ name: 'mcp-remote-oauth', version: '1.0.0' });
    try {
      await client.connect(transport);
      await expectSampleAnswers(client, server);
    } catch (err) {
      throw new Error(
        `${(err as Error).message}\n--- mcp-remote stderr ---\n${stderr()}\n--- browser ---\n${existsSync(log) ? readFileSync(log, 'utf8') : '(never opened)'}`,
      );
    } finally {
      await client.close();
    }
    expect(readFileSync(log, 'utf8')).toContain('callback answered 200');
    // The fleet audited the call as made for carol, the person who signed in.
    await eventually(async () => {
      const { rows } = await db.query(
        `SELECT 1 FROM audit_records WHERE user_invoker = 'carol' AND server = $1 AND tool = $2`,
        [server, SAMPLE[server].tool],
      );
      return rows.length > 0;
    }, 10_000);
    const { rows } = await db.query<{ outcome: string }>(
      `SELECT outcome FROM audit_records WHERE user_invoker = 'carol' AND server = $1 AND tool = $2`,
      [server, SAMPLE[server].tool],
    );
    expect(rows.map((r) => r.outcome)).toContainEqual(expect.toBeOneOf(ANSWERED));
  }, 120_000);

  it('Cursor: a Streamable HTTP client with the url and headers lists and calls tools on every server', async () => {
    const [, entry] = Object.entries(readme.cursor)[0]!;
    // The entry's URL is a server's (its /mcp); the same entry, URL changed, for every server.
    const readmeServer = serverOfUrl(entry.url);
    expect(toFleet(entry.url, fleet.urls)).toBe(fleet.urls[readmeServer]);
    const headerName = Object.keys(entry.headers ?? {}).find((h) => /<token>/.test(entry.headers![h]!));
    expect(headerName, JSON.stringify(entry)).toBeTruthy();
    const agent = 'interop-cursor';
    for (const server of SERVERS) {
      const token = await mint(agent, roleFor(server, 'support'), server);
      const headers = { [headerName!]: entry.headers![headerName!]!.replace('<token>', token) };
      // Cursor speaks the 2025 revisions: the 1.x SDK client, as Cursor's own.
      const client = new LegacyClient({ name: 'cursor', version: '1.0.0' });
      await client.connect(
        new LegacyTransport(
          new URL(toFleet(entry.url, fleet.urls).replace(fleet.urls[readmeServer]!, fleet.urls[server]!)),
          {
            requestInit: { headers },
          },
        ),
      );
      try {
        await expectSampleAnswers(client, server);
      } finally {
        await client.close();
      }
    }
    await expectAuditedOnEvery(agent);
  });

  it('LangChain: the MultiServerMCPClient snippet runs as written, then on every server', async () => {
    // The snippet, compiled as TypeScript, with the fleet's URLs and the token of the command its
    // comment names; the MultiServerMCPClient it constructs is the real one (its config kept).
    const cmd = tokenCommand(readme.langchain);
    const agent = cmd[cmd.indexOf('--agent') + 1]!;
    const readmeRole = cmd[cmd.indexOf('--role') + 1]!;
    expect(readme.langchain).toMatch(/^import \{ MultiServerMCPClient \} from '@langchain\/mcp-adapters';$/m);
    const body = readme.langchain.replace(/^import .*$/gm, '');
    const { code } = await transform(
      `async function snippet(MultiServerMCPClient, process) {\n${toFleet(body, fleet.urls)}\nreturn { client, tools };\n}`,
      { loader: 'ts' },
    );
    let config: ConstructorParameters<typeof MultiServerMCPClient>[0] | undefined;
    class Recording extends MultiServerMCPClient {
      constructor(c: ConstructorParameters<typeof MultiServerMCPClient>[0]) {
        super(c);
        config = c;
      }
    }
    const token = await readmeToken(cmd);
    const snippet = new Function(`${code}\nreturn snippet;`)() as (
      c: typeof MultiServerMCPClient,
      p: { env: Record<string, string> },
    ) => Promise<{
      client: MultiServerMCPClient;
      tools: { name: string; invoke(a: unknown): Promise<unknown> }[];
    }>;
    const { client, tools } = await snippet(Recording, { env: { FLEET_TOKEN: token } });
    const servers = Object.keys((config as { mcpServers: Record<string, unknown> }).mcpServers);
    try {
      expect(servers.length).toBeGreaterThan(0);
      for (const s of servers) {
        const listed = tools.map((t) => t.name);
        expect(listed, s).toContain(SAMPLE[s as Server].tool);
        const tool = tools.find((t) => t.name === SAMPLE[s as Server].tool)!;
        expect(JSON.stringify(await tool.invoke(SAMPLE[s as Server].args))).toMatch(
          SAMPLE[s as Server].shows,
        );
      }
    } finally {
      await client.close();
    }
    await expectAuditedOnEvery(agent, servers);

    // Every server: the snippet's first entry (transport, headers) as the template, one per server.
    const [first] = Object.values((config as { mcpServers: Record<string, { url: string }> }).mcpServers);
    const everyAgent = `${agent}-every-server`;
    const every = new MultiServerMCPClient({
      mcpServers: Object.fromEntries(
        await Promise.all(
          SERVERS.map(async (s) => {
            const t = await mint(everyAgent, roleFor(s, readmeRole), s);
            const entry = JSON.parse(JSON.stringify(first).split(token).join(t));
            return [s, { ...entry, url: fleet.urls[s]! }];
          }),
        ),
      ),
    });
    try {
      for (const s of SERVERS) {
        const serverTools = await every.getTools(s);
        const tool = serverTools.find((t) => t.name === SAMPLE[s].tool);
        expect(tool, `${s}: ${serverTools.map((t) => t.name).join(', ')}`).toBeTruthy();
        expect(JSON.stringify(await tool!.invoke(SAMPLE[s].args))).toMatch(SAMPLE[s].shows);
      }
    } finally {
      await every.close();
    }
    await expectAuditedOnEvery(everyAgent);
  });
});

type Era = 'modern pinned' | 'modern auto' | 'legacy 1.x';
async function connectEra(era: Era, url: string, token: string) {
  const init = { requestInit: { headers: { authorization: `Bearer ${token}` } } };
  if (era === 'legacy 1.x') {
    const c = new LegacyClient({ name: 'interop-legacy', version: '1.0.0' });
    await c.connect(new LegacyTransport(new URL(url), init));
    return c;
  }
  const c = new ModernClient(
    { name: 'interop-modern', version: '1.0.0' },
    {
      versionNegotiation: { mode: era === 'modern auto' ? 'auto' : { pin: MODERN_PROTOCOL_VERSION } },
    },
  );
  await c.connect(new ModernTransport(new URL(url), init));
  return c;
}

describe('both SDK eras on every server', () => {
  for (const [era, version] of [
    ['modern pinned', MODERN_PROTOCOL_VERSION],
    ['modern auto', MODERN_PROTOCOL_VERSION],
    ['legacy 1.x', '2025-11-25'],
  ] as const) {
    it(`${era}: lists and calls a tool on every server, audited as ${version}`, async () => {
      const agent = `interop-${era.replace(/\W+/g, '-')}`;
      for (const server of SERVERS) {
        const client = await connectEra(
          era,
          fleet.urls[server]!,
          await mint(agent, roleFor(server, 'support'), server),
        );
        try {
          await expectSampleAnswers(client, server);
        } finally {
          await client.close();
        }
      }
      const rows = await expectAuditedOnEvery(agent);
      expect(new Set(rows.map((r) => r.protocol_version))).toEqual(new Set([version]));
    });
  }
});

/**
 * Valid arguments for the read-only tools, by what the demo data holds; `ids` are looked up first.
 * A listed read-only tool missing here with no required property is called with `{}` and must answer;
 * one with required properties must be in NOT_CALLABLE with the reason the demo data cannot give it
 * valid arguments (it is then called with `{}` and its refusal must name what is required) — a
 * listed read tool in neither fails the test.
 */
interface Ids {
  stripeCustomer: string;
  hubspotContact: string;
  hubspotCompany: string;
  salesforceAccount: string;
}
const READS: Record<string, (role: string, ids: Ids) => Record<string, unknown>> = {
  'database/list_schemas': () => ({}),
  'database/list_tables': () => ({ schema: 'sales' }),
  'database/describe_table': () => ({ schema: 'sales', table: 'customers' }),
  'database/run_query': () => ({ sql: 'SELECT count(*) AS n FROM sales.customers' }),
  'database/explain_query': () => ({ sql: 'SELECT count(*) AS n FROM sales.customers' }),
  'database/count_open_tickets': () => ({}),
  'database/get_revenue_by_month': () => ({}),
  'database/find_customers': () => ({ query: 'customer1.example.com' }),
  'database/list_customer_tickets': () => ({ customer_id: 1 }),
  'database/summarize_subscriptions': () => ({}),
  'database/list_dashboards': () => ({}),
  // Saved by the test first (the demo data has no dashboard).
  'database/get_dashboard': () => ({ name: DASHBOARD }),
  'database/database_health': () => ({}),
  'communication/slack_list_channels': () => ({}),
  'communication/slack_read_channel': (role) => ({
    channel: role === 'analyst' ? '#analytics' : '#support-escalations',
  }),
  'communication/get_ticket': () => ({ issue_key: 'SUP-1' }),
  'files/list_folder': () => ({ path: 'docs' }),
  'files/get_file_info': () => ({ path: 'docs/README.md' }),
  'files/read_document': () => ({ path: 'docs/support/refund-policy.md' }),
  'files/search_documents': () => ({ query: 'refund' }),
  'vendor-apis/stripe_search_customers': () => ({ email: EMAIL }),
  'vendor-apis/stripe_get_customer': (_, ids) => ({ customer_id: ids.stripeCustomer }),
  'vendor-apis/stripe_list_invoices': (_, ids) => ({ customer_id: ids.stripeCustomer }),
  'vendor-apis/stripe_list_payments': (_, ids) => ({ customer_id: ids.stripeCustomer }),
  'vendor-apis/stripe_get_subscription': (_, ids) => ({ customer_id: ids.stripeCustomer }),
  'vendor-apis/hubspot_search_contacts': () => ({ email: EMAIL }),
  'vendor-apis/hubspot_get_contact': (_, ids) => ({ contact_id: ids.hubspotContact }),
  'vendor-apis/hubspot_get_company': (_, ids) => ({ company_id: ids.hubspotCompany }),
  'vendor-apis/hubspot_list_deals': () => ({ stage: 'closedwon' }),
  'vendor-apis/salesforce_query': () => ({ object: 'Account', fields: ['Id', 'Name'], limit: 1 }),
  'vendor-apis/salesforce_get_record': (_, ids) => ({ object: 'Account', id: ids.salesforceAccount }),
  'admin/get_user': () => ({ user_name: 'alice' }),
};

/** The dashboard the read test saves first, so get_dashboard has one to read. */
const DASHBOARD = 'interop-open-tickets';

/** Listed read tools the demo data cannot give valid arguments, each with why (see READS). */
const NOT_CALLABLE: Record<string, string> = {};

describe('every read-only tool a role is listed answers a 2026-07-28 client', () => {
  it('support, analyst and admin: each listed read tool answers valid arguments, or is named with why the demo data cannot give it any', async () => {
    // The ids the demo data gives customer 1 in each vendor, found as an agent would.
    const probe = await connectEra(
      'modern pinned',
      fleet.urls['vendor-apis']!,
      await mint('interop-probe', 'support', 'vendor-apis'),
    );
    const data = async (tool: string, args: Record<string, unknown>) => {
      const r = await probe.callTool({ name: tool, arguments: args });
      expect(r.isError, textOf(r)).toBeFalsy();
      return r.structuredContent as Record<string, { id: string; companyId?: string }[]>;
    };
    const contact = (await data('hubspot_search_contacts', { email: EMAIL })).contacts![0]!;
    const detail = (await data('hubspot_get_contact', { contact_id: contact.id })) as unknown as {
      companyIds?: string[];
      contact?: { companyIds?: string[] };
    };
    const ids: Ids = {
      stripeCustomer: (await data('stripe_search_customers', { email: EMAIL })).customers![0]!.id,
      hubspotContact: contact.id,
      hubspotCompany: (detail.companyIds ?? detail.contact?.companyIds ?? [])[0] ?? '',
      salesforceAccount: (
        (await data('salesforce_query', { object: 'Account', fields: ['Id'], limit: 1 }))
          .records as unknown as { Id: string }[]
      )[0]!.Id,
    };
    await probe.close();
    // A dashboard to read (the demo data has none): saved by an analyst, as an agent would.
    const saver = await connectEra(
      'modern pinned',
      fleet.urls.database!,
      await mint('interop-dashboard-saver', 'analyst', 'database'),
    );
    const saved = await saver.callTool({
      name: 'save_dashboard',
      arguments: {
        name: DASHBOARD,
        title: 'Open tickets',
        panels: [{ title: 'Open tickets', query: 'count_open_tickets', params: {} }],
        idempotency_key: `interop-dashboard-${Date.now()}`,
      },
    });
    expect(saved.isError, textOf(saved)).toBeFalsy();
    await saver.close();

    const seen: string[] = [];
    /** Listed read tools called with valid arguments and answered, by role. */
    const answeredValid: string[] = [];
    /** Listed read tools only refused with `{}` (named in NOT_CALLABLE). */
    const refusedOnly: string[] = [];
    /** Listed read tools with required arguments, no valid ones known and no named reason. */
    const unexplained: string[] = [];
    for (const role of ['support', 'analyst', 'admin']) {
      for (const server of SERVERS) {
        const agent = `interop-reads-${role}`;
        const client = await connectEra(
          'modern pinned',
          fleet.urls[server]!,
          await mint(agent, role, server),
        );
        try {
          const { tools } = await client.listTools();
          for (const tool of tools.filter((t) => t.annotations?.readOnlyHint === true)) {
            const key = `${server}/${tool.name}`;
            const valid = READS[key];
            const required = ((tool.inputSchema as { required?: string[] }).required ?? []) as string[];
            const args = valid ? valid(role, ids) : {};
            const r = await client.callTool({ name: tool.name, arguments: args }).catch((e: Error) => ({
              isError: true,
              content: [{ type: 'text', text: e.message }],
            }));
            if (valid || required.length === 0) {
              expect(r.isError, `${role} ${key} ${JSON.stringify(args)}: ${textOf(r)}`).toBeFalsy();
              expect(textOf(r).length, key).toBeGreaterThan(0);
              answeredValid.push(`${role} ${key}`);
            } else {
              // No known valid arguments: the schema says what is required, and the refusal names it.
              expect(r.isError, `${role} ${key} {}: ${textOf(r)}`).toBe(true);
              expect(textOf(r)).toContain(required[0]!);
              if (NOT_CALLABLE[key]) refusedOnly.push(`${role} ${key}`);
              else unexplained.push(`${role} ${key} (requires ${required.join(', ')})`);
            }
            seen.push(`${role} ${key}`);
          }
        } finally {
          await client.close();
        }
      }
    }
    // Every listed read tool was called with valid arguments, or is named with why it cannot be.
    expect(unexplained, 'listed read tools never called with valid arguments, and no reason named').toEqual(
      [],
    );
    expect(refusedOnly.length + answeredValid.length).toBe(seen.length);
    // Every role reached tools on the servers the policy opens to it (not vacuous).
    for (const s of ['database', 'communication', 'files', 'vendor-apis'])
      for (const role of ['support', 'analyst', 'admin'])
        expect(
          seen.some((k) => k.startsWith(`${role} ${s}/`)),
          `${role} on ${s}`,
        ).toBe(true);
    expect(seen).toContain('admin admin/get_user');
    // Each of those calls is in the fleet's audit trail under its role's agent id.
    const recorded = async () => {
      const { rows } = await db.query<{ agent_id: string; server: string; tool: string }>(
        `SELECT DISTINCT agent_id, server, tool FROM audit_records
          WHERE agent_id LIKE 'interop-reads-%' AND method = 'tools/call'`,
      );
      return new Set(rows.map((r) => `${r.agent_id.replace('interop-reads-', '')} ${r.server}/${r.tool}`));
    };
    await eventually(async () => {
      const got = await recorded();
      return seen.every((k) => got.has(k));
    }, 10_000);
    const got = await recorded();
    expect(seen.filter((k) => !got.has(k))).toEqual([]);
  });
});

describe('the scripted support example (pnpm example)', () => {
  it('runs across all five servers with the governance outcomes it prints, and the simulators got exactly that', async () => {
    const runId = `t${Date.now().toString(36)}`;
    const { stdout } = await run(
      process.execPath,
      [
        '--conditions=mcp-fleet-source',
        '--import',
        'tsx',
        'examples/support-scenario/main.ts',
        '--json',
        '--auto-approve',
        '--run',
        runId,
      ],
      { cwd: ROOT, env: fleet.env },
    );
    // The example's output: one JSON object per step (`--json`), its own Step type.
    const steps = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Step);
    const at = (tool: string) => steps.filter((s) => s.tool === tool);
    expect(new Set(steps.map((s) => s.server))).toEqual(new Set(SERVERS));
    expect(at('find_customers')[0]!.got).toContain('Juniper Works 1');
    // The repeated lookup is served from the fleet's cache (the first may be too: this file's other
    // clients looked the same customer up in the same tenant).
    const lookups = at('stripe_search_customers').map((s) => s.outcome.split(' ')[0]);
    expect(lookups).toHaveLength(2);
    expect(ANSWERED).toContain(lookups[0]);
    expect(lookups[1]).toBe('cached');
    expect(at('read_document')[0]!.got).toContain('Refund policy');
    const posts = at('slack_post_message');
    expect(posts.map((s) => s.outcome.split(' ')[0])).toEqual(['ok', 'replayed']);
    expect(posts[1]!.got).toBe(posts[0]!.got);
    const refunds = at('issue_refund');
    expect(refunds.map((s) => s.outcome)).toEqual(['awaiting_approval', 'ok']);
    expect(steps.find((s) => s.tool.startsWith('POST /approvals/'))?.outcome).toBe('approved');

    // Slack received the one message it printed, once, for its key.
    const sim = `http://127.0.0.1:${fleet.env.FLEET_SIM_PORT}`;
    const slack = (await (await fetch(`${sim}/slack/_simulator/requests`)).json()) as {
      requests: { operation: string; params: { text?: string } }[];
    };
    const sent = slack.requests.filter((r) => r.operation === 'chat.postMessage');
    expect(sent.filter((r) => r.params.text === posts[0]!.sent.text)).toHaveLength(1);
    expect(posts[0]!.sent.idempotency_key).toBe(`example-${runId}-slack`);
    // Jira received the one ticket it printed.
    const jira = (await (await fetch(`${sim}/jira/_simulator/requests`)).json()) as {
      requests: { operation: string; params: { body?: { fields?: { summary?: string } } } }[];
    };
    const ticket = at('create_ticket')[0]!;
    expect(
      jira.requests.filter(
        (r) => r.operation === 'issue.create' && r.params.body?.fields?.summary === ticket.sent.summary,
      ),
    ).toHaveLength(1);
    // Stripe received one refund: the printed payment, amount and reason, after the approval.
    const stripe = /SIMULATED Stripe: (http:\/\/127\.0\.0\.1:\d+)/.exec(fleet.output())![1]!;
    const stripeRequests = (await (await fetch(`${stripe}/_simulator/requests`)).json()) as {
      requests: { method: string; path: string; params: Record<string, string> }[];
    };
    const refundsSent = stripeRequests.requests.filter(
      (r) => r.method === 'POST' && r.path === '/v1/refunds',
    );
    expect(refundsSent).toHaveLength(1);
    expect(refundsSent[0]!.params).toMatchObject({
      payment_intent: refunds[1]!.sent.payment_intent,
      amount: String(refunds[1]!.sent.amount),
      reason: 'duplicate',
      'metadata[fleet_agent]': 'example-support-agent',
    });
    // The fleet's audit trail holds the run under the example's agent id, on every server.
    await eventually(
      async () => new Set((await audited('example-support-agent')).map((r) => r.server)).size === 5,
    );
    const rows = await audited('example-support-agent');
    expect(new Set(rows.map((r) => r.server))).toEqual(new Set(SERVERS));
    expect(rows.filter((r) => r.tool === 'issue_refund').map((r) => r.outcome)).toHaveLength(2);
  }, 120_000);
});
