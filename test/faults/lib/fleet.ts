// What every fault scenario needs around the load engine (test/load): the local fleet as `pnpm start`
// runs it, as a load target; the upstream simulators' recorded requests, to count what reached
// them per call ("no double sends"); a server's /readyz and /metrics as an operator reads them.
import { readdirSync, readFileSync } from 'node:fs';
import pg from 'pg';
import { type LocalFleet, type LocalFleetOptions, startLocalFleet } from '../../e2e/local-fleet.js';
import { type CallResult, type FleetTarget, MARKER_SLOT, originOf } from '../../load/traffic.js';
import { acceptedMutation } from '../../load/verdict.js';

export { type LocalFleet, startLocalFleet } from '../../e2e/local-fleet.js';

/** The local fleet with what the load and the verdict need. */
export interface LoadFleet {
  fleet: LocalFleet;
  target: FleetTarget;
  /** The communication simulators' hub (Slack under /slack, Jira under /jira); '' without communication. */
  hubUrl: string;
  /** The Stripe simulator the admin server's refunds reach; '' without admin and vendor-apis. */
  stripeUrl: string;
}

/** The load target of a running local fleet: the servers it runs, its fleet database (DATABASE_URL or the embedded one). */
export function targetOf(fleet: LocalFleet): FleetTarget {
  return {
    // The servers it started (`--only` leaves the others out; LocalFleet.urls names every one).
    urls: Object.fromEntries(
      Object.entries(fleet.urls)
        .filter(([s]) => new RegExp(`^${s}\\s+ready\\b`, 'm').test(fleet.output()))
        .map(([s, u]) => [s, originOf(u)]),
    ),
    issuerKeyFile: `${fleet.env.FLEET_DIR}/dev-issuer.json`,
    fleetDbUrl: fleet.env.DATABASE_URL || `postgres://fleet:fleet@127.0.0.1:${fleet.env.FLEET_PG_PORT}/fleet`,
  };
}

/** Where the fleet's simulators are, from what `fleet start` printed. */
export function simulatorsOf(fleet: LocalFleet): { hubUrl: string; stripeUrl: string } {
  const out = fleet.output();
  const hubUrl = /what agents sent: (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1];
  // The admin server's line, else vendor-apis' (the vendor hub's first port is Stripe's); '' without both.
  const stripeUrl =
    /SIMULATED Stripe: (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1] ??
    /local vendor simulators on 127\.0\.0\.1:(\d+)/.exec(out)?.[1]?.replace(/^/, 'http://127.0.0.1:') ??
    '';
  if (!hubUrl && /communication\s+ready/.test(out))
    throw new Error(`the communication simulators' address is not in the output:\n${out}`);
  return { hubUrl: hubUrl ?? '', stripeUrl };
}

/** Starts the local fleet (every server unless `args` says otherwise) as a load target. */
export async function startLoadFleet(opts: LocalFleetOptions = {}): Promise<LoadFleet> {
  // The database server allows 2 queries at once per caller (WAREHOUSE_MAX_CONCURRENT_PER_CALLER): on a
  // slow 2-core machine the load's few agents reach it, a refusal no scenario is about. Overridable.
  const fleet = await startLocalFleet({
    ...opts,
    env: { WAREHOUSE_MAX_CONCURRENT_PER_CALLER: '8', ...opts.env },
  });
  return { fleet, target: targetOf(fleet), ...simulatorsOf(fleet) };
}

interface SimRequest {
  operation?: string;
  method: string;
  path: string;
  params?: unknown;
  idempotencyKey?: string;
}

async function simRequests(url: string): Promise<SimRequest[]> {
  const res = await fetch(url);
  if (res.status !== 200) throw new Error(`${url}: ${res.status}`);
  return ((await res.json()) as { requests: SimRequest[] }).requests;
}

