// `pnpm bench`: the fleet's speed against the SDK's own idiom and the plain-HTTP ceiling, side by side,
// in one run, on loopback. Every server under test and every load generator is its own process;
// every response is checked. Prints the table and writes bench/results/<timestamp>.json.
// Knobs (env): BENCH_CONNECTIONS=1,10,50  BENCH_MODERATE=10  BENCH_DURATION=5  BENCH_WARMUP=1
//              BENCH_COLD_RUNS=3  BENCH_ONLY=ceiling,sdk,fleet-governed,...  (ids below)
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parsePolicy, policySchema, ToolRegistry } from '@mcp-fleet/core';
import { DevIssuer, freePort } from '@mcp-fleet/testkit';
import { runColdStart } from './cold-start.js';
import { runDatabaseSection } from './db-section.js';
import { benchServer, ECHO_TOOL } from './lib/echo-tool.js';
import { type BenchDatabase, openBenchDatabase } from './lib/fleet-db.js';
import { runLoad } from './lib/load.js';
import { gitRevision, machineInfo, packageVersions } from './lib/machine.js';
import { ROOT, sampled, startTarget, type Target } from './lib/processes.js';
import { type Row, renderColumns, renderTable, renderTargets } from './lib/report.js';
import type { Era } from './lib/wire.js';
import { evaluateTargets } from './targets.js';

const env = process.env;
const LEVELS = (env.BENCH_CONNECTIONS ?? '1,10,50').split(',').map(Number);
const MODERATE = Number(env.BENCH_MODERATE ?? 10);
const DURATION_S = Number(env.BENCH_DURATION ?? 5);
const WARMUP_S = Number(env.BENCH_WARMUP ?? 1);
const COLD_RUNS = Number(env.BENCH_COLD_RUNS ?? 3);
const ONLY = env.BENCH_ONLY?.split(',');
const MB = 1e6;

/** One server under test and the runs made against it. */
interface TargetSpec {
  id: string;
  section: string;
  label: string;
  /** What is on and off in this target, for the JSON file. */
  describe: string;
  file: string;
  readyPath: string;
  env: (baseUrl: string) => Record<string, string>;
  /** Token for this target (roles), or null when it takes none. */
  roles: string[] | null;
  /** Reconcile audit rows in the fleet database with the calls answered. */
  audited: boolean;
  runs: { era: Era; connections: number }[];
}

const started = Date.now();
const failures: string[] = [];
const notes: string[] = [];
const say = (s = '') => process.stdout.write(`${s}\n`);

const wants = (id: string) => !ONLY || ONLY.some((o) => id === o || id.startsWith(`${o}-`));

say(
  `mcp-fleet bench: ${LEVELS.join('/')} connections, ${WARMUP_S} s warm-up + ${DURATION_S} s per measurement`,
);
const machine = machineInfo();
say(`machine: ${machine.cores} cores, ${machine.cpuModel}, ${machine.memoryGiB} GiB, Node ${machine.node}`);

const dir = mkdtempSync(join(tmpdir(), 'mcp-fleet-bench-'));
const db: BenchDatabase = await openBenchDatabase();
say(`postgres: ${db.source} (PostgreSQL ${db.serverVersion})`);
const issuer = await DevIssuer.create();
await issuer.listen(0);

