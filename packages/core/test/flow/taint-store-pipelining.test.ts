// The taint store on core's own Redis client, which auto-pipelines: its writes (Lua scripts) share a
// pipeline batch with other callers' commands, here core's rate limiter (whose script
// rate-limiter-flexible defines when a limiter is first created, in the same tick as the store's
// commands: that broke the batch, see test/redis-client.test.ts), a counter, another script and a GET.
// Each must get its own answer and nothing may escape uncaught; the store still keeps its rules on
// that client: writers never set the `_complete` marker, a loader does (with the session's expiry,
// never shortening a later one), every write sets a TTL, fingerprints stay bounded.
import { createHash, randomUUID } from 'node:crypto';
import { createTestDatabase, testRedisUrl } from '@mcp-fleet/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../src/db/fleet-db.js';
import {
  createTaintStore,
  FLOW_MIGRATIONS,
  type StoredFingerprint,
  type TaintRead,
  type TaintStore,
} from '../../src/flow/taint-store.js';
import { createLogger } from '../../src/observability/logger.js';
import { LimiterPool } from '../../src/rate-limit/limiter-pool.js';
import { createRedisClient, type Redis } from '../../src/redis/redis-client.js';

const logger = createLogger({ level: 'silent' });
let db: { url: string; drop: () => Promise<void> };
let pool: pg.Pool;
let redis: Redis;
let limiter: LimiterPool;
const limiterErrors: unknown[] = [];
const stores: TaintStore[] = [];
const uncaught: unknown[] = [];
const onUncaught = (err: unknown) => uncaught.push(err);

beforeAll(async () => {
  db = await createTestDatabase('fleet_flow_taint_pipe');
  pool = new pg.Pool({ connectionString: db.url, max: 8 });
  pool.on('error', () => {});
  await migrate(pool, FLOW_MIGRATIONS, logger);
  redis = createRedisClient({ url: testRedisUrl(), logger, commandTimeoutMs: 5_000 });
  expect(redis.options.enableAutoPipelining).toBe(true); // the client this file is about
  if (redis.status !== 'ready') await new Promise((r) => redis.once('ready', r));
  limiter = new LimiterPool({
    redis,
    keyPrefix: `tp-${randomUUID()}`,
    onStoreError: (err) => limiterErrors.push(err),
  });
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onUncaught);
});
afterAll(async () => {
  process.off('uncaughtException', onUncaught);
  process.off('unhandledRejection', onUncaught);
  for (const s of stores) await s.close();
  redis?.disconnect();
  await pool?.end();
  await db?.drop();
});

function store(o: { pool: pg.Pool | undefined; prefix: string; errors: string[]; cap?: number }) {
  const s = createTaintStore({
    pool: o.pool,
    redis,
    keyPrefix: o.prefix,
    logger,
    onError: (op) => o.errors.push(op),
    ...(o.cap ? { fingerprintCap: o.cap } : {}),
  });
  stores.push(s);
  return s;
}

const session = () => JSON.stringify(['acme', 'agent-1', 'user-1', randomUUID()]);
let clock = Date.parse('2026-11-29T21:00:00Z');
function read(label: string): TaintRead {
  clock += 1000;
  const at = new Date(clock).toISOString();
  return { label, server: 'database', tool: 'run_query', at, auditId: randomUUID() };
}
const fp = (r: TaintRead, value: string): StoredFingerprint => ({
  fp: value,
  label: r.label,
  server: r.server,
  tool: r.tool,
  at: r.at,
  auditId: r.auditId,
});
const labelsOf = (t: { labels: Map<string, unknown> }) => [...t.labels.keys()].sort();

/**
 * Other callers' commands, sent in the same tick (so the same auto-pipeline batch) as whatever
 * `alongside` starts: a counter, a script with an answer of its own, a plain GET. Returns what went
 * wrong with their answers.
 */
