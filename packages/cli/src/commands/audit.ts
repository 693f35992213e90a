// `fleet audit`: reads the durable audit trail from the fleet database, newest first, through core's
// AuditQuery (the same queries the admin console uses; no SQL of its own).
import { parseArgs } from 'node:util';
import { AuditQuery, AuditQueryError, type AuditRecord } from '@mcp-fleet/core/approvals';
import pg from 'pg';
import { LOCAL_FLEET_DATABASE_URL } from '../layout.js';

const USAGE = `fleet audit [--agent a] [--tool t] [--outcome o] [--session s] [--tenant t] [--server s]
            [--from time] [--to time] [--limit n] [--after cursor] [--json]
fleet audit show <record id> [--json]
Times are ISO 8601 (2026-11-29T10:00:00Z); --from is inclusive, --to exclusive. A page ends with the
--after cursor of the next one. Reads DATABASE_URL (default: the local fleet's database).
`;

/** Where output goes and what environment is read (tests pass their own). */
export interface AuditIo {
  env?: Record<string, string | undefined>;
  stdout?: (text: string) => void;
  stderr?: (text: string) => void;
}

/** The columns `--json` has always printed (snake_case, as in the table). */
function jsonRow(r: AuditRecord) {
  return {
    id: r.id,
    ts: r.ts,
    server: r.server,
    tool: r.tool,
    agent_id: r.agentId,
    agent_session: r.agentSession,
    user_invoker: r.userInvoker,
    tenant: r.tenant,
    decision: r.decision,
    outcome: r.outcome,
    duration_ms: r.durationMs,
    result_summary: r.resultSummary,
  };
}

function line(r: AuditRecord): string {
  return `${r.ts} ${r.server}/${r.tool ?? '-'} agent=${r.agentId} outcome=${r.outcome} ${r.durationMs ?? '-'}ms ${r.resultSummary ?? ''}\n`;
}

/** `fleet audit ...`. Returns the exit code: 0 done, 1 failed or not found, 2 usage error. */
export async function auditCommand(argv: string[], io: AuditIo = {}): Promise<number> {
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
  if (action !== undefined && (action !== 'show' || !id || positionals.length > 2)) {
    err(USAGE);
    return 2;
  }
  const client = new pg.Client({ connectionString: env.DATABASE_URL ?? LOCAL_FLEET_DATABASE_URL });
  await client.connect();
  try {
    const audit = new AuditQuery(client);
    if (action === 'show') {
      const found = await audit.get(id!);
      if (!found) {
        err(`fleet audit show: no audit record ${id}\n`);
        return 1;
      }
      out(
        values.json
          ? `${JSON.stringify(found, null, 2)}\n`
          : `${line(found)}${JSON.stringify(found, null, 2)}\n`,
      );
      return 0;
    }
    const page = await audit.page({
      agent: values.agent,
      tool: values.tool,
      outcome: values.outcome,
      session: values.session,
      tenant: values.tenant,
      server: values.server,
      from: values.from,
      to: values.to,
      after: values.after,
      limit: Number(values.limit) || 50,
    });
    if (values.json) {
      out(`${JSON.stringify(page.records.map(jsonRow), null, 2)}\n`);
      if (page.next) err(`more: --after ${page.next}\n`);
    } else {
      for (const r of page.records) out(line(r));
      if (page.next) out(`more: --after ${page.next}\n`);
    }
    return 0;
  } catch (e) {
    if (e instanceof AuditQueryError) {
      err(`fleet audit: ${e.message}\n`);
      return 2;
    }
    throw e;
  } finally {
    await client.end();
  }
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      agent: { type: 'string' },
      tool: { type: 'string' },
      outcome: { type: 'string' },
      session: { type: 'string' },
      tenant: { type: 'string' },
      server: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      after: { type: 'string' },
      limit: { type: 'string', default: '50' },
      json: { type: 'boolean', default: false },
    },
  });
}
