// The flow guard's share of a governed call (issue 17): the governed policy with and without its
// `flow` section (section 3f), an anomaly baseline for the bench's tool seeded in the fleet database so
// every call is scored against a real baseline (not "no baseline": score 0 without a lookup), and the
// score itself timed in process (a map lookup; it must not add measurable latency to a call).
import { ANOMALY_MIGRATIONS } from '@mcp-fleet/core/approvals';
import { AnomalyModel } from '@mcp-fleet/core/internal';
import pg from 'pg';
import { benchServer, ECHO_TOOL } from './echo-tool.js';

/** Transitions seeded per (role, from): far above any minBaseline, so the role's baseline is used. */
export const SEEDED_TRANSITIONS = 100_000;

/**
 * Creates flow_baseline (core's migration, idempotent: the servers' own migration run finds it) and
 * seeds the bench role's transitions into and after the bench tool, plus other tools so the model is
 * not trivially small. The servers load it at start and every FLOW_BASELINE_RELOAD_MS.
 */
export async function seedFlowBaseline(url: string, roles: readonly string[]): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (const m of ANOMALY_MIGRATIONS) await client.query(m.sql);
    const echo = `${benchServer.name}/${ECHO_TOOL}`;
    const others = Array.from({ length: 40 }, (_, i) => `${benchServer.name}/other_${i}`);
    const rows: [string, string, string, number][] = [];
    for (const role of roles) {
      const scope = `role:${role}`;
      rows.push([scope, '^', echo, SEEDED_TRANSITIONS], [scope, echo, echo, SEEDED_TRANSITIONS]);
      for (const o of others) rows.push([scope, echo, o, 10], [scope, o, echo, 100], [scope, '^', o, 5]);
    }
    await client.query(
      `INSERT INTO flow_baseline (scope, from_key, to_key, count, learned_at)
       SELECT * , now() FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[])
       ON CONFLICT (tenant, scope, from_key, to_key) DO UPDATE SET count = EXCLUDED.count`,
      [rows.map((r) => r[0]), rows.map((r) => r[1]), rows.map((r) => r[2]), rows.map((r) => r[3])],
    );
    return rows.length;
  } finally {
    await client.end();
  }
}

/** Nanoseconds per AnomalyModel.score on a model of `roles` × `tools` (in this process). */
export function timeScoring(
  roles = 20,
  tools = 200,
  iterations = 2_000_000,
): { nsPerScore: number; rows: number } {
  const rows = [];
  for (let r = 0; r < roles; r++)
    for (let f = 0; f < tools; f++)
      for (let k = 1; k <= 5; k++)
        rows.push({ scope: `role:r${r}`, from: `s/t${f}`, to: `s/t${(f + k) % tools}`, count: 10 * k });
  const model = AnomalyModel.fromTransitions(rows);
  const inputs = Array.from({ length: 1024 }, (_, i) => ({
    roles: [`r${i % roles}`, `r${(i * 7) % roles}`],
    agentId: `agent-${i % 50}`,
    from: `s/t${i % tools}`,
    to: `s/t${(i * 13) % tools}`,
  }));
  let sink = 0;
  for (let i = 0; i < 100_000; i++) sink += model.score(inputs[i & 1023]!, 30).score; // warm-up
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) sink += model.score(inputs[i & 1023]!, 30).score;
  const ns = Number(process.hrtime.bigint() - t0) / iterations;
  if (!Number.isFinite(sink)) throw new Error('scoring produced a non-finite score');
  return { nsPerScore: ns, rows: model.size };
}