async function trafficWith(prefix: string, round: number, alongside: () => Promise<unknown>) {
  const counter = `${prefix}counter`;
  const token = `${round}-${randomUUID()}`;
  // core's rate limiter (a script of rate-limiter-flexible's): 2 calls a minute, the third refused.
  const limit = { kind: 'caller' as const, key: token, points: 2, windowSeconds: 60, cost: 1 };
  const [, n1, scripted, n2, got, ...limited] = await Promise.all([
    alongside(),
    redis.incr(counter),
    redis.eval('return ARGV[1]', 0, token),
    redis.incr(counter),
    redis.get(`${prefix}fixed`),
    limiter.consume([limit]),
    limiter.consume([limit]),
    limiter.consume([limit]),
  ]);
  const wrong: string[] = [];
  const refused = limited.map((x) => x !== null);
  if (refused.join() !== 'false,false,true') wrong.push(`round ${round}: rate limit refused ${refused}`);
  if (n2 !== n1 + 1) wrong.push(`round ${round}: incr answered ${n1} then ${n2}`);
  if (scripted !== token) wrong.push(`round ${round}: a script answered ${String(scripted)}`);
  if (got !== 'fixed') wrong.push(`round ${round}: get answered ${String(got)}`);
  return wrong;
}

describe('taint store writes on an auto-pipelining client', () => {
  it('leave the other commands of their batch their own answers, and nothing uncaught', async () => {
    const prefix = `tp-${randomUUID()}:`;
    await redis.set(`${prefix}fixed`, 'fixed');
    const pgErrors: string[] = [];
    const roErrors: string[] = [];
    const durable = store({ pool, prefix: `${prefix}pg:`, errors: pgErrors });
    const redisOnly = store({ pool: undefined, prefix: `${prefix}ro:`, errors: roErrors });
    const wrong: string[] = [];
    const sessions = Array.from({ length: 4 }, session);
    for (let round = 0; round < 12; round++) {
      const s = sessions[round % sessions.length]!;
      const r = read(Math.floor(round / sessions.length) % 2 ? 'financial' : 'pii');
      const writes: [string, () => Promise<unknown>][] = [
        ['redis-only setLast', () => redisOnly.setLast(s, `database/t${round}`, 600)],
        ['redis-only record', () => redisOnly.record(s, [r], [fp(r, `${round}`.padStart(16, 'a'))], 600)],
        // The durable store's Redis write goes out once PostgreSQL committed: keep traffic flowing.
        ['record', () => durable.record(s, [r], [fp(r, `${round}`.padStart(16, 'b'))], 600)],
        ['setLast', () => durable.setLast(s, `database/t${round}`, 600)],
        // A load of a session Redis does not hold copies it in (the loader's write).
        ['load', () => redis.del(...sessionKeys(`${prefix}pg:`, s)).then(() => durable.load(s))],
      ];
      for (const [, write] of writes) {
        let done = false;
        const w = write().finally(() => {
          done = true;
        });
        let i = 0;
        do wrong.push(...(await trafficWith(prefix, round * 100 + i++, () => Promise.resolve())));
        while (!done);
        await w;
        wrong.push(...(await trafficWith(prefix, round * 100 + 99, write)));
      }
    }
    await new Promise((r) => setImmediate(r));
    expect({ uncaught: uncaught.map(String), wrong, limiterErrors: limiterErrors.map(String) }).toEqual({
      uncaught: [],
      wrong: [],
      limiterErrors: [],
    });
    expect(pgErrors).toEqual([]);
    expect(roErrors).toEqual([]);
    for (const s of sessions) {
      expect(labelsOf(await durable.load(s))).toEqual(['financial', 'pii']);
      expect(labelsOf(await redisOnly.load(s))).toEqual(['financial', 'pii']);
      expect((await durable.load(s)).last).toMatch(/^database\/t\d+$/);
      expect((await redisOnly.load(s)).last).toMatch(/^database\/t\d+$/);
    }
  });

  it('writers never set the complete marker, a loader does with the session expiry; every write has a TTL', async () => {
    const prefix = `tp-${randomUUID()}:`;
    const errors: string[] = [];
    const durable = store({ pool, prefix, errors, cap: 5_000 });
    const s = session();
    const r = read('financial');
    // More fingerprints than one HSET chunk, so the scripts' chunking runs.
    const fps = Array.from({ length: 2_500 }, (_, i) => fp(r, i.toString(16).padStart(16, '0')));
    await durable.record(s, [r], fps, 600);
    const [reads, fpsKey] = await keysFor(prefix);
    expect(await redis.hexists(reads, '_complete')).toBe(0);
    expect(await redis.hexists(fpsKey, '_complete')).toBe(0);
    expect(await redis.hlen(fpsKey)).toBe(2_500);
    for (const k of [reads, fpsKey]) expect(await redis.ttl(k)).toBeGreaterThan(500);
    await durable.setLast(s, 'database/run_query', 900);
    expect(await redis.hexists(reads, '_complete')).toBe(0);
    expect(await redis.hget(reads, '_last')).toBe('database/run_query');
    for (const k of [reads, fpsKey]) expect(await redis.ttl(k)).toBeGreaterThan(800);
    // Redis emptied: a load copies PostgreSQL's rows back with the marker and the session's expiry.
    await redis.del(reads, fpsKey);
    expect((await durable.load(s)).last).toBe('database/run_query');
    expect(await redis.hget(reads, '_complete')).toBe('1');
    expect(await redis.hget(fpsKey, '_complete')).toBe('1');
    expect(await redis.hlen(fpsKey)).toBe(2_501);
    expect(await redis.hget(reads, '_last')).toBe('database/run_query');
    for (const k of [reads, fpsKey]) {
      const ttl = await redis.ttl(k);
      expect(ttl).toBeGreaterThan(800);
      expect(ttl).toBeLessThanOrEqual(900);
    }
    // A loader never shortens a writer's later expiry (it sets one only on a key without).
    await redis.expire(reads, 5_000);
    await redis.hdel(reads, '_complete');
    await durable.load(s);
    expect(await redis.hget(reads, '_complete')).toBe('1');
    expect(await redis.ttl(reads)).toBeGreaterThan(900);
    // A marked copy answers by itself, with every fingerprint.
    const m = await durable.matchFingerprints(s, [fps[0]!.fp, fps[2_499]!.fp, 'f'.repeat(16)]);
    expect([...m.keys()].sort()).toEqual([fps[0]!.fp, fps[2_499]!.fp].sort());
    expect(errors).toEqual([]);
  });

  it('Redis alone: fingerprints bounded, setLast keeps both keys alive, no marker', async () => {
    const prefix = `tp-${randomUUID()}:`;
    const errors: string[] = [];
    const only = store({ pool: undefined, prefix, errors, cap: 3 });
    const s = session();
    const r = read('pii');
    await only.record(
      s,
      [r],
      ['1', '2', '3', '4'].map((x) => fp(r, x.repeat(16))),
      600,
    );
    await only.setLast(s, 'database/run_query', 900);
    const [reads, fpsKey] = await keysFor(prefix);
    const m = await only.matchFingerprints(
      s,
      ['1', '2', '3', '4'].map((x) => x.repeat(16)),
    );
    expect([...m.keys()].sort()).toEqual(['1', '2', '3'].map((x) => x.repeat(16)));
    expect(await redis.hexists(reads, '_complete')).toBe(0);
    for (const k of [reads, fpsKey]) expect(await redis.ttl(k)).toBeGreaterThan(800);
    expect((await only.load(s)).last).toBe('database/run_query');
    expect(errors).toEqual([]);
  });
});

/** The one session's reads and fps keys under `prefix`. */
async function keysFor(prefix: string): Promise<[string, string]> {
  const keys = (await redis.keys(`${prefix}flow:*`)).sort();
  expect(keys).toHaveLength(2);
  const reads = keys.find((k) => k.endsWith(':reads'))!;
  const fps = keys.find((k) => k.endsWith(':fps'))!;
  return [reads, fps];
}

/** A session's Redis keys (the store hashes the session: no identity in clear). */
function sessionKeys(prefix: string, s: string): [string, string] {
  const hash = createHash('sha256').update(s).digest('hex');
  return [`${prefix}flow:{${hash}}:reads`, `${prefix}flow:{${hash}}:fps`];
}
