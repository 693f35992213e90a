// `fleet approvals`: where a person reviews and decides what agents asked to do. One way in: the
// servers' approvals API with an approver token (`--token` / FLEET_APPROVER_TOKEN, minted for people by
// the IdP, or locally by `fleet token --approver <you>`). The server verifies the token, applies the
// rules of who may decide what, and audits every decision; the CLI decides nothing itself.
import { parseArgs } from 'node:util';
import { APPROVAL_STATUSES, type ApprovalView } from '@mcp-fleet/core/approvals';
import { discoverServers } from '../layout.js';

const USAGE = `fleet approvals <list|show|approve|deny>
  list [--status ${APPROVAL_STATUSES.join('|')}] [--server s]
       [--agent a] [--tool t] [--user u] [--limit n] [--offset n] [--json]
  show <id> [--json]
  approve <id> [--note "why"] [--json]
  deny <id> [--note "why"] [--json]          (also withdraws an approval that has not been used yet)
Every text an agent, IdP or approver supplied is shown in printable ASCII: anything else as a \\uXXXX escape.
Every action needs an approver token:  --token <approver JWT>   (or FLEET_APPROVER_TOKEN; locally: fleet token --approver <you>)
Servers:  --url <server URL>[,<server URL>...]   (or FLEET_APPROVALS_URL; default: every server of the local fleet)
`;

const STATUSES: readonly string[] = APPROVAL_STATUSES;

/** Where output goes and what environment is read (tests pass their own). */
export interface ApprovalsIo {
  env?: Record<string, string | undefined>;
  stdout?: (text: string) => void;
  stderr?: (text: string) => void;
}

/** A decision the backend refused, with the reason code (not_found, expired, self_approval...). */
class Refused extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** What a list asks for. */
interface ListQuery {
  status: string;
  server: string | undefined;
  agent: string | undefined;
  tool: string | undefined;
  user: string | undefined;
  limit: number;
  offset: number;
}

/** A page of requests and the queue's totals (summed over servers). */
interface ListPage {
  approvals: ApprovalView[];
  /** Matching requests per server name (replicas of one server report the same). */
  totals: Record<string, number>;
  /** Waiting requests per server and agent. */
  pendingByAgent: Record<string, Record<string, number>>;
  more: boolean;
}

interface Backend {
  list(q: ListQuery): Promise<ListPage>;
  show(id: string): Promise<ApprovalView>;
  decide(id: string, approve: boolean, note: string | undefined): Promise<ApprovalView>;
  close(): Promise<void>;
}

/** Thrown when a server cannot be reached at all (skipped when looking through the local fleet). */
class Unreachable extends Error {}

function serverBackend(url: string, token: string): Backend {
  const base = url.replace(/\/+$/, '').replace(/\/(mcp|approvals)$/, '');
  const call = async (method: 'GET' | 'POST', path: string, body?: unknown) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    }).catch((e: Error) => {
      throw new Unreachable(`${base}: ${e.message}`);
    });
    const json = (await res.json().catch(() => ({}))) as Record<string, unknown>;
    if (!res.ok)
      throw new Refused(
        String(json.error ?? res.status),
        `${res.status}: ${String(json.message ?? json.error_description ?? res.statusText)}`,
      );
    return json;
  };
  return {
    list: async (q) => {
      const params = new URLSearchParams({
        status: q.status,
        limit: String(q.limit),
        offset: String(q.offset),
      });
      for (const k of ['agent', 'tool', 'user'] as const) if (q[k] !== undefined) params.set(k, q[k]!);
      const body = await call('GET', `/approvals?${params}`);
      const server = String(body.server ?? base);
      return {
        approvals: body.approvals as ApprovalView[],
        totals: typeof body.total === 'number' ? { [server]: body.total } : {},
        pendingByAgent: { [server]: (body.pendingByAgent ?? {}) as Record<string, number> },
        more: body.nextOffset !== null && body.nextOffset !== undefined,
      };
    },
    show: async (id) =>
      (await call('GET', `/approvals/${encodeURIComponent(id)}`)) as unknown as ApprovalView,
    decide: async (id, approve, note) =>
      (await call(
        'POST',
        `/approvals/${encodeURIComponent(id)}/${approve ? 'approve' : 'deny'}`,
        note ? { note } : {},
      )) as unknown as ApprovalView,
    close: async () => {},
  };
}