/** What the upstreams received of the load's writes, per idempotency key or call marker. */
export interface UpstreamCount {
  /**
   * Slack chat.postMessage and Jira issue.create requests carrying a load key or a call's marker (in
   * text / summary): a send with a key carries the key, one without carries its marker.
   */
  sendsOf: (keyOrMarker: string) => number;
  /** Distinct Stripe refunds asked for (by the fleet's Stripe Idempotency-Key): one per refund that ran. */
  refunds: number;
}

/** Counts what reached the Slack, Jira and Stripe simulators. */
export async function upstreamCount(lf: Pick<LoadFleet, 'hubUrl' | 'stripeUrl'>): Promise<UpstreamCount> {
  // A fleet started without communication (or admin and vendor-apis) has no such simulator: nothing sent there.
  const [slack, jira, stripe] = await Promise.all([
    lf.hubUrl ? simRequests(`${lf.hubUrl}/slack/_simulator/requests`) : [],
    lf.hubUrl ? simRequests(`${lf.hubUrl}/jira/_simulator/requests`) : [],
    lf.stripeUrl ? simRequests(`${lf.stripeUrl}/_simulator/requests`) : [],
  ]);
  const sends = [...slack, ...jira]
    .filter((r) => r.operation === 'chat.postMessage' || r.operation === 'issue.create')
    .map((r) => JSON.stringify(r.params ?? {}));
  const refunds = new Set(
    stripe.filter((r) => r.method === 'POST' && r.path === '/v1/refunds').map((r) => r.idempotencyKey),
  );
  return {
    // A load key is `load-<run>-<n>-<hex>`, a marker `load-<uuid>`: whole tokens (not followed by a
    // word character or '-'), so neither counts as a prefix of another.
    sendsOf: (token) => {
      const whole = new RegExp(`${token.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![\\w-])`);
      return sends.filter((s) => whole.test(s)).length;
    },
    refunds: refunds.size,
  };
}

/** The upstream sends of a load, per call, and the other direction: every send upstream is recorded. */
export interface SendsVerdict {
  /** Sends that reached their upstream more than once (per key, or per call for sends without one). */
  double: CallResult[];
  /** Sends the fleet answered ok that never reached their upstream. */
  lost: CallResult[];
  /** Keys and keyless calls checked. */
  checked: number;
  /** Of them, calls without an idempotency key (counted per marker). */
  checkedKeyless: number;
  /** Sends the upstreams took with no final audit record (see {@link unrecordedSends}). */
  unrecorded: UnrecordedSend[];
}

/**
 * "No double sends, no accepted send missing upstream, no send upstream without its record": for every
 * Slack post and Jira ticket of the load, the simulators got at most one per idempotency key (a send
 * without a key: at most one per call, by the marker it carries), and exactly one when the fleet
 * answered ok; and everything the Slack, Jira, SMTP and Stripe simulators took has a final audit record.
 */
export async function doubleSends(
  lf: Pick<LoadFleet, 'hubUrl' | 'stripeUrl'> & { target: Pick<FleetTarget, 'fleetDbUrl'> },
  results: readonly CallResult[],
): Promise<SendsVerdict> {
  return {
    ...doubleSendsIn(await upstreamCount(lf), results),
    unrecorded: await unrecordedSends(lf, lf.target.fleetDbUrl),
  };
}

/** {@link doubleSends} against counts read earlier (e.g. just before the simulators went away). */
export function doubleSendsIn(
  count: UpstreamCount,
  results: readonly CallResult[],
): Omit<SendsVerdict, 'unrecorded'> {
  const sends = results.filter((r) => r.tool === 'slack_post_message' || r.tool === 'create_ticket');
  // A key may be sent more than once by the scenario itself (a replay): count per key, once. A call
  // without a key carries its own marker upstream when its arguments had MARKER_SLOT: count per call.
  const byToken = new Map<string, CallResult[]>();
  let keyless = 0;
  for (const r of sends) {
    const token =
      r.idempotencyKey ?? (JSON.stringify(r.arguments ?? {}).includes(MARKER_SLOT) ? r.marker : undefined);
    if (token === undefined) continue;
    if (!r.idempotencyKey) keyless++;
    byToken.set(token, [...(byToken.get(token) ?? []), r]);
  }
  const double: CallResult[] = [];
  const lost: CallResult[] = [];
  for (const [token, rs] of byToken) {
    const n = count.sendsOf(token);
    if (n > 1) double.push(rs[0]!);
    if (n === 0 && rs.some(acceptedMutation)) lost.push(rs[0]!);
  }
  return { double, lost, checked: byToken.size, checkedKeyless: keyless };
}