// The governed policy is the example policy the local fleet loads (the caller has its `support` role),
// plus rate limits and a budget far above what the bench can reach, when core's policy schema has them.
const examplePolicy = parsePolicy(readFileSync(join(ROOT, 'deploy/policies/example.yaml'), 'utf8'));
const HIGH = 1_000_000_000;
const withLimits = structuredClone(examplePolicy) as Record<string, unknown> & {
  roles: Record<string, Record<string, unknown>>;
};
withLimits.roles.support = {
  ...withLimits.roles.support,
  limits: { perMinute: HIGH, perTool: { [ECHO_TOOL]: HIGH } },
  budget: { perWindow: { cost: HIGH, minutes: 60 } },
};
withLimits.tools = { [ECHO_TOOL]: { globalPerMinute: HIGH } };
const limitsSupported = policySchema.safeParse(withLimits).success;
const governedDoc = limitsSupported ? withLimits : examplePolicy;
parsePolicy(JSON.stringify(governedDoc), benchServer.name, new ToolRegistry(benchServer.tools));
const governedPolicy = join(dir, 'governed-policy.yaml');
writeFileSync(governedPolicy, JSON.stringify(governedDoc, null, 2)); // JSON is YAML
const allowAllPolicy = join(dir, 'allow-all-policy.yaml');
writeFileSync(
  allowAllPolicy,
  JSON.stringify({ version: 1, roles: { all: { grants: [{ servers: ['*'] }] } } }),
);
notes.push(
  limitsSupported
    ? `governed policy: deploy/policies/example.yaml + for role support limits.perMinute, limits.perTool.${ECHO_TOOL}, budget.perWindow and tools.${ECHO_TOOL}.globalPerMinute all ${HIGH.toLocaleString('en')} (never reached)`
    : "governed policy: deploy/policies/example.yaml; core's policy schema has no rate limits yet, so no rate limit is on the governed path",
);
const redisUrl = env.BENCH_REDIS_URL;
notes.push(
  redisUrl
    ? `rate-limit counters and cache in Redis (${redisUrl})`
    : 'no REDIS_URL: rate-limit counters and cache in process (set BENCH_REDIS_URL to measure with Redis)',
);

const auth = (baseUrl: string) => ({
  HOST: '127.0.0.1',
  PUBLIC_URL: baseUrl,
  AUTH_ISSUER: issuer.issuer,
  AUTH_JWKS_URL: issuer.jwksUrl,
});
const governedEnv = (baseUrl: string): Record<string, string> => ({
  ...auth(baseUrl),
  POLICY_FILE: governedPolicy,
  DATABASE_URL: db.url,
  ...(redisUrl ? { REDIS_URL: redisUrl } : {}),
});
const fleet = 'bench/targets/fleet-server.ts';
const levels = (era: Era) => LEVELS.map((connections) => ({ era, connections }));

const specs: TargetSpec[] = [
  {
    id: 'ceiling',
    section: '1',
    label: 'ceiling: fastify route by hand',
    describe: 'fastify POST /mcp answering tools/call by hand: no SDK, no auth, no governance',
    file: 'bench/targets/ceiling.ts',
    readyPath: '/healthz',
    env: () => ({}),
    roles: null,
    audited: false,
    runs: levels('modern'),
  },
  {
    id: 'sdk',
    section: '2',
    label: 'SDK idiom: createMcpHandler + McpServer',
    describe:
      'SDK v2 createMcpHandler, a new McpServer per request, toNodeHandler on node:http; no auth, no governance',
    file: 'bench/targets/sdk-idiom.ts',
    readyPath: '/healthz',
    env: () => ({}),
    roles: null,
    audited: false,
    runs: [...levels('modern'), { era: 'legacy', connections: MODERATE }],
  },
  {
    id: 'fleet-governed',
    section: '3',
    label: 'fleet: full governance (production main)',
    describe:
      'runServerMain(definition): Host/Origin guard, JWT (ES256, JWKS over HTTP, verified every request), example policy file, zod validation, ' +
      `audit to PostgreSQL (batched) + audit JSON lines to stdout (/dev/null), prom-client metrics, timeout; rate limits + budget ${limitsSupported ? 'on (never reached)' : 'not in core yet'}${redisUrl ? ', counters in Redis' : ''}`,
    file: fleet,
    readyPath: '/readyz',
    env: (b) => ({ ...governedEnv(b), BENCH_FLEET_VARIANT: 'production' }),
    roles: ['support'],
    audited: true,
    runs: [...levels('modern'), { era: 'legacy', connections: MODERATE }],
  },
  {
    id: 'fleet-sdkpath',
    section: '3b',
    label: 'fleet: full governance, fastPath off (SDK path)',
    describe:
      'as 3, built with createFleetServer(def, { mcp: { fastPath: false } }): every message through the SDK handler',
    file: fleet,
    readyPath: '/readyz',
    env: (b) => ({ ...governedEnv(b), BENCH_FLEET_VARIANT: 'sdk-path' }),
    roles: ['support'],
    audited: true,
    runs: [{ era: 'modern', connections: MODERATE }],
  },
  {
    id: 'fleet-minimal',
    section: '4a',
    label: 'fleet: governance off, JWT on',
    describe:
      'runServerMain: JWT verified; allow-all policy; no DATABASE_URL (no durable audit); AUDIT_STDOUT=false; metrics and validation stay (no switch)',
    file: fleet,
    readyPath: '/readyz',
    env: (b) => ({
      ...auth(b),
      POLICY_FILE: allowAllPolicy,
      AUDIT_STDOUT: 'false',
      BENCH_FLEET_VARIANT: 'production',
    }),
    roles: ['all'],
    audited: false,
    runs: levels('modern'),
  },
  {
    id: 'fleet-bare',
    section: '4b',
    label: 'fleet: governance off, no JWT (stub)',
    describe:
      'core buildHttpApp + protocol host + callTool with a stub verifier (no JWT), allow-all policy, no DB, no audit output',
    file: fleet,
    readyPath: '/readyz',
    env: (b) => ({ ...auth(b), BENCH_FLEET_VARIANT: 'bare' }),
    roles: ['all'],
    audited: false,
    runs: levels('modern'),
  },
];

