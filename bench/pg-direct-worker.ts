// The db section's baseline: the same SELECTs straight through a `pg` pool, `connections` callers in
// a closed loop, in its own process. Every row is checked; latency is per query, in ms.
import pg from 'pg';
import { customerSql, expectedRow } from './lib/db-query.js';
import { sameJson } from './lib/wire.js';
import type { LoadResult } from './load-worker.js';

/** One direct-pg run. */
export interface PgDirectJob {
  url: string;
  connections: number;
  poolMax: number;
  warmupS: number;
  durationS: number;
  customers: unknown[][];
  /** First request number (disjoint per job, as in the load worker). */
  firstId: number;
}

async function loop(pool: pg.Pool, job: PgDirectJob, seconds: number, first: number) {
  let next = first;
  let ok = 0;
  let wrong = 0;
  let firstWrong: string | null = null;
  const latencies: number[] = [];
  const end = performance.now() + seconds * 1000;
  const caller = async () => {
    while (performance.now() < end) {
      const n = next++;
      const t0 = performance.now();
      try {
        const r = await pool.query({ text: customerSql(n), rowMode: 'array' });
        latencies.push(performance.now() - t0);
        if (sameJson(r.rows, [expectedRow(job.customers, n)])) ok++;
        else {
          wrong++;
          firstWrong ??= `row for ${n} differs`;
        }
      } catch (err) {
        wrong++;
        firstWrong ??= (err as Error).message;
      }
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: job.connections }, caller));
  return { ok, wrong, firstWrong, latencies, seconds: (performance.now() - t0) / 1000, next };
}

async function run(job: PgDirectJob): Promise<LoadResult> {
  const pool = new pg.Pool({ connectionString: job.url, max: job.poolMax });
  try {
    const w = await loop(pool, job, job.warmupS, job.firstId);
    const cpu0 = process.cpuUsage();
    const m = await loop(pool, job, job.durationS, w.next);
    const cpu = process.cpuUsage(cpu0);
    const sorted = Float64Array.from(m.latencies).sort();
    const at = (p: number) =>
      sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ??
      Number.NaN;
    return {
      connections: job.connections,
      durationS: m.seconds,
      rps: m.ok / m.seconds,
      ok: m.ok,
      wrong: m.wrong + w.wrong,
      firstWrong: m.firstWrong ?? w.firstWrong,
      errors: 0,
      timeouts: 0,
      non2xx: 0,
      latency: {
        mean: sorted.reduce((s, v) => s + v, 0) / Math.max(1, sorted.length),
        p50: at(50),
        p90: at(90),
        p99: at(99),
        max: sorted[sorted.length - 1] ?? Number.NaN,
      },
      answeredTotal: m.ok + m.wrong + w.ok + w.wrong,
      warmupWrong: w.wrong,
      generatorCpuPct: ((cpu.user + cpu.system) / 1e6 / m.seconds) * 100,
    };
  } finally {
    await pool.end();
  }
}

process.on('message', (c: { cmd: 'run'; job: PgDirectJob } | { cmd: 'exit' }) => {
  if (c.cmd === 'exit') process.exit(0);
  run(c.job).then(
    (result) => process.send!({ ok: true, result }),
    (err: Error) => process.send!({ ok: false, error: err.stack ?? err.message }),
  );
});
