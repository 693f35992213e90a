// `fleet approvals`: where a person reviews and decides what agents asked to do. One way in: the
// servers' approvals API with an approver token (`--token` / FLEET_APPROVER_TOKEN, minted for people by
// the IdP, or locally by `fleet token --approver <you>`). The server verifies the token, applies the
// rules of who may decide what, and audits every decision; the CLI decides nothing itself.
import { parseArgs } from 'node:util';
import type { ApprovalView } from '@mcp-fleet/core';
import { discoverServers, LOCAL_PORTS } from '../layout.js';

const USAGE = `fleet approvals <list|show|approve|deny>
  list [--status pending|approved|denied|executing|executed|expired|all] [--server s] [--limit n] [--json]
  show <id> [--json]
  approve <id> [--note "why"] [--json]
  deny <id> [--note "why"] [--json]
Every action needs an approver token:  --token <approver JWT>   (or FLEET_APPROVER_TOKEN; locally: fleet token --approver <you>)
Servers:  --url <server URL>[,<server URL>...]   (or FLEET_APPROVALS_URL; default: every server of the local fleet)
`;

const STATUSES = ['pending', 'approved', 'denied', 'executing', 'executed', 'expired', 'all'];

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

interface Backend {
  list(status: string, server: string | undefined, limit: number): Promise<ApprovalView[]>;
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
    list: async (status, _server, limit) =>
      (await call('GET', `/approvals?status=${encodeURIComponent(status)}&limit=${limit}`))
        .approvals as ApprovalView[],
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
    list: async (status, server, limit) =>
      (await each((b) => b.list(status, server, limit)))
        .flat()
        // Replicas of one server share its requests: each request once.
        .filter((a, i, all) => all.findIndex((x) => x.id === a.id) === i)
        .filter((a) => server === undefined || a.server === server)
        .sort((a, b) => b.requestedAt.localeCompare(a.requestedAt))
        .slice(0, limit),
    show: async (id) => (await holder(id))[1],
    decide: async (id, approve, note) =>
      backends.length === 1
        ? backends[0]!.decide(id, approve, note)
        : (await holder(id))[0].decide(id, approve, note),
    close: async () => {},
  };
}

/** The local fleet's server URLs. */
function localServers(): string[] {
  const found = discoverServers().map((s) => s.port);
  const ports = found.length
    ? found
    : Object.entries(LOCAL_PORTS)
        .filter(([n]) => n !== 'issuer')
        .map(([, p]) => p);
  return ports.map((p) => `http://127.0.0.1:${p}`);
}

// Characters a terminal does not show, or shows reordered (bidi overrides, zero-width, C1 controls):
// an argument could use them to make what the approver reads differ from what runs.
const INVISIBLE =
  /[\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]/g;

/**
 * JSON text with invisible characters written as `\uXXXX` escapes. They occur only inside JSON
 * strings, where the escape is the same character: the text still parses to exactly the same value.
 */
export function visibleJson(json: string): string {
  return json.replace(INVISIBLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function describe(a: ApprovalView): string {
  const who = [`agent=${a.agentId}`, a.tenant ? `tenant=${a.tenant}` : '', a.user ? `user=${a.user}` : '']
    .filter(Boolean)
    .join(' ');
  const by = a.decidedByIssuer ? `${a.decidedBy} of ${a.decidedByIssuer}` : a.decidedBy;
  const decided = a.decidedBy ? ` decided by ${by}${a.note ? ` ("${a.note}")` : ''}` : '';
  // The exact canonical arguments the approval binds, in full: never cut.
  const args = visibleJson(a.argumentsJson ?? JSON.stringify(a.arguments));
  return `${a.id}  ${a.status.padEnd(9)} ${a.server}/${a.tool}  ${who}  expires ${a.expiresAt}${decided}\n    arguments: ${args}\n`;
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
      const rows = await backend.list(
        status,
        values.server,
        Math.min(Math.max(Number(values.limit) || 50, 1), 1000),
      );
      if (values.json) out(`${visibleJson(JSON.stringify(rows, null, 2))}\n`);
      else if (rows.length === 0) out(`no ${status === 'all' ? '' : `${status} `}approval requests\n`);
      else for (const r of rows) out(describe(r));
      return 0;
    }
    const result =
      action === 'show'
        ? await backend.show(id!)
        : await backend.decide(id!, action === 'approve', values.note);
    out(values.json ? `${visibleJson(JSON.stringify(result, null, 2))}\n` : describe(result));
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

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      status: { type: 'string' },
      server: { type: 'string' },
      limit: { type: 'string' },
      note: { type: 'string' },
      json: { type: 'boolean', default: false },
      url: { type: 'string' },
      token: { type: 'string' },
      'database-url': { type: 'string' },
      as: { type: 'string' },
    },
  });
}
