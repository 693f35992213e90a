// `fleet start --replicas 2`: Prometheus scraping the server's one public port must see every replica,
// each as its own series (issue 16, F-7). Forwarded to one replica or the other, scrapes alternated
// between two processes' counters under identical labels — counter resets for Prometheus. The proxy
// answers /metrics itself: every live replica's exposition merged into one, a `replica` label on every
// sample, HELP and TYPE once per family; a replica that is down is left out. Checked with a strict
// parser of the text exposition format, against each replica's own /metrics on its internal port.
// Also through the real replicas: a Host or Origin the guards refuse is refused through the proxy even
// when the client names it in Connection (F-8).
import { request } from 'node:http';
import { callOutcome, connectClient, eventually, testRedisUrl } from '@mcp-fleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalFleet, startLocalFleet } from './local-fleet.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
interface Family {
  name: string;
  help: string | undefined;
  type: string | undefined;
  samples: Sample[];
}

const METRIC = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const SAMPLE =
  /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*",?)*)\})? (\S+)(?: (-?\d+))?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"/g;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const SUFFIXES: Record<string, string[]> = {
  histogram: ['_bucket', '_sum', '_count'],
  summary: ['', '_sum', '_count'],
};

/**
 * Parses Prometheus' text exposition format (0.0.4) strictly: throws on a line that is not a comment,
 * HELP, TYPE or sample; on a second HELP or TYPE of a family, a TYPE after its samples, a family whose
 * lines are not contiguous, a sample not of its family's type, a duplicate series or a bad value.
 */