const rows: Row[] = [];
const audits: Record<string, unknown> = {};
const PROFILE = env.BENCH_PROFILE?.split(',') ?? [];
const profileDir = join(tmpdir(), `mcp-fleet-bench-profiles-${started}`);

/** Node arguments of a target: a CPU profile when BENCH_PROFILE names it. */
const nodeArgs = (id: string) => (PROFILE.includes(id) ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []);

/** A started target with its token and the calls it answered (to reconcile audit rows). */
interface Live {
  spec: TargetSpec;
  target: Target;
  baseUrl: string;
  agent: string;
  token: string | undefined;
  answered: number;
  slack: number;
}

async function start(spec: TargetSpec): Promise<Live> {
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const agent = `bench-${spec.id}`;
  const token = spec.roles
    ? await issuer.mint({ sub: agent, roles: spec.roles, aud: `${baseUrl}/mcp`, ttlSeconds: 3600 })
    : undefined;
  const extra = nodeArgs(spec.id);
  const target = await startTarget(spec.id, spec.file, port, spec.env(baseUrl), spec.readyPath, extra);
  return { spec, target, baseUrl, agent, token, answered: 0, slack: 0 };
}

let jobs = 0;
/** Disjoint id ranges per load job (ids double as the `n` argument), below 2^31 for the SQL literal. */
const nextFirstId = () => ++jobs * 10_000_000;

