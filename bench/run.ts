// `pnpm bench`: the fleet's speed against the SDK's own idiom and the plain-HTTP ceiling, side by side,
// in one run, on loopback. Every server under test and every load generator is its own process;
// every response is checked. Prints the table and writes bench/results/<timestamp>.json.
// Knobs (env): see bench/README.md.
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DevIssuer } from '@mcp-fleet/testkit';
import { type ColdStartResult, runColdStart } from './cold-start.js';
import { type DatabaseSectionResult, runDatabaseSection } from './db-section.js';
import { type BaselineResult, buildBaseline } from './lib/baseline.js';
import { bundle } from './lib/bundle.js';
import { openBenchDatabase } from './lib/fleet-db.js';
import { seedFlowBaseline, timeScoring } from './lib/flow.js';
import { gitRevision, machineInfo, packageVersions } from './lib/machine.js';
import { ROOT } from './lib/processes.js';
import { type Row, renderColumns, renderTable, renderTargets } from './lib/report.js';
import { measureTargets } from './measure.js';
import { BASELINE_TARGET, type BaselineTarget, FLEET_TARGET, fleetSetup, targetSpecs } from './specs.js';
import { evaluateTargets } from './targets.js';

const env = process.env;
const LEVELS = (env.BENCH_CONNECTIONS ?? '1,10,50').split(',').map(Number);
const MODERATE = Number(env.BENCH_MODERATE ?? 10);
const MODERATE_RATE = Number(env.BENCH_MODERATE_RATE ?? 100);
const DURATION_S = Number(env.BENCH_DURATION ?? 5);
const WARMUP_S = Number(env.BENCH_WARMUP ?? 1);
const COLD_RUNS = Number(env.BENCH_COLD_RUNS ?? 3);
const SLICES = Math.max(1, Number(env.BENCH_SLICES ?? 5));
const ONLY = env.BENCH_ONLY?.split(',');
const PROFILE = env.BENCH_PROFILE?.split(',') ?? [];

const started = Date.now();
const say = (s = '') => void process.stdout.write(`${s}\n`);
const wants = (id: string) => !ONLY || ONLY.some((o) => id === o || id.startsWith(`${o}-`));
const profileDir = join(tmpdir(), `mcp-fleet-bench-profiles-${started}`);
/** Node arguments of a target: a CPU profile when BENCH_PROFILE names it. */
const nodeArgs = (id: string) => (PROFILE.includes(id) ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []);
let jobs = 0;
/** Disjoint id ranges per load job (ids double as the `n` argument), below 2^31 for the SQL literal. */
const nextFirstId = () => ++jobs * 10_000_000;

const rows: Row[] = [];
const failures: string[] = [];
const audits: Record<string, unknown> = {};
const machine = machineInfo();
const loadAtStart = loadavg();
say(
  `mcp-fleet bench: ${LEVELS.join('/')} connections; per measurement ${WARMUP_S} s warm-up, then ${DURATION_S} s measured in ${SLICES} slices taken round-robin across targets`,
);
say(`machine: ${machine.cores} cores, ${machine.cpuModel}, ${machine.memoryGiB} GiB, Node ${machine.node}`);
if (loadAtStart[0]! > machine.cores * 0.5) {
  say(
    `warning: load average ${loadAtStart.map((l) => l.toFixed(1)).join(' ')}: other work is using this machine; req/s and latency will be low and noisy (CPU ms/call is less affected)`,
  );
}

const db = await openBenchDatabase();
say(`postgres: ${db.source} (PostgreSQL ${db.serverVersion})`);
const issuer = await DevIssuer.create();
await issuer.listen(0);
const fleet = fleetSetup(db, issuer, env.BENCH_REDIS_URL);
const notes = [...fleet.notes];
// Issue 17: the governed policy's flow section scores every call; seed an anomaly baseline for the
// bench role so each score is a real lookup, and time one score in this process.
let scoring: { nsPerScore: number; rows: number } | undefined;
if (wants('fleet-governed') && fleet.flowInPolicy) {
  const seeded = await seedFlowBaseline(db.url, ['support']);
  scoring = timeScoring();
  notes.push(
    `flow (3 vs 3f, 3g): the governed policy's flow section on/off, its anomaly settings on/off; anomaly baseline seeded with ${seeded} transitions of role support (the bench tool after itself: ${(100_000).toLocaleString('en')}), so every call of 3 is scored against it`,
  );
} else if ((wants('fleet-flow-off') || wants('fleet-flow-noanomaly')) && !fleet.flowInPolicy)
  notes.push('flow (3f, 3g): the governed policy has no flow section; 3, 3f and 3g run the same policy');
