// Fault under load: Redis stopped and restarted while mixed traffic runs against a fleet started with
// `--replicas 2` (each server two processes behind its one port, sharing rate limits, budgets and
// cache through Redis). A tight limit (support: 4 search_documents a minute) is probed on each
// replica's own port by a fresh caller in each phase:
// - Redis up: one limit shared by both replicas (4 answered in all);
// - Redis away: the limit keeps holding in each process (4 answered per replica, never unlimited),
//   /readyz degraded with redis failing, and the load keeps being answered;
// - Redis back on the same port: shared again (4 in all).
// The verdict, from audit_records and the simulators: nothing lost, doubled or unrecorded.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@mcp-fleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { EXAMPLE_POLICY } from '../../packages/cli/src/layout.js';
import { answersPing } from '../../packages/testkit/src/redis.js';
import { type CallResult, codesOf, createCaller, runTraffic } from '../load/traffic.js';
import { settledVerdict, verdictText } from '../load/verdict.js';
import { doubleSends, type LoadFleet, metric, readyz, startLoadFleet, until } from './lib/fleet.js';

const LIMIT = 4;
const SERVERS = ['files', 'communication', 'vendor-apis'];

/** The example policy with support's search_documents limited to LIMIT calls a minute per caller. */
function limitedPolicy(): string {
  const policy = parse(readFileSync(EXAMPLE_POLICY, 'utf8')) as {
    roles: { support: { limits: { perTool: Record<string, number> } } };
  };
  policy.roles.support.limits.perTool['files/search_documents'] = LIMIT;
  const file = join(mkdtempSync(join(tmpdir(), 'fleet-fault-redis-')), 'policy.yaml');
  writeFileSync(file, stringify(policy));
  return file;
}

let redisPort: number;
let redis: ChildProcess | undefined;
let lf: LoadFleet;
/** Each replica's own base URL, per server. */
const replicas = new Map<string, string[]>();

