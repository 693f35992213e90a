// Audit retention: deletes a server's audit records older than the platform team's window for that
// server (AUDIT_RETENTION_DAYS: separate releases may keep different windows, so a server's job never
// touches another server's records), in bounded batches (each a short transaction: a huge table is
// never locked for long), under a PostgreSQL advisory lock of that server's name so one replica of
// each server runs it at a time, every AUDIT_RETENTION_INTERVAL_MS. Records newer than the window are never touched: the cutoff is fixed
// once per run by the database clock. What was shipped elsewhere (stdout lines in a SIEM) is not ours.
// Idempotency records and approvals have their own purge (governance/stores.ts housekeeping).
import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { Logger } from '../observability/logger.js';
import type { FleetMetrics } from '../observability/metrics.js';

/**
 * The advisory lock key of a purge of every server's records ("mcpar": mcp audit retention), distinct
 * from migrations'.
 */
export const AUDIT_RETENTION_LOCK_KEY = 0x6d63706172;

/**
 * The advisory lock key (a signed 64-bit integer, as a decimal string for `$1::bigint`) of a purge of
 * `server`'s records, or of every server's (`undefined`): one lock per server name, so one server's
 * run never holds up another's.
 */
export function auditRetentionLockKey(server: string | undefined): string {
  if (server === undefined) return String(AUDIT_RETENTION_LOCK_KEY);
  const digest = createHash('sha256').update(`mcp-fleet audit retention\0${server}`).digest();
  return BigInt.asIntN(64, digest.readBigUInt64BE(0)).toString();
}

/** The largest window: 100 years (AUDIT_RETENTION_DAYS and `fleet audit purge --older-than`). */
export const MAX_RETENTION_DAYS = 36_500;

/** Rows deleted per statement by default. */
export const DEFAULT_RETENTION_BATCH = 5_000;

/** Options of one purge run. */
export interface AuditPurgeOptions {
  /** Records whose `ts` is more than this many days before the database's now() are deleted (1..36500). */
  olderThanDays: number;
  /** Only this server's records (a server's own job); undefined: every server's (`fleet audit purge`). */
  server?: string | undefined;
  /** Rows per DELETE (default 5,000): each batch is its own short transaction. */
  batchSize?: number;
  /** Count what would go, delete nothing (still under the lock, so the count is not racing a run). */
  dryRun?: boolean;
  /** Called after each batch with the rows it deleted (metrics, progress). */
  onBatch?: (deleted: number) => void;
  /** Stop between batches (server shutdown); what was deleted so far stays deleted. */
  signal?: AbortSignal;
}

/** What one purge run did. */
export interface AuditPurgeResult {
  /** false: another process held the lock, nothing was done. */
  ran: boolean;
  /** Records deleted (or, in a dry run, that would be). */
  deleted: number;
  /** Records with `ts` before this instant (ISO 8601) were the run's targets. */
  cutoff: string | null;
  batches: number;
  dryRun: boolean;
  /** When the lock was taken and released (ms since epoch): runs never overlap. */
  startedAt: number;
  finishedAt: number;
}

/**
 * One purge run: takes the advisory lock without waiting (another process running it: `ran: false`),
 * fixes the cutoff, deletes older records batch by batch until none is left, releases the lock.
 */
export async function purgeAuditRecords(pool: pg.Pool, o: AuditPurgeOptions): Promise<AuditPurgeResult> {
  if (!Number.isInteger(o.olderThanDays) || o.olderThanDays < 1 || o.olderThanDays > MAX_RETENTION_DAYS)
    throw new RangeError(
      `olderThanDays must be a whole number of days from 1 to ${MAX_RETENTION_DAYS} (got ${o.olderThanDays})`,
    );
  if (o.server !== undefined && (typeof o.server !== 'string' || o.server === ''))
    throw new RangeError('server must be a server name');
  const server = o.server ?? null;
  const lockKey = auditRetentionLockKey(o.server);
  const batchSize = o.batchSize ?? DEFAULT_RETENTION_BATCH;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 100_000)
    throw new RangeError(`batchSize must be a whole number from 1 to 100000 (got ${batchSize})`);
  const dryRun = o.dryRun === true;
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    const lock = await client.query<{ locked: boolean }>(
      'SELECT pg_try_advisory_lock($1::bigint) AS locked',
      [lockKey],
    );
    const startedAt = Date.now();
    if (!lock.rows[0]?.locked)
      return { ran: false, deleted: 0, cutoff: null, batches: 0, dryRun, startedAt, finishedAt: startedAt };
    try {
      const c = await client.query<{ cutoff: Date }>(
        `SELECT now() - make_interval(days => $1::int) AS cutoff`,
        [o.olderThanDays],
      );
      const cutoff = c.rows[0]!.cutoff;
      let deleted = 0;
      let batches = 0;
      if (dryRun) {
        const n = await client.query<{ n: string }>(
          'SELECT count(*) AS n FROM audit_records WHERE ts < $1 AND ($2::text IS NULL OR server = $2)',
          [cutoff, server],
        );
        deleted = Number(n.rows[0]?.n ?? 0);
      } else {
        for (;;) {
          if (o.signal?.aborted) break;
          // The oldest first, through the ts index; SKIP LOCKED: a row some other statement holds is
          // left for the next run rather than waited for.
          const r = await client.query(
            `DELETE FROM audit_records WHERE id IN (
               SELECT id FROM audit_records WHERE ts < $1 AND ($3::text IS NULL OR server = $3)
                ORDER BY ts LIMIT $2 FOR UPDATE SKIP LOCKED)`,
            [cutoff, batchSize, server],
          );
          const n = r.rowCount ?? 0;
          if (n === 0) break;
          batches += 1;
          deleted += n;
          o.onBatch?.(n);
          if (n < batchSize) break;
        }
      }
      const finishedAt = Date.now();
      return { ran: true, deleted, cutoff: cutoff.toISOString(), batches, dryRun, startedAt, finishedAt };
    } finally {
      await client.query('SELECT pg_advisory_unlock($1::bigint)', [lockKey]);
    }
  } catch (err) {
    // A connection that failed mid-run is destroyed (its session lock goes with it), not reused.
    broken = err as Error;
    throw err;
  } finally {
    client.release(broken);
  }
}

