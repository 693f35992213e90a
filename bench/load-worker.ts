// The load generator: autocannon in its own process (never the server's event loop). Receives one
// job over IPC, runs a warm-up then the measured run, checks EVERY response, replies with figures.
import { Agent, request } from 'node:http';
import autocannon from 'autocannon';
import { customerSql, expectedRow } from './lib/db-query.js';
import { callBody, callHeaders, checkResponse, checkRowResponse, type Era } from './lib/wire.js';

/** One load run against one target at one concurrency. */
export interface LoadJob {
  url: string;
  connections: number;
  /** Total requests per second, evenly spaced (open loop, echo only); absent = closed loop (autocannon). */
  rate?: number;
  warmupS: number;
  durationS: number;
  era: Era;
  tool: string;
  token?: string;
  /** JSON-RPC id (and `n`) of the first call; jobs get disjoint ranges so no answer can come from a cache. */
  firstId: number;
  /** Prefix of every echoed text, unique per run, so an answer cannot be confused with another run's. */
  tag: string;
  /** How arguments are made for call n: the echo tool, or the db section's SELECT (checked against `customers`). */
  args: { kind: 'echo' } | { kind: 'sql'; customers: unknown[][] };
}

/** Latency figures in milliseconds (sub-millisecond resolution). */
export interface LatencySummary {
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** What one measured run produced. */
export interface LoadResult {
  connections: number;
  durationS: number;
  /** Correct responses per second over the measured run. */
  rps: number;
  /** Correct responses in the measured run. */
  ok: number;
  wrong: number;
  firstWrong: string | null;
  errors: number;
  timeouts: number;
  non2xx: number;
  latency: LatencySummary;
  /** Every response this worker saw, warm-up included (to reconcile with audit rows). */
  answeredTotal: number;
  warmupWrong: number;
  /** CPU the generator itself used over the measured run, in % of one core. */
  generatorCpuPct: number;
}

interface Ctx {
  id?: number;
  expected?: Record<string, unknown>;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

async function runOnce(job: LoadJob, durationS: number, startId: number) {
  let next = startId;
  let wrong = 0;
  let ok = 0;
  let firstWrong: string | null = null;
  const latencies: number[] = [];
  const headers = callHeaders(job.era, job.tool, job.token);
  const makeArgs = (n: number): Record<string, unknown> =>
    job.args.kind === 'echo' ? { text: `${job.tag}-${n}`, n } : { sql: customerSql(n) };
  let finish: (err: unknown, result: autocannon.Result) => void = () => {};
  const done = new Promise<autocannon.Result>((resolve, reject) => {
    finish = (err, result) => (err ? reject(err) : resolve(result));
  });
  const instance = autocannon(
    {
      url: job.url,
      connections: job.connections,
      ...(job.rate ? { overallRate: job.rate } : {}),
      pipelining: 1,
      duration: durationS,
      timeout: 10,
      method: 'POST',
      headers,
      requests: [
        {
          setupRequest: (req, context) => {
            const c = context as Ctx;
            const n = next++;
            const args = makeArgs(n);
            c.id = n;
            c.expected = job.args.kind === 'echo' ? args : { row: expectedRow(job.args.customers, n) };
            return { ...req, method: 'POST', body: callBody(job.era, n, job.tool, args) };
          },
          onResponse: (status, body, context) => {
            const c = context as Ctx;
            const why =
              c.id === undefined
                ? 'response without a request'
                : job.args.kind === 'echo'
                  ? checkResponse(status, body, c.id, c.expected!)
                  : checkRowResponse(status, body, c.id, (c.expected as { row: unknown[] }).row);
            if (why === null) ok++;
            else {
              wrong++;
              firstWrong ??= why;
            }
          },
        },
      ],
    },
    (err, result) => finish(err, result),
  );
  instance.on('response', (...a: unknown[]) => {
    latencies.push(a[a.length - 1] as number);
  });
  const result = await done;
  return { result, ok, wrong, firstWrong, latencies, nextId: next };
}

/**
 * Open loop at a fixed rate, requests evenly spaced (autocannon's rate option sends each second's
 * quota in a burst, which measures queueing, not the cost of a call). Latency runs from the time a
 * request was due, so a server falling behind shows up in it. Every response is checked as above.
 */
async function runPaced(job: LoadJob, seconds: number, startId: number) {
  const agent = new Agent({ keepAlive: true, maxSockets: job.connections });
  const url = new URL(job.url);
  const headers = callHeaders(job.era, job.tool, job.token);
  const interval = 1000 / job.rate!;
  let next = startId;
  let ok = 0;
  let wrong = 0;
  let errors = 0;
  let non2xx = 0;
  let firstWrong: string | null = null;
  const latencies: number[] = [];
  const inflight = new Set<Promise<void>>();
  const one = (n: number, due: number) =>
    new Promise<void>((resolve) => {
      const args = { text: `${job.tag}-${n}`, n };
      const body = callBody(job.era, n, job.tool, args);
      const req = request(
        {
          agent,
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          method: 'POST',
          headers: { ...headers, 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            latencies.push(performance.now() - due);
            const status = res.statusCode ?? 0;
            if (status < 200 || status > 299) non2xx++;
            const why = checkResponse(status, Buffer.concat(chunks).toString('utf8'), n, args);
            if (why === null) ok++;
            else {
              wrong++;
              firstWrong ??= why;
            }
            resolve();
          });
        },
      );
      req.on('error', (err) => {
        errors++;
        firstWrong ??= err.message;
        resolve();
      });
      req.end(body);
    });
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  for (let k = 0; ; k++) {
    const due = t0 + k * interval;
    if (due >= end) break;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const p = one(next++, due);
    inflight.add(p);
    void p.then(() => inflight.delete(p));
  }
  await Promise.all(inflight);
  agent.destroy();
  const duration = (performance.now() - t0) / 1000;
  return {
    result: { errors, timeouts: 0, non2xx, duration },
    ok,
    wrong,
    firstWrong,
    latencies,
    nextId: next,
  };
}

/** Measured slices of one series (one target, era and concurrency), merged into one result. */
interface Series {
  next: number;
  ok: number;
  wrong: number;
  firstWrong: string | null;
  errors: number;
  timeouts: number;
  non2xx: number;
  latencies: number[];
  durationS: number;
  cpuS: number;
  answered: number;
  warmupWrong: number;
}

const series = new Map<string, Series>();

function seriesOf(job: LoadJob): Series {
  let s = series.get(job.tag);
  if (!s) {
    s = {
      next: job.firstId,
      ok: 0,
      wrong: 0,
      firstWrong: null,
      errors: 0,
      timeouts: 0,
      non2xx: 0,
      latencies: [],
      durationS: 0,
      cpuS: 0,
      answered: 0,
      warmupWrong: 0,
    };
    series.set(job.tag, s);
  }
  return s;
}

/** Runs `seconds` of load for the job's series; a warm-up run is checked and counted but not measured. */
async function runSlice(job: LoadJob, seconds: number, warmup: boolean): Promise<void> {
  const s = seriesOf(job);
  const cpu0 = process.cpuUsage();
  const m = job.rate ? await runPaced(job, seconds, s.next) : await runOnce(job, seconds, s.next);
  const cpu = process.cpuUsage(cpu0);
  s.next = m.nextId;
  s.answered += m.ok + m.wrong;
  s.firstWrong ??= m.firstWrong;
  if (warmup) {
    s.warmupWrong += m.wrong;
    s.wrong += m.wrong;
    return;
  }
  s.ok += m.ok;
  s.wrong += m.wrong;
  s.errors += m.result.errors;
  s.timeouts += m.result.timeouts;
  s.non2xx += m.result.non2xx;
  for (const l of m.latencies) s.latencies.push(l);
  s.durationS += m.result.duration;
  s.cpuS += (cpu.user + cpu.system) / 1e6;
}

function summary(tag: string, connections: number): LoadResult {
  const s = series.get(tag);
  if (!s) throw new Error(`no series ${tag}`);
  const sorted = Float64Array.from(s.latencies).sort();
  return {
    connections,
    durationS: s.durationS,
    rps: s.ok / s.durationS,
    ok: s.ok,
    wrong: s.wrong,
    firstWrong: s.firstWrong,
    errors: s.errors,
    timeouts: s.timeouts,
    non2xx: s.non2xx,
    latency: {
      mean: sorted.reduce((a, v) => a + v, 0) / Math.max(1, sorted.length),
      p50: percentile(sorted, 50),
      p90: percentile(sorted, 90),
      p99: percentile(sorted, 99),
      max: sorted.length ? sorted[sorted.length - 1]! : Number.NaN,
    },
    answeredTotal: s.answered,
    warmupWrong: s.warmupWrong,
    generatorCpuPct: (s.cpuS / s.durationS) * 100,
  };
}

/** A command from the orchestrator (lib/load.ts). */
export type WorkerCommand =
  | { cmd: 'run'; job: LoadJob }
  | { cmd: 'warmup'; job: LoadJob }
  | { cmd: 'slice'; job: LoadJob; seconds: number }
  | { cmd: 'summary'; job: LoadJob }
  | { cmd: 'exit' };

async function handle(c: WorkerCommand): Promise<LoadResult | null> {
  switch (c.cmd) {
    case 'run':
      if (c.job.warmupS > 0) await runSlice(c.job, c.job.warmupS, true);
      await runSlice(c.job, c.job.durationS, false);
      return summary(c.job.tag, c.job.connections);
    case 'warmup':
      await runSlice(c.job, c.job.warmupS, true);
      return null;
    case 'slice':
      await runSlice(c.job, c.seconds, false);
      return null;
    case 'summary':
      return summary(c.job.tag, c.job.connections);
    case 'exit':
      process.exit(0);
  }
}

// Commands arrive one at a time (the orchestrator waits for each answer).
process.on('message', (c: WorkerCommand) => {
  handle(c).then(
    (result) => process.send!({ ok: true, result }),
    (err: Error) => process.send!({ ok: false, error: err.stack ?? err.message }),
  );
});
