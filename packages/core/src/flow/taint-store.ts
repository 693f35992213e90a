// The session taint store: which labels a session's reads gave it (with the earliest reads that gave
// each), the fingerprints of the sensitive values those reads returned, and the session's last call.
//
// Where it lives, and why:
// - PostgreSQL (the fleet database) is the durable copy, always written when there is one. A
//   session's taint must survive a Redis restart or eviction: a forgotten "financial" read would
//   let the next external send through. record() resolves only after the PG commit, and rejects
//   when it fails (the governance step then withholds the read's result: data never reaches an
//   agent whose taint was not recorded).
// - Redis (when configured) is the shared fast path: load()/matchFingerprints() read it. A Redis
//   copy of a session only counts when it carries the `_complete` marker, which only a loader sets
//   after copying the session's PG rows in. Writers never set it. HSET merges fields, so a record
//   racing a load is never lost: the writer commits PG then HSETs its rows (creating the key
//   without a marker if it was missing); the loader SELECTs PG then HSETs the rows plus the marker.
//   Whatever the interleaving, the writer's fields end up in the hash (either its HSET lands after
//   the loader's, or before, and the loader's merges around it), and a hash without the marker is
//   never trusted (Redis restarted empty, a key evicted or expired, a writer's partial key).
// - A Redis write that fails (or is skipped because Redis is away) after PG committed leaves a
//   possibly complete-marked hash that lacks the new rows. The session goes into a process-local
//   "invalidate" set; this process reads PG for it, and DELs its Redis keys as soon as Redis
//   answers again (a retry timer and the client's 'ready' event), then once more after a settle
//   delay — a loader elsewhere may have SELECTed PG before our commit and HSET its marker after
//   our first DEL. Residual: a process that dies during a Redis partition before invalidating
//   leaves the stale complete hash until the key's TTL ends; other replicas trust it meanwhile
//   (they miss that one record's labels/fingerprints, never older ones). The same holds when Redis
//   itself loses an acknowledged write but keeps the marker: a failover to a replica that had not
//   yet received the writer's HSET (replication is asynchronous), or a restart between a writer's
//   HSET and a racing loader's. Both end with the key's TTL, or the next failed write's invalidation.
// - Without Redis, PG serves every read (the local fleet's servers share its embedded PostgreSQL).
//   Without PG but with Redis, Redis is the only copy (a Lua script bounds it the same way; the
//   session is lost when Redis restarts). Without either, in-process Maps (one process only; a log
//   line at start says so).
//
// Expiry is per session (`flow_sessions.expires_at`, and the Redis keys' TTL), extended by every
// write: an early sensitive read must not age out while the session goes on, and extending a row
// per label and per fingerprint (up to 50,000) on every call would rewrite them all each time. A
// write to a session whose expiry passed (not yet purged) first deletes its old rows, so an expired
// taint never comes back. purge() deletes expired sessions (their rows cascade).
//
// Bounds: the first 5 reads per label; at most FINGERPRINT_CAP fingerprints per session, the
// oldest kept (the first read that returned a value stays its origin). Past the cap a session's new
// fingerprints are not stored: copy detection no longer sees values read after that point (labels
// and flow rules still apply); a warning (no values) says so once per session and process, and load()
// says the session is capped (`fingerprintsCapped`, from the session row's count in PG, a `_capped`
// field of the Redis reads hash) so the flow step holds the sends copy detection applies to (an agent
// could otherwise fill the cap with junk reads first and then copy real rows unseen). A read whose
// result was cut before fingerprinting (fingerprints.ts readFingerprints: junk first in ONE result, R2a-5)
// marks the session capped the same way (record's `capped` option: the row's count set to the cap).
//
// Keys: `session` (core's sessionKey: JSON of [tenant, agent, user, sid]) is hashed (sha256); no
// identity reaches Redis or the tables in clear. Errors and logs carry no data values and no
// fingerprints.
import { createHash, randomBytes } from 'node:crypto';
import type pg from 'pg';
import type { Migration } from '../db/fleet-db.js';
import type { Logger } from '../observability/logger.js';
import type { Redis } from '../redis/redis-client.js';
import type { SessionTaint, TaintRead } from './engine.js';
import type { FlowFingerprint, FlowRecordOptions } from './flow-stores.js';

/** What a store logs when a session's fingerprints reach the cap. */
const CAP_REACHED =
  'flow taint store: a session reached its fingerprint cap: values it reads from now on are not checked for copies';

/** Logs that `dropped` fingerprints did not fit a session's cap (the Redis and in-memory stores). */
function warnCapReached(logger: Logger, cap: number, dropped: number): void {
  logger.warn({ cap, dropped }, CAP_REACHED);
}

// The shapes the flow step reads and writes are the engine's and the step's (engine.ts, flow-stores.ts):
// one declaration each, named here as the store speaks of them.
export type { SessionTaint, TaintRead };
/** One fingerprint of a value a sensitive read returned, with where it came from. */
export type StoredFingerprint = FlowFingerprint;

export interface TaintStore {
  /** The session's labels (each with up to 5 earliest reads that gave it) and its last call. */
  load(session: string): Promise<SessionTaint>;
  /** Shared and durable before it resolves (the agent gets the data only after). Rejects on failure. */
  record(
    session: string,
    reads: readonly TaintRead[],
    fingerprints: readonly StoredFingerprint[],
    ttlSeconds: number,
    opts?: RecordOptions,
  ): Promise<void>;
  /** The session's last call ("server/tool"), best effort. */
  setLast(session: string, last: string, ttlSeconds: number): Promise<void>;
  /**
   * Only the session's last call (what load() says of it), for a read's anomaly score: one Redis field
   * or one PostgreSQL column instead of every label and read.
   */
  lastCall(session: string): Promise<string | undefined>;
  /** Which of `fps` this session's sensitive reads returned (with where each came from). */
  matchFingerprints(session: string, fps: readonly string[]): Promise<ReadonlyMap<string, StoredFingerprint>>;
  /** The key fingerprints are computed with: FLOW_FINGERPRINT_KEY when set; else one random key
   *  created once in the fleet database (so every server and replica of a fleet agrees with no
   *  configuration); in-process random without a database. */
  fingerprintKey(): Promise<Uint8Array>;
  purge(): Promise<number>;
  close(): Promise<void>;
}