/**
 * Several servers (the local fleet, or a list of URLs): lists are merged; one request is looked up on
 * each server in turn until one knows it. Servers that do not answer are skipped only when `lenient`.
 */
function fleetBackend(urls: string[], token: string, lenient: boolean): Backend {
  const backends = urls.map((u) => serverBackend(u, token));
  const each = async <T>(fn: (b: Backend) => Promise<T>): Promise<T[]> => {
    const out: T[] = [];
    let reached = 0;
    for (const b of backends) {
      try {
        out.push(await fn(b));
        reached += 1;
      } catch (e) {
        if (!(e instanceof Unreachable) || !lenient || backends.length === 1) throw e;
      }
    }
    if (reached === 0) throw new Unreachable('no fleet server answered; is the fleet running (pnpm start)?');
    return out;
  };
  // The server holding a request, found by reading (a decision sent to the others would be audited
  // there as a refused attempt).
  const holder = async (id: string): Promise<[Backend, ApprovalView]> => {
    for (const b of backends) {
      try {
        return [b, await b.show(id)];
      } catch (e) {
        if (e instanceof Refused && e.code === 'not_found') continue;
        if (e instanceof Unreachable && lenient && backends.length > 1) continue;
        throw e;
      }
    }
    throw new Refused('not_found', 'no such approval request on these servers (or not one you may see)');
  };
  return {
    list: async (q) => {
      // One server: its own paging. Several: the first offset+limit of each, merged, then the page.
      if (backends.length === 1) return backends[0]!.list(q);
      const window = Math.min(q.offset + q.limit, 1000);
      const pages = await each((b) => b.list({ ...q, offset: 0, limit: window }));
      const merged = pages
        .flatMap((p) => p.approvals)
        // Replicas of one server share its requests: each request once.
        .filter((a, i, all) => all.findIndex((x) => x.id === a.id) === i)
        .filter((a) => q.server === undefined || a.server === q.server)
        .sort((a, b) => b.requestedAt.localeCompare(a.requestedAt));
      const keep = (name: string) => q.server === undefined || name === q.server;
      const totals: Record<string, number> = {};
      const pendingByAgent: Record<string, Record<string, number>> = {};
      for (const p of pages) {
        for (const [name, n] of Object.entries(p.totals)) if (keep(name)) totals[name] = n;
        for (const [name, m] of Object.entries(p.pendingByAgent)) if (keep(name)) pendingByAgent[name] = m;
      }
      return {
        approvals: merged.slice(q.offset, q.offset + q.limit),
        totals,
        pendingByAgent,
        more: merged.length > q.offset + q.limit || pages.some((p) => p.more),
      };
    },
    show: async (id) => (await holder(id))[1],
    decide: async (id, approve, note) =>
      backends.length === 1
        ? backends[0]!.decide(id, approve, note)
        : (await holder(id))[0].decide(id, approve, note),
    close: async () => {},
  };
}

/** The local fleet's server URLs (the servers in this checkout, from their manifests). */
function localServers(): string[] {
  return discoverServers().map((s) => `http://127.0.0.1:${s.port}`);
}

/**
 * JSON text in printable ASCII: every UTF-16 code unit outside U+0020..U+007E is written as a
 * `\uXXXX` escape (an astral character as its two surrogate escapes). Such characters occur only
 * inside JSON strings, where the escape is the same character, so the text parses to exactly the
 * same value, and the approver sees every character there is: nothing invisible, reordered,
 * look-alike or combining is rendered. (No `u` flag on purpose: the match is per code unit.)
 */
