// The shared load engine of the fault scenarios (test/faults), the soak (test/soak) and anyone who
// needs "a fixed load across the servers": mixed traffic of several agents and roles of the example
// policy (support, analyst, admin) over all five servers — reads, cached reads (the same read
// repeated by the same caller), writes with idempotency keys, and approvals (an admin refund held,
// approved by a person through the approvals API, then resumed) — at a fixed rate, open loop.
//
// Every call carries a unique marker as its `x-request-id` header, which the fleet stores in the
// call's audit record (details.clientRequestId): verdict.ts finds each call's record by it. Writes
// also put their idempotency key in what reaches the upstream (message text, ticket summary, report
// content, dashboard name, refund metadata via the idempotency key); Slack posts and Jira tickets
// sent WITHOUT a key (the only sends that can really go out twice: no key, no replay) put the call's
// marker there instead ({@link MARKER_SLOT}), so the simulators' recorded requests can be counted
// per call ("each call reaches the upstream at most once").
//
// Most calls are plain JSON-RPC POSTs over fetch (the servers are stateless); one call in
// SDK_SHARE goes through a real MCP SDK client (`@modelcontextprotocol/sdk`'s Streamable HTTP
// client), with the same marker header.
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { DevIssuer } from '@mcp-fleet/testkit';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { STRIPE_DEMO } from '../../packages/simulators/src/index.js';

export interface FleetTarget {
  /** server name -> base URL (http://127.0.0.1:<port>), as LocalFleet.urls gives (a trailing /mcp is accepted). */
  urls: Record<string, string>;
  /** The fleet's dev issuer key file (<FLEET_DIR>/dev-issuer.json): tokens are minted in-process. */
  issuerKeyFile: string;
  /** The fleet database (to read audit_records for verdicts). */
  fleetDbUrl: string;
}

export type CallKind = 'read' | 'cached-read' | 'write' | 'approval';

export interface CallResult {
  server: string;
  tool: string;
  agent: string;
  role: string;
  kind: CallKind;
  /**
   * 'ok'; or the refusal/error code the fleet answered (`_meta["io.mcp-fleet/error"].code`, e.g.
   * rate_limited, audit_unavailable, awaiting_approval); 'tool_error' for an error result without a
   * code; 'rpc_<code>' for a JSON-RPC error; 'http_<status>' for an HTTP refusal without a JSON-RPC
   * answer; or 'transport_error' (no answer at all: refused connection, reset, timeout).
   */
  code: string;
  ms: number;
  startedAt: number;
  /** Unique per call; the call's `x-request-id`, found in its audit record as details.clientRequestId. */
  marker: string;
  idempotencyKey?: string;
  /**
   * The arguments sent (to send the same call again, e.g. to check an idempotency key replays), with
   * {@link MARKER_SLOT} as planned, not the marker: a call sent again puts its own marker there.
   */
  arguments?: Record<string, unknown>;
  /** For an approval's resumed call: the approval id it resumed. */
  approvalId?: string;
  /** Whether the answer said it was replayed from an earlier call with the same idempotency key. */
  replayed?: boolean;
  /** The first 300 characters of the answer's text (for failure messages). */
  text?: string;
  /** Which client sent it. */
  via?: 'fetch' | 'sdk';
  /** The HTTP status of the answer (plain JSON-RPC calls only). */
  httpStatus?: number;
}

export interface TrafficOptions {
  target: FleetTarget;
  ratePerSecond: number;
  durationMs: number;
  /** default: every server in target.urls */
  servers?: string[];
  /** distinct agent ids (several roles: support, analyst, admin); default 6 */
  agents?: number;
  signal?: AbortSignal;
  onResult?: (r: CallResult) => void;
  /** Which of the planned calls to make (default: all kinds). */
  kinds?: CallKind[];
  /** Per-call timeout (default 30 s): a call not answered by then counts as 'transport_error'. */
  callTimeoutMs?: number;
}

/** One call as planned: where, what, as whom. */
export interface CallSpec {
  server: string;
  tool: string;
  kind: CallKind;
  arguments: Record<string, unknown>;
  idempotencyKey?: string;
}

/** An agent of the load: its id, role and a token for every server of the target. */
export interface LoadAgent {
  id: string;
  role: 'support' | 'analyst' | 'admin';
  token: string;
}

