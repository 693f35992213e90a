// The warehouse connection: a pool of read-only sessions, each call in its own READ ONLY
// transaction with a server-side timeout, cancelled for real when the caller goes away, and reset
// before the connection serves anyone else.
import type { Logger } from '@mcp-fleet/core';
import pg from 'pg';
import Cursor from 'pg-cursor';
import { backendPid, extended } from './extended.js';
import { isConnectionError, toToolError } from './pg-errors.js';
import { jsonBytes, toJsonValue, warehouseTypes } from './values.js';

/** Options for {@link Warehouse}. */
export interface WarehouseOptions {
  url: string;
  poolMax: number;
  logger: Logger;
  applicationName?: string;
}

/** Per-call limits. */
export interface CallOptions {
  signal: AbortSignal;
  /** Server-side statement timeout; the tool's own timeout cancels the backend too. */
  timeoutMs: number;
}

/** A result column. */
export interface ResultColumn {
  name: string;
  type: string;
}

/** Rows of a capped SELECT. */
export interface SelectResult {
  columns: ResultColumn[];
  rows: unknown[][];
  truncated: boolean;
  /** Which cap stopped reading: `rows`, `bytes`, or null when the result is complete. */
  truncatedBy: 'rows' | 'bytes' | null;
}

/** What a handler may do inside one read-only transaction. */
export interface ReadOnlySession {
  /** Runs trusted SQL (catalog queries) with bound values, always over the extended protocol. */
  query<R extends Record<string, unknown>>(text: string, values?: unknown[]): Promise<R[]>;
  /** Runs one checked SELECT through a portal, reading at most `maxRows` rows / `maxBytes` bytes. */
  select(
    text: string,
    values: unknown[],
    limits: { maxRows: number; maxBytes: number },
  ): Promise<SelectResult>;
  /** The backend process id serving this call. */
  readonly pid: number;
}

const BATCH = 250;

/** The pool of read-only warehouse sessions, plus a small control pool for cancels and health. */
export class Warehouse {
  readonly pool: pg.Pool;
  /** Separate connections, so a cancel or a health check never waits behind busy query slots. */
  readonly control: pg.Pool;
  readonly #logger: Logger;
  readonly #typeNames = new Map<number, string>();
  #serverVersion = 0;

  constructor(o: WarehouseOptions) {
    const base = {
      connectionString: o.url,
      connectionTimeoutMillis: 5_000,
      idleTimeoutMillis: 30_000,
      types: warehouseTypes,
    };
    this.pool = new pg.Pool({
      ...base,
      max: o.poolMax,
      application_name: o.applicationName ?? 'mcp-fleet-database',
    });
    this.control = new pg.Pool({
      ...base,
      max: 2,
      application_name: `${o.applicationName ?? 'mcp-fleet-database'}-control`,
    });
    this.#logger = o.logger;
    for (const p of [this.pool, this.control])
      p.on('error', (err) => o.logger.warn({ err: err.message }, 'warehouse connection error'));
  }

  /** server_version_num of the warehouse (known after {@link init}). */
  get serverVersion(): number {
    return this.#serverVersion;
  }

  /** Connects once and learns the server version (fails fast on a bad URL or password). */
  async init(): Promise<void> {
    const r = await this.control.query<{ v: string }>(
      extended("SELECT current_setting('server_version_num') AS v"),
    );
    this.#serverVersion = Number(r.rows[0]?.v ?? 0);
  }

  /**
   * Runs `fn` in a READ ONLY transaction with `statement_timeout` set for this transaction only.
   * On abort the backend is cancelled (pg_cancel_backend from the control pool) and the
   * connection destroyed; otherwise it is rolled back and DISCARD ALL'd before reuse, so nothing
   * one call does to its session can be seen by the next.
   */
  async readOnly<T>(o: CallOptions, fn: (session: ReadOnlySession) => Promise<T>): Promise<T> {
    if (o.signal.aborted) throw o.signal.reason;
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw toToolError(err, o.timeoutMs) ?? err;
    }
    let cancelling: Promise<void> | undefined;
    const onAbort = () => {
      cancelling ??= this.#cancel(backendPid(client));
    };
    o.signal.addEventListener('abort', onAbort, { once: true });
    let failure: unknown;
    try {
      if (o.signal.aborted) throw o.signal.reason;
      const ms = Math.max(1, Math.ceil(o.timeoutMs));
      // Trusted constant text (numbers formatted here), so the simple protocol is fine for it.
      // client_connection_check_interval (PG 14+) ends the backend if this process vanishes mid-query.
      const check =
        this.#serverVersion >= 140000 ? '; SET LOCAL client_connection_check_interval = 1000' : '';
      await client.query(
        `BEGIN TRANSACTION READ ONLY; SET LOCAL statement_timeout = ${ms}; SET LOCAL lock_timeout = ${ms}; SET LOCAL idle_in_transaction_session_timeout = ${ms + 10_000}${check}`,
      );
      return await fn(this.#session(client));
    } catch (err) {
      failure = err;
      if (o.signal.aborted) throw o.signal.reason;
      throw toToolError(err, o.timeoutMs) ?? err;
    } finally {
      o.signal.removeEventListener('abort', onAbort);
      if (cancelling) {
        await cancelling;
        // A cancelled session is never reused: the cancel could land on its next statement.
        client.release(true);
      } else if (failure !== undefined && isConnectionError(failure)) {
        client.release(true);
      } else {
        // The caller has its answer; the reset (ROLLBACK + DISCARD ALL) finishes before the
        // connection goes back to the pool, so the next call still starts clean, without waiting here.
        void this.#reset(client);
      }
    }
  }

