// Sections 1-4: start every target, measure them interleaved level by level, stop them, and reconcile
// the governed servers' audit rows with the calls they answered.
import type { DevIssuer } from '@mcp-fleet/testkit';
import { freePort } from '@mcp-fleet/testkit';
import { ECHO_TOOL } from './lib/echo-tool.js';
import type { BenchDatabase } from './lib/fleet-db.js';
import { runLoad } from './lib/load.js';
import { sampled, startTarget, type Target } from './lib/processes.js';
import { type Row, renderTable } from './lib/report.js';
import type { Era } from './lib/wire.js';
import type { TargetSpec } from './specs.js';

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
  say: (s: string) => void;
  rows: Row[];
  failures: string[];
  audits: Record<string, unknown>;
}

interface Live {
  spec: TargetSpec;
  target: Target;
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
  });
  return { spec, target, baseUrl, agent, token, answered: 0, slack: 0 };
}

async function measure(ctx: MeasureContext, l: Live, run: { era: Era; connections: number }): Promise<void> {
  const { spec } = l;
  const {
    value: result,
    peakRss,
    cpuPct,
  } = await sampled(l.target.pid, () =>
    runLoad({
      url: `${l.baseUrl}/mcp`,
      connections: run.connections,
      warmupS: ctx.warmupS,
      durationS: ctx.durationS,
      era: run.era,
      tool: ECHO_TOOL,
      ...(l.token ? { token: l.token } : {}),
      firstId: ctx.nextFirstId(),
      tag: `${spec.id}-${run.era}-${run.connections}`,
      args: { kind: 'echo' },
    }),
  );
  l.answered += result.answeredTotal;
  l.slack += run.connections * 2;
  const row: Row = {
    id: spec.id,
    section: spec.section,
    label: spec.label,
    era: run.era,
    connections: run.connections,
    result,
    serverCpuPct: cpuPct,
    serverPeakRssMB: peakRss / 1e6,
  };
  ctx.rows.push(row);
  ctx.say(renderTable([row]).split('\n').slice(2).join('\n'));
  const bad = result.wrong + result.errors + result.timeouts + result.non2xx;
  if (bad > 0) {
    ctx.failures.push(
      `${spec.id} ${run.era} c=${run.connections}: ${result.wrong} wrong, ${result.errors} errors, ${result.timeouts} timeouts, ${result.non2xx} non-2xx (first: ${result.firstWrong})`,
    );
  }
}

/** Stops a target (SIGTERM: a production server drains and flushes its audit queue), then reconciles audit rows. */
async function finish(ctx: MeasureContext, l: Live): Promise<void> {
  await l.target.stop();
  if (!l.spec.audited) return;
  const counts = await ctx.db.auditCounts(l.agent);
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

/**
 * Every target runs at once (idle when not measured) and the measurements interleave level by level,
 * so the ratios compare figures taken close together, whatever else the machine is doing.
 */
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
    ].filter((r, i, all) => all.findIndex((x) => x.era === r.era && x.connections === r.connections) === i);
    ctx.say(`\n${renderTable([]).split('\n')[0]}`);
    for (const run of schedule) {
      for (const l of live) {
        if (!l.spec.runs.some((r) => r.era === run.era && r.connections === run.connections)) continue;
        try {
          await measure(ctx, l, run);
        } catch (err) {
          ctx.failures.push(`${l.spec.id} ${run.era} c=${run.connections}: ${(err as Error).message}`);
        }
      }
    }
  } finally {
    for (const l of live)
      await finish(ctx, l).catch((err: Error) => ctx.failures.push(`${l.spec.id}: ${err.message}`));
  }
}
