// `fleet audit`: reads the durable audit trail from the fleet database, newest first.
import { parseArgs } from 'node:util';
import pg from 'pg';

/** `fleet audit [--agent A] [--tool T] [--outcome O] [--limit N] [--json]` (DATABASE_URL) */
export async function auditCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      agent: { type: 'string' },
      tool: { type: 'string' },
      outcome: { type: 'string' },
      limit: { type: 'string', default: '50' },
      json: { type: 'boolean', default: false },
    },
  });
  const url =
    process.env.DATABASE_URL ?? `postgres://fleet:fleet@127.0.0.1:${process.env.FLEET_PG_PORT ?? 7432}/fleet`;
  const where: string[] = [];
  const params: unknown[] = [];
  for (const [col, v] of [
    ['agent_id', values.agent],
    ['tool', values.tool],
    ['outcome', values.outcome],
  ] as const) {
    if (v) {
      params.push(v);
      where.push(`${col} = $${params.length}`);
    }
  }
  params.push(Math.min(Math.max(Number(values.limit) || 50, 1), 1000));
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query(
      `SELECT ts, server, tool, agent_id, agent_session, user_invoker, tenant, decision, outcome, duration_ms, result_summary
         FROM audit_records ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY ts DESC LIMIT $${params.length}`,
      params,
    );
    if (values.json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    else
      for (const r of rows) {
        process.stdout.write(
          `${new Date(r.ts).toISOString()} ${r.server}/${r.tool ?? '-'} agent=${r.agent_id} outcome=${r.outcome} ${r.duration_ms ?? '-'}ms ${r.result_summary ?? ''}\n`,
        );
      }
  } finally {
    await client.end();
  }
  return 0;
}
