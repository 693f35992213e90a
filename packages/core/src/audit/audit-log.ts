// Writes audit records: a JSON line to stdout at once, and durably to PostgreSQL in batches.
// A mutating call's record is stored *before* it runs ("no audit, no mutation").
import type pg from 'pg';
import { FleetError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import type { FleetMetrics } from '../observability/metrics.js';
import type { AuditRecord } from './audit-record.js';

const COLUMNS = [
  'id',
  'ts',
  'server',
  'request_id',
  'method',
  'tool',
  'agent_id',
  'agent_session',
  'user_invoker',
  'tenant',
  'roles',
  'arguments',
  'decision',
  'decision_reason',
  'outcome',
  'result_summary',
  'duration_ms',
  'policy_version',
  'protocol_version',
  'details',
] as const;

function row(r: AuditRecord): unknown[] {
  return [
    r.id,
    r.ts,
    r.server,
    r.requestId,
    r.method,
    r.tool,
    r.agentId,
    r.agentSession,
    r.userInvoker,
    r.tenant,
    r.roles,
    r.arguments === undefined ? null : JSON.stringify(r.arguments),
    r.decision,
    r.decisionReason,
    r.outcome,
    r.resultSummary,
    r.durationMs,
    r.policyVersion,
    r.protocolVersion,
    r.details === null ? null : JSON.stringify(r.details),
  ];
}

// Batches come in a few sizes; build each statement text once.
const sqlBySize = new Map<number, string>();

function upsertSql(count: number): string {
  const known = sqlBySize.get(count);
  if (known) return known;
  const values: string[] = [];
  for (let i = 0; i < count; i++) {
    const base = i * COLUMNS.length;
    values.push(`(${COLUMNS.map((_, j) => `$${base + j + 1}`).join(',')})`);
  }
  const updates = ['outcome', 'result_summary', 'duration_ms', 'details', 'decision', 'decision_reason']
    .map((c) => `${c} = EXCLUDED.${c}`)
    .join(', ');
  const sql = `INSERT INTO audit_records (${COLUMNS.join(',')}) VALUES ${values.join(',')} ON CONFLICT (id) DO UPDATE SET ${updates}`;
  sqlBySize.set(count, sql);
  return sql;
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
  /** Where JSON lines go (default process.stdout). */
  write?: (line: string) => void;
}

const BATCH = 200;

/** The audit sink of one server process. */
export class AuditLog {
  readonly #opts: AuditLogOptions;
  readonly #queue: AuditRecord[] = [];
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> | undefined;
  #backoffUntil = 0;
  #closed = false;

  constructor(opts: AuditLogOptions) {
    this.#opts = opts;
  }

  /** True when a durable store is configured. */
  get durable(): boolean {
    return this.#opts.pool !== undefined;
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
      await pool.query(upsertSql(1), row(record));
    } catch (err) {
      this.#opts.metrics.auditWriteFailures.inc();
      throw new FleetError('FLEET_ERR_AUDIT_UNAVAILABLE', 'audit store unavailable', {
        statusCode: 503,
        cause: err,
      });
    }
  }

  /** Records a finished call: stdout now, PostgreSQL in the next batch. Never throws. */
  record(record: AuditRecord): void {
    if (this.#opts.stdout) {
      const line = `${JSON.stringify({ audit: true, ...record })}\n`;
      if (this.#opts.write) this.#opts.write(line);
      else process.stdout.write(line);
    }
    if (!this.#opts.pool) return;
    if (this.#queue.length >= this.#opts.queueMax) {
      this.#queue.shift();
      this.#opts.metrics.auditDropped.inc();
    }
    this.#queue.push(record);
    this.#opts.metrics.auditQueue.set(this.#queue.length);
    if (!this.#timer && !this.#closed) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        void this.flush();
      }, this.#opts.flushMs);
      this.#timer.unref();
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
      const batch = this.#queue.slice(0, BATCH);
      try {
        await pool.query(upsertSql(batch.length), batch.flatMap(row));
        this.#queue.splice(0, batch.length);
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
  async #isolate(pool: pg.Pool, batch: AuditRecord[]): Promise<boolean> {
    for (const record of batch) {
      try {
        await pool.query(upsertSql(1), row(record));
      } catch (err) {
        if (!isDataError(err)) return false;
        this.#opts.metrics.auditDropped.inc();
        this.#opts.logger.error(
          { err: (err as Error).message, auditId: record.id, requestId: record.requestId },
          'audit record refused by PostgreSQL; kept on stdout only',
        );
      }
      this.#queue.splice(this.#queue.indexOf(record), 1);
    }
    this.#opts.metrics.auditQueue.set(this.#queue.length);
    return true;
  }

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
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#backoffUntil = 0;
    await this.flush();
  }
}