/** The share of calls sent through the real SDK client (the rest: plain JSON-RPC over fetch). */
const SDK_SHARE = 10;
/** issue_refund has globalPerMinute 30 in the example policy: one approval flow (2 calls) per 5 s at most. */
const APPROVAL_SPACING_MS = 5_000;
const ROLES = ['support', 'analyst', 'admin'] as const;
/** Re-mint session tokens this often: a long soak never reaches the per-session budgets. */
const SESSION_MS = 60_000;

/**
 * Put in a string argument of a planned call, replaced by the call's marker when it is sent: a send
 * without an idempotency key carries its marker upstream (message text, ticket summary).
 */
export const MARKER_SLOT = '{{marker}}';

/** The arguments with every MARKER_SLOT in a top-level string replaced by `marker`. */
function withMarker(args: Record<string, unknown>, marker: string): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(args).map(([k, v]) => [k, typeof v === 'string' ? v.replaceAll(MARKER_SLOT, marker) : v]),
  );
}

/** The arguments a call really sent: its planned arguments with {@link MARKER_SLOT} replaced by its marker. */
export function sentArguments(r: Pick<CallResult, 'arguments' | 'marker'>): Record<string, unknown> {
  return withMarker(r.arguments ?? {}, r.marker);
}

/** The server's origin (no /mcp). */
export function originOf(url: string): string {
  return url.replace(/\/+$/, '').replace(/\/mcp$/, '');
}

/** The issuer the servers trust, from their protected resource metadata (RFC 9728). */
async function issuerOf(urls: Record<string, string>): Promise<string> {
  const first = Object.values(urls)[0];
  if (!first) throw new Error('the target has no servers');
  const res = await fetch(`${originOf(first)}/.well-known/oauth-protected-resource`);
  const meta = (await res.json()) as { authorization_servers?: string[] };
  const issuer = meta.authorization_servers?.[0];
  if (!issuer) throw new Error(`no authorization server in ${originOf(first)}'s metadata`);
  return issuer;
}

/**
 * Makes single calls against a fleet as the load's agents (or any role), with markers: what
 * runTraffic uses, exported so a scenario can send its own calls (e.g. the same idempotency key again).
 */
export interface Caller {
  issuer: DevIssuer;
  /** An agent token for every server of the target. */
  agent(role: LoadAgent['role'], id?: string, session?: string): Promise<LoadAgent>;
  /** One call; never throws (a failure is a CallResult with its code). */
  call(
    agent: LoadAgent,
    spec: CallSpec,
    /** `url`: another endpoint of the same server (e.g. one replica's own port); fetch only. */
    opts?: { via?: 'fetch' | 'sdk'; timeoutMs?: number; url?: string },
  ): Promise<CallResult>;
  /** issue_refund held, approved by alice through the approvals API, then resumed: both calls' results. */
  approvalFlow(agent: LoadAgent, timeoutMs?: number): Promise<CallResult[]>;
  close(): Promise<void>;
}

const markers = new AsyncLocalStorage<string>();