  /** Rolls back and discards all session state; a connection that cannot be reset is destroyed. */
  async #reset(client: pg.PoolClient): Promise<void> {
    try {
      await client.query('ROLLBACK');
      await client.query('DISCARD ALL');
      client.release();
    } catch (err) {
      this.#logger.warn(
        { err: (err as Error).message },
        'warehouse session reset failed; connection destroyed',
      );
      client.release(true);
    }
  }

  async #cancel(pid: number): Promise<void> {
    try {
      await this.control.query(extended('SELECT pg_cancel_backend($1)', [pid]));
    } catch (err) {
      // Destroying the connection still ends the backend at its next connection check.
      this.#logger.warn({ err: (err as Error).message, pid }, 'could not cancel warehouse backend');
    }
  }

  #session(client: pg.PoolClient): ReadOnlySession {
    return {
      pid: backendPid(client),
      query: async <R extends Record<string, unknown>>(text: string, values: unknown[] = []) =>
        (await client.query<R>(extended(text, values))).rows,
      select: (text, values, limits) => this.#select(client, text, values, limits),
    };
  }

  async #select(
    client: pg.PoolClient,
    text: string,
    values: unknown[],
    limits: { maxRows: number; maxBytes: number },
  ): Promise<SelectResult> {
    // A cursor runs Parse/Bind/Execute on one unnamed statement (never the simple protocol, so
    // never several statements) and fetches in batches, so caps bound memory as well as output.
    const cursor = client.query(new Cursor(text, values, { rowMode: 'array', types: warehouseTypes }));
    const rows: unknown[][] = [];
    let bytes = 0;
    let truncatedBy: SelectResult['truncatedBy'] = null;
    let fields: { name: string; dataTypeID: number }[] = [];
    try {
      reading: while (true) {
        const want = Math.min(BATCH, limits.maxRows + 1 - rows.length);
        const batch = await new Promise<unknown[][]>((resolve, reject) =>
          cursor.read(want, (err, got, result) => {
            if (err) return reject(err);
            fields = result.fields ?? fields;
            resolve(got as unknown[][]);
          }),
        );
        for (const raw of batch) {
          if (rows.length === limits.maxRows) {
            truncatedBy = 'rows';
            break reading;
          }
          const row = raw.map(toJsonValue);
          const size = jsonBytes(row) + 1;
          if (bytes + size > limits.maxBytes) {
            truncatedBy = 'bytes';
            break reading;
          }
          bytes += size;
          rows.push(row);
        }
        if (batch.length < want) break;
      }
    } finally {
      await cursor.close().catch(() => {});
    }
    const columns = await this.#columns(client, fields);
    return { columns, rows, truncated: truncatedBy !== null, truncatedBy };
  }

  async #columns(
    client: pg.PoolClient,
    fields: { name: string; dataTypeID: number }[],
  ): Promise<ResultColumn[]> {
    const unknown = [...new Set(fields.map((f) => f.dataTypeID).filter((oid) => !this.#typeNames.has(oid)))];
    if (unknown.length > 0) {
      const r = await client.query<{ oid: number; name: string }>(
        extended(
          'SELECT oid::int AS oid, format_type(oid, NULL) AS name FROM pg_catalog.pg_type WHERE oid = ANY($1::oid[])',
          [unknown],
        ),
      );
      if (this.#typeNames.size < 10_000) for (const t of r.rows) this.#typeNames.set(t.oid, t.name);
    }
    return fields.map((f) => ({
      name: f.name,
      type: this.#typeNames.get(f.dataTypeID) ?? `oid ${f.dataTypeID}`,
    }));
  }

  /** Closes both pools. */
  async close(): Promise<void> {
    await Promise.allSettled([this.pool.end(), this.control.end()]);
  }
}
