// `pnpm soak [--minutes N | --seconds N] [--rate R]`: the whole local fleet started as a user starts
// it (`fleet start`: embedded PostgreSQL, every server, every simulator; nothing of this machine's
// own PostgreSQL or Redis), mixed traffic of several agents and roles across every server at a fixed
// rate (the shared load engine, test/load/traffic.ts), then the figures and a verdict:
//   calls, errors by code, p50/p95/p99 per tool, RSS and open descriptors per server process (start,
//   end, least-squares slope after the warm-up, against the bound printed beside it), and audit
//   completeness from the fleet's own audit_records (records ÷ calls, which must be exactly 1).
// Exits 0 only when records ÷ calls = 1 with nothing missing or duplicated, no server grew past its
// bound, and every error code is one the traffic provokes on purpose. Writes the figures as JSON
// (test-artifacts/soak-<date>.json, or --json <file>).
//
// Options:
//   --minutes N / --seconds N   how long the traffic runs (default 1 minute)
//   --rate R                    calls per second across the fleet (default 20)
//   --agents N                  distinct agent ids, spread over the roles (default 24: the engine does
//                               not wait for an agent's answers, so with few agents a slow moment
//                               gives one agent three warehouse queries at once, which the database
//                               server refuses, too_many_concurrent_queries)
//   --warmup-seconds N          samples before this are left out of the slopes (default: a fifth of
//                               the run, at most 60 s)
//   --sample-seconds N          how often RSS and descriptors are read (default 2)
//   --json FILE                 where the figures go
//   --replicas N                `fleet start --replicas N` (needs REDIS_URL): every replica process is
//                               measured on its own
//   --tamper-delete-audit N     TEST ONLY: half-way through, delete N finished audit records straight
//                               from the fleet database, as a lost record would look. The soak must
//                               then fail; test/soak/soak.test.ts proves it does. Never use otherwise.
//   --tamper-leak               TEST ONLY: every server process leaks descriptors and memory on purpose
//                               (test/soak/tamper-leak.mjs through NODE_OPTIONS); the soak must fail.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { gitRevision, machineInfo } from '../../bench/lib/machine.js';
import { renderColumns } from '../../bench/lib/report.js';
import { discoverServers, ROOT } from '../../packages/cli/src/layout.js';
import { doubleSends, simulatorsOf, startLocalFleet, targetOf } from '../faults/lib/fleet.js';
import { type CallResult, runTraffic } from '../load/traffic.js';
import { settledVerdict } from '../load/verdict.js';
import {
  findServerProcesses,
  type ProcessSample,
  percentile,
  type ServerProcess,
  sampleProcess,
  slope,
} from './processes.js';
import { FAST_LIMITED_AFTER_MS, PROVOKED, provocationOf, runProvocations } from './provoke.js';

/**
 * The saved dashboards an organisation may keep (servers/database DASHBOARDS_MAX_PER_TENANT, default
 * 200): the engine saves each dashboard under a new name, so a run that saved this many is refused
 * the next ones, as a real organisation would be.
 */
const DASHBOARD_CAP = 200;

/**
 * The example policy's per-minute limit of support's create_ticket (roles.support.limits.perTool):
 * what the fast provocation exceeds on purpose.
 */
const FAST_LIMIT = Number(
  /perTool:\s*\{\s*create_ticket:\s*(\d+)\s*\}/.exec(
    readFileSync(join(ROOT, 'deploy/policies/example.yaml'), 'utf8'),
  )?.[1] ?? Number.NaN,
);
/** A call reaches the server a little after it starts: the window counted before a refusal is this much wider. */
const WINDOW_SLACK_MS = 5_000;

/**
 * Whether the fast agent had FAST_LIMIT create_ticket calls allowed (answered ok) in the minute before
 * `r`: only then is its rate_limited the limit it exceeded on purpose.
 */
function overFastLimit(r: CallResult, all: readonly CallResult[]): boolean {
  const allowed = all.filter(
    (x) =>
      x.agent === r.agent &&
      x.tool === r.tool &&
      x.code === 'ok' &&
      x.startedAt >= r.startedAt - 60_000 - WINDOW_SLACK_MS &&
      x.startedAt <= r.startedAt + r.ms,
  ).length;
  return allowed >= FAST_LIMIT;
}

