// Writes audit records: a JSON line to stdout at once, and durably to PostgreSQL in batches.
// A mutating call's record is stored *before* it runs ("no audit, no mutation").
import type pg from 'pg';
import pino from 'pino';
import { FleetError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import type { FleetMetrics } from '../observability/metrics.js';
import { stdioWritable } from '../observability/stdio.js';
import { untraced } from '../observability/tracing.js';
import { type AuditRecord, auditJson } from './audit-record.js';

// Each record goes to PostgreSQL as the same JSON text that goes to stdout: a batch is one json
// parameter expanded by json_to_recordset, instead of 20 bound parameters per record. The statement
// text is constant, and the JSON line is built once per call. Measured on PostgreSQL 15 with the
// three audit indexes (200-row batches): ~20 µs of backend CPU per row, against ~25 µs for the
// 20-parameter VALUES form and for jsonb_to_recordset (which builds a jsonb of the whole batch first).
const FIELDS: readonly (readonly [column: string, key: keyof AuditRecord, type: string])[] = [
  ['id', 'id', 'uuid'],
  ['ts', 'ts', 'timestamptz'],
  ['server', 'server', 'text'],
  ['request_id', 'requestId', 'text'],
  ['method', 'method', 'text'],
  ['tool', 'tool', 'text'],
  ['agent_id', 'agentId', 'text'],
  ['agent_session', 'agentSession', 'text'],
  ['user_invoker', 'userInvoker', 'text'],
  ['tenant', 'tenant', 'text'],
  ['roles', 'roles', 'text[]'],
  ['arguments', 'arguments', 'jsonb'],
  ['decision', 'decision', 'text'],
  ['decision_reason', 'decisionReason', 'text'],
  ['outcome', 'outcome', 'text'],
  ['result_summary', 'resultSummary', 'text'],
  ['duration_ms', 'durationMs', 'double precision'],
  ['policy_version', 'policyVersion', 'text'],
  ['protocol_version', 'protocolVersion', 'text'],
  ['details', 'details', 'jsonb'],
  ['args_hash', 'argsHash', 'text'],
  ['trace_id', 'traceId', 'text'],
];

const UPSERT_SQL = `INSERT INTO audit_records (${FIELDS.map(([c]) => c).join(',')})
  SELECT ${FIELDS.map(([c, k]) => (c === 'roles' ? `coalesce(r."${k}", '{}')` : `r."${k}"`)).join(',')}
  FROM json_to_recordset($1::json) AS r(${FIELDS.map(([, k, t]) => `"${k}" ${t}`).join(',')})
  ON CONFLICT (id) DO UPDATE SET ${[
    'outcome',
    'result_summary',
    'duration_ms',
    'details',
    'decision',
    'decision_reason',
  ]
    .map((c) => `${c} = EXCLUDED.${c}`)
    .join(', ')}`;

/**
 * A queued record: its JSON text (built once, for stdout and for PostgreSQL) and what a log line
 * about it needs. Not the record object itself, which would otherwise survive young-generation
 * collections for the whole flush interval.
 */
interface Queued {
  json: string;
  auditId: string;
  requestId: string;
  seq: number;
}

/**
 * Records waiting for PostgreSQL, oldest first. Array.shift() on a full queue (50,000 records while
 * PostgreSQL is away) cost ~120 µs per call here; this drops from the front in O(1) (amortised).
 */
class AuditQueue {
  #items: (Queued | undefined)[] = [];
  #head = 0;
  #chars = 0;

  get length(): number {
    return this.#items.length - this.#head;
  }

  /** The size of the queued records' JSON text (characters: about bytes, records being mostly ASCII). */
  get chars(): number {
    return this.#chars;
  }

  push(item: Queued): void {
    this.#items.push(item);
    this.#chars += item.json.length;
  }

  /** The sequence number of the oldest queued record (undefined when empty). */
  get headSeq(): number | undefined {
    return this.#items[this.#head]?.seq;
  }

  /** The oldest `n` records, still queued. */
  front(n: number): Queued[] {
    return this.#items.slice(this.#head, this.#head + n) as Queued[];
  }

  /** Drops the oldest record. */
  dropOldest(): void {
    if (this.length > 0) {
      this.#chars -= this.#items[this.#head]!.json.length;
      this.#items[this.#head++] = undefined;
    }
    this.#compact();
  }

  /**
   * Removes every record up to and including `seq` (written, or refused for good). By sequence, not
   * count: while a write was in flight a full queue may have dropped some of them already.
   */
  removeThrough(seq: number): void {
    while (this.length > 0 && this.#items[this.#head]!.seq <= seq) {
      this.#chars -= this.#items[this.#head]!.json.length;
      this.#items[this.#head++] = undefined;
    }
    this.#compact();
  }

  #compact(): void {
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
  }
}

