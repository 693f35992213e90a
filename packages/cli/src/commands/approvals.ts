// `fleet approvals`: where a human reviews and decides what agents asked to do. Two ways in, both
// closed to agents: a server's approvals API with an approver token (`--url` + `--token`), or the
// fleet database directly (`--database-url` / DATABASE_URL; default the local fleet's).
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { type ApprovalStatus, ApprovalStore, type ApprovalView } from '@mcp-fleet/core';
import pg from 'pg';

const USAGE = `fleet approvals <list|show|approve|deny>
  list [--status pending|approved|denied|executing|executed|expired|all] [--server s] [--limit n] [--json]
  show <id> [--json]
  approve <id> [--note "why"] [--json]
  deny <id> [--note "why"] [--json]
Through a server's approvals API:  --url <server URL> --token <approver JWT>   (or FLEET_APPROVALS_URL, FLEET_APPROVER_TOKEN)
Through the fleet database:        --database-url <url> [--as <name>]          (or DATABASE_URL; default: the local fleet)
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

function httpBackend(url: string, token: string): Backend {
  const base = url.replace(/\/+$/, '').replace(/\/mcp$/, '');
  const call = async (method: 'GET' | 'POST', path: string, body?: unknown) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
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

function dbBackend(url: string, approver: string): Backend {
  const pool = new pg.Pool({ connectionString: url, max: 2, connectionTimeoutMillis: 5_000 });
  // An idle connection dropped by the server is the pool's to replace, not an uncaught exception;
  // a query that fails still rejects with its own error.
  pool.on('error', () => {});
  const store = new ApprovalStore(pool);
  const messages: Record<string, string> = {
    not_found: 'no such approval request',
    self_approval: 'the agent that asked for an action cannot decide it',
    already_decided: 'this request was already decided',
    expired: 'this request has expired; the agent must ask again',
  };
  return {
    list: (status, server, limit) => store.list({ status: status as ApprovalStatus | 'all', server, limit }),
    show: async (id) => {
      const found = await store.get(id);
      if (!found) throw new Refused('not_found', messages.not_found!);
      return found;
    },
    decide: async (id, approve, note) => {
      const d = await store.decide({ id, approve, approver, note });
      if (!d.ok) throw new Refused(d.why, messages[d.why] ?? d.why);
      return d.approval;
    },
    close: () => pool.end(),
  };
}

function describe(a: ApprovalView): string {
  const who = [`agent=${a.agentId}`, a.tenant ? `tenant=${a.tenant}` : '', a.user ? `user=${a.user}` : '']
    .filter(Boolean)
    .join(' ');
  const decided = a.decidedBy ? ` decided by ${a.decidedBy}${a.note ? ` ("${a.note}")` : ''}` : '';
  return `${a.id}  ${a.status.padEnd(9)} ${a.server}/${a.tool}  ${who}  expires ${a.expiresAt}${decided}\n    arguments: ${JSON.stringify(a.arguments)}\n`;
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
  const url = values.url ?? env.FLEET_APPROVALS_URL;
  const token = values.token ?? env.FLEET_APPROVER_TOKEN;
  if (url && !token) {
    err('--url needs an approver token (--token or FLEET_APPROVER_TOKEN) carrying the approver scope\n');
    return 2;
  }
  const backend = url
    ? httpBackend(url, token!)
    : dbBackend(
        values['database-url'] ??
          env.DATABASE_URL ??
          `postgres://fleet:fleet@127.0.0.1:${env.FLEET_PG_PORT ?? 7432}/fleet`,
        values.as ?? `cli:${env.USER ?? safeUser()}`,
      );
  try {
    if (action === 'list') {
      const rows = await backend.list(
        status,
        values.server,
        Math.min(Math.max(Number(values.limit) || 50, 1), 1000),
      );
      if (values.json) out(`${JSON.stringify(rows, null, 2)}\n`);
      else if (rows.length === 0) out(`no ${status === 'all' ? '' : `${status} `}approval requests\n`);
      else for (const r of rows) out(describe(r));
      return 0;
    }
    const result =
      action === 'show'
        ? await backend.show(id!)
        : await backend.decide(id!, action === 'approve', values.note);
    out(values.json ? `${JSON.stringify(result, null, 2)}\n` : describe(result));
    return 0;
  } catch (e) {
    err(
      `fleet approvals ${action}: ${e instanceof Refused ? e.message : `failed: ${(e as Error).message}`}\n`,
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

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}