/**
 * Why a call's code is expected, or undefined when it is not. The engine's well-behaved traffic
 * answers ok, except where the fleet's own rules meet it on purpose:
 *   - an approval call is held (awaiting_approval) until a person approves it, then runs;
 *   - a dashboard save is refused dashboard_limit once the run saved DASHBOARD_CAP of them.
 * Each provocation's calls get its code (or ok, for the fast agent's calls within its limit); the fast
 * agent's rate_limited only once it had FAST_LIMIT tickets allowed in the minute before (its calls
 * counted). A rate_limited of any other call — the engine's included — fails the soak.
 * Anything else — an internal error, a timeout, a call with no answer, a store failure, a refusal of
 * a call the policy allows — fails the soak.
 */
function expectedWhy(r: CallResult, savedDashboards: number, all: readonly CallResult[]): string | undefined {
  const p = provocationOf(r);
  if (p) {
    if (r.code === PROVOKED[p].code)
      return p !== 'fast' || overFastLimit(r, all) ? PROVOKED[p].why : undefined;
    return r.code === 'ok' && !PROVOKED[p].alwaysRefused ? '' : undefined;
  }
  if (r.code === 'ok') return '';
  if (r.kind === 'approval' && r.code === 'awaiting_approval')
    return 'approval calls: issue_refund waits for a person, who approves it, then it runs';
  if (r.tool === 'save_dashboard' && r.code === 'dashboard_limit' && savedDashboards >= DASHBOARD_CAP)
    return `dashboard saves once the organisation keeps ${DASHBOARD_CAP} (the engine saves each under a new name)`;
  return undefined;
}

/**
 * The leak bounds, and what they are compared with. A Node server's RSS does not move in a line: V8
 * grows and shrinks its heap in steps, the allocator keeps freed pages a while, and a burst of
 * traffic raises the peak; its descriptors go up and down with the connections the agents hold open
 * (keep-alive) and the pools' sockets. None of that raises the FLOOR, which is where a leak shows: so
 * the slope compared is the least-squares slope of the floor — the lowest reading of each of
 * FLOOR_BUCKETS equal slices of the measured window (after the warm-up, up to the end of traffic).
 * What is left of the noise still reads, over a window of W minutes, as up to about step/W of slope,
 * so each bound is a fixed part, what a real leak shows over a long run, plus a part that shrinks as
 * the window grows:
 *   RSS:  1 MB/min + 24 MB / W   (the 10-minute soak, W = 9: 3.7 MB/min, i.e. ~33 MB of growth of the
 *         floor fails; a leak of a request's or a response's buffers — tens of KB per call at the
 *         soak's ~4 calls/s per server — fails it; a leak of a few bytes per call needs hours to show)
 *   FDs:  0.5 fd/min + 30 fd / W  (the pools to the fleet database, the agents' keep-alive sockets and
 *         the upstream sockets are opened during the warm-up and then reused, and a burst opens at most
 *         some tens more for a while; the 10-minute soak: 3.8 fds/min, ~34 over the window; a descriptor
 *         kept per call or per connection grows by hundreds a minute at this rate)
 * A short run (CI's) gets wide bounds by the same rule: it checks the machinery, the long run the leak.
 */
function rssBoundMBPerMin(windowMin: number): number {
  return 1 + 24 / windowMin;
}
function fdBoundPerMin(windowMin: number): number {
  return 0.5 + 30 / windowMin;
}

/** The floor of a series: its lowest point in each of `buckets` equal slices of [from, to]. */
function floorOf(points: { x: number; y: number }[], from: number, to: number, buckets: number) {
  const out: { x: number; y: number }[] = [];
  const width = (to - from) / buckets;
  for (let i = 0; i < buckets; i++) {
    const inSlice = points.filter(
      (p) => p.x >= from + i * width && (i === buckets - 1 ? p.x <= to : p.x < from + (i + 1) * width),
    );
    if (inSlice.length === 0) continue;
    out.push(inSlice.reduce((m, p) => (p.y < m.y ? p : m)));
  }
  return out;
}

const say = (s = '') => void process.stdout.write(`${s}\n`);

/**
 * Why calls got no answer at all (the engine reports them as transport_error, 'fetch failed'): the
 * cause of every failed fetch of this process, tallied (e.g. UND_ERR_CONNECT_TIMEOUT, ECONNRESET),
 * so a failing soak says whether the servers dropped connections or this machine was starved.
 */
