// The session taint store against real PostgreSQL and Redis: two replicas share a session's taint;
// Redis emptied, unreachable, or failing a write never loses a recorded label (PG is the durable
// copy, a Redis hash counts only with its loader's marker, a stale one is invalidated when Redis
// is back); sessions expire; records racing loads are never lost; fingerprints are capped.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { createTestDatabase, testRedisUrl } from '@mcp-fleet/testkit';
import fc from 'fast-check';
import { Redis } from 'ioredis';
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

const logger = createLogger({ level: 'silent' });
let db: { url: string; drop: () => Promise<void> };
let pool: pg.Pool;
/** Redis on a db index of its own (FLUSHDB there empties only this file's keys). */
let redisUrl: string;
const clients: Redis[] = [];
const stores: TaintStore[] = [];

function client(url = redisUrl): Redis {
  const c = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: 2_000,
    connectTimeout: 2_000,
    retryStrategy: (n) => Math.min(50 * n, 500),
  });
  c.on('error', () => {});
  clients.push(c);
  return c;
}

async function ready(c: Redis): Promise<Redis> {
  if (c.status !== 'ready') await new Promise((r) => c.once('ready', r));
  return c;
}

function store(o: {
  redis?: Redis;
  pool?: pg.Pool | undefined;
  prefix: string;
  cap?: number;
  envKey?: string;
}) {
  const s = createTaintStore({
    pool: 'pool' in o ? o.pool : pool,
    redis: o.redis,
    keyPrefix: o.prefix,
    logger,
    ...(o.cap ? { fingerprintCap: o.cap } : {}),
    ...(o.envKey ? { envKey: o.envKey } : {}),
  });
  stores.push(s);
  return s;
}

const session = () => JSON.stringify(['acme', 'agent-1', 'user-1', randomUUID()]);
let clock = Date.parse('2026-11-29T21:00:00Z');
function read(label: string, extra: Partial<TaintRead> = {}): TaintRead {
  clock += 1000;
  return {
    label,
    server: 'database',
    tool: 'run_query',
    at: new Date(clock).toISOString(),
    auditId: randomUUID(),
    ...extra,
  };
}
function fpOf(r: TaintRead, fp: string): StoredFingerprint {
  return { fp, label: r.label, server: r.server, tool: r.tool, at: r.at, auditId: r.auditId };
}
const labelsOf = (t: { labels: Map<string, unknown> }) => [...t.labels.keys()].sort();

beforeAll(async () => {
  db = await createTestDatabase('fleet_flow_taint');
  pool = new pg.Pool({ connectionString: db.url, max: 8 });
  pool.on('error', () => {}); // an idle client ended by the database's drop at the end
  await migrate(pool, FLOW_MIGRATIONS, logger);
  const u = new URL(testRedisUrl());
  u.pathname = '/7';
  redisUrl = u.toString();
});
afterAll(async () => {
  for (const s of stores) await s.close();
  for (const c of clients) c.disconnect();
  await pool?.end();
  await db?.drop();
});