/** Options of a record (a read cut before fingerprinting marks the session capped: flow-stores.ts). */
export type RecordOptions = FlowRecordOptions;

export interface TaintStoreOptions {
  pool?: pg.Pool | undefined;
  redis?: Redis | undefined;
  keyPrefix: string;
  logger: Logger;
  envKey?: string | undefined;
  onError?: (op: string, err: unknown) => void;
  /** Fingerprints kept per session (default {@link FINGERPRINT_CAP}). */
  fingerprintCap?: number;
}

/** Reads kept per label and session: the earliest, to name in a finding's reason. */
export const READS_PER_LABEL = 5;
/** Fingerprints kept per session; past it a session's newer values are not fingerprinted. */
export const FINGERPRINT_CAP = 50_000;
/** After a failed Redis write, the second DEL of the session's keys follows the first by this. */
const INVALIDATE_SETTLE_MS = 5_000;
const INVALIDATE_RETRY_MS = 1_000;
/** A loaded session that has no rows yet is marked complete in Redis for this long. */
const EMPTY_SESSION_MS = 60_000;
const HSET_CHUNK = 1_000;

export const FLOW_SESSIONS_MIGRATION_SQL = `
  CREATE TABLE IF NOT EXISTS flow_sessions (
    session_hash text PRIMARY KEY,
    last text,
    fingerprints integer NOT NULL DEFAULT 0,
    expires_at timestamptz NOT NULL
  );
  CREATE INDEX IF NOT EXISTS flow_sessions_expires_idx ON flow_sessions (expires_at);
  CREATE TABLE IF NOT EXISTS flow_labels (
    session_hash text NOT NULL REFERENCES flow_sessions (session_hash) ON DELETE CASCADE,
    label text NOT NULL,
    server text NOT NULL,
    tool text NOT NULL,
    at text NOT NULL,
    audit_id text NOT NULL,
    source text,
    PRIMARY KEY (session_hash, label, audit_id)
  );
  CREATE TABLE IF NOT EXISTS flow_fingerprints (
    session_hash text NOT NULL REFERENCES flow_sessions (session_hash) ON DELETE CASCADE,
    fp text NOT NULL,
    label text NOT NULL,
    server text NOT NULL,
    tool text NOT NULL,
    at text NOT NULL,
    audit_id text NOT NULL,
    PRIMARY KEY (session_hash, fp)
  );
  CREATE TABLE IF NOT EXISTS flow_fingerprint_key (
    id smallint PRIMARY KEY CHECK (id = 1),
    key bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
  );
`;

/** The taint store's tables (a core migration). */
export const FLOW_MIGRATIONS: Migration[] = [
  { id: '0032_flow_sessions', sql: FLOW_SESSIONS_MIGRATION_SQL, core: true },
];

export function createTaintStore(o: TaintStoreOptions): TaintStore {
  const cap = o.fingerprintCap ?? FINGERPRINT_CAP;
  if (o.pool) return new PgTaintStore(o, o.pool, cap);
  if (o.redis) return new RedisOnlyTaintStore(o, o.redis, cap);
  o.logger.warn(
    'flow taint store: no fleet database and no Redis: session taint is kept in this process only (other servers and replicas do not see it; a restart forgets it)',
  );
  return new MemoryTaintStore(o, cap);
}

// ---------------------------------------------------------------------------------------------
// Shared helpers

const hashOf = (session: string) => createHash('sha256').update(session).digest('hex');

/** Redis keys of a session; the hash tag keeps both in one cluster slot (one script writes both). */
function keysOf(prefix: string, hash: string): { reads: string; fps: string } {
  return { reads: `${prefix}flow:{${hash}}:reads`, fps: `${prefix}flow:{${hash}}:fps` };
}

const COMPLETE = '_complete';
const LAST = '_last';
/** A field of the reads hash: the session's fingerprints reached the cap (its value: the cap). */
const CAPPED = '_capped';
const readField = (r: TaintRead) => `r:${r.label}:${r.auditId}`;
const fpField = (fp: string) => `f:${fp}`;

function readValue(r: TaintRead): string {
  const v: TaintRead = { label: r.label, server: r.server, tool: r.tool, at: r.at, auditId: r.auditId };
  if (r.source !== undefined) v.source = r.source;
  return JSON.stringify(v);
}

function fpValue(f: StoredFingerprint): string {
  return JSON.stringify([f.label, f.server, f.tool, f.at, f.auditId]);
}

function parseFp(fp: string, value: string): StoredFingerprint {
  const [label, server, tool, at, auditId] = JSON.parse(value) as string[];
  return { fp, label: label!, server: server!, tool: tool!, at: at!, auditId: auditId! };
}

/** Groups reads by label, each label's reads ordered by time and cut to the earliest five. */
function toTaint(reads: Iterable<TaintRead>, last: string | undefined): SessionTaint {
  const labels = new Map<string, TaintRead[]>();
  for (const r of reads) {
    const list = labels.get(r.label);
    if (list) list.push(r);
    else labels.set(r.label, [r]);
  }
  for (const [label, list] of labels) {
    list.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : a.auditId < b.auditId ? -1 : 1));
    labels.set(label, list.slice(0, READS_PER_LABEL));
  }
  return last === undefined ? { labels } : { labels, last };
}