/** A Caller for the target. */
export async function createCaller(target: FleetTarget): Promise<Caller> {
  const issuer = await DevIssuer.fromFile(target.issuerKeyFile, await issuerOf(target.urls));
  const mcpUrl = (server: string) => {
    const u = target.urls[server];
    if (!u) throw new Error(`no server ${server} in the target`);
    return `${originOf(u)}/mcp`;
  };
  const audiences = Object.keys(target.urls).map(mcpUrl);
  /** One SDK client per agent and server, for the agent's current token. */
  const sdkClients = new Map<string, { token: string; client: Promise<Client> }>();
  const closeLater = (client: Promise<Client>) =>
    // After any call still using it has ended (calls time out at 30 s by default).
    setTimeout(() => void client.then((c) => c.close()).catch(() => {}), 40_000).unref();

  const sdkClient = (agent: LoadAgent, server: string): Promise<Client> => {
    const key = `${agent.id}\n${server}`;
    const held = sdkClients.get(key);
    if (held && held.token !== agent.token) {
      // A new session (token) of the agent: its old client goes, so a long run does not pile them up.
      sdkClients.delete(key);
      closeLater(held.client);
    }
    let c = sdkClients.get(key)?.client;
    if (!c) {
      c = (async () => {
        const client = new Client({ name: 'mcp-fleet-load', version: '1.0.0' });
        await client.connect(
          new StreamableHTTPClientTransport(new URL(mcpUrl(server)), {
            requestInit: { headers: { authorization: `Bearer ${agent.token}` } },
            // The marker of the call being made (AsyncLocalStorage follows the SDK's awaits).
            fetch: (input, init) => {
              const m = markers.getStore();
              const headers = new Headers(init?.headers);
              if (m) headers.set('x-request-id', m);
              return fetch(input, { ...init, headers });
            },
          }),
        );
        return client;
      })();
      const mine = c;
      c.catch(() => {
        if (sdkClients.get(key)?.client === mine) sdkClients.delete(key);
      });
      sdkClients.set(key, { token: agent.token, client: c });
    }
    return c;
  };

  const call: Caller['call'] = async (agent, spec, opts = {}) => {
    const marker = `load-${randomUUID()}`;
    const via = opts.via ?? 'fetch';
    const args = {
      ...spec.arguments,
      ...(spec.idempotencyKey ? { idempotency_key: spec.idempotencyKey } : {}),
    };
    const startedAt = Date.now();
    const base: Omit<CallResult, 'code' | 'ms'> = {
      server: spec.server,
      tool: spec.tool,
      agent: agent.id,
      role: agent.role,
      kind: spec.kind,
      startedAt,
      marker,
      arguments: args,
      via,
      ...(spec.idempotencyKey ? { idempotencyKey: spec.idempotencyKey } : {}),
    };
    const sent = withMarker(args, marker);
    const signal = AbortSignal.timeout(opts.timeoutMs ?? 30_000);
    try {
      let answer: Answer;
      let httpStatus: number | undefined;
      if (via === 'sdk') {
        const client = await sdkClient(agent, spec.server);
        answer = await markers.run(marker, async () => {
          try {
            const r = await client.callTool({ name: spec.tool, arguments: sent }, undefined, { signal });
            return { result: r as RpcResult };
          } catch (e) {
            const code = (e as { code?: unknown }).code;
            // McpError (the server's JSON-RPC error) has a numeric code; anything else never got an answer.
            if (typeof code === 'number' && !signal.aborted) return { rpcError: { code } };
            throw e;
          }
        });
      } else {
        const res = await fetch(opts.url ? `${originOf(opts.url)}/mcp` : mcpUrl(spec.server), {
          method: 'POST',
          signal,
          headers: {
            authorization: `Bearer ${agent.token}`,
            'content-type': 'application/json',
            accept: 'application/json, text/event-stream',
            'mcp-protocol-version': '2025-11-25',
            'x-request-id': marker,
          },
          body: JSON.stringify({
            jsonrpc: '2.0',
            id: marker,
            method: 'tools/call',
            params: { name: spec.tool, arguments: sent },
          }),
        });
        answer = parseAnswer(res.status, await res.text());
        httpStatus = res.status;
      }
      return {
        ...base,
        ...describe(answer),
        ...(httpStatus !== undefined ? { httpStatus } : {}),
        ms: Date.now() - startedAt,
      };
    } catch (e) {
      return {
        ...base,
        code: 'transport_error',
        text: String((e as Error)?.message ?? e).slice(0, 300),
        ms: Date.now() - startedAt,
      };
    }
  };

  let approverToken: Promise<string> | undefined;
  const approver = () => {
    approverToken ??= issuer.mintApprover({
      sub: 'alice',
      preferredUsername: 'alice',
      groups: ['fleet-approvers'],
      aud: Object.keys(target.urls).map((s) => `${originOf(target.urls[s]!)}/approvals`),
      tenant: 'acme',
      ttlSeconds: 24 * 3600,
    });
    return approverToken;
  };

  const approvalFlow: Caller['approvalFlow'] = async (agent, timeoutMs = 30_000) => {
    const spec: CallSpec = {
      server: 'admin',
      tool: 'issue_refund',
      kind: 'approval',
      arguments: {
        payment_intent: STRIPE_DEMO.paymentIntents.usd,
        amount: 1,
        currency: 'usd',
        reason: 'requested_by_customer',
      },
      idempotencyKey: `load-refund-${randomUUID()}`,
    };
    const held = await call(agent, spec, { timeoutMs });
    const out = [held];
    const approvalId = held.approvalId;
    if (held.code !== 'awaiting_approval' || !approvalId) return out;
    delete held.approvalId;
    try {
      const res = await fetch(`${originOf(target.urls.admin!)}/approvals/${approvalId}/approve`, {
        method: 'POST',
        signal: AbortSignal.timeout(timeoutMs),
        headers: { authorization: `Bearer ${await approver()}`, 'content-type': 'application/json' },
        body: JSON.stringify({ note: 'load test' }),
      });
      await res.text();
      if (res.status !== 200) return out;
    } catch {
      return out;
    }
    // The same call (same session, arguments and key) with the approval id: it runs now.
    const { idempotency_key: _key, ...args } = held.arguments ?? {};
    const resumed = await call(
      agent,
      { ...spec, arguments: { ...args, approval_id: approvalId } },
      { timeoutMs },
    );
    resumed.approvalId = approvalId;
    out.push(resumed);
    return out;
  };

  return {
    issuer,
    async agent(role, id = `load-${role}-${randomUUID().slice(0, 8)}`, session = randomUUID()) {
      const token = await issuer.mint({
        sub: id,
        roles: [role],
        aud: audiences,
        scope: 'mcp:tools',
        tenant: 'acme',
        // The admin agent acts for bob; alice (another person) approves its refunds.
        ...(role === 'admin' ? { user: 'bob' } : {}),
        sid: session,
        ttlSeconds: 24 * 3600,
      });
      return { id, role, token };
    },
    call,
    approvalFlow,
    async close() {
      const clients = [...sdkClients.values()].map((h) => h.client);
      sdkClients.clear();
      await Promise.all(clients.map(async (c) => (await c.catch(() => undefined))?.close().catch(() => {})));
    },
  };
}

