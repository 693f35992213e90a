// What the upstream fault scenarios (test/faults/upstream-*.test.ts) share beyond the load engine
// (test/load) and the fault library (test/faults/lib): the local fleet as `pnpm start` runs it with its simulators' addresses, each
// simulator's control plane (what reached it, faults set and cleared), the audit record of one call
// (found by its marker), the breaker state the fleet exports, and the verdict "each send reached
// the upstream at most once, and its audit outcome says what the upstream did".
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import {
  type Caller,
  type CallResult,
  createCaller,
  type FleetTarget,
  runTraffic,
  type TrafficOptions,
} from '../load/traffic.js';
import { type LocalFleet, metric, startLocalFleet, targetOf } from './lib/fleet.js';

/** A local fleet for a fault scenario, with where its simulators listen. */
export interface UpstreamFleet {
  fleet: LocalFleet;
  target: FleetTarget;
  caller: Caller;
  /** The communication simulators' hub (Slack at /slack, SMTP's control plane at /smtp, /outbox.json). */
  hub: string;
  /** The vendor hub's Stripe simulator origin (when vendor-apis or admin runs). */
  stripe: string;
  /** The admin server's SCIM simulator origin (when admin runs). */
  scim: string;
  close(): Promise<void>;
}

/** Starts `fleet start --only <servers>` with `env` on top of the local fleet's defaults. */
export async function startUpstreamFleet(
  servers: string[],
  env: Record<string, string>,
): Promise<UpstreamFleet> {
  const fleet = await startLocalFleet({ args: ['--only', servers.join(',')], env });
  const out = fleet.output();
  const all = targetOf(fleet);
  const target: FleetTarget = { ...all, urls: Object.fromEntries(servers.map((s) => [s, all.urls[s]!])) };
  const caller = await createCaller(target);
  return {
    fleet,
    target,
    caller,
    hub: /what agents sent: (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1] ?? '',
    stripe: /SIMULATED Stripe: (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1] ?? '',
    scim: /SIMULATED SCIM directory: (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1] ?? '',
    async close() {
      await caller.close();
      await fleet.stop();
    },
  };
}

/** One request as a simulator recorded it. */
export interface SimRequest {
  operation: string;
  method: string;
  path: string;
  params: unknown;
  at: string;
}

/** A simulator's control plane at `base` (its origin plus its prefix, e.g. `<hub>/slack`). */
export function simulator(base: string) {
  const control = async (path: string, init?: RequestInit) => {
    const res = await fetch(`${base}/_simulator/${path}`, init);
    if (res.status !== 200) throw new Error(`${base}/_simulator/${path}: HTTP ${res.status}`);
    return res.json() as Promise<unknown>;
  };
  return {
    /** What reached it, oldest first. */
    requests: async () => ((await control('requests')) as { requests: SimRequest[] }).requests,
    /** Makes `operation` ('*' = every one) fail: once (default) or until cleared. */
    fault: (operation: string, fault: Record<string, unknown>, once = true) =>
      control('faults', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ operation, fault, once }),
      }),
    /** Back to normal. */
    clear: () => control('faults', { method: 'DELETE' }),
  };
}

/** What the communication hub's simulators sent out (its outbox), oldest first. */
export async function outbox(hub: string): Promise<{ system: string; text: string; title: string }[]> {
  const res = await fetch(`${hub}/outbox.json`);
  const body = (await res.json()) as { entries: { system: string; text: string; title: string }[] };
  return [...body.entries].reverse();
}

/** The audit record(s) of one call, by its marker (details.clientRequestId). */
export interface AuditRow {
  tool: string;
  outcome: string;
  result_summary: string | null;
  details: Record<string, unknown> | null;
}

/** Every call's audit records by marker (bounded wait until each answered call has one: records are written in batches). */
export async function auditRows(
  fleetDbUrl: string,
  results: readonly CallResult[],
  timeoutMs = 20_000,
): Promise<Map<string, AuditRow[]>> {
  const markers = results.map((r) => r.marker);
  const until = Date.now() + timeoutMs;
  for (;;) {
    const client = new pg.Client({ connectionString: fleetDbUrl });
    await client.connect();
    const byMarker = new Map<string, AuditRow[]>();
    try {
      const { rows } = await client.query<AuditRow & { marker: string }>(
        `SELECT details->>'clientRequestId' AS marker, tool, outcome, result_summary, details
           FROM audit_records
          WHERE method = 'tools/call' AND details->>'clientRequestId' = ANY($1::text[])`,
        [markers],
      );
      for (const { marker, ...row } of rows) byMarker.set(marker, [...(byMarker.get(marker) ?? []), row]);
    } finally {
      await client.end();
    }
    // A mutation's record says `started` until its outcome is written.
    const missing = results.filter(
      (r) =>
        r.code !== 'transport_error' &&
        (!byMarker.has(r.marker) || byMarker.get(r.marker)!.some((x) => x.outcome === 'started')),
    );
    if (missing.length === 0 || Date.now() >= until) return byMarker;
    await sleep(250);
  }
}