/** A taint from a Redis hash of reads (fields r:*, _last, _capped). */
function taintOfHash(h: Record<string, string>): SessionTaint {
  const reads: TaintRead[] = [];
  for (const [field, value] of Object.entries(h))
    if (field.startsWith('r:')) reads.push(JSON.parse(value) as TaintRead);
  return capped(toTaint(reads, h[LAST]), h[CAPPED] === undefined ? undefined : Number(h[CAPPED]));
}

/** The taint, marked capped when `cap` is set. */
function capped(t: SessionTaint, cap: number | undefined): SessionTaint {
  if (cap !== undefined && Number.isFinite(cap)) t.fingerprintsCapped = cap;
  return t;
}

/** Several reads of one label from one call: the first is kept (the PK is label + audit id). */
function uniqueReads(reads: readonly TaintRead[]): TaintRead[] {
  const seen = new Set<string>();
  return reads.filter((r) => {
    const k = readField(r);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

function uniqueFps(fps: readonly StoredFingerprint[]): StoredFingerprint[] {
  const seen = new Set<string>();
  return fps.filter((f) => {
    if (seen.has(f.fp)) return false;
    seen.add(f.fp);
    return true;
  });
}

function checkTtl(ttlSeconds: number): void {
  if (!Number.isFinite(ttlSeconds) || ttlSeconds <= 0)
    throw new Error('flow taint store: ttlSeconds must be a positive number');
}

/** An error without the driver's text (which can quote values): the operation and its code only. */
function opaque(op: string, err: unknown): Error {
  const code = (err as { code?: unknown })?.code;
  return new Error(`flow taint store: ${op} failed${typeof code === 'string' ? ` (${code})` : ''}`, {
    cause: err,
  });
}

function envKeyBytes(envKey: string): Uint8Array {
  return new Uint8Array(Buffer.from(envKey, 'utf8'));
}

const redisUp = (r: Redis | undefined): r is Redis => r !== undefined && r.status === 'ready';

// Every write of more than one command runs as one Lua script (atomic, like MULTI), not as a MULTI:
// core's shared client auto-pipelines, and ioredis treats MULTI as outside auto-pipelining (a
// transaction is a pipeline of its own, written beside the tick's batch; see ioredis #1931, #1978).
// A script is one command and batches like any other; it also needs no Redis 7 (PEXPIREAT NX).

/** HSETs ARGV[from..to] (field, value pairs) into `key`, in chunks that Lua's unpack() accepts. */
const HSET_RANGE = `
local function hsetRange(key, from, to)
  local i = from
  while i <= to do
    local j = math.min(i + ${HSET_CHUNK * 2 - 1}, to)
    redis.call('HSET', key, unpack(ARGV, i, j))
    i = j + 1
  end
end
`;

/**
 * A writer's merge (record, setLast): HSETs the fields, sets the TTL of both keys. Never the marker.
 * KEYS: reads hash, fps hash. ARGV: ttl seconds, n (how many of the following ARGV go to the reads
 * hash), then field/value pairs: the first n into the reads hash, the rest into the fps hash.
 */
const WRITE_SCRIPT = `${HSET_RANGE}
local n = tonumber(ARGV[2])
hsetRange(KEYS[1], 3, 2 + n)
hsetRange(KEYS[2], 3 + n, #ARGV)
redis.call('EXPIRE', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[1])
return 1
`;

/**
 * A loader's copy of the session's PG rows: HSETs them (merging with any racing writer's fields),
 * then the `_complete` marker on both keys, then the session's expiry on a key that has none yet
 * (PEXPIREAT NX, spelt out so it needs no Redis 7: a writer's later expiry is never shortened).
 * KEYS: reads hash, fps hash. ARGV: expiry (unix ms), n, then pairs as in WRITE_SCRIPT.
 */
const POPULATE_SCRIPT = `${HSET_RANGE}
local n = tonumber(ARGV[2])
hsetRange(KEYS[1], 3, 2 + n)
hsetRange(KEYS[2], 3 + n, #ARGV)
redis.call('HSET', KEYS[1], '${COMPLETE}', '1')
redis.call('HSET', KEYS[2], '${COMPLETE}', '1')
for _, key in ipairs(KEYS) do
  if redis.call('PTTL', key) == -1 then redis.call('PEXPIREAT', key, ARGV[1]) end
end
return 1
`;

/** Runs WRITE_SCRIPT or POPULATE_SCRIPT: one command, atomic, safe on an auto-pipelining client. */
async function writeHashes(
  redis: Redis,
  script: string,
  k: { reads: string; fps: string },
  expiry: number,
  readArgs: readonly string[],
  fpArgs: readonly string[],
): Promise<void> {
  // One array (ioredis flattens it), not spread arguments: a loader's copy can hold 100,000 of them.
  const args = [k.reads, k.fps, String(expiry), String(readArgs.length)].concat(readArgs, fpArgs);
  await redis.eval(script, 2, args);
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL (durable), with Redis as the shared fast path when configured

interface Snapshot {
  reads: TaintRead[];
  fps: StoredFingerprint[];
  last: string | undefined;
  expiresAtMs: number;
  /** The session row's fingerprint count reached the cap. */
  capped: boolean;
}

const TOUCH_DELETE_EXPIRED = 'DELETE FROM flow_sessions WHERE session_hash = $1 AND expires_at <= now()';
const TOUCH_UPSERT = `
  INSERT INTO flow_sessions AS s (session_hash, expires_at) VALUES ($1, now() + make_interval(secs => $2))
  ON CONFLICT (session_hash) DO UPDATE SET expires_at = GREATEST(s.expires_at, EXCLUDED.expires_at)
  RETURNING fingerprints`;

class PgTaintStore implements TaintStore {
  readonly #o: TaintStoreOptions;
  readonly #pool: pg.Pool;
  readonly #redis: Redis | undefined;
  readonly #cap: number;
  /** Sessions (hashes) whose Redis copy may lack rows PG has: read PG, DEL the keys when Redis answers. */
  readonly #invalid = new Set<string>();
  #retry: NodeJS.Timeout | undefined;
  readonly #settle = new Set<NodeJS.Timeout>();
  readonly #capWarned = new Set<string>();
  #key: Promise<Uint8Array> | undefined;
  readonly #onReady = () => void this.#flushInvalid();
  #closed = false;

  constructor(o: TaintStoreOptions, pool: pg.Pool, cap: number) {
    this.#o = o;
    this.#pool = pool;
    this.#redis = o.redis;
    this.#cap = cap;
    this.#redis?.on('ready', this.#onReady);
    o.logger.info(
      { redis: Boolean(o.redis) },
      o.redis
        ? 'flow taint store: fleet database (durable) and Redis (shared reads)'
        : 'flow taint store: fleet database',
    );
  }

  #error(op: string, err: unknown): void {
    this.#o.onError?.(op, err);
    this.#o.logger.warn({ op, err: (err as Error)?.message }, 'flow taint store: operation failed');
  }

  /** Redis answers for this session (configured, connected, not awaiting invalidation). */
  #useRedis(hash: string): Redis | undefined {
    return redisUp(this.#redis) && !this.#invalid.has(hash) ? this.#redis : undefined;
  }

  async load(session: string): Promise<SessionTaint> {
    const hash = hashOf(session);
    const redis = this.#useRedis(hash);
    if (redis) {
      try {
        const h = await redis.hgetall(keysOf(this.#o.keyPrefix, hash).reads);
        if (h[COMPLETE] !== undefined) return taintOfHash(h);
      } catch (err) {
        this.#error('load_redis', err);
      }
    }
    const snap = await this.#snapshot(hash, redis !== undefined);
    return snap
      ? capped(toTaint(snap.reads, snap.last), snap.capped ? this.#cap : undefined)
      : { labels: new Map() };
  }

  async lastCall(session: string): Promise<string | undefined> {
    const hash = hashOf(session);
    const redis = this.#useRedis(hash);
    if (redis) {
      try {
        const [complete, last] = await redis.hmget(keysOf(this.#o.keyPrefix, hash).reads, COMPLETE, LAST);
        if (complete !== null && complete !== undefined) return last ?? undefined;
        // Not copied in yet: from PG, copying the session in (as load() does) so the next is one HMGET.
        return (await this.#snapshot(hash, true))?.last;
      } catch (err) {
        if ((err as Error)?.message?.startsWith('flow taint store:')) throw err;
        this.#error('last_redis', err);
      }
    }
    // Without Redis: one column of the session's row.
    try {
      const { rows } = await this.#pool.query<{ last: string | null }>(
        'SELECT last FROM flow_sessions WHERE session_hash = $1 AND expires_at > now()',
        [hash],
      );
      return rows[0]?.last ?? undefined;
    } catch (err) {
      throw opaque('lastCall', err);
    }
  }

  async matchFingerprints(
    session: string,
    fps: readonly string[],
  ): Promise<ReadonlyMap<string, StoredFingerprint>> {
    const out = new Map<string, StoredFingerprint>();
    const wanted = [...new Set(fps)];
    if (wanted.length === 0) return out;
    const hash = hashOf(session);
    const redis = this.#useRedis(hash);
    if (redis) {
      try {
        const key = keysOf(this.#o.keyPrefix, hash).fps;
        const values = await redis.hmget(key, COMPLETE, ...wanted.map(fpField));
        if (values[0] !== null && values[0] !== undefined) {
          wanted.forEach((fp, i) => {
            const v = values[i + 1];
            if (typeof v === 'string') out.set(fp, parseFp(fp, v));
          });
          return out;
        }
        // Incomplete: answer from PG and copy the session in for the next calls.
        const snap = await this.#snapshot(hash, true);
        const set = new Set(wanted);
        for (const f of snap?.fps ?? []) if (set.has(f.fp)) out.set(f.fp, f);
        return out;
      } catch (err) {
        this.#error('match_redis', err);
      }
    }
    let rows: { fp: string; label: string; server: string; tool: string; at: string; audit_id: string }[];
    try {
      ({ rows } = await this.#pool.query(
        `SELECT f.fp, f.label, f.server, f.tool, f.at, f.audit_id
         FROM flow_fingerprints f JOIN flow_sessions s ON s.session_hash = f.session_hash
         WHERE f.session_hash = $1 AND f.fp = ANY($2::text[]) AND s.expires_at > now()`,
        [hash, wanted],
      ));
    } catch (err) {
      throw opaque('matchFingerprints', err);
    }
    for (const r of rows)
      out.set(r.fp, {
        fp: r.fp,
        label: r.label,
        server: r.server,
        tool: r.tool,
        at: r.at,
        auditId: r.audit_id,
      });
    return out;
  }

  /**
   * The session's rows in PG (undefined: no live session). With `populate`, copies them into Redis
   * with the `_complete` marker (HSET merges with any writer's fields that raced us).
   */
  async #snapshot(hash: string, populate: boolean): Promise<Snapshot | undefined> {
    let snap: Snapshot | undefined;
    try {
      const s = await this.#pool.query<{ last: string | null; exp: string; fingerprints: number }>(
        `SELECT last, (extract(epoch FROM expires_at) * 1000)::bigint::text AS exp, fingerprints
         FROM flow_sessions WHERE session_hash = $1 AND expires_at > now()`,
        [hash],
      );
      const row = s.rows[0];
      if (row) {
        const [reads, fps] = await Promise.all([
          this.#pool.query<{
            label: string;
            server: string;
            tool: string;
            at: string;
            audit_id: string;
            source: string | null;
          }>('SELECT label, server, tool, at, audit_id, source FROM flow_labels WHERE session_hash = $1', [
            hash,
          ]),
          populate
            ? this.#pool.query<{
                fp: string;
                label: string;
                server: string;
                tool: string;
                at: string;
                audit_id: string;
              }>(
                'SELECT fp, label, server, tool, at, audit_id FROM flow_fingerprints WHERE session_hash = $1',
                [hash],
              )
            : Promise.resolve({ rows: [] }),
        ]);
        snap = {
          reads: reads.rows.map((r) => {
            const t: TaintRead = {
              label: r.label,
              server: r.server,
              tool: r.tool,
              at: r.at,
              auditId: r.audit_id,
            };
            if (r.source !== null) t.source = r.source;
            return t;
          }),
          fps: fps.rows.map((r) => ({
            fp: r.fp,
            label: r.label,
            server: r.server,
            tool: r.tool,
            at: r.at,
            auditId: r.audit_id,
          })),
          last: row.last ?? undefined,
          expiresAtMs: Number(row.exp),
          capped: row.fingerprints >= this.#cap,
        };
      }
    } catch (err) {
      throw opaque('load', err);
    }
    if (populate) await this.#populate(hash, snap);
    return snap;
  }

  async #populate(hash: string, snap: Snapshot | undefined): Promise<void> {
    const redis = this.#useRedis(hash);
    if (!redis) return;
    const k = keysOf(this.#o.keyPrefix, hash);
    const readArgs: string[] = [];
    const fpArgs: string[] = [];
    for (const r of snap?.reads ?? []) readArgs.push(readField(r), readValue(r));
    if (snap?.last !== undefined) readArgs.push(LAST, snap.last);
    if (snap?.capped) readArgs.push(CAPPED, String(this.#cap));
    for (const f of snap?.fps ?? []) fpArgs.push(fpField(f.fp), fpValue(f));
    // Only on a key without an expiry: a writer's later expiry (its TTL from now) is never shortened.
    const at = snap ? snap.expiresAtMs : Date.now() + EMPTY_SESSION_MS;
    try {
      await writeHashes(redis, POPULATE_SCRIPT, k, at, readArgs, fpArgs);
    } catch (err) {
      // Nothing is lost: the key stays without a marker (or with it, complete): reads still go to PG.
      this.#error('populate_redis', err);
    }
  }

  async record(
    session: string,
    reads: readonly TaintRead[],
    fingerprints: readonly StoredFingerprint[],
    ttlSeconds: number,
    opts?: RecordOptions,
  ): Promise<void> {
    checkTtl(ttlSeconds);
    const hash = hashOf(session);
    const rs = uniqueReads(reads);
    const fs = uniqueFps(fingerprints);
    // PG first, then Redis with exactly the rows PG kept (so the Redis copy is bounded like PG's and
    // equal to it: first 5 reads per label, the fingerprint cap, a fingerprint's first origin).
    // A failed PG write writes nothing to Redis and rejects.
    let kept: { reads: TaintRead[]; fps: StoredFingerprint[]; capped: number; full: boolean };
    try {
      kept = await this.#recordPg(hash, rs, fs, ttlSeconds, opts?.capped === true);
    } catch (err) {
      throw opaque('record', err);
    }
    if ((kept.capped > 0 || opts?.capped) && !this.#capWarned.has(hash)) {
      this.#capWarned.add(hash);
      this.#o.logger.warn(
        {
          session: hash.slice(0, 12),
          cap: this.#cap,
          dropped: kept.capped,
          resultCut: opts?.capped === true,
        },
        opts?.capped
          ? 'flow taint store: a read was cut before fingerprinting: the session is capped (its copy-checked sends are held)'
          : CAP_REACHED,
      );
    }
    if (!this.#redis) return;
    const redis = this.#useRedis(hash);
    if (!redis) {
      // Redis away (or this session already awaiting invalidation): its copy may lack these rows.
      this.#invalidate(hash);
      return;
    }
    const k = keysOf(this.#o.keyPrefix, hash);
    const readArgs = kept.reads.flatMap((r) => [readField(r), readValue(r)]);
    if (kept.full) readArgs.push(CAPPED, String(this.#cap));
    const fpArgs = kept.fps.flatMap((f) => [fpField(f.fp), fpValue(f)]);
    try {
      await writeHashes(redis, WRITE_SCRIPT, k, ttlSeconds, readArgs, fpArgs);
    } catch (err) {
      this.#error('record_redis', err);
      this.#invalidate(hash);
    }
  }

  async #recordPg(
    hash: string,
    reads: TaintRead[],
    fps: StoredFingerprint[],
    ttlSeconds: number,
    markCapped: boolean,
  ): Promise<{ reads: TaintRead[]; fps: StoredFingerprint[]; capped: number; full: boolean }> {
    const c = await this.#pool.connect();
    try {
      await c.query('BEGIN');
      try {
        // The upsert locks the session's row until COMMIT: records of one session run one at a
        // time, so the per-label count and the fingerprint count below are exact.
        await c.query(TOUCH_DELETE_EXPIRED, [hash]);
        const touched = await c.query<{ fingerprints: number }>(TOUCH_UPSERT, [hash, ttlSeconds]);
        let keptReads: TaintRead[] = [];
        if (reads.length > 0) {
          const counts = await c.query<{ label: string; n: string }>(
            'SELECT label, count(*)::text AS n FROM flow_labels WHERE session_hash = $1 AND label = ANY($2::text[]) GROUP BY label',
            [hash, [...new Set(reads.map((r) => r.label))]],
          );
          const have = new Map(counts.rows.map((r) => [r.label, Number(r.n)]));
          const candidates = [...reads]
            .sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0))
            .filter((r) => {
              const n = have.get(r.label) ?? 0;
              if (n >= READS_PER_LABEL) return false;
              have.set(r.label, n + 1);
              return true;
            });
          if (candidates.length > 0) {
            const ins = await c.query<{ label: string; audit_id: string }>(
              `INSERT INTO flow_labels (session_hash, label, server, tool, at, audit_id, source)
               SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])
               ON CONFLICT DO NOTHING RETURNING label, audit_id`,
              [
                hash,
                candidates.map((r) => r.label),
                candidates.map((r) => r.server),
                candidates.map((r) => r.tool),
                candidates.map((r) => r.at),
                candidates.map((r) => r.auditId),
                candidates.map((r) => r.source ?? null),
              ],
            );
            const inserted = new Set(ins.rows.map((r) => `${r.label}:${r.audit_id}`));
            keptReads = candidates.filter((r) => inserted.has(`${r.label}:${r.auditId}`));
          }
        }
        let keptFps: StoredFingerprint[] = [];
        let capped = 0;
        if (fps.length > 0) {
          const room = Math.max(0, this.#cap - (touched.rows[0]?.fingerprints ?? 0));
          const ins =
            room === 0
              ? { rows: [] as { fp: string }[] }
              : await c.query<{ fp: string }>(
                  `INSERT INTO flow_fingerprints (session_hash, fp, label, server, tool, at, audit_id)
                   SELECT $1, n.fp, n.label, n.server, n.tool, n.at, n.audit_id
                   FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])
                     WITH ORDINALITY AS n (fp, label, server, tool, at, audit_id, ord)
                   WHERE NOT EXISTS (SELECT 1 FROM flow_fingerprints f WHERE f.session_hash = $1 AND f.fp = n.fp)
                   ORDER BY n.ord LIMIT $8
                   ON CONFLICT DO NOTHING RETURNING fp`,
                  [
                    hash,
                    fps.map((f) => f.fp),
                    fps.map((f) => f.label),
                    fps.map((f) => f.server),
                    fps.map((f) => f.tool),
                    fps.map((f) => f.at),
                    fps.map((f) => f.auditId),
                    room,
                  ],
                );
          const inserted = new Set(ins.rows.map((r) => r.fp));
          keptFps = fps.filter((f) => inserted.has(f.fp));
          if (keptFps.length > 0)
            await c.query(
              'UPDATE flow_sessions SET fingerprints = fingerprints + $2 WHERE session_hash = $1',
              [hash, keptFps.length],
            );
          if (room - keptFps.length <= 0) {
            // Full: how many of this call's new values went unstored (an existing one is not "dropped").
            const known = await c.query<{ n: string }>(
              'SELECT count(*)::text AS n FROM flow_fingerprints WHERE session_hash = $1 AND fp = ANY($2::text[])',
              [hash, fps.map((f) => f.fp)],
            );
            capped = fps.length - Number(known.rows[0]?.n ?? 0);
          }
        }
        // A cut read (RecordOptions.capped): the row's count at the cap is what marks a session capped.
        if (markCapped)
          await c.query(
            'UPDATE flow_sessions SET fingerprints = GREATEST(fingerprints, $2) WHERE session_hash = $1',
            [hash, this.#cap],
          );
        await c.query('COMMIT');
        const full = markCapped || (touched.rows[0]?.fingerprints ?? 0) + keptFps.length >= this.#cap;
        return { reads: keptReads, fps: keptFps, capped, full };
      } catch (err) {
        await c.query('ROLLBACK').catch(() => {});
        throw err;
      }
    } finally {
      c.release();
    }
  }

  async setLast(session: string, last: string, ttlSeconds: number): Promise<void> {
    checkTtl(ttlSeconds);
    const hash = hashOf(session);
    try {
      const c = await this.#pool.connect();
      try {
        await c.query('BEGIN');
        try {
          await c.query(TOUCH_DELETE_EXPIRED, [hash]);
          await c.query(TOUCH_UPSERT, [hash, ttlSeconds]);
          await c.query('UPDATE flow_sessions SET last = $2 WHERE session_hash = $1', [hash, last]);
          await c.query('COMMIT');
        } catch (err) {
          await c.query('ROLLBACK').catch(() => {});
          throw err;
        }
      } finally {
        c.release();
      }
    } catch (err) {
      this.#error('setLast', opaque('setLast', err));
      return;
    }
    if (!this.#redis) return;
    const redis = this.#useRedis(hash);
    if (!redis) {
      this.#invalidate(hash);
      return;
    }
    const k = keysOf(this.#o.keyPrefix, hash);
    try {
      await writeHashes(redis, WRITE_SCRIPT, k, ttlSeconds, [LAST, last], []);
    } catch (err) {
      this.#error('setLast_redis', err);
      this.#invalidate(hash);
    }
  }

  #invalidate(hash: string): void {
    this.#invalid.add(hash);
    if (this.#retry || this.#closed) return;
    this.#retry = setInterval(() => void this.#flushInvalid(), INVALIDATE_RETRY_MS);
    this.#retry.unref();
    void this.#flushInvalid();
  }

  /** DELs the Redis keys of sessions whose Redis copy may be stale; again after a settle delay. */
  async #flushInvalid(): Promise<void> {
    const redis = this.#redis;
    if (!redisUp(redis) || this.#invalid.size === 0) return;
    for (const hash of [...this.#invalid]) {
      const k = keysOf(this.#o.keyPrefix, hash);
      try {
        await redis.del(k.reads, k.fps);
      } catch (err) {
        this.#error('invalidate_redis', err);
        return; // Redis away again: the timer retries
      }
      this.#invalid.delete(hash);
      if (this.#closed) continue;
      const t = setTimeout(() => {
        this.#settle.delete(t);
        if (redisUp(redis))
          redis.del(k.reads, k.fps).catch((err: unknown) => {
            this.#error('invalidate_redis', err);
            this.#invalidate(hash);
          });
        else this.#invalidate(hash);
      }, INVALIDATE_SETTLE_MS);
      t.unref();
      this.#settle.add(t);
    }
    if (this.#invalid.size === 0 && this.#retry) {
      clearInterval(this.#retry);
      this.#retry = undefined;
    }
  }

  fingerprintKey(): Promise<Uint8Array> {
    if (this.#o.envKey) return Promise.resolve(envKeyBytes(this.#o.envKey));
    this.#key ??= (async () => {
      // One random key per fleet database, created by whichever server asks first.
      await this.#pool.query(
        'INSERT INTO flow_fingerprint_key (id, key) VALUES (1, $1) ON CONFLICT (id) DO NOTHING',
        [randomBytes(32)],
      );
      const { rows } = await this.#pool.query<{ key: Buffer }>(
        'SELECT key FROM flow_fingerprint_key WHERE id = 1',
      );
      const key = rows[0]?.key;
      if (!key) throw new Error('flow taint store: the fleet fingerprint key is missing');
      return new Uint8Array(key);
    })().catch((err: unknown) => {
      this.#key = undefined; // ask again next time
      throw opaque('fingerprintKey', err);
    });
    return this.#key;
  }

  async purge(): Promise<number> {
    try {
      const r = await this.#pool.query('DELETE FROM flow_sessions WHERE expires_at <= now()');
      return r.rowCount ?? 0;
    } catch (err) {
      throw opaque('purge', err);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#redis?.off('ready', this.#onReady);
    await this.#flushInvalid().catch(() => {});
    if (this.#retry) clearInterval(this.#retry);
    this.#retry = undefined;
    for (const t of this.#settle) clearTimeout(t);
    this.#settle.clear();
    if (this.#invalid.size > 0)
      this.#o.logger.warn(
        { sessions: this.#invalid.size },
        'flow taint store: closing with Redis copies not yet invalidated (they lack rows the fleet database has until they expire)',
      );
  }
}

// ---------------------------------------------------------------------------------------------
// Redis only (no fleet database): Redis is the one copy, bounded by a script

/**
 * KEYS: reads hash, fps hash. ARGV: ttl, cap, perLabel, mark ('1': a cut read, RecordOptions.capped:
 * the session is capped after this call's fingerprints), nReads, then (label, field, value) per read,
 * nFps, then (field, value) per fingerprint. Counts live in the hashes (`n:<label>`, `_n`).
 * Returns the number of fingerprints not stored because the session was full.
 */
const RECORD_SCRIPT = `
local ttl = tonumber(ARGV[1]); local cap = tonumber(ARGV[2]); local per = tonumber(ARGV[3])
local i = 6
for _ = 1, tonumber(ARGV[5]) do
  local label, field, value = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  i = i + 3
  if redis.call('HEXISTS', KEYS[1], field) == 0 then
    local n = tonumber(redis.call('HGET', KEYS[1], 'n:' .. label) or '0')
    if n < per then
      redis.call('HSET', KEYS[1], field, value)
      redis.call('HINCRBY', KEYS[1], 'n:' .. label, 1)
    end
  end
end
local nfp = tonumber(ARGV[i]); i = i + 1
local dropped = 0
local count = tonumber(redis.call('HGET', KEYS[2], '_n') or '0')
for _ = 1, nfp do
  local field, value = ARGV[i], ARGV[i + 1]
  i = i + 2
  if redis.call('HEXISTS', KEYS[2], field) == 0 then
    if count < cap then
      redis.call('HSET', KEYS[2], field, value)
      count = count + 1
    else
      dropped = dropped + 1
    end
  end
end
if ARGV[4] == '1' and count < cap then count = cap end
redis.call('HSET', KEYS[2], '_n', count)
if count >= cap then redis.call('HSET', KEYS[1], '${CAPPED}', cap) end
redis.call('EXPIRE', KEYS[1], ttl)
redis.call('EXPIRE', KEYS[2], ttl)
return dropped
`;

class RedisOnlyTaintStore implements TaintStore {
  readonly #o: TaintStoreOptions;
  readonly #redis: Redis;
  readonly #cap: number;
  readonly #fallbackKey = randomBytes(32);
  #key: Promise<Uint8Array> | undefined;

  constructor(o: TaintStoreOptions, redis: Redis, cap: number) {
    this.#o = o;
    this.#redis = redis;
    this.#cap = cap;
    o.logger.warn(
      'flow taint store: Redis without a fleet database: session taint is shared but not durable (a Redis restart forgets it)',
    );
  }

  async load(session: string): Promise<SessionTaint> {
    try {
      return taintOfHash(await this.#redis.hgetall(keysOf(this.#o.keyPrefix, hashOf(session)).reads));
    } catch (err) {
      throw opaque('load', err);
    }
  }

  async lastCall(session: string): Promise<string | undefined> {
    try {
      return (await this.#redis.hget(keysOf(this.#o.keyPrefix, hashOf(session)).reads, LAST)) ?? undefined;
    } catch (err) {
      throw opaque('lastCall', err);
    }
  }

  async record(
    session: string,
    reads: readonly TaintRead[],
    fingerprints: readonly StoredFingerprint[],
    ttlSeconds: number,
    opts?: RecordOptions,
  ): Promise<void> {
    checkTtl(ttlSeconds);
    const k = keysOf(this.#o.keyPrefix, hashOf(session));
    const rs = uniqueReads(reads).sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
    const fs = uniqueFps(fingerprints);
    const args: string[] = [
      k.reads,
      k.fps,
      String(ttlSeconds),
      String(this.#cap),
      String(READS_PER_LABEL),
      opts?.capped ? '1' : '0',
    ];
    args.push(String(rs.length));
    for (const r of rs) args.push(r.label, readField(r), readValue(r));
    args.push(String(fs.length));
    for (const f of fs) args.push(fpField(f.fp), fpValue(f));
    let dropped: number;
    try {
      // One array (ioredis flattens it), not spread arguments: a call can return many values.
      dropped = Number(await this.#redis.eval(RECORD_SCRIPT, 2, args));
    } catch (err) {
      throw opaque('record', err);
    }
    if (dropped > 0) warnCapReached(this.#o.logger, this.#cap, dropped);
  }

  async setLast(session: string, last: string, ttlSeconds: number): Promise<void> {
    checkTtl(ttlSeconds);
    const k = keysOf(this.#o.keyPrefix, hashOf(session));
    try {
      // Both keys' TTL, as record() sets them: the session's fingerprints live as long as its labels.
      await writeHashes(this.#redis, WRITE_SCRIPT, k, ttlSeconds, [LAST, last], []);
    } catch (err) {
      this.#o.onError?.('setLast', err);
    }
  }

  async matchFingerprints(
    session: string,
    fps: readonly string[],
  ): Promise<ReadonlyMap<string, StoredFingerprint>> {
    const out = new Map<string, StoredFingerprint>();
    const wanted = [...new Set(fps)];
    if (wanted.length === 0) return out;
    let values: (string | null)[];
    try {
      values = await this.#redis.hmget(
        keysOf(this.#o.keyPrefix, hashOf(session)).fps,
        ...wanted.map(fpField),
      );
    } catch (err) {
      throw opaque('matchFingerprints', err);
    }
    wanted.forEach((fp, i) => {
      const v = values[i];
      if (typeof v === 'string') out.set(fp, parseFp(fp, v));
    });
    return out;
  }

  fingerprintKey(): Promise<Uint8Array> {
    if (this.#o.envKey) return Promise.resolve(envKeyBytes(this.#o.envKey));
    this.#key ??= (async () => {
      // One key per Redis: the first server sets it, every other one reads it.
      const name = `${this.#o.keyPrefix}flow:fingerprint-key`;
      await this.#redis.set(name, this.#fallbackKey.toString('base64'), 'NX');
      const stored = await this.#redis.get(name);
      if (!stored) throw new Error('flow taint store: the fleet fingerprint key is missing');
      return new Uint8Array(Buffer.from(stored, 'base64'));
    })().catch((err: unknown) => {
      this.#key = undefined;
      throw opaque('fingerprintKey', err);
    });
    return this.#key;
  }

  async purge(): Promise<number> {
    return 0; // Redis expires the keys itself
  }

  async close(): Promise<void> {}
}

// ---------------------------------------------------------------------------------------------
// In process (no fleet database, no Redis)

interface MemorySession {
  reads: Map<string, TaintRead[]>;
  fps: Map<string, StoredFingerprint>;
  last?: string;
  expiresAt: number;
  /** A cut read marked the session capped (RecordOptions.capped). */
  capped?: boolean;
}

class MemoryTaintStore implements TaintStore {
  readonly #o: TaintStoreOptions;
  readonly #cap: number;
  readonly #sessions = new Map<string, MemorySession>();
  readonly #key = randomBytes(32);

  constructor(o: TaintStoreOptions, cap: number) {
    this.#o = o;
    this.#cap = cap;
  }

  #live(hash: string): MemorySession | undefined {
    const s = this.#sessions.get(hash);
    if (s && s.expiresAt <= Date.now()) {
      this.#sessions.delete(hash);
      return undefined;
    }
    return s;
  }

  #touch(hash: string, ttlSeconds: number): MemorySession {
    let s = this.#live(hash);
    if (!s) {
      s = { reads: new Map(), fps: new Map(), expiresAt: 0 };
      this.#sessions.set(hash, s);
    }
    s.expiresAt = Math.max(s.expiresAt, Date.now() + ttlSeconds * 1000);
    return s;
  }

  async load(session: string): Promise<SessionTaint> {
    const s = this.#live(hashOf(session));
    if (!s) return { labels: new Map() };
    return capped(
      toTaint([...s.reads.values()].flat(), s.last),
      s.fps.size >= this.#cap || s.capped ? this.#cap : undefined,
    );
  }

  async record(
    session: string,
    reads: readonly TaintRead[],
    fingerprints: readonly StoredFingerprint[],
    ttlSeconds: number,
    opts?: RecordOptions,
  ): Promise<void> {
    checkTtl(ttlSeconds);
    const s = this.#touch(hashOf(session), ttlSeconds);
    for (const r of uniqueReads(reads).sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0))) {
      const list = s.reads.get(r.label) ?? [];
      if (list.length >= READS_PER_LABEL || list.some((x) => x.auditId === r.auditId)) continue;
      list.push({ ...r });
      s.reads.set(r.label, list);
    }
    let dropped = 0;
    for (const f of uniqueFps(fingerprints)) {
      if (s.fps.has(f.fp)) continue;
      if (s.fps.size >= this.#cap || s.capped) dropped++;
      else s.fps.set(f.fp, { ...f });
    }
    if (opts?.capped) s.capped = true;
    if (dropped > 0) warnCapReached(this.#o.logger, this.#cap, dropped);
  }

  async setLast(session: string, last: string, ttlSeconds: number): Promise<void> {
    checkTtl(ttlSeconds);
    this.#touch(hashOf(session), ttlSeconds).last = last;
  }

  async lastCall(session: string): Promise<string | undefined> {
    return this.#live(hashOf(session))?.last;
  }

  async matchFingerprints(
    session: string,
    fps: readonly string[],
  ): Promise<ReadonlyMap<string, StoredFingerprint>> {
    const out = new Map<string, StoredFingerprint>();
    const s = this.#live(hashOf(session));
    if (!s) return out;
    for (const fp of fps) {
      const f = s.fps.get(fp);
      if (f) out.set(fp, f);
    }
    return out;
  }

  async fingerprintKey(): Promise<Uint8Array> {
    return this.#o.envKey ? envKeyBytes(this.#o.envKey) : new Uint8Array(this.#key);
  }

  async purge(): Promise<number> {
    let n = 0;
    const now = Date.now();
    for (const [hash, s] of this.#sessions)
      if (s.expiresAt <= now) {
        this.#sessions.delete(hash);
        n++;
      }
    return n;
  }

  async close(): Promise<void> {
    this.#sessions.clear();
  }
}