interface RpcResult {
  content?: { type: string; text?: string }[];
  isError?: boolean;
  _meta?: Record<string, unknown>;
  structuredContent?: Record<string, unknown>;
}
type Answer =
  | { result: RpcResult }
  | { rpcError: { code: number; data?: unknown } }
  | { http: number; text: string };

function parseAnswer(status: number, text: string): Answer {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    // An SSE answer: the last data line holds the JSON-RPC response.
    const data = [...text.matchAll(/^data: (.*)$/gm)].map((m) => m[1]!).pop();
    try {
      body = data === undefined ? undefined : JSON.parse(data);
    } catch {
      body = undefined;
    }
  }
  const msg = body as { result?: RpcResult; error?: { code: number; data?: unknown } } | undefined;
  if (msg?.result) return { result: msg.result };
  if (msg?.error) return { rpcError: msg.error };
  return { http: status, text };
}

function describe(a: Answer): Pick<CallResult, 'code' | 'text' | 'approvalId' | 'replayed'> {
  if ('http' in a) return { code: `http_${a.http}`, text: a.text.slice(0, 300) };
  if ('rpcError' in a) {
    const dataCode = (a.rpcError.data as { code?: unknown } | undefined)?.code;
    return { code: typeof dataCode === 'string' ? dataCode : `rpc_${a.rpcError.code}` };
  }
  const r = a.result;
  const text = (r.content ?? []).map((c) => c.text ?? '').join('\n');
  const err = r._meta?.['io.mcp-fleet/error'] as { code?: string } | undefined;
  const gov = r._meta?.['io.mcp-fleet/governance'] as { approvalId?: string } | undefined;
  // core's REPLAYED_META_KEY: the answer of an earlier call with the same idempotency key.
  const replayed = r._meta?.['io.mcp-fleet/replayed'] === true;
  return {
    code: r.isError ? (err?.code ?? 'tool_error') : 'ok',
    text: text.slice(0, 300),
    ...(gov?.approvalId ? { approvalId: gov.approvalId } : {}),
    ...(replayed ? { replayed } : {}),
  };
}