/** Options of the periodic job. */
export interface AuditRetentionOptions {
  pool: pg.Pool;
  /** The server whose records the job deletes (never another server's). */
  server: string;
  retentionDays: number;
  intervalMs: number;
  logger: Logger;
  metrics: Pick<FleetMetrics, 'auditRetentionDeleted' | 'auditRetentionRuns' | 'auditRetentionLastSuccess'>;
  batchSize?: number;
}

/** The periodic retention job of one server process (server.ts starts it when retentionDays is set). */
export class AuditRetention {
  readonly #o: AuditRetentionOptions;
  readonly #stop = new AbortController();
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<AuditPurgeResult | undefined> | undefined;

  constructor(o: AuditRetentionOptions) {
    this.#o = o;
  }

  /** Runs once now, then every `intervalMs`. */
  start(): this {
    void this.runOnce();
    this.#timer = setInterval(() => void this.runOnce(), this.#o.intervalMs);
    this.#timer.unref();
    return this;
  }

  /**
   * One run (a run already in progress in this process is joined, not doubled). Never throws: a
   * failure is logged and counted (`mcp_audit_retention_runs_total{result="failed"}`).
   */
  runOnce(): Promise<AuditPurgeResult | undefined> {
    this.#running ??= this.#run().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #run(): Promise<AuditPurgeResult | undefined> {
    const { pool, logger, metrics, retentionDays, server } = this.#o;
    if (this.#stop.signal.aborted) return undefined;
    try {
      const r = await purgeAuditRecords(pool, {
        olderThanDays: retentionDays,
        server,
        ...(this.#o.batchSize ? { batchSize: this.#o.batchSize } : {}),
        signal: this.#stop.signal,
        onBatch: (n) => metrics.auditRetentionDeleted.inc(n),
      });
      if (!r.ran) {
        metrics.auditRetentionRuns.inc({ result: 'skipped' });
        logger.debug('audit retention: another replica holds the lock; skipped');
        return r;
      }
      metrics.auditRetentionRuns.inc({ result: 'ok' });
      metrics.auditRetentionLastSuccess.set(r.finishedAt / 1000);
      logger.info(
        {
          deleted: r.deleted,
          cutoff: r.cutoff,
          batches: r.batches,
          retentionDays,
          server,
          ms: r.finishedAt - r.startedAt,
        },
        `audit retention: deleted ${r.deleted} ${server} audit records older than ${retentionDays} days`,
      );
      return r;
    } catch (err) {
      metrics.auditRetentionRuns.inc({ result: 'failed' });
      logger.warn({ err: (err as Error).message, retentionDays }, 'audit retention run failed');
      return undefined;
    }
  }

  /** Stops the timer and waits for a run in progress (it stops between batches). */
  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#stop.abort();
    await this.#running;
  }
}

/**
 * Starts `server`'s retention job (its own records only) when there is a fleet database and
 * AUDIT_RETENTION_DAYS is set (server.ts).
 */
export function startAuditRetention(
  pool: pg.Pool | undefined,
  server: string,
  config: { audit: { retentionDays: number | undefined; retentionIntervalMs: number } },
  logger: Logger,
  metrics: AuditRetentionOptions['metrics'],
): AuditRetention | undefined {
  const days = config.audit.retentionDays;
  if (!pool || days === undefined) return undefined;
  return new AuditRetention({
    pool,
    server,
    retentionDays: days,
    intervalMs: config.audit.retentionIntervalMs,
    logger,
    metrics,
  }).start();
}
