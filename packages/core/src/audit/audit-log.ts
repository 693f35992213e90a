// Writes audit records: a JSON line to stdout at once, and durably to PostgreSQL in batches.
// A mutating call's record is stored *before* it runs ("no audit, no mutation").
import type pg from 'pg';
import { FleetError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import type { FleetMetrics } from '../observability/metrics.js';
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

  get length(): number {
    return this.#items.length - this.#head;
  }

  push(item: Queued): void {
    this.#items.push(item);
  }

  /** The oldest `n` records, still queued. */
  front(n: number): Queued[] {
    return this.#items.slice(this.#head, this.#head + n) as Queued[];
  }

  /** Drops the oldest record. */
  dropOldest(): void {
    if (this.length > 0) this.#items[this.#head++] = undefined;
    this.#compact();
  }

  /**
   * Removes every record up to and including `seq` (written, or refused for good). By sequence, not
   * count: while a write was in flight a full queue may have dropped some of them already.
   */
  removeThrough(seq: number): void {
    while (this.length > 0 && this.#items[this.#head]!.seq <= seq) this.#items[this.#head++] = undefined;
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
  /** Where JSON lines go instead of process.stdout (called at once, a line per record). */
  write?: (line: string) => void;
}

const BATCH = 200;

// Logs with stdout lines not yet written; a process that exits before the end of the turn writes them.
const unflushed = new Set<AuditLog>();
process.once('exit', () => {
  for (const log of unflushed) log.flushLines();
});

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

  constructor(opts: AuditLogOptions) {
    this.#opts = opts;
  }

  /** Records waiting for PostgreSQL. */
  get pending(): number {
    return this.#queue.length;
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
      await pool.query(UPSERT_SQL, [`[${auditJson(record)}]`]);
    } catch (err) {
      this.#opts.metrics.auditWriteFailures.inc();
      throw new FleetError('FLEET_ERR_AUDIT_UNAVAILABLE', 'audit store unavailable', {
        statusCode: 503,
        cause: err,
      });
    }
  }

  /**
   * Records a finished call: stdout by the end of this event-loop turn (the lines of one turn go out
   * in one write), or `write` at once; PostgreSQL in the next batch. Never throws.
   */
  record(record: AuditRecord): void {
    if (!this.#opts.stdout && !this.#opts.pool) return;
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
    if (!this.#opts.pool) return;
    if (this.#queue.length >= this.#opts.queueMax) {
      this.#queue.dropOldest();
      this.#opts.metrics.auditDropped.inc();
    }
    this.#queue.push({ json, auditId: record.id, requestId: record.requestId, seq: ++this.#seq });
    this.#opts.metrics.auditQueue.set(this.#queue.length);
    if (!this.#closed) this.#schedule(this.#opts.flushMs);
  }

  /** Writes the stdout lines waiting for the end of this turn (also run on process exit). */
  flushLines(): void {
    this.#linesScheduled = false;
    unflushed.delete(this);
    const lines = this.#lines;
    if (!lines) return;
    this.#lines = '';
    try {
      process.stdout.write(lines);
    } catch (err) {
      this.#opts.logger.warn({ err: (err as Error).message }, 'audit lines could not be written to stdout');
    }
  }

  /** Writes queued records now. Failed batches stay queued and are retried with backoff. */
  flush(): Promise<void> {
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
        this.#opts.metrics.auditQueue.set(this.#queue.length);
        this.#backoffUntil = 0;
      } catch (err) {
        this.#opts.metrics.auditWriteFailures.inc();
        if (isDataError(err)) {
          // One record PostgreSQL refuses must not hold back every record behind it.
          if (await this.#isolate(pool, batch)) continue;
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
   * data (they already went to stdout, and the drop is logged and counted). Returns false when a
   * write fails for another reason (connection lost): the rest stays queued for the retry.
   */
  async #isolate(pool: pg.Pool, batch: Queued[]): Promise<boolean> {
    for (const item of batch) {
      try {
        await pool.query(UPSERT_SQL, [batchParam([item])]);
      } catch (err) {
        if (!isDataError(err)) return false;
        this.#opts.metrics.auditDropped.inc();
        this.#opts.logger.error(
          { err: (err as Error).message, auditId: item.auditId, requestId: item.requestId },
          'audit record refused by PostgreSQL; kept on stdout only',
        );
      }
      this.#queue.removeThrough(item.seq);
    }
    this.#opts.metrics.auditQueue.set(this.#queue.length);
    return true;
  }

  /** Flushes in `ms` unless a flush is already scheduled. */
  #schedule(ms: number): void {
    if (this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.flush();
    }, ms);
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
