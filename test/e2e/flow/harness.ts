// The flow guard's end-to-end harness (issue 17): a local fleet started the way `pnpm start` starts it
// (the real CLI as a child process, test/e2e/local-fleet.ts), with what the flow tests read from it —
// agent tokens of one `sid` for every server, each replica's own address, the simulators' record of
// what reached Slack and SMTP, the fleet database's audit trail, and a person's approval given through
// the approvals API as `fleet approvals approve` gives it. Nothing here decides anything for the fleet.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type CallOutcome,
  callOutcome,
  connectClient,
  eventually,
  type TestClient,
} from '@mcp-fleet/testkit';
import pg from 'pg';
import { parse, stringify } from 'yaml';
import { EXAMPLE_POLICY } from '../../../packages/cli/src/layout.js';
import { type LocalFleet, startLocalFleet } from '../local-fleet.js';

/** The external address the demo ticket tells the agent to send customer rows to. */
export const PARTNER_ADDRESS = 'audit@partner.example';

/** The example policy as a plain object (what `pnpm start` loads). */
// biome-ignore lint/suspicious/noExplicitAny: a policy document edited by tests, checked by the servers' own schema
export type PolicyDoc = Record<string, any>;

/** A policy file in a fresh temporary folder: the example policy after `edit`. */
export function policyFile(edit: (policy: PolicyDoc) => void): string {
  const policy = parse(readFileSync(EXAMPLE_POLICY, 'utf8')) as PolicyDoc;
  edit(policy);
  const file = join(mkdtempSync(join(tmpdir(), 'fleet-flow-policy-')), 'policy.yaml');
  writeFileSync(file, stringify(policy));
  return file;
}

/** The example policy as `pnpm start` loads it, parsed. */
export function examplePolicyDoc(): PolicyDoc {
  return parse(readFileSync(EXAMPLE_POLICY, 'utf8')) as PolicyDoc;
}

/** One server's replica, addressed directly on its internal port (bypassing the proxy). */
export interface Replica {
  index: number;
  /** `http://127.0.0.1:<internal port>` */
  base: string;
  /** Its MCP endpoint. */
  mcp: string;
  pid: number;
}

/** A running local fleet with the flow tests' views of it. */
export interface FlowFleet {
  fleet: LocalFleet;
  /** The fleet database (audit trail, approvals). */
  db: pg.Client;
  /** The communication simulators' HTTP origin (outbox, SMTP control plane). */
  sim: string;
  /** Replicas per server, when started with `--replicas N` (N > 1). */
  replicas: Record<string, Replica[]>;
  close(): Promise<number | null>;
}

export interface FlowFleetOptions {
  /** POLICY_FILE (default: the example policy, as `pnpm start`). */
  policy?: string;
  /** `--only` (default: every server). */
  only?: readonly string[];
  /** `--replicas N` with REDIS_URL and a key prefix of this run's own. */
  replicas?: number;
  redisUrl?: string;
  env?: Record<string, string>;
}