function batchParam(items: readonly Queued[]): string {
  let text = '[';
  for (let i = 0; i < items.length; i++) text += (i ? ',' : '') + items[i]!.json;
  return `${text}]`;
}

/** SQLSTATE classes 22 (data exception) and 23 (integrity): the record itself is at fault, not the link. */
function isDataError(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' && (code.startsWith('22') || code.startsWith('23'));
}

/** Options for {@link AuditLog}. */
export interface AuditLogOptions {
  pool: pg.Pool | undefined;
  logger: Logger;
  metrics: FleetMetrics;
  stdout: boolean;
  flushMs: number;
  queueMax: number;
  /**
   * The most JSON text (about bytes) the batched queue holds; past it the oldest batched records are
   * dropped (counted in mcp_audit_dropped_total, still on stdout). Default 64 MiB. Durable records
   * (recordDurable) are in their own lane and never dropped for room.
   */
  queueMaxBytes?: number;
  /** Where JSON lines go instead of process.stdout (called at once, a line per record). */
  write?: (line: string) => void;
  /**
   * How long {@link AuditLog.recordDurable} waits for PostgreSQL to commit a record before the
   * caller answers anyway (the record stays queued, and on stdout). Default 2000 ms.
   */
  durableWaitMs?: number;
  /**
   * How long {@link AuditLog.persistBeforeMutation} may take (a connection, then the write, bounded
   * in PostgreSQL by statement_timeout) before the mutation is refused as audit-unavailable. Default 3000 ms.
   */
  persistTimeoutMs?: number;
}

/** A record in the durable lane and the caller waiting for it (until its bounded wait is over). */
interface Durable {
  item: Queued;
  resolve: ((stored: boolean) => void) | undefined;
}

const BATCH = 200;

// Logs with stdout lines not yet written; a process that exits before the end of the turn writes them.
const unflushed = new Set<AuditLog>();
process.once('exit', () => {
  for (const log of unflushed) log.flushLines();
});

/**
 * Audit lines to fd 1, written synchronously (pino's SonicBoom destination, sync: it retries EAGAIN on
 * a full non-blocking pipe): a slow reader slows the writer instead of queueing megabytes in memory
 * that a SIGKILL, an OOM kill or process.exit would lose (issue 16, R2-2). pino's own log lines go
 * to fd 1 the same way, so whole writes of both never interleave. Once a write fails otherwise
 * (EPIPE: the reader is gone) stdout is not written to again; the records still go to PostgreSQL.
 */
let stdoutSink: ReturnType<typeof pino.destination> | undefined;
let stdoutBroken = false;

function writeStdout(text: string, logger: Logger): void {
  if (stdoutBroken || !stdioWritable('stdout')) return;
  try {
    if (!stdoutSink) {
      stdoutSink = pino.destination({ fd: 1, sync: true });
      stdoutSink.on('error', (err: Error) => {
        if (stdoutBroken) return;
        stdoutBroken = true;
        logger.warn({ err: err.message }, 'audit lines can no longer be written to stdout');
      });
    }
    stdoutSink.write(text);
  } catch (err) {
    stdoutBroken = true;
    logger.warn({ err: (err as Error).message }, 'audit lines could not be written to stdout');
  }
}

/** The audit sink of one server process. */
export class AuditLog {
  readonly #opts: AuditLogOptions;
  readonly #queue = new AuditQueue();
  #seq = 0;
  #lines = '';
  #linesScheduled = false;
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> | undefined;
  #backoffUntil = 0;
  #closed = false;
  /**
   * Mutations whose `started` record was stored and whose final record is not yet recorded: the calls
   * a stop must not cut short (they may have reached their upstream).
   */
  readonly openMutations = new Set<string>();
  /**
   * The durable lane (issue 16, R2-1): records a caller waits for, written on their own connection
   * ahead of (and beside) the batched backlog, which they must not wait behind.
   */
  #durable: Durable[] = [];
  #durableWriting: Promise<void> | undefined;