const fetchFailures = new Map<string, number>();
const realFetch = globalThis.fetch;
globalThis.fetch = async (...args: Parameters<typeof fetch>) => {
  try {
    return await realFetch(...args);
  } catch (e) {
    const cause = (e as { cause?: { code?: unknown; name?: unknown; message?: unknown } }).cause;
    const why = String(cause?.code ?? cause?.name ?? (e as Error).name ?? 'unknown');
    fetchFailures.set(why, (fetchFailures.get(why) ?? 0) + 1);
    throw e;
  }
};

function parse(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    options: {
      minutes: { type: 'string' },
      seconds: { type: 'string' },
      rate: { type: 'string' },
      agents: { type: 'string' },
      'warmup-seconds': { type: 'string' },
      'sample-seconds': { type: 'string' },
      json: { type: 'string' },
      replicas: { type: 'string' },
      'tamper-delete-audit': { type: 'string' },
      'tamper-leak': { type: 'boolean' },
    },
    strict: true,
  });
  const num = (name: string, v: string | undefined, def: number, min: number, max: number) => {
    if (v === undefined) return def;
    const n = Number(v);
    if (!Number.isFinite(n) || n < min || n > max)
      throw new Error(`--${name} ${v}: a number from ${min} to ${max}`);
    return n;
  };
  if (values.minutes !== undefined && values.seconds !== undefined)
    throw new Error('--minutes and --seconds: give one of them');
  const durationMs =
    values.seconds !== undefined
      ? num('seconds', values.seconds, 60, 5, 86_400) * 1000
      : num('minutes', values.minutes, 1, 0.1, 1440) * 60_000;
  const warmupMs =
    num('warmup-seconds', values['warmup-seconds'], Math.min(60, durationMs / 5000), 0, durationMs / 2000) *
    1000;
  return {
    durationMs,
    rate: num('rate', values.rate, 20, 1, 500),
    agents: Math.round(num('agents', values.agents, 24, 3, 1000)),
    warmupMs,
    sampleMs: num('sample-seconds', values['sample-seconds'], 2, 0.5, 60) * 1000,
    json: values.json,
    replicas:
      values.replicas === undefined ? undefined : Math.round(num('replicas', values.replicas, 1, 1, 4)),
    tamperDeleteAudit: Math.round(num('tamper-delete-audit', values['tamper-delete-audit'], 0, 0, 1_000_000)),
    tamperLeak: values['tamper-leak'] ?? false,
  };
}

/** One server process's figures. */
interface ProcessFigures {
  server: string;
  pid: number;
  samples: number;
  rssStartMB: number;
  rssEndMB: number;
  rssMaxMB: number;
  rssSlopeMBPerMin: number;
  fdStart: number;
  fdEnd: number;
  fdMax: number;
  fdSlopePerMin: number;
  rssBoundMBPerMin: number;
  fdBoundPerMin: number;
  ok: boolean;
  /** The slopes of every sample, not only the floor's (for the JSON: how much the peaks moved). */
  rawRssSlopeMBPerMin: number;
  rawFdSlopePerMin: number;
}

function figuresOf(
  p: ServerProcess,
  samples: ProcessSample[],
  warmupMs: number,
  trafficEndMs: number,
): ProcessFigures | undefined {
  const measured = samples.filter((s) => s.t >= warmupMs && s.t <= trafficEndMs);
  if (measured.length < 2) return undefined;
  const from = measured[0]!.t / 60_000;
  const to = measured.at(-1)!.t / 60_000;
  const windowMin = to - from;
  // One slice per 30 s of window, 4 to 20 of them.
  const buckets = Math.min(20, Math.max(4, Math.round(windowMin * 2)));
  const floorSlope = (y: (s: ProcessSample) => number) =>
    slope(
      floorOf(
        measured.map((s) => ({ x: s.t / 60_000, y: y(s) })),
        from,
        to,
        buckets,
      ),
    );
  const rssSlope = floorSlope((s) => s.rssMB);
  const fdSlope = floorSlope((s) => s.fds);
  const rssBound = rssBoundMBPerMin(windowMin);
  const fdBound = fdBoundPerMin(windowMin);
  return {
    server: p.server,
    pid: p.pid,
    samples: measured.length,
    rssStartMB: measured[0]!.rssMB,
    rssEndMB: measured.at(-1)!.rssMB,
    rssMaxMB: Math.max(...samples.map((s) => s.rssMB)),
    rssSlopeMBPerMin: rssSlope,
    fdStart: measured[0]!.fds,
    fdEnd: measured.at(-1)!.fds,
    fdMax: Math.max(...samples.map((s) => s.fds)),
    fdSlopePerMin: fdSlope,
    rssBoundMBPerMin: rssBound,
    fdBoundPerMin: fdBound,
    ok: rssSlope < rssBound && fdSlope < fdBound,
    rawRssSlopeMBPerMin: slope(measured.map((s) => ({ x: s.t / 60_000, y: s.rssMB }))),
    rawFdSlopePerMin: slope(measured.map((s) => ({ x: s.t / 60_000, y: s.fds }))),
  };
}