/** Something an upstream simulator took that no final audit record accounts for. */
export interface UnrecordedSend {
  upstream: 'slack' | 'jira' | 'email' | 'stripe';
  /** What was sent (its text or title; Stripe: the Idempotency-Key). */
  what: string;
  /** Audit records of the matching call still `started` (stored before it ran, never finished). */
  startedOnly: number;
}

/**
 * The other direction of the verdict: everything the upstreams took — Slack posts, Jira issues and
 * emails on the communication hub's outbox (what took effect), Stripe refunds received — must have an
 * audit record with a FINAL outcome (`ok` or `unknown`), one record per send: N identical sends need N
 * records. A send whose only record is `started` (the fleet never wrote how it ended) is unrecorded.
 * Matched by content: a Slack post's recorded `text`, a ticket's `summary`, an email's `subject` is in
 * what the simulator took; a refund by its Stripe Idempotency-Key (details.stripeIdempotencyKey).
 */
export async function unrecordedSends(
  lf: Pick<LoadFleet, 'hubUrl' | 'stripeUrl'>,
  fleetDbUrl: string,
): Promise<UnrecordedSend[]> {
  return unrecordedIn(await upstreamSends(lf), fleetDbUrl);
}

/** What the upstreams took (the hub's outbox, the Stripe simulator's requests), for {@link unrecordedIn}. */
export interface UpstreamSends {
  outbox: { system: string; kind: string; title: string; text: string }[];
  stripe: SimRequest[];
}

/** Reads what the upstreams took (e.g. just before the simulators go away with their fleet). */
export async function upstreamSends(lf: Pick<LoadFleet, 'hubUrl' | 'stripeUrl'>): Promise<UpstreamSends> {
  const [outbox, stripe] = await Promise.all([
    lf.hubUrl
      ? fetch(`${lf.hubUrl}/outbox.json`).then(
          async (r) => ((await r.json()) as { entries: UpstreamSends['outbox'] }).entries,
        )
      : [],
    lf.stripeUrl ? simRequests(`${lf.stripeUrl}/_simulator/requests`) : [],
  ]);
  return { outbox, stripe };
}