/** The calls of one role on one server: reads, the cached read, and writes (marker in what they send). */
function plan(role: LoadAgent['role'], server: string, kind: CallKind, tag: string): CallSpec | undefined {
  const key = `load-${tag}`;
  const read = (tool: string, args: Record<string, unknown>): CallSpec => ({
    server,
    tool,
    kind,
    arguments: args,
  });
  const write = (tool: string, args: Record<string, unknown>): CallSpec => ({
    server,
    tool,
    kind,
    arguments: args,
    idempotencyKey: key,
  });
  /** A send without an idempotency key: its marker goes upstream instead (counted per call). */
  const keyless = (tool: string, args: Record<string, unknown>): CallSpec => ({
    server,
    tool,
    kind,
    arguments: args,
  });
  const pick = <T>(xs: T[]): T => xs[Math.floor(Math.random() * xs.length)]!;
  switch (`${server}:${kind}`) {
    case 'database:read':
      return pick([
        read('run_query', { sql: 'SELECT count(*) AS n FROM sales.customers' }),
        read('describe_table', { schema: 'sales', table: 'customers' }),
        read('count_open_tickets', { priority: pick(['low', 'normal', 'high', 'urgent']) }),
      ]);
    case 'database:cached-read':
      return read('list_tables', { schema: role === 'support' ? 'support' : 'sales' });
    case 'database:write':
      return role === 'support'
        ? undefined
        : write('save_dashboard', {
            name: `load-${tag.slice(0, 40).toLowerCase()}`,
            title: `Load ${tag}`,
            panels: [{ title: 'Open tickets', query: 'count_open_tickets', params: {} }],
          });
    case 'files:read':
      return pick([
        read('read_document', { path: 'docs/support/faq.txt' }),
        read('list_folder', { path: 'docs' }),
        read('get_file_info', { path: 'docs/handbook/employee-handbook.md' }),
      ]);
    case 'files:cached-read':
      return read('read_document', { path: 'docs/support/refund-policy.md' });
    case 'files:write':
      return role === 'support'
        ? undefined
        : write('write_report', { path: `reports/${key}.md`, content: `# ${key}\n` });
    case 'communication:read':
      return role === 'admin'
        ? read('slack_list_channels', {})
        : read('slack_read_channel', {
            channel: role === 'support' ? '#support-escalations' : '#analytics',
            limit: 5,
          });
    case 'communication:cached-read':
      return read('slack_list_channels', {});
    case 'communication:write': {
      // A third of the sends without an idempotency key (agents often send none): nothing can replay
      // them, so only the fleet's not retrying an uncertain send keeps them single.
      const withKey = Math.random() >= 1 / 3;
      if (role === 'support' && Math.random() < 0.2)
        return withKey
          ? write('create_ticket', { project: 'SUP', issue_type: 'Task', summary: `Load ${key}` })
          : keyless('create_ticket', { project: 'SUP', issue_type: 'Task', summary: `Load ${MARKER_SLOT}` });
      const channel = role === 'analyst' ? '#analytics' : '#support-escalations';
      return withKey
        ? write('slack_post_message', { channel, text: `load ${key}` })
        : keyless('slack_post_message', { channel, text: `load ${MARKER_SLOT}` });
    }
    case 'vendor-apis:read':
      return pick([
        read('stripe_get_subscription', { subscription_id: STRIPE_DEMO.subscriptions.active }),
        read('stripe_search_customers', { email: 'billing@customer3.example.com' }),
      ]);
    case 'vendor-apis:cached-read':
      return read('stripe_get_subscription', { subscription_id: STRIPE_DEMO.subscriptions.active });
    case 'admin:read':
    case 'admin:cached-read':
      return role === 'admin' ? read('get_user', { user_name: 'alice' }) : undefined;
    default:
      return undefined;
  }
}

/** Which kind the next call is (before what the role/server allows): mostly reads. Approvals are paced apart. */
function drawKind(allowed: CallKind[]): CallKind | undefined {
  const weights: Record<CallKind, number> = { read: 50, 'cached-read': 25, write: 20, approval: 0 };
  const total = allowed.reduce((s, k) => s + weights[k], 0);
  let x = Math.random() * total;
  for (const k of allowed) {
    x -= weights[k];
    if (x < 0) return k;
  }
  return allowed[0];
}

/**
 * Sends mixed traffic at `ratePerSecond` for `durationMs` (open loop: a slow or hung answer does not
 * slow the schedule down), then waits for every call in flight and resolves with all their results.
 */