  constructor(opts: AuditLogOptions) {
    this.#opts = opts;
  }

  /** Records waiting for PostgreSQL. */
  get pending(): number {
    return this.#queue.length + this.#durable.length;
  }

  /**
   * Stores a record synchronously before a mutation runs. Throws FLEET_ERR_AUDIT_UNAVAILABLE when it
   * cannot, and the caller must then not execute the mutation.
   */
  async persistBeforeMutation(record: AuditRecord): Promise<void> {
    const pool = this.#opts.pool;
    if (!pool) {
      throw new FleetError('FLEET_ERR_AUDIT_UNAVAILABLE', 'no audit store is configured (DATABASE_URL)', {
        statusCode: 503,
      });
    }
    try {
      await this.#persistBounded(pool, `[${auditJson(record)}]`, this.#opts.persistTimeoutMs ?? 3_000);
      this.openMutations.add(record.id);
      // PostgreSQL just took a write: records waiting out a backoff need not wait any longer.
      this.#backoffUntil = 0;
    } catch (err) {
      this.#opts.metrics.auditWriteFailures.inc();
      throw new FleetError('FLEET_ERR_AUDIT_UNAVAILABLE', 'audit store unavailable', {
        statusCode: 503,
        cause: err,
      });
    }
  }

  /**
   * One record written within `ms` or not at all (issue 16, R2-5: with the table locked the write
   * waited as long as the lock, and the call with it). The connection is waited for up to the
   * deadline; the write runs in a transaction with a statement_timeout of what is left, so that
   * PostgreSQL itself stops it (and nothing of it commits); a client-side timeout a second later
   * catches a server that answers nothing at all, and that connection is discarded.
   */
  async #persistBounded(pool: pg.Pool, param: string, ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    let timer: NodeJS.Timeout | undefined;
    const connecting = pool.connect();
    const client = await Promise.race([
      connecting,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          // Given up on: the connection, when it comes, goes back to the pool unused.
          connecting.then(
            (c) => c.release(),
            () => undefined,
          );
          reject(new Error(`no audit store connection within ${ms} ms`));
        }, ms);
      }),
    ]).finally(() => clearTimeout(timer));
    let broken: Error | undefined;
    try {
      const left = Math.max(1, deadline - Date.now());
      // query_timeout: node-postgres reads it from a query's config (its types do not declare it).
      const q = (text: string, values?: unknown[]): Promise<unknown> =>
        client.query({ text, ...(values ? { values } : {}), query_timeout: left + 1_000 } as pg.QueryConfig);
      await q('BEGIN');
      try {
        await q(`SET LOCAL statement_timeout = ${Math.floor(left)}`);
        await q(UPSERT_SQL, [param]);
        await q('COMMIT');
      } catch (err) {
        await q('ROLLBACK').catch((e: Error) => {
          broken = e;
        });
        throw err;
      }
    } catch (err) {
      broken ??= err as Error;
      throw err;
    } finally {
      // A connection that failed in the middle may still be busy: discard it rather than reuse it.
      client.release(broken);
    }
  }

  /**
   * Records a finished call: stdout by the end of this event-loop turn (the lines of one turn go out
   * in one write), or `write` at once; PostgreSQL in the next batch. Never throws.
   */
  record(record: AuditRecord): void {
    this.#settled(record);
    this.#enqueue(record);
  }

  /** A final record of a mutation ends its open state (see {@link AuditLog.openMutations}). */
  #settled(record: AuditRecord): void {
    if (record.outcome !== 'started') this.openMutations.delete(record.id);
  }

  /**
   * Records a call whose answer must not go out before its record is durable: the final record of a
   * mutating call that may have reached its upstream. The stdout line is written now, and the
   * record's batch is written to PostgreSQL at once instead of at the next flush interval (group
   * commit: callers waiting meanwhile share the next batch).
   * Resolves true once the record is committed. Bounded: while PostgreSQL is known to be away
   * (backing off after a failed write) it resolves false at once, and when PostgreSQL does not take
   * the batch within `durableWaitMs` it resolves false then, so that the answer still goes out; the
   * record stays queued (retried like any other) and is on stdout already (AUDIT_STDOUT). Mutations
   * are refused anyway while their record cannot be stored before they run. Never rejects.
   */
  recordDurable(record: AuditRecord): Promise<boolean> {
    this.#settled(record);
    if (!this.#opts.pool || this.#closed || Date.now() < this.#backoffUntil) {
      this.#enqueue(record);
      this.flushLines();
      return Promise.resolve(false);
    }
    const json = this.#line(record);
    this.flushLines();
    return new Promise<boolean>((resolve) => {
      const timer = untraced(() =>
        setTimeout(() => {
          // Answered anyway; the record stays in the lane and is written when PostgreSQL takes it.
          entry.resolve = undefined;
          resolve(false);
        }, this.#opts.durableWaitMs ?? 2_000),
      );
      const entry: Durable = {
        item: { json, auditId: record.id, requestId: record.requestId, seq: ++this.#seq },
        resolve: (stored) => {
          clearTimeout(timer);
          resolve(stored);
        },
      };
      this.#durable.push(entry);
      this.#opts.metrics.auditQueue.set(this.pending);
      // A write in progress takes it in its next batch; otherwise one starts now. Either way the
      // callers of a moment share one batch (group commit). Outside the caller's trace: the batch
      // may carry other calls' records too.
      if (!this.#durableWriting) void untraced(() => this.#flushDurable());
    });
  }

  #flushDurable(): Promise<void> {
    if (this.#durableWriting) return this.#durableWriting;
    this.#durableWriting = this.#drainDurable().finally(() => {
      this.#durableWriting = undefined;
    });
    return this.#durableWriting;
  }

  async #drainDurable(): Promise<void> {
    const pool = this.#opts.pool!;
    while (this.#durable.length > 0) {
      const batch = this.#durable.slice(0, BATCH);
      let stored: boolean[];
      try {
        await pool.query(UPSERT_SQL, [batchParam(batch.map((d) => d.item))]);
        stored = batch.map(() => true);
        this.#backoffUntil = 0;
      } catch (err) {
        this.#opts.metrics.auditWriteFailures.inc();
        const one = isDataError(err)
          ? await this.#isolate(
              pool,
              batch.map((d) => d.item),
            )
          : undefined;
        if (one) stored = one;
        else {
          this.#opts.logger.warn(
            { err: (err as Error).message, pending: this.pending },
            'audit write failed; will retry',
          );
          this.#backoffUntil = Date.now() + 1_000;
          // PostgreSQL is away: the callers answer now, and their records join the batched queue
          // (retried with it, and never dropped before it: they are its newest).
          this.#durable.splice(0, batch.length);
          for (const d of batch) {
            this.#push(d.item);
            d.resolve?.(false);
          }
          if (!this.#closed) this.#schedule(1_000);
          continue;
        }
      }
      this.#durable.splice(0, batch.length);
      this.#opts.metrics.auditQueue.set(this.pending);
      for (const [i, d] of batch.entries()) d.resolve?.(stored[i]!);
    }
  }

  /** The record's JSON text, its stdout line written (by the end of this turn, or `write` at once). */
  #line(record: AuditRecord): string {
    const json = auditJson(record);
    if (this.#opts.stdout) {
      const line = `{"audit":true,${json.slice(1)}\n`;
      if (this.#opts.write) this.#opts.write(line);
      else {
        // One write(2) per event-loop turn for all of that turn's records, not one per call.
        this.#lines += line;
        if (!this.#linesScheduled) {
          this.#linesScheduled = true;
          unflushed.add(this);
          setImmediate(() => this.flushLines());
        }
      }
    }
    return json;
  }

  /**
   * Adds to the batched queue, dropping its oldest records first while it is full, in records or in
   * bytes (each dropped record was on stdout already; counted).
   */
  #push(item: Queued): void {
    const maxChars = this.#opts.queueMaxBytes ?? 64 * 1024 * 1024;
    while (
      this.#queue.length > 0 &&
      (this.#queue.length >= this.#opts.queueMax || this.#queue.chars + item.json.length > maxChars)
    ) {
      this.#queue.dropOldest();
      this.#opts.metrics.auditDropped.inc();
    }
    this.#queue.push(item);
    this.#opts.metrics.auditQueue.set(this.pending);
    if (!this.#closed) this.#schedule(this.#opts.flushMs);
  }

  /** Queues a record for the next batch (and writes its stdout line). */
  #enqueue(record: AuditRecord): void {
    if (!this.#opts.stdout && !this.#opts.pool) return;
    const json = this.#line(record);
    if (!this.#opts.pool) return;
    this.#push({ json, auditId: record.id, requestId: record.requestId, seq: ++this.#seq });
  }

  /** Writes the stdout lines waiting for the end of this turn (also run on process exit). */
  flushLines(): void {
    this.#linesScheduled = false;
    unflushed.delete(this);
    const lines = this.#lines;
    if (!lines) return;
    this.#lines = '';
    writeStdout(lines, this.#opts.logger);
  }

  /** Writes queued records now. Failed batches stay queued and are retried with backoff. */
  flush(): Promise<void> {
    const durable = this.#durable.length && this.#opts.pool ? this.#flushDurable() : undefined;
    if (durable) return Promise.all([durable, this.#flushBatched()]).then(() => undefined);
    return this.#flushBatched();
  }

  #flushBatched(): Promise<void> {
    if (this.#flushing) return this.#flushing;
    this.#flushing = this.#drain().finally(() => {
      this.#flushing = undefined;
    });
    return this.#flushing;
  }

  async #drain(): Promise<void> {
    const pool = this.#opts.pool;
    if (!pool) return;
    while (this.#queue.length > 0) {
      if (Date.now() < this.#backoffUntil && !this.#closed) {
        this.#schedule(this.#backoffUntil - Date.now());
        return;
      }
      const batch = this.#queue.front(BATCH);
      try {
        await pool.query(UPSERT_SQL, [batchParam(batch)]);
        this.#queue.removeThrough(batch.at(-1)!.seq);
        this.#opts.metrics.auditQueue.set(this.pending);
        this.#backoffUntil = 0;
      } catch (err) {
        this.#opts.metrics.auditWriteFailures.inc();
        if (isDataError(err)) {
          // One record PostgreSQL refuses must not hold back every record behind it.
          if (await this.#isolate(pool, batch)) {
            this.#queue.removeThrough(batch.at(-1)!.seq);
            this.#opts.metrics.auditQueue.set(this.pending);
            continue;
          }
        }
        this.#opts.logger.warn(
          { err: (err as Error).message, pending: this.#queue.length },
          'audit write failed; will retry',
        );
        this.#backoffUntil = Date.now() + 1_000;
        if (this.#closed) return;
        this.#schedule(1_000);
        return;
      }
    }
  }

  /**
   * Writes a refused batch one record at a time and drops only the records PostgreSQL rejects as
   * data (they already went to stdout, and the drop is logged and counted). Returns which were
   * stored, or undefined when a write fails for another reason (connection lost): the batch stays
   * for the retry (its records are written again: the write is an upsert).
   */
  async #isolate(pool: pg.Pool, batch: Queued[]): Promise<boolean[] | undefined> {
    const stored: boolean[] = [];
    for (const item of batch) {
      try {
        await pool.query(UPSERT_SQL, [batchParam([item])]);
        stored.push(true);
      } catch (err) {
        if (!isDataError(err)) return undefined;
        this.#opts.metrics.auditDropped.inc();
        stored.push(false);
        this.#opts.logger.error(
          { err: (err as Error).message, auditId: item.auditId, requestId: item.requestId },
          'audit record refused by PostgreSQL; kept on stdout only',
        );
      }
    }
    return stored;
  }

  /** Flushes in `ms` unless a flush is already scheduled. */
  #schedule(ms: number): void {
    if (this.#timer) return;
    // A batch belongs to no one call: its timer does not carry the context of the call that set it.
    this.#timer = untraced(() =>
      setTimeout(() => {
        this.#timer = undefined;
        void this.flush();
      }, ms),
    );
    this.#timer.unref();
  }

  /** Flushes what it can and stops the timer (SIGTERM path). */
  async close(): Promise<void> {
    this.flushLines();
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#backoffUntil = 0;
    await this.flush();
  }
}