describe('taint store with PostgreSQL and Redis', () => {
  it('two replicas sharing Redis and PostgreSQL see each other’s labels, fingerprints and last call', async () => {
    const prefix = `t-${randomUUID()}:`;
    const a = store({ redis: await ready(client()), prefix });
    const b = store({ redis: await ready(client()), prefix });
    const s = session();
    expect(labelsOf(await b.load(s))).toEqual([]); // marks the empty session complete in Redis
    const r1 = read('financial', { source: 'schema billing' });
    await a.record(s, [r1, read('untrusted')], [fpOf(r1, 'aaaa000011112222')], 600);
    await a.setLast(s, 'database/run_query', 600);
    const t = await b.load(s);
    expect(labelsOf(t)).toEqual(['financial', 'untrusted']);
    expect(t.labels.get('financial')).toEqual([r1]);
    expect(t.last).toBe('database/run_query');
    const m = await b.matchFingerprints(s, ['aaaa000011112222', 'ffff000011112222']);
    expect([...m.keys()]).toEqual(['aaaa000011112222']);
    expect(m.get('aaaa000011112222')).toEqual(fpOf(r1, 'aaaa000011112222'));
    // Another session sees nothing of it.
    expect(labelsOf(await b.load(session()))).toEqual([]);
    expect((await a.matchFingerprints(session(), ['aaaa000011112222'])).size).toBe(0);
  });

  it('keeps the first five reads of a label, on both replicas and in PostgreSQL', async () => {
    const prefix = `t-${randomUUID()}:`;
    const a = store({ redis: await ready(client()), prefix });
    const b = store({ redis: await ready(client()), prefix });
    const pgOnly = store({ prefix });
    const s = session();
    const reads = Array.from({ length: 8 }, () => read('pii'));
    for (const [i, r] of reads.entries()) await (i % 2 ? a : b).record(s, [r], [], 600);
    for (const st of [a, b, pgOnly]) expect((await st.load(s)).labels.get('pii')).toEqual(reads.slice(0, 5));
  });

  it('loads from PostgreSQL when Redis was emptied, and copies the session back in', async () => {
    const prefix = `t-${randomUUID()}:`;
    const redis = await ready(client());
    const a = store({ redis, prefix });
    const s = session();
    const r = read('financial');
    await a.record(s, [r], [fpOf(r, '0123456789abcdef')], 600);
    expect(labelsOf(await a.load(s))).toEqual(['financial']);
    await redis.flushdb();
    const b = store({ redis: await ready(client()), prefix });
    expect(labelsOf(await b.load(s))).toEqual(['financial']);
    expect([...(await b.matchFingerprints(s, ['0123456789abcdef'])).keys()]).toEqual(['0123456789abcdef']);
    // The loader copied it in with its marker: Redis alone answers now.
    const keys = await redis.keys(`${prefix}*`);
    expect(keys.length).toBe(2);
    for (const k of keys) {
      expect(await redis.hexists(k, '_complete')).toBe(1);
      expect(await redis.pttl(k)).toBeGreaterThan(0); // the session's expiry from PostgreSQL
    }
    // A writer's fields without a marker (a key created by a record after the flush) are not trusted.
    await redis.flushdb();
    await a.record(s, [read('pii')], [], 600);
    expect(await redis.hexists(keys.find((k) => k.endsWith(':reads'))!, '_complete')).toBe(0);
    expect(labelsOf(await b.load(s))).toEqual(['financial', 'pii']);
  });

  it('serves from PostgreSQL while Redis is unreachable', async () => {
    const prefix = `t-${randomUUID()}:`;
    const down = client('redis://127.0.0.1:1/0');
    const a = store({ redis: down, prefix });
    const b = store({ redis: await ready(client()), prefix });
    const s = session();
    const r = read('financial');
    await a.record(s, [r], [fpOf(r, 'abababababababab')], 600);
    await a.setLast(s, 'database/run_query', 600);
    const t = await a.load(s);
    expect(labelsOf(t)).toEqual(['financial']);
    expect(t.last).toBe('database/run_query');
    expect((await a.matchFingerprints(s, ['abababababababab'])).size).toBe(1);
    expect(labelsOf(await b.load(s))).toEqual(['financial']);
  });

  it('invalidates a Redis copy that missed a write, as soon as Redis answers again', async () => {
    const prefix = `t-${randomUUID()}:`;
    const ra = await ready(client());
    const errors: string[] = [];
    const a = createTaintStore({
      pool,
      redis: ra,
      keyPrefix: prefix,
      logger,
      onError: (op) => errors.push(op),
    });
    stores.push(a);
    const b = store({ redis: await ready(client()), prefix });
    const s = session();
    await a.record(s, [read('financial')], [], 600);
    expect(labelsOf(await b.load(s))).toEqual(['financial']); // B copied it into Redis, complete
    ra.disconnect(); // A's Redis writes fail now
    await a.record(s, [read('pii')], [], 600);
    // A knows its write missed Redis: it reads PostgreSQL for this session.
    expect(labelsOf(await a.load(s))).toEqual(['financial', 'pii']);
    // B still trusts the complete copy that lacks "pii": the residual during a partition.
    expect(labelsOf(await b.load(s))).toEqual(['financial']);
    await ra.connect();
    const reads = `${prefix}flow:{`;
    const keyOf = async () => (await ra.keys(`${reads}*`)).length;
    while ((await keyOf()) > 0) await sleep(50);
    expect(labelsOf(await b.load(s))).toEqual(['financial', 'pii']);
    expect(labelsOf(await a.load(s))).toEqual(['financial', 'pii']);
  });

  it('a Redis command that fails after the PostgreSQL commit: the key is deleted, reads go to PostgreSQL', async () => {
    const prefix = `t-${randomUUID()}:`;
    const redis = await ready(client());
    const errors: string[] = [];
    const a = createTaintStore({ pool, redis, keyPrefix: prefix, logger, onError: (op) => errors.push(op) });
    stores.push(a);
    const s = session();
    await a.record(s, [read('financial')], [], 600);
    expect(labelsOf(await a.load(s))).toEqual(['financial']);
    const key = (await redis.keys(`${prefix}*:reads`))[0]!;
    // The key turns into something HSET refuses (WRONGTYPE): the next write to it fails.
    await redis.del(key);
    await redis.set(key, 'not a hash');
    await a.record(s, [read('pii')], [], 600);
    expect(errors).toContain('record_redis');
    while ((await redis.exists(key)) === 1) await sleep(50);
    expect(labelsOf(await a.load(s))).toEqual(['financial', 'pii']);
    const b = store({ redis: await ready(client()), prefix });
    expect(labelsOf(await b.load(s))).toEqual(['financial', 'pii']);
  });

  it('rejects a record whose durable write fails, without the values in the error', async () => {
    const dead = new pg.Pool({
      connectionString: 'postgres://postgres@127.0.0.1:1/none',
      connectionTimeoutMillis: 500,
    });
    const s = store({ pool: dead, redis: await ready(client()), prefix: `t-${randomUUID()}:` });
    const err = await s
      .record(session(), [read('financial', { source: 'schema secret-billing' })], [], 600)
      .then(
        () => undefined,
        (e: unknown) => e as Error,
      );
    expect(err).toBeInstanceOf(Error);
    expect(err!.message).toMatch(/^flow taint store: record failed/);
    expect(err!.message).not.toContain('secret-billing');
    await dead.end();
  });

  it('expires a session after its TTL, in Redis and PostgreSQL, and purge() deletes it', async () => {
    const prefix = `t-${randomUUID()}:`;
    const redis = await ready(client());
    const a = store({ redis, prefix });
    const pgOnly = store({ prefix });
    const s = session();
    const r = read('financial');
    await a.record(s, [r], [fpOf(r, '1111222233334444')], 1);
    expect(labelsOf(await a.load(s))).toEqual(['financial']);
    while (labelsOf(await pgOnly.load(s)).length > 0) await sleep(200);
    expect((await pgOnly.matchFingerprints(s, ['1111222233334444'])).size).toBe(0);
    while (labelsOf(await a.load(s)).length > 0) await sleep(200);
    expect((await a.matchFingerprints(s, ['1111222233334444'])).size).toBe(0);
    // A new write to the expired (not yet purged) session does not bring its old taint back.
    await pgOnly.setLast(s, 'email/send_email', 600);
    expect(labelsOf(await pgOnly.load(s))).toEqual([]);
    const other = session();
    await pgOnly.record(other, [read('pii')], [], 1);
    while (labelsOf(await pgOnly.load(other)).length > 0) await sleep(200);
    expect(await pgOnly.purge()).toBeGreaterThanOrEqual(1);
    const { rows } = await pool.query(
      'SELECT count(*)::int AS n FROM flow_labels l JOIN flow_sessions s USING (session_hash) WHERE s.expires_at <= now()',
    );
    expect(rows[0].n).toBe(0);
  });

  it('never loses a label to a record racing a load, a Redis flush or another replica (property)', async () => {
    const labels = ['financial', 'pii', 'health', 'secret', 'untrusted', 'legal'];
    const flusher = await ready(client());
    const replicas = [await ready(client()), await ready(client())];
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            op: fc.constantFrom('record', 'load', 'flush'),
            replica: fc.integer({ min: 0, max: 1 }),
            label: fc.constantFrom(...labels),
          }),
          { minLength: 4, maxLength: 24 },
        ),
        async (ops) => {
          const prefix = `t-${randomUUID()}:`;
          const rs = replicas.map((r) => store({ redis: r, prefix }));
          const s = session();
          const recorded = new Set<string>();
          await Promise.all(
            ops.map(async (o) => {
              if (o.op === 'record') {
                await rs[o.replica]!.record(s, [read(o.label)], [], 600);
                recorded.add(o.label);
              } else if (o.op === 'load') await rs[o.replica]!.load(s);
              else for (const k of await flusher.keys(`${prefix}*`)) await flusher.del(k);
            }),
          );
          for (const r of rs) expect(labelsOf(await r.load(s))).toEqual([...recorded].sort());
          for (const r of rs) {
            await r.close();
            stores.splice(stores.indexOf(r), 1);
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('fingerprint cap', () => {
  it('keeps the oldest fingerprints up to the cap and the first read that returned each', async () => {
    const prefix = `t-${randomUUID()}:`;
    const a = store({ redis: await ready(client()), prefix, cap: 10 });
    const pgOnly = store({ prefix, cap: 10 });
    const s = session();
    const first = read('financial');
    const second = read('financial');
    const fp = (i: number) => i.toString(16).padStart(16, '0');
    await a.record(
      s,
      [first],
      Array.from({ length: 8 }, (_, i) => fpOf(first, fp(i))),
      600,
    );
    // 0..7 again (already stored: their origin stays `first`), and 8..12 new: only 8 and 9 fit.
    await a.record(
      s,
      [second],
      Array.from({ length: 13 }, (_, i) => fpOf(second, fp(i))),
      600,
    );
    const all = Array.from({ length: 13 }, (_, i) => fp(i));
    for (const st of [a, pgOnly]) {
      const m = await st.matchFingerprints(s, all);
      expect([...m.keys()].sort()).toEqual(all.slice(0, 10));
      expect(m.get(fp(0))!.auditId).toBe(first.auditId);
      expect(m.get(fp(9))!.auditId).toBe(second.auditId);
    }
    const { rows } = await pool.query(
      'SELECT fingerprints FROM flow_sessions ORDER BY fingerprints DESC LIMIT 1',
    );
    expect(rows[0].fingerprints).toBe(10);
  });

  it('says a session is capped once its fingerprints reach the cap (PG, Redis copy, a fresh loader)', async () => {
    const prefix = `t-${randomUUID()}:`;
    const a = store({ redis: await ready(client()), prefix, cap: 5 });
    const s = session();
    const r = read('financial');
    const fp = (i: number) => `c${i.toString(16).padStart(15, '0')}`;
    await a.record(
      s,
      [r],
      Array.from({ length: 4 }, (_, i) => fpOf(r, fp(i))),
      600,
    );
    expect((await a.load(s)).fingerprintsCapped).toBeUndefined();
    await a.record(s, [], [fpOf(r, fp(4)), fpOf(r, fp(5))], 600);
    // The writer's Redis copy, PG alone, and a loader with an empty Redis (populated from PG) agree.
    expect((await a.load(s)).fingerprintsCapped).toBe(5);
    expect((await store({ prefix, cap: 5 }).load(s)).fingerprintsCapped).toBe(5);
    const other = store({ redis: await ready(client()), prefix: `t-${randomUUID()}:`, cap: 5 });
    expect((await other.load(s)).fingerprintsCapped).toBe(5);
    expect((await other.load(s)).fingerprintsCapped).toBe(5);
    // Another session is not.
    const fresh = session();
    await a.record(fresh, [read('financial')], [], 600);
    expect((await a.load(fresh)).fingerprintsCapped).toBeUndefined();
  });
});

describe('lastCall', () => {
  it("is load()'s last call, from one Redis field or one column, in every mode", async () => {
    const prefix = `t-${randomUUID()}:`;
    const withRedis = store({ redis: await ready(client()), prefix });
    const pgOnly = store({ prefix });
    const redisOnly = store({ pool: undefined, redis: await ready(client()), prefix: `t-${randomUUID()}:` });
    const memory = store({ pool: undefined, prefix: 'm-last:' });
    for (const st of [withRedis, pgOnly, redisOnly, memory]) {
      const s = session();
      expect(await st.lastCall(s)).toBeUndefined();
      await st.record(s, [read('financial')], [], 600);
      expect(await st.lastCall(s)).toBeUndefined();
      await st.setLast(s, 'database/run_query', 600);
      expect(await st.lastCall(s)).toBe('database/run_query');
      // After a load (Redis copy complete) and after another write: the same as load() says.
      expect((await st.load(s)).last).toBe('database/run_query');
      await st.setLast(s, 'communication/send_email', 600);
      expect(await st.lastCall(s)).toBe((await st.load(s)).last);
      expect(await st.lastCall(s)).toBe('communication/send_email');
    }
    // Another replica with an empty Redis: from PostgreSQL.
    const s = session();
    await withRedis.setLast(s, 'files/read_document', 600);
    const other = store({ redis: await ready(client()), prefix: `t-${randomUUID()}:` });
    expect(await other.lastCall(s)).toBe('files/read_document');
  });
});

describe('fingerprint key', () => {
  it('is one random key per fleet database, FLOW_FINGERPRINT_KEY when set', async () => {
    const a = store({ prefix: 'k1:' });
    const b = store({ redis: await ready(client()), prefix: 'k2:' });
    const ka = await a.fingerprintKey();
    expect(ka.length).toBe(32);
    expect(Buffer.from(await b.fingerprintKey()).equals(Buffer.from(ka))).toBe(true);
    const e = store({ prefix: 'k3:', envKey: 'shared-secret' });
    expect(Buffer.from(await e.fingerprintKey()).toString()).toBe('shared-secret');
  });
});

describe('without a fleet database', () => {
  it('Redis alone is shared between replicas and bounded the same way', async () => {
    const prefix = `t-${randomUUID()}:`;
    const a = store({ pool: undefined, redis: await ready(client()), prefix, cap: 3 });
    const b = store({ pool: undefined, redis: await ready(client()), prefix, cap: 3 });
    const s = session();
    const reads = Array.from({ length: 7 }, () => read('pii'));
    await a.record(
      s,
      reads.slice(0, 4),
      [fpOf(reads[0]!, 'a'.repeat(16)), fpOf(reads[0]!, 'b'.repeat(16))],
      600,
    );
    await b.record(
      s,
      reads.slice(4),
      [fpOf(reads[4]!, 'a'.repeat(16)), fpOf(reads[4]!, 'c'.repeat(16)), fpOf(reads[4]!, 'd'.repeat(16))],
      600,
    );
    await b.setLast(s, 'database/run_query', 600);
    const t = await a.load(s);
    expect(t.labels.get('pii')).toEqual(reads.slice(0, 5));
    expect(t.last).toBe('database/run_query');
    const m = await a.matchFingerprints(
      s,
      ['a', 'b', 'c', 'd'].map((x) => x.repeat(16)),
    );
    expect([...m.keys()].sort()).toEqual(['a', 'b', 'c'].map((x) => x.repeat(16)));
    expect(m.get('a'.repeat(16))!.auditId).toBe(reads[0]!.auditId);
    expect(Buffer.from(await a.fingerprintKey()).equals(Buffer.from(await b.fingerprintKey()))).toBe(true);
    // Three fingerprints: the cap. The session says so (to both replicas).
    expect((await b.load(s)).fingerprintsCapped).toBe(3);
    const under = session();
    await a.record(under, [read('pii')], [fpOf(reads[0]!, 'e'.repeat(16))], 600);
    expect((await b.load(under)).fingerprintsCapped).toBeUndefined();
  });

  it('in process without Redis either', async () => {
    const a = store({ pool: undefined, prefix: 'm:', cap: 2 });
    const s = session();
    const r = read('financial');
    await a.record(
      s,
      [r, read('untrusted')],
      [fpOf(r, '1'.repeat(16)), fpOf(r, '2'.repeat(16)), fpOf(r, '3'.repeat(16))],
      600,
    );
    await a.setLast(s, 'database/run_query', 600);
    const t = await a.load(s);
    expect(labelsOf(t)).toEqual(['financial', 'untrusted']);
    expect(t.last).toBe('database/run_query');
    expect(
      (
        await a.matchFingerprints(
          s,
          ['1', '2', '3'].map((x) => x.repeat(16)),
        )
      ).size,
    ).toBe(2);
    expect((await a.fingerprintKey()).length).toBe(32);
    expect(t.fingerprintsCapped).toBe(2);
    const brief = session();
    await a.record(brief, [read('pii')], [], 0.05);
    while (labelsOf(await a.load(brief)).length > 0) await sleep(20);
    expect(labelsOf(await a.load(s))).toEqual(['financial', 'untrusted']);
  });
});