/** The one audit record of a call (throws when there is not exactly one). */
export async function auditOf(fleetDbUrl: string, r: CallResult): Promise<AuditRow> {
  const rows = (await auditRows(fleetDbUrl, [r])).get(r.marker) ?? [];
  if (rows.length !== 1) throw new Error(`${rows.length} audit records for ${r.tool} ${r.marker}`);
  return rows[0]!;
}

/** `mcp_breaker_state{upstream}` of a server's /metrics (0 closed, 1 half-open, 2 open); undefined when absent. */
export async function breakerState(serverUrl: string, upstream: string): Promise<number | undefined> {
  for (const [labels, value] of await metric(serverUrl, 'mcp_breaker_state'))
    if (labels.includes(`upstream="${upstream}"`)) return value;
  return undefined;
}

/**
 * Load calls a verdict waits for before it stops the load (each verdict asserts more than 50). The
 * load runs open loop from beforeAll, so on a quick run the scenarios could end before it had made
 * enough calls to judge (seen: the SMTP verdict failed on its count); the verdict waits for them.
 */
export const LOAD_CALLS_FOR_VERDICT = 60;

/** A fixed load running across a scenario's fleet (open loop, from beforeAll), and its end. */
export interface ScenarioLoad {
  /** Waits until the load has answered LOAD_CALLS_FOR_VERDICT calls, stops it, and gives every result. */
  finish(): Promise<CallResult[]>;
  /** Stops it and waits for the calls in flight (afterAll; a verdict that failed early). */
  abort(): Promise<void>;
}

/** Starts `runTraffic` against the fleet, counting the calls it has answered. */
export function startLoad(
  f: UpstreamFleet,
  o: Omit<TrafficOptions, 'target' | 'signal' | 'onResult'>,
): ScenarioLoad {
  const stop = new AbortController();
  let answered = 0;
  const done = runTraffic({
    ...o,
    target: f.target,
    signal: stop.signal,
    onResult: () => {
      answered++;
    },
  });
  return {
    async finish() {
      await waitUntil(
        `the load has answered ${LOAD_CALLS_FOR_VERDICT} calls`,
        async () => answered >= LOAD_CALLS_FOR_VERDICT,
        { timeoutMs: 90_000 },
      );
      stop.abort();
      return done;
    },
    async abort() {
      stop.abort();
      await done.catch(() => {});
    },
  };
}

/** Polls `check` (every 200 ms, running `poke` between polls) until it is true; throws after `timeoutMs`. */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  opts: { timeoutMs?: number; poke?: () => Promise<unknown> } = {},
): Promise<void> {
  const until = Date.now() + (opts.timeoutMs ?? 30_000);
  for (;;) {
    if (await check()) return;
    if (Date.now() >= until) throw new Error(`timed out waiting until ${what}`);
    await opts.poke?.();
    await sleep(200);
  }
}

/**
 * The audit of one send is truthful when its records' outcomes say what the upstream did. `outcomes`:
 * those of every call made with the send's idempotency key (a replayed answer's record aside);
 * `applied`: how many times the upstream took it (more than once is a double send). A call audited ok
 * took it once; calls audited error (or refused) took nothing; `unknown` means the fleet says it
 * cannot know, so either. Returns what is wrong, or undefined.
 */
export function untruthful(outcomes: readonly string[], applied: number): string | undefined {
  if (applied > 1) return `sent ${applied} times`;
  const own = outcomes.filter((o) => o !== 'replayed');
  if (own.includes('ok')) return applied === 1 ? undefined : 'audited ok but never reached the upstream';
  if (own.includes('unknown')) return undefined;
  if (applied !== 0) return `audited ${own.join(', ') || 'nothing'} but the upstream took it`;
  return undefined;
}