/** Starts the local fleet through the CLI and connects to its database. */
export async function startFlowFleet(opts: FlowFleetOptions = {}): Promise<FlowFleet> {
  const env: Record<string, string> = { ...opts.env };
  if (opts.policy) env.POLICY_FILE = opts.policy;
  const args: string[] = [];
  if (opts.only) args.push('--only', opts.only.join(','));
  if (opts.replicas && opts.replicas > 1) {
    if (!opts.redisUrl) throw new Error('replicas need a Redis URL');
    env.REDIS_URL = opts.redisUrl;
    env.REDIS_KEY_PREFIX = `e2e-flow-${process.pid}-${Date.now()}`;
    args.push('--replicas', String(opts.replicas));
  }
  const fleet = await startLocalFleet({ env, args });
  const out = fleet.output();
  const replicas: Record<string, Replica[]> = {};
  // `<server> ready (2 replicas) <url>/mcp  (replicas 1: 127.0.0.1:P pid N, 2: 127.0.0.1:P pid N; logs: ...)`
  for (const m of out.matchAll(/^(\S+)\s+ready \(\d+ replicas\) \S+\s+\(replicas ([^;]+);/gm)) {
    replicas[m[1]!] = [...m[2]!.matchAll(/(\d+): (\S+) pid (\d+)/g)].map((r) => ({
      index: Number(r[1]),
      base: `http://${r[2]}`,
      mcp: `http://${r[2]}/mcp`,
      pid: Number(r[3]),
    }));
  }
  const db = new pg.Client({
    connectionString: `postgres://fleet:fleet@127.0.0.1:${fleet.env.FLEET_PG_PORT}/fleet`,
  });
  await db.connect();
  return {
    fleet,
    db,
    sim: `http://127.0.0.1:${fleet.env.FLEET_SIM_PORT}`,
    replicas,
    close: async () => {
      await db.end().catch(() => {});
      return fleet.stop();
    },
  };
}

/** An agent session: one token (`sid` = session) valid at every server of the fleet, as `fleet token --all` mints it. */
export interface AgentSession {
  agent: string;
  session: string;
  token: string;
}

/** Mints an agent token through `fleet token` (as a user would), one `sid` for every server. */
export async function agentSession(
  f: FlowFleet,
  o: { agent: string; role: string; session: string; user?: string },
): Promise<AgentSession> {
  const args = ['token', '--agent', o.agent, '--role', o.role, '--all', '--session', o.session];
  if (o.user) args.push('--user', o.user);
  return { agent: o.agent, session: o.session, token: (await f.fleet.fleet(...args)).trim() };
}

/** Runs `fn` with an MCP client of `url` for `s`, closed afterwards. */
export async function withClient<T>(
  url: string,
  s: AgentSession,
  fn: (c: TestClient) => Promise<T>,
): Promise<T> {
  const client = await connectClient('modern', url, s.token);
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

/** One call through a fresh client (what an agent's next tool call does; any replica may answer). */
export function callAt(
  url: string,
  s: AgentSession,
  tool: string,
  args: Record<string, unknown>,
): Promise<CallOutcome> {
  return withClient(url, s, (c) => callOutcome(c, tool, args));
}

/** What reached the communication simulators (every system, oldest first). */
export interface OutboxEntry {
  system: string;
  kind: string;
  destination: string;
  upstreamId: string;
  title: string;
  text: string;
}

export async function outbox(f: FlowFleet): Promise<OutboxEntry[]> {
  const res = await fetch(`${f.sim}/outbox.json`);
  if (!res.ok) throw new Error(`outbox: ${res.status}`);
  return ((await res.json()) as { entries: OutboxEntry[] }).entries.reverse();
}

/** Emails the SMTP simulator received whose subject is `subject`. */
export async function emailsWithSubject(f: FlowFleet, subject: string): Promise<OutboxEntry[]> {
  return (await outbox(f)).filter((e) => e.system === 'email' && e.title === subject);
}

/** Slack posts the Slack simulator received whose text contains `marker`. */
export async function slackPostsWith(f: FlowFleet, marker: string): Promise<OutboxEntry[]> {
  return (await outbox(f)).filter((e) => e.system === 'slack' && e.text.includes(marker));
}

/**
 * The stages of a message (MAIL FROM, RCPT TO, DATA) the SMTP simulator saw: a refused send must add
 * none. Connections alone are not counted: communication's /readyz checks SMTP with a connection that
 * sends no message, and with --replicas the proxy asks every replica's /readyz each second (seen in a
 * repeat run: two probe connections landed during a held send).
 */
export async function smtpRequests(f: FlowFleet): Promise<number> {
  const res = await fetch(`${f.sim}/smtp/_simulator/requests`);
  if (!res.ok) throw new Error(`smtp requests: ${res.status}`);
  const { requests } = (await res.json()) as { requests: { operation: string }[] };
  return requests.filter((r) => ['smtp.mail', 'smtp.rcpt', 'smtp.data'].includes(r.operation)).length;
}

/** How many `chat.postMessage` requests reached the Slack simulator (a held post must add none). */
export async function slackPostRequests(f: FlowFleet): Promise<number> {
  const res = await fetch(`${f.sim}/slack/_simulator/requests`);
  if (!res.ok) throw new Error(`slack requests: ${res.status}`);
  const { requests } = (await res.json()) as { requests: { operation: string }[] };
  return requests.filter((r) => r.operation === 'chat.postMessage').length;
}

/** A final audit record of a session's call. */
export interface AuditRow {
  id: string;
  server: string;
  tool: string;
  outcome: string;
  decision_reason: string | null;
  details: Record<string, unknown> | null;
}

/** The session's final audit records for `tool`, once there are at least `n`. */
export async function auditOf(f: FlowFleet, session: string, tool: string, n = 1): Promise<AuditRow[]> {
  const read = async () =>
    (
      await f.db.query<AuditRow>(
        `SELECT id, server, tool, outcome, decision_reason, details FROM audit_records
          WHERE agent_session = $1 AND tool = $2 AND outcome <> 'started' ORDER BY ts`,
        [session, tool],
      )
    ).rows;
  await eventually(async () => (await read()).length >= n, 20_000);
  return read();
}

/** The approval id a held call was answered with. */
export function approvalIdOf(held: CallOutcome): string {
  const g = held.meta?.['io.mcp-fleet/governance'] as { approvalId?: string } | undefined;
  const d = held.data as { approvalId?: string } | undefined;
  return g?.approvalId ?? d?.approvalId ?? /Approval id: ([0-9a-f-]{36})/.exec(held.text)?.[1] ?? '';
}

/** alice (an approver, not the person the agent acts for) approves through the server's approvals API. */
export async function approveAsAlice(f: FlowFleet, server: string, approvalId: string): Promise<void> {
  const approver = (await f.fleet.fleet('token', '--approver', 'alice', '--server', server)).trim();
  const url = f.fleet.urls[server]!.replace(/\/mcp$/, '');
  await f.fleet.fleet('approvals', 'approve', approvalId, '--token', approver, '--url', url);
}

/** The sum of a counter's series on one replica (its own /metrics), over series whose labels include `match`. */
export async function replicaCount(r: Replica, name: string, match: string): Promise<number> {
  const text = await (await fetch(`${r.base}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) && l.includes(match))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

/**
 * The demo SUP ticket whose text tells the agent to email customer rows to the partner address:
 * found by reading the SUP tickets in order with a scout session (not the session under test).
 */
export async function findPartnerTicket(f: FlowFleet, url: string): Promise<string> {
  const scout = await agentSession(f, {
    agent: 'e2e-flow-scout',
    role: 'admin',
    session: `scout-${process.pid}-${Date.now()}`,
    user: 'bob',
  });
  return withClient(url, scout, async (c) => {
    let misses = 0;
    for (let n = 1; n <= 50 && misses < 3; n++) {
      const r = await callOutcome(c, 'get_ticket', { issue_key: `SUP-${n}` });
      if (r.isError) {
        misses++;
        continue;
      }
      misses = 0;
      if (JSON.stringify(r.data ?? r.text).includes(PARTNER_ADDRESS)) return `SUP-${n}`;
    }
    throw new Error(`no SUP ticket mentions ${PARTNER_ADDRESS} (the demo ticket of issue 17)`);
  });
}

/**
 * The keys of a Redis (`redis://host:port[/db]`) matching `pattern` (KEYS: a test's own small prefix
 * only), over a plain RESP connection so the test depends on no client of our own code.
 */
export function redisKeys(url: string, pattern: string): Promise<string[]> {
  const u = new URL(url);
  const db = u.pathname.replace(/^\//, '') || '0';
  const cmd = (...args: string[]) =>
    `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
  return new Promise((resolve, reject) => {
    const conn = createConnection({ host: u.hostname, port: Number(u.port || 6379) });
    let buf = '';
    conn.setEncoding('utf8');
    conn.once('connect', () => conn.write(cmd('SELECT', db) + cmd('KEYS', pattern)));
    conn.on('data', (d: string) => {
      buf += d;
      // +OK for SELECT, then the KEYS array: *N then N bulk strings.
      const m = /^\+OK\r\n\*(\d+)\r\n/.exec(buf);
      if (!m) {
        if (buf.startsWith('-')) {
          conn.destroy();
          reject(new Error(`redis: ${buf.trim()}`));
        }
        return;
      }
      const keys: string[] = [];
      let rest = buf.slice(m[0].length);
      for (let i = 0; i < Number(m[1]); i++) {
        const b = /^\$(\d+)\r\n/.exec(rest);
        if (!b || rest.length < b[0].length + Number(b[1]) + 2) return; // wait for more
        keys.push(rest.slice(b[0].length, b[0].length + Number(b[1])));
        rest = rest.slice(b[0].length + Number(b[1]) + 2);
      }
      conn.destroy();
      resolve(keys);
    });
    conn.once('error', reject);
  });
}