// Section 3's baseline: the same governed server built from the code before issue 12 (lib/baseline.ts).
// A baseline that cannot be built is said so, and only its rows are skipped.
let baselineBuild: BaselineResult | undefined;
let baselineTarget: BaselineTarget | undefined;
if (wants('fleet-governed-baseline')) {
  say('\nbaseline: building section 3 from the baseline ref');
  baselineBuild = await buildBaseline(undefined, say);
  if (baselineBuild.ok) {
    const b = baselineBuild.baseline;
    say(
      `   baseline: ${b.ref} = ${b.commit.slice(0, 12)} in ${b.dir} (${b.reused ? 'reused' : 'made and installed now'}); ` +
        `bundle ${b.file}: ${b.workspaceInputs} files of its own packages/servers, none from this tree`,
    );
    notes.push(
      `baseline (3 base): ${b.ref} = ${b.commit}, worktree ${b.dir}, bundled by this run's esbuild from that tree only (${b.workspaceInputs} workspace files, checked)`,
    );
    baselineTarget = { ref: b.ref, commit: b.commit, dir: b.dir, db: await db.sibling('baseline') };
  } else {
    say(`   baseline NOT built, its rows are skipped: ${baselineBuild.reason}`);
    notes.push(`baseline (3 base) skipped: ${baselineBuild.ref}: ${baselineBuild.reason}`);
    rows.push({
      id: 'fleet-governed-baseline',
      section: '3 base',
      label: `fleet: full governance, baseline ${baselineBuild.ref}`,
      era: null,
      connections: null,
      unavailable: `skipped: ${baselineBuild.reason.split('\n')[0]}`,
    });
  }
}
const specs = targetSpecs(fleet, LEVELS, MODERATE, MODERATE_RATE, baselineTarget).filter((s) => wants(s.id));

let coldStart: ColdStartResult | undefined;
let dbSection: DatabaseSectionResult | undefined;
try {
  // Servers run as compiled JavaScript (one esbuild bundle per target, workspace packages from source).
  const bundles: Record<string, string> = {};
  for (const file of new Set([...specs.map((s) => s.file), FLEET_TARGET, 'bench/targets/pg-route.ts']))
    if (file !== BASELINE_TARGET) bundles[file] = await bundle(file);
  if (baselineBuild?.ok) bundles[BASELINE_TARGET] = baselineBuild.baseline.file;

  if (wants('cold')) {
    say('\n6 cold start: spawn a governed fleet server, poll /readyz until 200');
    coldStart = await runColdStart(
      COLD_RUNS,
      [
        { label: 'compiled JS (node bundle.mjs)', runtime: 'js', file: bundles[FLEET_TARGET]! },
        { label: 'TypeScript via tsx (pnpm start)', runtime: 'ts', file: FLEET_TARGET },
      ],
      fleet.governedEnv,
      say,
    );
  }
  await measureTargets(
    {
      db,
      issuer,
      bundles,
      nodeArgs,
      nextFirstId,
      warmupS: WARMUP_S,
      durationS: DURATION_S,
      slices: SLICES,
      say,
      rows,
      failures,
      audits,
    },
    specs,
    LEVELS,
  );
  if (wants('db')) {
    dbSection = await runDatabaseSection({
      db,
      issuer,
      governedEnv: fleet.governedEnv,
      routeFile: bundles['bench/targets/pg-route.ts']!,
      nodeArgs,
      nextFirstId,
      levels: [1, MODERATE],
      warmupS: WARMUP_S,
      durationS: DURATION_S,
      say,
    });
    rows.push(...dbSection.rows);
    failures.push(...dbSection.failures);
  }
} finally {
  await issuer.close();
  await db.close().catch((err: Error) => notes.push(`database cleanup failed: ${err.message}`));
}

const { verdicts, ratios, baselineRatios, flowRatios } = evaluateTargets(
  rows,
  LEVELS,
  MODERATE,
  MODERATE_RATE,
  coldStart,
  dbSection,
  scoring,
);
const runSeconds = (Date.now() - started) / 1000;