/** {@link unrecordedSends} for upstream sends read earlier. */
export async function unrecordedIn(
  { outbox, stripe }: UpstreamSends,
  fleetDbUrl: string,
): Promise<UnrecordedSend[]> {
  const c = new pg.Client({ connectionString: fleetDbUrl });
  await c.connect();
  let rows: { tool: string; outcome: string; arg: string | null; stripeKey: string | null }[];
  try {
    rows = (
      await c.query(
        `SELECT tool, outcome,
                CASE tool WHEN 'slack_post_message' THEN arguments->>'text'
                          WHEN 'create_ticket' THEN arguments->>'summary'
                          WHEN 'send_email' THEN arguments->>'subject' END AS arg,
                details->>'stripeIdempotencyKey' AS "stripeKey"
           FROM audit_records
          WHERE method = 'tools/call'
            AND (tool IN ('slack_post_message', 'create_ticket', 'send_email')
                 OR details ? 'stripeIdempotencyKey')`,
      )
    ).rows;
  } finally {
    await c.end();
  }
  const final = (o: string) => o === 'ok' || o === 'unknown';
  const out: UnrecordedSend[] = [];
  // One record per send: a record that accounted for a send is used up.
  const used = new Set<number>();
  const take = (
    upstream: UnrecordedSend['upstream'],
    what: string,
    matches: (r: (typeof rows)[number]) => boolean,
  ) => {
    const i = rows.findIndex((r, j) => !used.has(j) && final(r.outcome) && matches(r));
    if (i >= 0) used.add(i);
    else
      out.push({
        upstream,
        what: what.slice(0, 200),
        startedOnly: rows.filter((r) => r.outcome === 'started' && matches(r)).length,
      });
  };
  const tools = { slack: 'slack_post_message', jira: 'create_ticket', email: 'send_email' } as const;
  for (const e of outbox) {
    const upstream =
      e.system === 'slack' && e.kind === 'post'
        ? 'slack'
        : e.system === 'jira' && e.kind === 'issue'
          ? 'jira'
          : e.system === 'email'
            ? 'email'
            : undefined;
    if (!upstream) continue;
    const sent = upstream === 'slack' ? e.text : e.title;
    take(upstream, sent, (r) => r.tool === tools[upstream] && r.arg !== null && sent.includes(r.arg));
  }
  const refundKeys = new Set(
    stripe
      .filter((r) => r.method === 'POST' && r.path === '/v1/refunds' && r.idempotencyKey)
      .map((r) => r.idempotencyKey!),
  );
  for (const key of refundKeys) take('stripe', key, (r) => r.stripeKey === key);
  return out;
}

/** A server's readiness as an operator (or Kubernetes) sees it. */
export async function readyz(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${originOf(url)}/readyz`, { signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = { text };
  }
  return { status: res.status, body };
}

/** The samples of one metric on a server's /metrics (label text -> value). */
export async function metric(url: string, name: string): Promise<Map<string, number>> {
  const text = await (
    await fetch(`${originOf(url)}/metrics`, { signal: AbortSignal.timeout(10_000) })
  ).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (m && m[1] === name) out.set(m[2] ?? '', Number(m[3]));
  }
  return out;
}

/** Idempotency records of the fleet database per caller key hash... and the plain count, for reports. */
export async function countRows(fleetDbUrl: string, sql: string, params: unknown[] = []): Promise<number> {
  const c = new pg.Client({ connectionString: fleetDbUrl });
  await c.connect();
  try {
    return Number((await c.query<{ n: string }>(sql, params)).rows[0]?.n ?? 0);
  } finally {
    await c.end();
  }
}

/** Polls `fn` until it returns a value (not undefined) or `ms` pass; throws with `what` then. */
export async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end)
      throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * The pid of each server process `fleet start` (pid `fleetPid`) runs, by server name: its children
 * whose command line runs servers/<name>/src/main.ts. Linux (/proc), like the CI machines.
 */
export function serverPids(fleetPid: number): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // The ppid is the 2nd field after the command name (which may contain spaces, in parentheses).
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== fleetPid) continue;
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      const main = cmd.map((a) => /servers\/([^/]+)\/src\/main\.ts$/.exec(a)?.[1]).find(Boolean);
      if (main) out.set(main, [...(out.get(main) ?? []), Number(entry)]);
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** Makes a simulator misbehave (its control plane): e.g. Slack's chat.postMessage slow, every time. */
export async function simulatorFault(
  simulatorUrl: string,
  operation: string,
  fault: Record<string, unknown>,
): Promise<void> {
  const res = await fetch(`${simulatorUrl}/_simulator/faults`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ operation, fault, once: false }),
  });
  if (res.status >= 300)
    throw new Error(`${simulatorUrl}/_simulator/faults: ${res.status} ${await res.text()}`);
}

/** Back to normal: every fault of the simulator cleared. */
export async function clearSimulatorFaults(simulatorUrl: string): Promise<void> {
  const res = await fetch(`${simulatorUrl}/_simulator/faults`, { method: 'DELETE' });
  if (res.status >= 300)
    throw new Error(`${simulatorUrl}/_simulator/faults: ${res.status} ${await res.text()}`);
}