/** Deletes `n` finished audit records of this run (test only: `--tamper-delete-audit`). */
async function tamperDeleteAudit(fleetDbUrl: string, n: number): Promise<number> {
  const client = new pg.Client({ connectionString: fleetDbUrl });
  await client.connect();
  try {
    const res = await client.query(
      `DELETE FROM audit_records WHERE id IN (
         SELECT id FROM audit_records
          WHERE method = 'tools/call' AND outcome <> 'started' AND ts < now() - interval '2 seconds'
          ORDER BY random() LIMIT $1)`,
      [n],
    );
    return res.rowCount ?? 0;
  } finally {
    await client.end();
  }
}

const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '-');
const f2 = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : '-');

async function main(argv: string[]): Promise<number> {
  const o = parse(argv);
  const started = new Date();
  const machine = machineInfo();
  say(
    `mcp-fleet soak: ${o.durationMs / 1000} s of traffic at ${o.rate} calls/s, ${o.agents} agents; warm-up ${o.warmupMs / 1000} s; ` +
      `RSS and descriptors read every ${o.sampleMs / 1000} s`,
  );
  say(
    `machine: ${machine.cores} cores, ${machine.cpuModel}, ${machine.memoryGiB} GiB, Node ${machine.node}; commit ${gitRevision()}`,
  );
  if (o.tamperDeleteAudit > 0)
    say(`TEST ONLY: ${o.tamperDeleteAudit} audit records will be deleted half-way (--tamper-delete-audit)`);

  const t0 = Date.now();
  if (o.tamperLeak)
    say('TEST ONLY: every server process leaks descriptors and memory on purpose (--tamper-leak)');
  const leak = join(ROOT, 'test/soak/tamper-leak.mjs');
  // The fleet exactly as a user starts it, with the product's defaults but one (below; not the fault scenarios'
  // startLoadFleet, which widens the warehouse's per-caller concurrency for their few agents).
  // With replicas, this shell's REDIS_URL (startLocalFleet clears it), under keys of this run only.
  const redisUrl = process.env.REDIS_URL?.trim();
  if (o.replicas && o.replicas > 1 && !redisUrl)
    throw new Error(
      '--replicas needs REDIS_URL (e.g. REDIS_URL=redis://127.0.0.1:6379): the replicas share limits there',
    );
  const env: Record<string, string> = {
    // The communication server's per-destination limit (30 sends a minute to one channel or project,
    // all callers together) is met by the engine's open-loop volume to #support-escalations, not by a
    // misbehaving caller: widened, so a rate_limited is only ever the fast agent's, provoked on purpose.
    COMMUNICATION_DESTINATION_PER_MINUTE: '10000',
    ...(o.replicas && redisUrl
      ? { REDIS_URL: redisUrl, REDIS_KEY_PREFIX: `soak-${process.pid}-${Date.now()}` }
      : {}),
    ...(o.tamperLeak
      ? { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import ${pathToFileURL(leak).href}`.trim() }
      : {}),
  };
  const localFleet = await startLocalFleet({
    ...(o.replicas ? { args: ['--replicas', String(o.replicas)] } : {}),
    env,
  });
  const lf = { fleet: localFleet, target: targetOf(localFleet), ...simulatorsOf(localFleet) };
  const { fleet, target } = lf;
  const { fleetDbUrl } = target;
  say(
    `fleet: started in ${((Date.now() - t0) / 1000).toFixed(1)} s (${Object.keys(fleet.urls).join(', ')}; logs in ${join(fleet.env.FLEET_DIR!, 'logs')})`,
  );

  let exitCode = 1;
  try {
    const dirToServer = new Map(discoverServers().map((s) => [s.dir.split('/').at(-1)!, s.name]));
    const processes = findServerProcesses(fleet.pid, dirToServer);
    const missingServers = Object.keys(fleet.urls).filter((s) => !processes.some((p) => p.server === s));
    if (missingServers.length > 0) throw new Error(`no process found for ${missingServers.join(', ')}`);
    say(`server processes: ${processes.map((p) => `${p.server} ${p.pid}`).join(', ')}`);

    // Sampling, on its own timer, from the start of the traffic.
    const trafficStart = Date.now();
    const samples = new Map<number, ProcessSample[]>(processes.map((p) => [p.pid, []]));
    const sampleAll = () => {
      const t = Date.now() - trafficStart;
      for (const p of processes) {
        const s = sampleProcess(p.pid, t);
        if (s) samples.get(p.pid)!.push(s);
      }
    };
    sampleAll();
    const sampler = setInterval(sampleAll, o.sampleMs);

    let tampered = 0;
    const tamper =
      o.tamperDeleteAudit > 0
        ? setTimeout(() => {
            void tamperDeleteAudit(fleetDbUrl, o.tamperDeleteAudit).then(
              (n) => {
                tampered = n;
                say(`TEST ONLY: deleted ${n} audit records`);
              },
              (e: unknown) => say(`TEST ONLY: tampering failed: ${String(e)}`),
            );
          }, o.durationMs / 2)
        : undefined;

    let done = 0;
    const progress = setInterval(
      () => say(`  ${((Date.now() - trafficStart) / 1000).toFixed(0)} s: ${done} calls answered`),
      Math.max(10_000, Math.min(60_000, o.durationMs / 10)),
    );
    const onResult = () => {
      done++;
    };
    const [engineResults, provokedResults] = await Promise.all([
      runTraffic({ target, ratePerSecond: o.rate, durationMs: o.durationMs, agents: o.agents, onResult }),
      runProvocations({ target, durationMs: o.durationMs, onResult }),
    ]);
    const results = [...engineResults, ...provokedResults];
    const trafficEnd = Date.now() - trafficStart;
    sampleAll();
    clearInterval(sampler);
    clearInterval(progress);
    if (tamper) clearTimeout(tamper);
    say(
      `traffic: ${results.length} calls in ${(trafficEnd / 1000).toFixed(1)} s; waiting for the audit to flush`,
    );

    // The fleet writes audit records in batches: the shared verdict waits (bounded) until every answered
    // call's record is there, then counts.
    const verdict = await settledVerdict(fleetDbUrl, results, 20_000);

    // What reached the upstreams: every Slack post and Jira ticket the fleet accepted exactly once.
    const upstream = await doubleSends(lf, results);

    // Calls and errors by code.
    const byCode = new Map<string, number>();
    for (const r of results) byCode.set(r.code, (byCode.get(r.code) ?? 0) + 1);
    const savedDashboards = results.filter((r) => r.tool === 'save_dashboard' && r.code === 'ok').length;
    const why = (r: CallResult) => expectedWhy(r, savedDashboards, results);
    const unexpectedCalls = results.filter((r) => why(r) === undefined);
    const unexpectedByCode = new Map<string, number>();
    for (const r of unexpectedCalls) {
      const key = provocationOf(r) ? `${r.code} (${provocationOf(r)} probe)` : r.code;
      unexpectedByCode.set(key, (unexpectedByCode.get(key) ?? 0) + 1);
    }
    // Each provocation must have got its refusal (the fast agent only once past its limit).
    const unprovoked = (Object.keys(PROVOKED) as (keyof typeof PROVOKED)[]).filter(
      (p) =>
        (p !== 'fast' || o.durationMs >= FAST_LIMITED_AFTER_MS) &&
        !provokedResults.some((r) => provocationOf(r) === p && r.code === PROVOKED[p].code),
    );

    // Latency per tool.
    const byTool = new Map<string, { kinds: Set<string>; ms: number[]; errors: number }>();
    for (const r of results) {
      const key = `${r.server}/${r.tool}`;
      const e = byTool.get(key) ?? { kinds: new Set<string>(), ms: [], errors: 0 };
      e.kinds.add(r.kind);
      e.ms.push(r.ms);
      if (r.code !== 'ok') e.errors++;
      byTool.set(key, e);
    }
    const toolRows = [...byTool.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([tool, e]) => {
        const sorted = e.ms.slice().sort((a, b) => a - b);
        return {
          tool,
          kinds: [...e.kinds].sort().join(','),
          calls: e.ms.length,
          notOk: e.errors,
          p50: percentile(sorted, 50),
          p95: percentile(sorted, 95),
          p99: percentile(sorted, 99),
        };
      });

    // Processes.
    const procFigures: ProcessFigures[] = [];
    const unmeasured: string[] = [];
    for (const p of processes) {
      const f = figuresOf(p, samples.get(p.pid)!, o.warmupMs, trafficEnd);
      if (f) procFigures.push(f);
      else unmeasured.push(`${p.server} (pid ${p.pid})`);
    }
    const leaks = procFigures.filter((f) => !f.ok);

    const ratio = verdict.calls === 0 ? Number.NaN : verdict.records / verdict.calls;
    const auditOk =
      verdict.ok &&
      verdict.records === verdict.calls &&
      verdict.missing.length === 0 &&
      verdict.duplicated.length === 0 &&
      verdict.acceptedMutationsWithoutRecord.length === 0;
    const failures: string[] = [];
    if (results.length === 0) failures.push('no calls were made');
    if (!auditOk)
      failures.push(
        `audit: ${verdict.records} records for ${verdict.calls} calls (${verdict.missing.length} missing, ${verdict.duplicated.length} duplicated, ${verdict.acceptedMutationsWithoutRecord.length} accepted mutations without a record)`,
      );
    if (unexpectedCalls.length > 0)
      failures.push(
        `unexpected answers: ${[...unexpectedByCode].map(([c, n]) => `${c} ×${n}`).join(', ')} (first: ${unexpectedCalls[0]!.server}/${unexpectedCalls[0]!.tool} ${unexpectedCalls[0]!.code}: ${unexpectedCalls[0]!.text ?? ''})`,
      );
    for (const p of unprovoked)
      failures.push(`the ${p} probe never got ${PROVOKED[p].code} (${PROVOKED[p].why})`);
    for (const l of leaks)
      failures.push(
        `${l.server} (pid ${l.pid}) grew: RSS ${f2(l.rssSlopeMBPerMin)} MB/min (bound ${f2(l.rssBoundMBPerMin)}), descriptors ${f2(l.fdSlopePerMin)}/min (bound ${f2(l.fdBoundPerMin)})`,
      );
    if (upstream.double.length > 0 || upstream.lost.length > 0 || upstream.unrecorded.length > 0)
      failures.push(
        `upstream: ${upstream.double.length} sends reached Slack/Jira twice, ${upstream.lost.length} accepted sends never reached them, ${upstream.unrecorded.length} sends upstream without a final audit record`,
      );
    if (unmeasured.length > 0)
      failures.push(`not measured after the warm-up (process gone?): ${unmeasured.join(', ')}`);

    // The report.
    const okCalls = byCode.get('ok') ?? 0;
    say('');
    say(
      `calls: ${results.length} in ${(trafficEnd / 1000).toFixed(1)} s (${f1(results.length / (trafficEnd / 1000))}/s); ok ${okCalls}`,
    );
    say('');
    say(
      renderColumns(
        ['code', 'calls', 'expected'],
        [...byCode.entries()]
          .sort((a, b) => b[1] - a[1])
          .map(([code, n]) => {
            const bad = results.filter((r) => r.code === code && why(r) === undefined).length;
            const reasons = [
              ...new Set(results.filter((r) => r.code === code).map((r) => why(r) ?? '')),
            ].filter(Boolean);
            return [
              code,
              String(n),
              bad > 0 ? `NO (${bad} unexpected)` : code === 'ok' ? '' : `yes: ${reasons.join('; ')}`,
            ];
          }),
      ),
    );
    if (fetchFailures.size > 0)
      say(
        `requests without an answer, by cause: ${[...fetchFailures].map(([c, n]) => `${c} ×${n}`).join(', ')}`,
      );
    say('');
    say(
      renderColumns(
        ['tool', 'kinds', 'calls', 'not ok', 'p50 ms', 'p95 ms', 'p99 ms'],
        toolRows.map((r) => [
          r.tool,
          r.kinds,
          String(r.calls),
          String(r.notOk),
          f1(r.p50),
          f1(r.p95),
          f1(r.p99),
        ]),
      ),
    );
    say('');
    say(
      renderColumns(
        [
          'server (pid)',
          'RSS MB start',
          'end',
          'max',
          'slope MB/min',
          'bound',
          'fds start',
          'end',
          'max',
          'slope fds/min',
          'bound',
          '',
        ],
        procFigures.map((f) => [
          `${f.server} (${f.pid})`,
          f1(f.rssStartMB),
          f1(f.rssEndMB),
          f1(f.rssMaxMB),
          f2(f.rssSlopeMBPerMin),
          `< ${f2(f.rssBoundMBPerMin)}`,
          String(f.fdStart),
          String(f.fdEnd),
          String(f.fdMax),
          f2(f.fdSlopePerMin),
          `< ${f2(f.fdBoundPerMin)}`,
          f.ok ? 'ok' : 'GREW',
        ]),
      ),
    );
    say(
      `(slopes: least squares of the floor — the lowest reading of each slice of the window from ${o.warmupMs / 1000} s to the end of the traffic)`,
    );
    say('');
    say(
      `audit: records ÷ calls = ${verdict.records} / ${verdict.calls} = ${Number.isFinite(ratio) ? ratio.toFixed(4) : '-'}; ` +
        `missing ${verdict.missing.length}, duplicated ${verdict.duplicated.length}, accepted mutations without a record ${verdict.acceptedMutationsWithoutRecord.length}` +
        (tampered > 0 ? ` (TEST ONLY: ${tampered} deleted on purpose)` : ''),
    );
    for (const m of verdict.missing.slice(0, 5))
      say(`  missing: ${m.server}/${m.tool} ${m.agent} (${m.role}) ${m.code} marker ${m.marker}`);
    say(
      `upstream: ${upstream.checked} Slack posts and Jira tickets checked at the simulators by idempotency key (${upstream.checkedKeyless} without one, by call): ` +
        `${upstream.double.length} sent twice, ${upstream.lost.length} accepted but never sent, ${upstream.unrecorded.length} sent without a final audit record`,
    );
    say(
      failures.length === 0
        ? 'verdict: PASS'
        : `verdict: FAIL\n${failures.map((f) => `  - ${f}`).join('\n')}`,
    );

    const json = resolve(
      o.json ?? join(ROOT, 'test-artifacts', `soak-${started.toISOString().replace(/[:.]/g, '-')}.json`),
    );
    mkdirSync(dirname(json), { recursive: true });
    writeFileSync(
      json,
      `${JSON.stringify(
        {
          started: started.toISOString(),
          machine,
          commit: gitRevision(),
          options: o,
          trafficMs: trafficEnd,
          calls: results.length,
          codes: Object.fromEntries(byCode),
          provoked: PROVOKED,
          unexpected: Object.fromEntries(unexpectedByCode),
          unexpectedSamples: [...unexpectedByCode.keys()].flatMap((c) =>
            unexpectedCalls
              .filter((r) => (provocationOf(r) ? `${r.code} (${provocationOf(r)} probe)` : r.code) === c)
              .slice(0, 5)
              .map(({ server, tool, agent, kind, code, ms, startedAt, marker, text }) => ({
                server,
                tool,
                agent,
                kind,
                code,
                ms,
                at: new Date(startedAt).toISOString(),
                marker,
                text,
              })),
          ),
          fetchFailures: Object.fromEntries(fetchFailures),
          tools: toolRows,
          processes: procFigures,
          samples: Object.fromEntries(processes.map((p) => [`${p.server}:${p.pid}`, samples.get(p.pid)])),
          audit: {
            calls: verdict.calls,
            records: verdict.records,
            ratio,
            missing: verdict.missing.length,
            duplicated: verdict.duplicated.length,
            acceptedMutationsWithoutRecord: verdict.acceptedMutationsWithoutRecord.length,
            tamperedDeleted: tampered,
          },
          upstream: {
            checked: upstream.checked,
            checkedKeyless: upstream.checkedKeyless,
            double: upstream.double.length,
            lost: upstream.lost.length,
            unrecorded: upstream.unrecorded.length,
          },
          failures,
          pass: failures.length === 0,
        },
        null,
        2,
      )}\n`,
    );
    say(`figures: ${json}`);
    exitCode = failures.length === 0 ? 0 : 1;
  } finally {
    const code = await fleet.stop();
    say(`fleet: stopped (exit ${code})`);
  }
  return exitCode;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`soak: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(2);
  },
);
