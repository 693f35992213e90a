// `fleet audit`: reads the durable audit trail from the fleet database, newest first, through core's
// AuditQuery (the same queries the admin console uses; no SQL of its own).
import { parseArgs } from 'node:util';
import { AuditQuery, AuditQueryError, type AuditRecord, purgeAuditRecords } from '@mcp-fleet/core/approvals';
import pg from 'pg';
import { LOCAL_FLEET_DATABASE_URL } from '../layout.js';

const USAGE = `fleet audit [--agent a] [--tool t] [--outcome o] [--session s] [--tenant t] [--server s]
            [--trace id] [--from time] [--to time] [--limit n] [--after cursor] [--json]
fleet audit show <record id> [--json]
fleet audit purge --older-than <days> [--server <name>] [--dry-run] [--batch-size n]
--trace <id>: the records of one trace (32 hex: the trace_id of a log line or span, or an audit
record's traceId; a client's own trace id is its record's details.clientTraceId).
Times are ISO 8601 (2026-11-29T10:00:00Z); --from is inclusive, --to exclusive. A page ends with the
--after cursor of the next one. Reads DATABASE_URL (default: the local fleet's database).
purge deletes records older than <days> whole days (1 to 36500), in batches: with --server, that
server's records only (its retention job's work, once, now, under that job's lock); without, every
server's records. --dry-run counts them and deletes nothing.
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
  if (action === 'purge') return purge(values, positionals, env, out, err);
  if (action !== undefined && (action !== 'show' || !id || positionals.length > 2)) {
    err(USAGE);
    return 2;
  }
  if (values.trace !== undefined && !TRACE_ID.test(values.trace)) {
    err(
      `fleet audit: --trace is a trace id: 32 hexadecimal characters (got ${JSON.stringify(values.trace.slice(0, 80))})\n`,
    );
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
      traceId: values.trace,
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
      trace: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      after: { type: 'string' },
      limit: { type: 'string', default: '50' },
      json: { type: 'boolean', default: false },
      'older-than': { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      'batch-size': { type: 'string' },
    },
  });
}

const WHOLE = /^[1-9][0-9]{0,5}$/;
/** A W3C / OpenTelemetry trace id (AuditQuery lower-cases it). */
const TRACE_ID = /^[0-9a-fA-F]{32}$/;
/** A server's name as the fleet writes it in audit records (servers are named like `vendor-apis`). */
const SERVER_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/** `fleet audit purge --older-than <days> [--server <name>] [--dry-run] [--batch-size n]`: one retention run, now. */
async function purge(
  values: ReturnType<typeof parse>['values'],
  positionals: string[],
  env: Record<string, string | undefined>,
  out: (t: string) => void,
  err: (t: string) => void,
): Promise<number> {
  const days = values['older-than'];
  const batch = values['batch-size'];
  if (positionals.length > 1 || days === undefined) {
    err(`fleet audit purge: --older-than <days> is required\n${USAGE}`);
    return 2;
  }
  if (
    !WHOLE.test(days) ||
    Number(days) > 36_500 ||
    (batch !== undefined && (!WHOLE.test(batch) || Number(batch) > 100_000))
  ) {
    err(
      `fleet audit purge: --older-than is a whole number of days from 1 to 36500 and --batch-size a whole number from 1 to 100000 (got ${JSON.stringify(days)}${batch === undefined ? '' : `, ${JSON.stringify(batch)}`})\n`,
    );
    return 2;
  }
  const server = values.server;
  if (server !== undefined && !SERVER_NAME.test(server)) {
    err(
      `fleet audit purge: --server is a server's name, as in the audit records (e.g. files, vendor-apis); got ${JSON.stringify(server.slice(0, 80))}\n`,
    );
    return 2;
  }
  const pool = new pg.Pool({ connectionString: env.DATABASE_URL ?? LOCAL_FLEET_DATABASE_URL, max: 1 });
  try {
    const dryRun = values['dry-run'] === true;
    const r = await purgeAuditRecords(pool, {
      olderThanDays: Number(days),
      server,
      dryRun,
      ...(batch === undefined ? {} : { batchSize: Number(batch) }),
    });
    if (!r.ran) {
      err(
        "fleet audit purge: another process (a server's retention job) is purging right now; nothing done, try again later\n",
      );
      return 1;
    }
    const whose = server === undefined ? 'of all servers' : `of the server ${server}`;
    const what = `audit record${r.deleted === 1 ? '' : 's'} ${whose} older than ${days} days (before ${r.cutoff})`;
    out(
      values.json
        ? `${JSON.stringify({ dry_run: dryRun, deleted: r.deleted, cutoff: r.cutoff, server: server ?? null })}\n`
        : dryRun
          ? `would delete ${r.deleted} ${what}; nothing deleted (dry run)\n`
          : `deleted ${r.deleted} ${what}\n`,
    );
    return 0;
  } finally {
    await pool.end();
  }
}