async function measure(l: Live, run: { era: Era; connections: number }): Promise<void> {
  const { spec } = l;
  const {
    value: result,
    peakRss,
    cpuPct,
  } = await sampled(l.target.pid, () =>
    runLoad({
      url: `${l.baseUrl}/mcp`,
      connections: run.connections,
      warmupS: WARMUP_S,
      durationS: DURATION_S,
      era: run.era,
      tool: ECHO_TOOL,
      ...(l.token ? { token: l.token } : {}),
      firstId: nextFirstId(),
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
    serverPeakRssMB: peakRss / MB,
  };
  rows.push(row);
  say(renderTable([row]).split('\n').slice(2).join('\n'));
  const bad = result.wrong + result.errors + result.timeouts + result.non2xx;
  if (bad > 0) {
    failures.push(
      `${spec.id} ${run.era} c=${run.connections}: ${result.wrong} wrong, ${result.errors} errors, ${result.timeouts} timeouts, ${result.non2xx} non-2xx (first: ${result.firstWrong})`,
    );
  }
}

/** Stops a target (SIGTERM: a production server drains and flushes its audit queue), then reconciles audit rows. */
async function finish(l: Live): Promise<void> {
  await l.target.stop();
  if (!l.spec.audited) return;
  const counts = await db.auditCounts(l.agent);
  audits[l.spec.id] = { answered: l.answered, ...counts };
  const fine =
    counts.total >= l.answered && counts.total <= l.answered + l.slack && counts.ok >= l.answered - l.slack;
  say(
    `   audit rows in PostgreSQL for ${l.agent}: ${counts.total} ${JSON.stringify(counts.byOutcome)} for ${l.answered} answered calls`,
  );
  if (!fine) failures.push(`${l.spec.id}: ${counts.total} audit rows for ${l.answered} answered calls`);
}

let coldStart: Awaited<ReturnType<typeof runColdStart>> | undefined;
let dbSection: Awaited<ReturnType<typeof runDatabaseSection>> | undefined;
try {
  if (wants('cold')) {
    say('\n6 cold start: spawn a governed fleet server, poll /readyz');
    coldStart = await runColdStart(COLD_RUNS, fleet, governedEnv, say);
  }
  // Every target runs at once (idle when not measured) and the measurements interleave level by
  // level, so the ratios compare figures taken minutes apart at most, whatever else the machine does.
  const live: Live[] = [];
  for (const spec of specs.filter((s) => wants(s.id))) {
    try {
      live.push(await start(spec));
    } catch (err) {
      failures.push(`${spec.id}: ${(err as Error).message}`);
    }
  }
  const schedule = [...levels('modern'), ...specs.flatMap((s) => s.runs)].filter(
    (r, i, all) => all.findIndex((x) => x.era === r.era && x.connections === r.connections) === i,
  );
  say(`\n${renderTable([]).split('\n')[0]}`);
  try {
    for (const run of schedule) {
      for (const l of live) {
        if (!l.spec.runs.some((r) => r.era === run.era && r.connections === run.connections)) continue;
        try {
          await measure(l, run);
        } catch (err) {
          failures.push(`${l.spec.id} ${run.era} c=${run.connections}: ${(err as Error).message}`);
        }
      }
    }
  } finally {
    for (const l of live)
      await finish(l).catch((err: Error) => failures.push(`${l.spec.id}: ${err.message}`));
  }
  if (wants('db')) {
    dbSection = await runDatabaseSection({
      db,
      issuer,
      governedEnv,
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

const { verdicts, ratios } = evaluateTargets(rows, LEVELS, MODERATE, coldStart, dbSection);
const runSeconds = (Date.now() - started) / 1000;

say(
  '\n== all measurements (loopback; req/s = checked-correct responses per second; latency from the generator) ==',
);
say(renderTable(rows));
say('\n== ratios, same run (fleet = 3, full governance) ==');
say(
  renderColumns(
    ['conns', 'fleet ÷ SDK idiom', 'fleet ÷ ceiling', 'SDK ÷ ceiling'],
    ratios.map((r) => [String(r.connections), r.fleetOverSdk, r.fleetOverCeiling, r.sdkOverCeiling]),
  ),
);
if (coldStart) {
  say('\n== 6 cold start and memory (governed server, TypeScript source via tsx) ==');
  say(
    renderColumns(
      ['trial', 'ready ms', 'idle RSS MB', '/metrics RSS MB'],
      coldStart.trials.map((t, i) => [
        String(i + 1),
        t.readyMs.toFixed(0),
        (t.idleRss / MB).toFixed(1),
        (t.metricsRss / MB).toFixed(1),
      ]),
    ),
  );
}
say('\n== targets (issue 7) ==');
say(renderTargets(verdicts));
for (const n of notes) say(`note: ${n}`);
if (dbSection?.note) say(`note: ${dbSection.note}`);

const file = join(ROOT, 'bench/results', `${new Date(started).toISOString().replace(/[:.]/g, '-')}.json`);
mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
writeFileSync(
  file,
  `${JSON.stringify(
    {
      startedAt: new Date(started).toISOString(),
      runSeconds,
      revision: gitRevision(),
      machine,
      versions: { ...packageVersions(), postgres: db.serverVersion },
      settings: {
        connections: LEVELS,
        moderate: MODERATE,
        warmupS: WARMUP_S,
        durationS: DURATION_S,
        coldRuns: COLD_RUNS,
        postgres: db.source,
      },
      targets: specs
        .filter((s) => wants(s.id))
        .map((s) => ({ id: s.id, section: s.section, label: s.label, describe: s.describe })),
      rows,
      ratios,
      audits,
      coldStart,
      database: dbSection?.summary,
      verdicts,
      notes,
      failures,
    },
    null,
    2,
  )}\n`,
);
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