async function startRedis(): Promise<void> {
  const child = spawn(
    'redis-server',
    ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  redis = child;
  await until('redis-server to answer', async () =>
    (await answersPing('127.0.0.1', redisPort)) ? true : undefined,
  );
}

async function stopRedis(): Promise<void> {
  const child = redis!;
  redis = undefined;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await gone;
}

beforeAll(async () => {
  redisPort = await freePort();
  await startRedis();
  lf = await startLoadFleet({
    env: { REDIS_URL: `redis://127.0.0.1:${redisPort}`, POLICY_FILE: limitedPolicy() },
    args: ['--only', SERVERS.join(','), '--replicas', '2'],
  });
  for (const s of SERVERS) {
    const line = new RegExp(
      `${s}\\s+ready \\(2 replicas\\) \\S+\\s+\\(replicas 1: (\\S+) pid \\d+, 2: (\\S+) pid \\d+`,
    ).exec(lf.fleet.output());
    expect(line, lf.fleet.output()).not.toBeNull();
    replicas.set(s, [`http://${line![1]}`, `http://${line![2]}`]);
  }
}, 240_000);

afterAll(async () => {
  await lf?.fleet.stop();
  if (redis) await stopRedis();
});

/** mcp_redis_up of every replica of every server. */
async function redisUp(): Promise<number[]> {
  const all = [...replicas.values()].flat();
  return Promise.all(all.map(async (u) => Math.min(...(await metric(u, 'mcp_redis_up')).values())));
}

describe('Redis stopped and restarted under load, two replicas per server', () => {
  it('limits hold per process while Redis is away and are shared again once it is back', async () => {
    const caller = await createCaller(lf.target);
    const [r1, r2] = replicas.get('files')!;
    /** A fresh support caller sends `n` search_documents to each replica's own port; answered per replica. */
    const probe = async (phase: string, n: number) => {
      const agent = await caller.agent('support', `redis-probe-${phase}-${Date.now()}`);
      const send = (url: string, i: number) =>
        caller.call(
          agent,
          {
            server: 'files',
            tool: 'search_documents',
            kind: 'read',
            // Distinct queries: never answered from the cache, each one is counted.
            arguments: { query: `refund ${phase} ${i}` },
          },
          { url },
        );
      const on1: CallResult[] = [];
      const on2: CallResult[] = [];
      for (let i = 0; i < n; i++) {
        on1.push(await send(r1!, i));
        on2.push(await send(r2!, i));
      }
      return { on1, on2, all: [...on1, ...on2] };
    };
    const ok = (rs: CallResult[]) => rs.filter((r) => r.code === 'ok').length;

    await until('every replica connected to Redis', async () =>
      (await redisUp()).every((u) => u === 1) ? true : undefined,
    );
    const results: CallResult[] = [];
    const load = runTraffic({
      target: lf.target,
      servers: SERVERS,
      ratePerSecond: 15,
      durationMs: 24_000,
      onResult: (r) => results.push(r),
    });
    await until('some load answered', async () => (results.length >= 30 ? true : undefined));

    // Redis up: one limit for both replicas.
    const shared = await probe('up', 4);
    expect(ok(shared.all), JSON.stringify(codesOf(shared.all))).toBe(LIMIT);
    expect(shared.all.filter((r) => r.code !== 'ok').map((r) => r.code)).toEqual(
      Array(2 * 4 - LIMIT).fill('rate_limited'),
    );

    // Redis away.
    await stopRedis();
    const downAt = Date.now();
    await until('every replica to see Redis gone', async () =>
      (await redisUp()).every((u) => u === 0) ? true : undefined,
    );
    for (const u of [r1!, r2!]) {
      const r = await readyz(u);
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ status: 'degraded', checks: { redis: 'failing' } });
    }
    // Per process: each replica answers LIMIT, then refuses; no call fails for lack of Redis.
    const apart = await probe('down', 6);
    expect(apart.on1.map((r) => r.code)).toEqual([
      ...Array(LIMIT).fill('ok'),
      ...Array(6 - LIMIT).fill('rate_limited'),
    ]);
    expect(apart.on2.map((r) => r.code)).toEqual([
      ...Array(LIMIT).fill('ok'),
      ...Array(6 - LIMIT).fill('rate_limited'),
    ]);

    // Redis back on the same port.
    await startRedis();
    const upAt = Date.now();
    await until('every replica to reconnect to Redis', async () =>
      (await redisUp()).every((u) => u === 1) ? true : undefined,
    );
    const again = await probe('back', 4);
    expect(ok(again.all), JSON.stringify(codesOf(again.all))).toBe(LIMIT);
    for (const u of [r1!, r2!]) expect((await readyz(u)).body.status).toBe('ready');

    const all = [...(await load), ...shared.all, ...apart.all, ...again.all];
    await caller.close();
    // The load kept being answered while Redis was away: nothing but answers (or a held approval).
    const away = results.filter((r) => r.startedAt > downAt && r.startedAt < upAt);
    expect(away.length).toBeGreaterThan(10);
    expect(
      away.filter((r) => r.code !== 'ok'),
      JSON.stringify(codesOf(away)),
    ).toEqual([]);
    expect(
      results.filter((r) => r.code !== 'ok'),
      JSON.stringify(codesOf(results)),
    ).toEqual([]);

    const v = await settledVerdict(lf.target.fleetDbUrl, all);
    expect(v.ok, verdictText(v)).toBe(true);
    const sends = await doubleSends(lf, all);
    expect(sends.double, 'sent twice upstream').toEqual([]);
    expect(sends.lost, 'accepted but never sent').toEqual([]);
    // Sends without an idempotency key were among them (counted per call, by the marker they carry).
    expect(sends.checkedKeyless).toBeGreaterThan(0);
    // The other direction: everything the upstreams took has its call's final audit record.
    expect(sends.unrecorded, 'sent upstream without a final audit record').toEqual([]);
  }, 150_000);
});