say(
  '\n== all measurements (loopback; req/s = checked-correct responses per second; latency measured by the generator) ==',
);
say(renderTable(rows));
say('\n== ratios, same run (fleet = section 3, full governance; "per CPU" = from server CPU ms per call) ==');
say(
  renderColumns(
    [
      'conns',
      'fleet ÷ SDK idiom',
      'fleet ÷ ceiling',
      'SDK ÷ ceiling',
      'per CPU: fleet ÷ SDK',
      'per CPU: fleet ÷ ceiling',
    ],
    ratios.map((r) => [
      String(r.connections),
      r.fleetOverSdk,
      r.fleetOverCeiling,
      r.sdkOverCeiling,
      r.cpuFleetOverSdk,
      r.cpuFleetOverCeiling,
    ]),
  ),
);
if (baselineBuild) {
  const ref = baselineBuild.ok
    ? `${baselineBuild.baseline.ref}, ${baselineBuild.baseline.commit.slice(0, 12)}`
    : baselineBuild.ref;
  say(
    `\n== governed now (${gitRevision()}) ÷ governed at the baseline (${ref}), same run (issue 12: no slower than before the chain) ==`,
  );
  say(
    baselineBuild.ok
      ? renderColumns(
          ['run', 'req/s now ÷ base', 'CPU ms/call now ÷ base', 'p50 now ÷ base', 'p99 now ÷ base'],
          baselineRatios.map((r) => [r.run, r.throughput, r.cpuPerCall, r.p50, r.p99]),
        )
      : `not measured: ${baselineBuild.reason}`,
  );
  say('(req/s > 1 = more calls now; CPU ms/call and latency < 1 = cheaper/faster now)');
  if (WARMUP_S < 3 || DURATION_S < 10 || SLICES < 20)
    say(
      'note: at these settings two identical servers differ by up to ~1.5× at 1 connection on a busy machine; ' +
        'for this comparison run BENCH_WARMUP=3 BENCH_DURATION=10 BENCH_SLICES=20 (README: the baseline)',
    );
}
if (flowRatios.length) {
  say(
    "\n== governed with the policy's flow section incl. anomaly scoring (3) ÷ without it (3f), ÷ without only its anomaly scoring (3g), same run (issue 17) ==",
  );
  say(
    renderColumns(
      ['3 ÷', 'run', 'req/s', 'CPU ms/call', 'p50', 'p99'],
      flowRatios.map((r) => [r.vs, r.run, r.throughput, r.cpuPerCall, r.p50, r.p99]),
    ),
  );
  say(
    '(req/s < 1 and CPU ms/call or latency > 1 = the flow guard costs; within ~10 % is run-to-run noise on a busy machine)',
  );
}
if (coldStart) {
  say('\n== 6 cold start and memory (governed server: JWT, policy, fleet DB with migrations) ==');
  say(
    renderColumns(
      ['how started', 'trial', 'ready ms', 'idle RSS MB', '/metrics RSS MB'],
      coldStart.modes.flatMap((m) =>
        m.trials.map((t, i) => [
          m.label,
          String(i + 1),
          t.readyMs.toFixed(0),
          (t.idleRss / 1e6).toFixed(1),
          (t.metricsRss / 1e6).toFixed(1),
        ]),
      ),
    ),
  );
}
say('\n== targets (issue 7) ==');
say(renderTargets(verdicts));
for (const n of notes) say(`note: ${n}`);
if (dbSection?.note) say(`note: ${dbSection.note}`);

const file = join(ROOT, 'bench/results', `${new Date(started).toISOString().replace(/[:.]/g, '-')}.json`);
mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
const report = {
  startedAt: new Date(started).toISOString(),
  runSeconds,
  revision: gitRevision(),
  machine,
  loadAverage: { atStart: loadAtStart, atEnd: loadavg() },
  versions: { ...packageVersions(), postgres: db.serverVersion },
  settings: {
    slices: SLICES,
    connections: LEVELS,
    moderate: MODERATE,
    moderateRate: MODERATE_RATE,
    warmupS: WARMUP_S,
    durationS: DURATION_S,
    coldRuns: COLD_RUNS,
    postgres: db.source,
  },
  targets: specs.map((s) => ({ id: s.id, section: s.section, label: s.label, describe: s.describe })),
  rows,
  ratios,
  baseline: baselineBuild
    ? baselineBuild.ok
      ? { ...baselineBuild.baseline, ratios: baselineRatios }
      : { ref: baselineBuild.ref, skipped: baselineBuild.reason }
    : undefined,
  flow: flowRatios.length || scoring ? { ratios: flowRatios, scoring } : undefined,
  audits,
  coldStart,
  database: dbSection?.summary,
  verdicts,
  notes,
  failures,
};
writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
if (PROFILE.length)
  say(`\ncpu profiles: ${profileDir} (summarise: node --import tsx bench/profile-summary.ts <file>)`);
say(`\nresults: ${file}`);
say(`run time: ${runSeconds.toFixed(0)} s`);
if (failures.length > 0) {
  say('\nFAILED:');
  for (const f of failures) say(`  ${f}`);
  process.exit(1);
}
process.exit(0);
