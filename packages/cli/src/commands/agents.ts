// `fleet agents`: the kill switch for a runaway agent from a terminal. One way in, like `fleet approvals`:
// the admin server's agents API (default the local admin server, http://127.0.0.1:7405, or
// FLEET_ADMIN_URL / --url) with an approver token (--token / FLEET_APPROVER_TOKEN; locally
// `fleet token --approver <you>`). The server verifies the token, applies the rules and
// audits every action; every server of the fleet refuses a suspended agent within seconds.
import { parseArgs } from 'node:util';
import type { SuspensionView } from '@mcp-fleet/core/approvals';

/** The local admin server (its manifest's port). */
export const DEFAULT_ADMIN_URL = 'http://127.0.0.1:7405';

const USAGE = `fleet agents <list|suspend|resume>
  list [--json]                        suspensions in force and the recent history
  suspend <agent id> [--reason "why"]  refuse every call of the agent on every server (within seconds)
  resume <agent id> [--reason "why"]   accept the agent again
Every text an agent, IdP or person supplied is shown in printable ASCII: anything else as a \\uXXXX escape.
Every action needs an approver token:  --token <approver JWT>   (or FLEET_APPROVER_TOKEN; locally: fleet token --approver <you>)
Admin server:  --url <URL>   (or FLEET_ADMIN_URL; default ${DEFAULT_ADMIN_URL})
`;

/** Where output goes and what environment is read (tests pass their own). */
export interface AgentsIo {
  env?: Record<string, string | undefined>;
  stdout?: (text: string) => void;
  stderr?: (text: string) => void;
}

class Refused extends Error {}

/** A text in printable ASCII: as it is when plain, otherwise as an ASCII JSON string. */
function shown(value: string): string {
  if (/^[\x21-\x7e]+$/.test(value) && !/["\\]/.test(value)) return value;
  return JSON.stringify(value).replace(
    /[^\x20-\x7e]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

function describe(s: SuspensionView): string {
  // A suspension stops the agent in every tenant; its tenant only says whose approvers see and resume it.
  const scope = s.tenant === null ? 'every tenant' : `every tenant (managed by tenant ${shown(s.tenant)})`;
  const by = (subject: string | null, issuer: string | null) =>
    subject === null ? '' : issuer ? `${shown(subject)} of ${shown(issuer)}` : shown(subject);
  const resumed = s.resumedAt
    ? `; resumed ${s.resumedAt} by ${by(s.resumedBy, s.resumedByIssuer)}${s.resumeReason ? ` (${shown(s.resumeReason)})` : ''}`
    : '';
  return `${shown(s.agentId)}  ${s.active ? 'SUSPENDED' : 'resumed  '}  ${scope}  since ${s.suspendedAt} by ${by(s.suspendedBy, s.suspendedByIssuer)}${s.reason ? ` (${shown(s.reason)})` : ''}${resumed}\n`;
}

/**
 * `fleet agents list|suspend|resume ...`. Returns the exit code: 0 done, 1 refused or failed, 2 usage
 * error.
 */
export async function runAgents(argv: string[], io: AgentsIo = {}): Promise<number> {
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
  const [action, id, ...extra] = positionals;
  if (
    !action ||
    !['list', 'suspend', 'resume'].includes(action) ||
    (action !== 'list' && !id) ||
    extra.length > 0 ||
    (action === 'list' && id !== undefined)
  ) {
    out(USAGE);
    return action === undefined || action === 'help' ? 0 : 2;
  }
  const token = values.token ?? env.FLEET_APPROVER_TOKEN;
  if (!token) {
    err(
      'an approver token is required: --token or FLEET_APPROVER_TOKEN (from your IdP; locally `fleet token --approver <you>`)\n',
    );
    return 2;
  }
  const base = (values.url ?? env.FLEET_ADMIN_URL ?? DEFAULT_ADMIN_URL).trim().replace(/\/+$/, '');
  const call = async (method: 'GET' | 'POST', path: string, body?: unknown) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    }).catch((e: Error) => {
      throw new Refused(`${base} did not answer (${e.message}); is the admin server running (pnpm start)?`);
    });
    const json = (await res.json().catch(() => ({}))) as Record<string, unknown>;
    if (!res.ok)
      throw new Refused(
        `${res.status} ${String(json.error ?? res.statusText)}: ${String(json.message ?? json.error_description ?? res.statusText)}`,
      );
    return json;
  };
  try {
    if (action === 'list') {
      const body = await call('GET', '/agents');
      const suspended = (body.suspended ?? []) as SuspensionView[];
      const history = (body.history ?? []) as SuspensionView[];
      if (values.json) {
        out(`${JSON.stringify({ suspended, history }, null, 2)}\n`);
        return 0;
      }
      if (suspended.length === 0) out('no agent is suspended\n');
      else for (const s of suspended) out(describe(s));
      const past = history.filter((h) => !h.active);
      if (past.length > 0) {
        out('recently resumed:\n');
        for (const s of past.slice(0, 20)) out(`  ${describe(s)}`);
      }
      return 0;
    }
    const body = await call('POST', `/agents/${encodeURIComponent(id!)}/${action}`, {
      ...(values.reason !== undefined ? { reason: values.reason } : {}),
    });
    if (values.json) out(`${JSON.stringify(body, null, 2)}\n`);
    else if (action === 'suspend') {
      out(describe(body.suspension as SuspensionView));
      out('every server of the fleet refuses this agent within seconds; `fleet agents resume` undoes it\n');
    } else {
      for (const s of (body.resumed ?? []) as SuspensionView[]) out(describe(s));
      out('the agent is accepted again within seconds\n');
    }
    return 0;
  } catch (e) {
    err(`fleet agents ${action}: ${e instanceof Refused ? e.message : `failed: ${(e as Error).message}`}\n`);
    return 1;
  }
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      reason: { type: 'string' },
      json: { type: 'boolean', default: false },
      url: { type: 'string' },
      token: { type: 'string' },
    },
  });
}