export function visibleJson(json: string): string {
  return json.replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Pretty-printed JSON in printable ASCII: its structural line breaks kept, every line as {@link visibleJson}. */
function visiblePrettyJson(value: unknown): string {
  return JSON.stringify(value, null, 2).split('\n').map(visibleJson).join('\n');
}

/** How many characters (code points) of a text are outside printable ASCII, i.e. shown escaped. */
export function nonAsciiCount(text: string): number {
  let n = 0;
  for (const ch of text) if (!/^[\x20-\x7e]$/.test(ch)) n += 1;
  return n;
}

/**
 * A string an agent, an IdP or an approver supplied, for one line of text: as it is when it is plain
 * printable ASCII without quotes, spaces or backslashes; otherwise as an ASCII JSON string.
 */
function shown(value: string): string {
  return /^[\x21-\x7e]+$/.test(value) && !/["\\]/.test(value) ? value : visibleJson(JSON.stringify(value));
}

/** The notice that a request's texts (its arguments as `argumentsJson`) had characters shown escaped, or ''. */
function escapesNotice(a: ApprovalView, argumentsJson: string): string {
  const args = nonAsciiCount(argumentsJson);
  const others = [
    a.agentId,
    a.tenant,
    a.user,
    a.reason,
    a.note,
    a.decidedBy,
    a.decidedByIssuer,
    a.revokedBy,
    a.revokeNote,
    ...(Array.isArray(a.approvals) ? a.approvals : []).flatMap((g) => [g.by, g.issuer, g.note]),
  ]
    .filter((v): v is string => typeof v === 'string')
    .reduce((n, v) => n + nonAsciiCount(v), 0);
  const parts = [
    args ? `the arguments contain ${args} non-ASCII characters, shown escaped as \\uXXXX` : '',
    others ? `names, reasons and notes contain ${others} non-ASCII characters, shown escaped` : '',
  ].filter(Boolean);
  return parts.length ? `    note: ${parts.join('; ')}: read them before deciding\n` : '';
}

function describe(a: ApprovalView): string {
  const who = [
    `agent=${shown(a.agentId)}`,
    a.tenant ? `tenant=${shown(a.tenant)}` : '',
    a.user ? `user=${shown(a.user)}` : '',
  ]
    .filter(Boolean)
    .join(' ');
  const by = (subject: string | null, issuer: string | null) =>
    subject === null ? '' : issuer ? `${shown(subject)} of ${shown(issuer)}` : shown(subject);
  const decided = a.decidedBy
    ? ` decided by ${by(a.decidedBy, a.decidedByIssuer)}${a.note ? ` (${shown(a.note)})` : ''}`
    : '';
  const revoked = a.revokedBy
    ? ` approval withdrawn by ${by(a.revokedBy, a.revokedByIssuer)}${a.revokeNote ? ` (${shown(a.revokeNote)})` : ''}`
    : '';
  // Dual control: how many of the approvals it needs it has, and from whom ("1 of 2").
  const required = Number.isInteger(a.requiredApprovals) ? a.requiredApprovals : 1;
  const given = Array.isArray(a.approvals) ? a.approvals : [];
  const dual =
    required > 1
      ? `    approvals: ${given.length} of ${required}${given.length ? ` (${given.map((g) => `${by(g.by, g.issuer)} at ${shown(g.at)}${g.note ? ` (${shown(g.note)})` : ''}`).join('; ')})` : ''}${a.status === 'pending' && given.length > 0 ? `; needs ${required - given.length} more from another person` : ''}\n`
      : '';
  // The exact canonical arguments the approval binds, in full: never cut.
  const argumentsJson = a.argumentsJson ?? JSON.stringify(a.arguments);
  const args = visibleJson(argumentsJson);
  const status =
    required > 1 && a.status === 'pending' ? `pending ${given.length} of ${required}` : shown(a.status);
  // Why it was held (policy and each hold reason, e.g. a flow rule naming the session's earlier
  // reads): agent-influenced text, so on one line with every other character escaped, like arguments.
  const reason =
    typeof a.reason === 'string'
      ? visibleJson(a.reason)
      : '(not recorded: the request predates stored reasons and its audit record is not there)';
  return `${shown(a.id)}  ${status.padEnd(9)} ${shown(a.server)}/${shown(a.tool)}  ${who}  expires ${shown(a.expiresAt)}${decided}${revoked}\n${dual}    held because: ${reason}\n    arguments: ${args}\n${escapesNotice(a, argumentsJson)}`;
}

/**
 * `fleet approvals list|show|approve|deny ...`. Returns the exit code: 0 done, 1 refused or failed,
 * 2 usage error.
 */
export async function runApprovals(argv: string[], io: ApprovalsIo = {}): Promise<number> {
  const env = io.env ?? process.env;
  const out = io.stdout ?? ((t: string) => void process.stdout.write(t));
  const err = io.stderr ?? ((t: string) => void process.stderr.write(t));
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (e) {
    err(`${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [action, id] = positionals;
  if (!action || !['list', 'show', 'approve', 'deny'].includes(action) || (action !== 'list' && !id)) {
    out(USAGE);
    return action === undefined || action === 'help' ? 0 : 2;
  }
  const status = values.status ?? 'pending';
  if (!STATUSES.includes(status)) {
    err(`--status must be one of ${STATUSES.join(', ')}\n`);
    return 2;
  }
  if (values.as !== undefined || values['database-url'] !== undefined) {
    err(
      `--as and --database-url are gone: a decision is made by the person an approver token names, through the server, which audits it. Use --token (fleet token --approver <you> locally).\n`,
    );
    return 2;
  }
  const url = values.url ?? env.FLEET_APPROVALS_URL;
  const token = values.token ?? env.FLEET_APPROVER_TOKEN;
  if (!token) {
    err(
      'an approver token is required: --token or FLEET_APPROVER_TOKEN (from your IdP; locally `fleet token --approver <you>`)\n',
    );
    return 2;
  }
  const urls = url
    ? url
        .split(',')
        .map((u) => u.trim())
        .filter(Boolean)
    : localServers();
  const backend = fleetBackend(urls, token, !url);
  try {
    if (action === 'list') {
      const limit = Math.min(Math.max(Number(values.limit) || 50, 1), 1000);
      const offset = Math.max(Number(values.offset) || 0, 0);
      const page = await backend.list({
        status,
        server: values.server,
        agent: values.agent,
        tool: values.tool,
        user: values.user,
        limit,
        offset,
      });
      const rows = page.approvals;
      if (values.json) {
        out(`${visiblePrettyJson(rows)}\n`);
        const escaped = rows.reduce((n, r) => n + nonAsciiCount(JSON.stringify(r)), 0);
        if (escaped)
          err(`note: the output contains ${escaped} non-ASCII characters, shown escaped as \\uXXXX\n`);
        return 0;
      }
      if (rows.length === 0) out(`no ${status === 'all' ? '' : `${status} `}approval requests\n`);
      else for (const r of rows) out(describe(r));
      out(summary(page, offset, limit, status));
      return 0;
    }
    const result =
      action === 'show'
        ? await backend.show(id!)
        : await backend.decide(id!, action === 'approve', values.note);
    if (values.json) {
      out(`${visiblePrettyJson(result)}\n`);
      const escaped = nonAsciiCount(JSON.stringify(result));
      if (escaped)
        err(`note: the output contains ${escaped} non-ASCII characters, shown escaped as \\uXXXX\n`);
    } else out(describe(result));
    return 0;
  } catch (e) {
    err(
      `fleet approvals ${action}: ${e instanceof Refused || e instanceof Unreachable ? e.message : `failed: ${(e as Error).message}`}\n`,
    );
    return 1;
  } finally {
    await backend.close();
  }
}

/** How much of the queue a list showed, who is waiting, and how to see more. */
function summary(page: ListPage, offset: number, limit: number, status: string): string {
  const total = Object.values(page.totals).reduce((a, b) => a + b, 0);
  const lines = [
    `shown ${page.approvals.length === 0 ? 0 : `${offset + 1}-${offset + page.approvals.length}`} of ${total} ${status === 'all' ? '' : `${status} `}requests`,
  ];
  const waiting = Object.entries(page.pendingByAgent).flatMap(([server, agents]) =>
    Object.entries(agents).map(([agent, n]) => ({ server, agent, n })),
  );
  if (waiting.length > 0) {
    waiting.sort((a, b) => b.n - a.n);
    const several = Object.keys(page.pendingByAgent).length > 1;
    lines.push(
      `pending by agent: ${waiting
        .slice(0, 20)
        .map((w) => `${several ? `${shown(w.server)}/` : ''}${shown(w.agent)}=${w.n}`)
        .join(', ')}${waiting.length > 20 ? `, ... (${waiting.length - 20} more agents)` : ''}`,
    );
  }
  if (page.more) lines.push(`more: --offset ${offset + limit} (or narrow with --agent, --tool, --user)`);
  return `${lines.join('\n')}\n`;
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      status: { type: 'string' },
      server: { type: 'string' },
      limit: { type: 'string' },
      offset: { type: 'string' },
      agent: { type: 'string' },
      tool: { type: 'string' },
      user: { type: 'string' },
      note: { type: 'string' },
      json: { type: 'boolean', default: false },
      url: { type: 'string' },
      token: { type: 'string' },
      'database-url': { type: 'string' },
      as: { type: 'string' },
    },
  });
}