function parseExposition(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const series = new Set<string>();
  let current: Family | undefined;
  const open = (name: string): Family => {
    if (current?.name === name) return current;
    if (families.has(name)) throw new Error(`family ${name} appears twice (its lines are not together)`);
    current = { name, help: undefined, type: undefined, samples: [] };
    families.set(name, current);
    return current;
  };
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
    if (meta) {
      const [, kind, name, rest] = meta as unknown as [string, string, string, string];
      if (!METRIC.test(name)) throw new Error(`bad metric name: ${line}`);
      const f = open(name);
      if (kind === 'HELP') {
        if (f.help !== undefined) throw new Error(`second HELP for ${name}`);
        f.help = rest;
      } else {
        if (f.type !== undefined) throw new Error(`second TYPE for ${name}`);
        if (f.samples.length > 0) throw new Error(`TYPE after samples for ${name}`);
        if (!TYPES.has(rest)) throw new Error(`bad TYPE: ${line}`);
        f.type = rest;
      }
      continue;
    }
    if (line.startsWith('#')) continue;
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const [, name, labelText, raw] = m as unknown as [string, string, string | undefined, string];
    // Prometheus reads values as Go's ParseFloat does: NaN and Inf in any case (prom-client writes Nan).
    const value = /^[+-]?inf(inity)?$/i.test(raw)
      ? raw.startsWith('-')
        ? -Infinity
        : Infinity
      : /^nan$/i.test(raw)
        ? Number.NaN
        : /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(raw)
          ? Number(raw)
          : undefined;
    if (value === undefined) throw new Error(`bad value: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, k, v] of (labelText ?? '').matchAll(LABEL)) {
      if (k! in labels) throw new Error(`label ${k} twice: ${line}`);
      labels[k!] = v!;
    }
    const suffixes = current?.type ? (SUFFIXES[current.type] ?? ['']) : [''];
    const belongs = current && suffixes.some((s) => name === `${current!.name}${s}`);
    const f = belongs ? current! : open(name);
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (series.has(key)) throw new Error(`duplicate series: ${line}`);
    series.add(key);
    f.samples.push({ name, labels, value });
  }
  return families;
}

/**
 * Whether a series is stable between two scrapes of an idle server: the fleet's own (mcp_*). Node's
 * process series come and go on their own (an active Timeout, the first minor GC between two
 * scrapes), so they are left out of the series comparisons (not of the format's checks).
 */
const stable = (s: Sample) => s.name.startsWith('mcp_');

/** A series' identity: its name and labels except `replica`. */
const seriesKey = (s: Sample) =>
  `${s.name}${JSON.stringify(
    Object.entries(s.labels)
      .filter(([k]) => k !== 'replica')
      .sort(),
  )}`;

const text = async (url: string) => {
  const res = await fetch(url);
  expect(res.status, url).toBe(200);
  return res.text();
};

/** A raw POST to /mcp (node:http, so Host is exactly ours) and its status. */
function post(url: string, headers: Record<string, string>): Promise<number> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: u.hostname,
        port: u.port,
        method: 'POST',
        path: '/mcp',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          ...headers,
        },
      },
      (res) => {
        res.resume();
        res.once('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.once('error', reject);
    req.end(
      JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: {
          protocolVersion: '2025-06-18',
          capabilities: {},
          clientInfo: { name: 'raw', version: '1' },
        },
      }),
    );
  });
}

describe('fleet start --replicas 2: /metrics and headers through the public port', () => {
  let fleet: LocalFleet;
  /** The public base URL of files, and each replica's own base URL (internal port). */
  let base: string;
  let replicas: string[];
  let pids: number[];
  let token: string;

  beforeAll(async () => {
    fleet = await startLocalFleet({
      env: {
        REDIS_URL: testRedisUrl(),
        REDIS_KEY_PREFIX: `e2e-replica-metrics-${process.pid}-${Date.now()}`,
      },
      args: ['--only', 'files', '--replicas', '2'],
    });
    base = new URL(fleet.urls.files!).origin;
    const line = fleet
      .output()
      .match(/files\s+ready \(2 replicas\) \S+\s+\(replicas 1: (\S+) pid (\d+), 2: (\S+) pid (\d+);/);
    expect(line, fleet.output()).not.toBeNull();
    replicas = [`http://${line![1]}`, `http://${line![3]}`];
    pids = [Number(line![2]), Number(line![4])];
    token = (
      await fleet.fleet(
        'token',
        '--agent',
        `replica-metrics-${process.pid}`,
        '--role',
        'support',
        '--server',
        'files',
      )
    ).trim();
    // Calls through the one port: the proxy spreads them over both replicas.
    const client = await connectClient('legacy', fleet.urls.files!, token);
    try {
      for (const path of [
        'docs',
        'docs/support',
        'docs/handbook',
        'docs/products',
        'docs/security',
        'docs/README.md',
      ])
        expect((await callOutcome(client, 'get_file_info', { path })).isError).toBe(false);
    } finally {
      await client.close();
    }
  }, 240_000);
  afterAll(async () => {
    if (fleet) expect(await fleet.stop()).toBe(0);
  }, 60_000);

  it('refuses a foreign Host or Origin through the proxy even when Connection names it, as each replica does', async () => {
    const bad: [Record<string, string>, string][] = [
      [{ host: 'evil.example', connection: 'host' }, 'host'],
      [{ origin: 'http://evil.example', connection: 'origin' }, 'origin'],
      [
        { host: 'evil.example', origin: 'http://evil.example', connection: 'keep-alive, host, origin' },
        'both',
      ],
    ];
    for (const [headers, what] of bad) {
      const direct = await post(replicas[0]!, { authorization: `Bearer ${token}`, ...headers });
      expect(direct, what).toBe(403);
      expect(await post(base, { authorization: `Bearer ${token}`, ...headers }), what).toBe(direct);
    }
    // The same request with the public Host and no Origin is served: the guard, not the token, refused.
    expect(await post(base, { authorization: `Bearer ${token}`, connection: 'host' })).toBe(200);
  });

  it('merges every replica into one exposition: each family once, each series per replica, values as each replica says', async () => {
    const merged = parseExposition(await text(`${base}/metrics`));
    const own = [
      parseExposition(await text(`${replicas[0]}/metrics`)),
      parseExposition(await text(`${replicas[1]}/metrics`)),
    ];
    // Every family of every replica, with its HELP and TYPE (once: the parser refuses a second).
    for (const fams of own)
      for (const [name, f] of fams) {
        expect(merged.get(name), name).toBeDefined();
        expect(merged.get(name)!.type).toBe(f.type);
        expect(merged.get(name)!.help).toBe(f.help);
      }
    // Every sample says which replica it is from, and each replica's series are exactly its own.
    for (const f of merged.values())
      for (const s of f.samples)
        expect(['1', '2'], `${s.name} ${JSON.stringify(s.labels)}`).toContain(s.labels.replica);
    for (const [i, fams] of own.entries()) {
      const mine = [...merged.values()].flatMap((f) =>
        f.samples.filter((s) => s.labels.replica === String(i + 1)),
      );
      expect(new Set(mine.filter(stable).map(seriesKey))).toEqual(
        new Set([...fams.values()].flatMap((f) => f.samples.filter(stable).map(seriesKey))),
      );
      // The call counters (nothing runs between the scrapes) are the replica's own values.
      const calls = (xs: Sample[]) =>
        Object.fromEntries(
          xs.filter((s) => s.name === 'mcp_tool_calls_total').map((s) => [seriesKey(s), s.value]),
        );
      expect(calls(mine)).toEqual(calls([...fams.values()].flatMap((f) => f.samples)));
    }
    // Both replicas served calls, and the merged sum is the six calls made through the port.
    const total = (xs: Sample[]) =>
      xs
        .filter((s) => s.name === 'mcp_tool_calls_total' && s.labels.tool === 'get_file_info')
        .reduce((n, s) => n + s.value, 0);
    const all = [...merged.values()].flatMap((f) => f.samples);
    expect(total(all.filter((s) => s.labels.replica === '1'))).toBeGreaterThan(0);
    expect(total(all.filter((s) => s.labels.replica === '2'))).toBeGreaterThan(0);
    expect(total(all)).toBe(
      total([...own[0]!.values()].flatMap((f) => f.samples)) +
        total([...own[1]!.values()].flatMap((f) => f.samples)),
    );
    expect(total(all)).toBe(6);
    // A second scrape gives the same series: no alternation between replicas.
    const again = parseExposition(await text(`${base}/metrics`));
    expect(
      new Set(
        [...again.values()].flatMap((f) =>
          f.samples.filter(stable).map((s) => `${s.labels.replica}${seriesKey(s)}`),
        ),
      ),
    ).toEqual(new Set(all.filter(stable).map((s) => `${s.labels.replica}${seriesKey(s)}`)));
  });

  it('leaves a replica that is down out of the merged exposition', async () => {
    process.kill(pids[1]!, 'SIGKILL');
    expect(await eventually(() => /\[files\] replica 2 is down/.test(fleet.output()), 15_000)).toBe(true);
    const merged = parseExposition(await text(`${base}/metrics`));
    const samples = [...merged.values()].flatMap((f) => f.samples);
    expect(samples.length).toBeGreaterThan(0);
    expect(new Set(samples.map((s) => s.labels.replica))).toEqual(new Set(['1']));
  });
});
