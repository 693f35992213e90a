// Sections 1-4: start every target, measure them interleaved level by level, stop them, and reconcile
// the governed servers' audit rows with the calls they answered.
import type { DevIssuer } from '@mcp-fleet/testkit';
import { freePort } from '@mcp-fleet/testkit';
import { ECHO_TOOL } from './lib/echo-tool.js';
import type { BenchDatabase } from './lib/fleet-db.js';
import { LoadGenerator, type LoadJob } from './lib/load.js';
import { sampled, startTarget, type Target } from './lib/processes.js';
import { type Row, renderTable } from './lib/report.js';
import type { Era } from './lib/wire.js';
import type { Run, TargetSpec } from './specs.js';

/** What the load sections need from the run. */
export interface MeasureContext {
  db: BenchDatabase;
  issuer: DevIssuer;
  /** Bundled file of each TypeScript target. */
  bundles: Record<string, string>;
  nodeArgs: (id: string) => string[];
  nextFirstId: () => number;
  warmupS: number;
  durationS: number;
  /** Measured time is cut into this many slices, taken round-robin across targets. */
  slices: number;
  say: (s: string) => void;
  rows: Row[];
  failures: string[];
  audits: Record<string, unknown>;
}

interface Live {
  spec: TargetSpec;
  target: Target;
  gen: LoadGenerator;
  baseUrl: string;
  agent: string;
  token: string | undefined;
  answered: number;
  slack: number;
}

async function start(ctx: MeasureContext, spec: TargetSpec): Promise<Live> {
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const agent = `bench-${spec.id}`;
  const token = spec.roles
    ? await ctx.issuer.mint({ sub: agent, roles: spec.roles, aud: `${baseUrl}/mcp`, ttlSeconds: 3600 })
    : undefined;
  const file = ctx.bundles[spec.file];
  if (!file) throw new Error(`${spec.file} was not bundled`);
  const target = await startTarget(spec.id, {
    file,
    runtime: 'js',
    port,
    env: spec.env(baseUrl),
    readyPath: spec.readyPath,
    nodeArgs: ctx.nodeArgs(spec.id),
    ...(spec.cwd ? { cwd: spec.cwd } : {}),
  });
  return { spec, target, gen: LoadGenerator.start(), baseUrl, agent, token, answered: 0, slack: 0 };
}

const sameRun = (a: Run, b: Run) => a.era === b.era && a.connections === b.connections && a.rate === b.rate;

function jobFor(ctx: MeasureContext, l: Live, run: Run): LoadJob {
  return {
    url: `${l.baseUrl}/mcp`,
    connections: run.connections,
    ...(run.rate ? { rate: run.rate } : {}),
    warmupS: ctx.warmupS,
    durationS: ctx.durationS,
    era: run.era,
    tool: ECHO_TOOL,
    ...(l.token ? { token: l.token } : {}),
    firstId: ctx.nextFirstId(),
    tag: `${l.spec.id}-${run.era}-${run.connections}${run.rate ? `@${run.rate}` : ''}`,
    args: { kind: 'echo' },
  };
}

/**
 * Measures every target at one era and concurrency: each warms up, then the measured time is cut into
 * slices taken round-robin (the order rotating every slice), so drifting load on the machine falls
 * on every target alike and the ratios stay fair.
 */
async function measureLevel(ctx: MeasureContext, group: Live[], run: Run): Promise<void> {
  const jobs = new Map(group.map((l) => [l, jobFor(ctx, l, run)]));
  const usage = new Map(group.map((l) => [l, { cpuS: 0, wallS: 0, peakRss: 0 }]));
  for (const l of group) await l.gen.warmup(jobs.get(l)!);
  const seconds = ctx.durationS / ctx.slices;
  for (let k = 0; k < ctx.slices; k++) {
    for (let i = 0; i < group.length; i++) {
      const l = group[(i + k) % group.length]!;
      const u = usage.get(l)!;
      const s = await sampled(l.target.pid, () => l.gen.slice(jobs.get(l)!, seconds));
      u.cpuS += s.cpuS;
      u.wallS += s.wallS;
      u.peakRss = Math.max(u.peakRss, s.peakRss);
    }
  }
  for (const l of group) {
    const result = await l.gen.summary(jobs.get(l)!);
    const u = usage.get(l)!;
    l.answered += result.answeredTotal;
    l.slack += run.connections * (ctx.slices + 1) * 2;
    const row: Row = {
      id: l.spec.id,
      section: l.spec.section,
      label: l.spec.label,
      era: run.era,
      connections: run.connections,
      ...(run.rate ? { rate: run.rate } : {}),
      result,
      serverCpuPct: (u.cpuS / u.wallS) * 100,
      serverPeakRssMB: u.peakRss / 1e6,
    };
    ctx.rows.push(row);
    ctx.say(renderTable([row]).split('\n').slice(2).join('\n'));
    const bad = result.wrong + result.errors + result.timeouts + result.non2xx;
    if (bad > 0) {
      ctx.failures.push(
        `${l.spec.id} ${run.era} c=${run.connections}: ${result.wrong} wrong, ${result.errors} errors, ${result.timeouts} timeouts, ${result.non2xx} non-2xx (first: ${result.firstWrong})`,
      );
    }
  }
}

/** Stops a target (SIGTERM: a production server drains and flushes its audit queue), then reconciles audit rows. */
async function finish(ctx: MeasureContext, l: Live): Promise<void> {
  l.gen.close();
  await l.target.stop();
  if (!l.spec.audited) return;
  const counts = await (l.spec.auditDb ?? ctx.db).auditCounts(l.agent);
  ctx.audits[l.spec.id] = { answered: l.answered, ...counts };
  // Every answered call has an `ok` record; calls cut off when a run ends may add a few more.
  const fine =
    counts.total >= l.answered && counts.total <= l.answered + l.slack && counts.ok >= l.answered - l.slack;
  ctx.say(
    `   audit rows in PostgreSQL for ${l.agent}: ${counts.total} ${JSON.stringify(counts.byOutcome)} for ${l.answered} answered calls`,
  );
  if (!fine)
    ctx.failures.push(
      `${l.spec.id}: ${counts.total} audit rows (${counts.ok} ok) for ${l.answered} answered calls`,
    );
}

/** Sections 1-4: every target runs at once (idle when not measured); measurements interleave. */
export async function measureTargets(
  ctx: MeasureContext,
  specs: TargetSpec[],
  levels: number[],
): Promise<void> {
  const live: Live[] = [];
  try {
    for (const spec of specs) {
      try {
        live.push(await start(ctx, spec));
      } catch (err) {
        ctx.failures.push(`${spec.id}: ${(err as Error).message}`);
      }
    }
    const schedule = [
      ...levels.map((connections) => ({ era: 'modern' as Era, connections })),
      ...specs.flatMap((s) => s.runs),
    ].filter((r, i, all) => all.findIndex((x) => sameRun(x, r)) === i);
    ctx.say(`\n${renderTable([]).split('\n')[0]}`);
    for (const run of schedule) {
      const group = live.filter((l) => l.spec.runs.some((r) => sameRun(r, run)));
      try {
        await measureLevel(ctx, group, run);
      } catch (err) {
        ctx.failures.push(`${run.era} c=${run.connections}: ${(err as Error).message}`);
      }
    }
  } finally {
    for (const l of live)
      await finish(ctx, l).catch((err: Error) => ctx.failures.push(`${l.spec.id}: ${err.message}`));
  }
}