export async function runTraffic(o: TrafficOptions): Promise<CallResult[]> {
  const servers = (o.servers ?? Object.keys(o.target.urls)).filter((s) => o.target.urls[s]);
  if (servers.length === 0) throw new Error('runTraffic: no servers to call');
  const kinds = o.kinds ?? ['read', 'cached-read', 'write', 'approval'];
  const caller = await createCaller(o.target);
  const nAgents = Math.max(o.agents ?? 6, 1);
  const run = randomUUID().slice(0, 8);
  // Agents: roles in turn (support, analyst, admin, support, ...); tokens re-minted each SESSION_MS.
  const agentSpecs = Array.from({ length: nAgents }, (_, i) => ({ role: ROLES[i % ROLES.length]!, i }));
  let generation = -1;
  let agents: LoadAgent[] = [];
  const agentsNow = async () => {
    const g = Math.floor(Date.now() / SESSION_MS);
    if (g !== generation) {
      generation = g;
      // The agent id changes every 10 sessions too, so no per-caller window budget is reached in a long soak.
      agents = await Promise.all(
        agentSpecs.map((a) => caller.agent(a.role, `load-${run}-${a.role}-${a.i}-g${Math.floor(g / 10)}`)),
      );
    }
    return agents;
  };
  await agentsNow();

  const results: CallResult[] = [];
  const inFlight = new Set<Promise<void>>();
  const record = (r: CallResult) => {
    results.push(r);
    o.onResult?.(r);
  };
  const timeoutMs = o.callTimeoutMs ?? 30_000;
  const intervalMs = 1000 / o.ratePerSecond;
  const start = Date.now();
  let n = 0;
  let lastApproval = -Infinity;
  let seq = 0;

  while (!o.signal?.aborted) {
    const due = start + n * intervalMs;
    if (due - start >= o.durationMs) break;
    const wait = due - Date.now();
    if (wait > 0) await sleep(wait, o.signal);
    if (o.signal?.aborted) break;
    n++;
    const pool = await agentsNow();
    const agent = pool[Math.floor(Math.random() * pool.length)]!;
    const now = Date.now();
    const approvalOk =
      kinds.includes('approval') &&
      agent.role === 'admin' &&
      servers.includes('admin') &&
      now - lastApproval >= APPROVAL_SPACING_MS;
    let job: Promise<CallResult[]> | undefined;
    for (let attempt = 0; attempt < 10 && !job; attempt++) {
      // An approval flow whenever one is allowed (one per APPROVAL_SPACING_MS, admin agents), half the time.
      const kind =
        approvalOk && attempt === 0 && Math.random() < 0.5
          ? 'approval'
          : drawKind(kinds.filter((k) => k !== 'approval'));
      if (kind === undefined) break;
      if (kind === 'approval') {
        lastApproval = now;
        job = caller.approvalFlow(agent, timeoutMs);
        break;
      }
      const server = servers[Math.floor(Math.random() * servers.length)]!;
      const spec = plan(agent.role, server, kind, `${run}-${++seq}-${randomUUID().slice(0, 8)}`);
      if (!spec) continue;
      const via = n % SDK_SHARE === 0 ? 'sdk' : 'fetch';
      job = caller.call(agent, spec, { via, timeoutMs }).then((r) => [r]);
    }
    if (!job) continue;
    const p: Promise<void> = job.then((rs) => rs.forEach(record)).finally(() => inFlight.delete(p));
    inFlight.add(p);
  }
  while (inFlight.size > 0) await Promise.all([...inFlight]);
  await caller.close();
  return results;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Calls by code, e.g. { ok: 412, rate_limited: 3 } (for reports and failure messages). */
export function codesOf(results: readonly CallResult[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of results) out[r.code] = (out[r.code] ?? 0) + 1;
  return out;
}

/**
 * Sends a finished call again as the same caller (agent, tenant and user; a new session), with the
 * same arguments and idempotency key and a new marker: a key that holds replays, never runs again.
 */
export async function resend(caller: Caller, r: CallResult): Promise<CallResult> {
  const agent = await caller.agent(r.role as LoadAgent['role'], r.agent);
  const { idempotency_key: _key, ...args } = r.arguments ?? {};
  return caller.call(agent, {
    server: r.server,
    tool: r.tool,
    kind: r.kind,
    arguments: args,
    ...(r.idempotencyKey ? { idempotencyKey: r.idempotencyKey } : {}),
  });
}
