// `fleet flow learn` and `fleet flow anomalies` (issue 17): relearn the anomaly baseline from the audit
// trail now (the servers do it every 15 minutes, one of them at a time; each reloads the rows within
// FLOW_BASELINE_RELOAD_MS), and list the most unusual calls the servers scored, each with its session's
// calls before it. Through core's learner and query (no SQL of its own).
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { learnBaseline, listAnomalies, type UnusualCall } from '@mcp-fleet/core/approvals';
import { parsePolicy } from '@mcp-fleet/core/policy';
import pg from 'pg';
import { EXAMPLE_POLICY, LOCAL_FLEET_DATABASE_URL } from '../layout.js';

const USAGE = `fleet flow learn [--days N] [--file policy.yaml]
fleet flow anomalies [--hours 24] [--limit 20] [--tenant t] [--json]
learn: relearns the anomaly baseline (transitions between the calls of each agent session, per role and
per agent) from the last N days of the audit trail (default: the policy's flow.anomaly.learnDays, else
14), now, unless another process is learning (it then says so). Servers load it within
FLOW_BASELINE_RELOAD_MS (default 60 s).
anomalies: the most unusual calls of the last --hours (highest score first), each with its session's
calls before it, the baseline that judged it and whether it was held.
Reads DATABASE_URL (default: the local fleet's database); the policy from --file, POLICY_FILE or the
example policy.
`;

/** Where output goes and what environment is read (tests pass their own). */
export interface FlowIo {
  env?: Record<string, string | undefined>;
  stdout?: (text: string) => void;
  stderr?: (text: string) => void;
}

/** `fleet flow ...`. Returns the exit code: 0 done, 1 failed, 2 usage error. */
export async function flowCommand(argv: string[], io: FlowIo = {}): Promise<number> {
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
  const [action] = positionals;
  if (positionals.length !== 1 || (action !== 'learn' && action !== 'anomalies')) {
    err(USAGE);
    return 2;
  }
  const hours = Number(values.hours);
  const limit = Number(values.limit);
  if (
    action === 'anomalies' &&
    (!(hours > 0) || hours > 24 * 90 || !Number.isInteger(limit) || limit < 1 || limit > 200)
  ) {
    err(`fleet flow anomalies: --hours is 1 to 2160, --limit a whole number from 1 to 200\n`);
    return 2;
  }
  let days = 14;
  if (action === 'learn') {
    try {
      days =
        values.days !== undefined
          ? Number(values.days)
          : policyLearnDays(values.file ?? env.POLICY_FILE ?? env.FLEET_POLICY_FILE);
    } catch (e) {
      err(`fleet flow learn: ${(e as Error).message}\n`);
      return 1;
    }
    if (!Number.isInteger(days) || days < 1 || days > 365) {
      err('fleet flow learn: --days is a whole number of days from 1 to 365\n');
      return 2;
    }
  }
  const pool = new pg.Pool({ connectionString: env.DATABASE_URL ?? LOCAL_FLEET_DATABASE_URL, max: 1 });
  try {
    if (action === 'learn') {
      const r = await learnBaseline(pool, { learnDays: days, learnedBy: 'fleet flow learn' });
      if (!r.learned) {
        err(
          'fleet flow learn: another process is learning the baseline right now; its result is the one the servers load\n',
        );
        return 1;
      }
      out(
        `learned ${r.transitions} transitions (${r.rows} counts by role and agent) from the last ${days} days of the audit trail at ${r.learnedAt?.toISOString()}; servers load them within FLOW_BASELINE_RELOAD_MS (default 60 s)\n`,
      );
      return 0;
    }
    const calls = await listAnomalies(pool, { hours, limit, tenant: values.tenant });
    if (values.json) {
      out(`${JSON.stringify(calls, null, 2)}\n`);
      return 0;
    }
    if (calls.length === 0) {
      out(`no scored calls in the last ${hours} h (is a flow policy with anomaly settings loaded?)\n`);
      return 0;
    }
    for (const c of calls) out(describe(c));
    return 0;
  } finally {
    await pool.end();
  }
}

/** The policy's flow.anomaly.learnDays (14 when the policy has none). */
function policyLearnDays(file: string | undefined): number {
  const policy = parsePolicy(readFileSync(file ?? EXAMPLE_POLICY, 'utf8')) as {
    flow?: { anomaly?: { learnDays?: number } };
  };
  return policy.flow?.anomaly?.learnDays ?? 14;
}

/** One unusual call as text lines (terminal control characters shown as escapes). */
export function describe(c: UnusualCall): string {
  const a = c.anomaly;
  const seq = [...c.before.map((s) => s.call), `[${c.server}/${c.tool}]`].join(' → ');
  const baseline =
    a.baseline === 'none'
      ? 'no baseline'
      : `${a.count} of ${a.total} transitions from ${a.from} in ${a.baseline}'s baseline, p ${Number(a.p).toPrecision(2)}`;
  const lines = [
    `${Number(a.score).toFixed(1)} bits  ${c.ts}  agent=${c.agentId ?? '-'} roles=${c.roles.join(',') || '-'} outcome=${c.outcome}${c.held ? ' HELD' : ''}${c.heldForScore ? ' (for its score)' : ''}`,
    `  ${seq}`,
    `  ${baseline}`,
    `  fleet audit show ${c.id}`,
  ];
  return `${lines.map(safe).join('\n')}\n`;
}

const safe = (s: string) =>
  [...s]
    .map((ch) => {
      const c = ch.charCodeAt(0);
      return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c === 0x2028 || c === 0x2029
        ? `\\u${c.toString(16).padStart(4, '0')}`
        : ch;
    })
    .join('');

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      days: { type: 'string' },
      file: { type: 'string' },
      hours: { type: 'string', default: '24' },
      limit: { type: 'string', default: '20' },
      tenant: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
}
