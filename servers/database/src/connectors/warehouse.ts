// The warehouse connection: a pool of read-only sessions (read-only and timeouts are the session
// defaults, set in the connection's startup packet), each call cancelled for real when the caller
// goes away, and every session reset to those defaults before it serves anyone else. Where the
// startup settings do not reach the server (a connection pooler such as PgBouncer refuses or drops
// them), every call runs in its own READ ONLY transaction with SET LOCAL timeouts instead.
// Either way a call's statements run inside one transaction that carries the caller's verified
// claims as transaction-local settings (fleet.tenant, fleet.user, fleet.roles), which the
// warehouse's row-level security policies read.
import { type Logger, ToolError, withUpstreamSpan } from '@mcp-fleet/core';
import pg from 'pg';
import { CappedSelect } from './capped-select.js';
import { backendPid, extended } from './extended.js';
import { messageCappedClient } from './message-cap.js';
import { isConnectionError, toToolError } from './pg-errors.js';
import { warehouseTypes } from './values.js';

/** Options for {@link Warehouse}. */
export interface WarehouseOptions {
  url: string;
  poolMax: number;
  logger: Logger;
  applicationName?: string;
  /** The sessions' default statement timeout (a call asking for another sets its own). */
  defaultTimeoutMs?: number;
  /** Largest single protocol message accepted from the warehouse (default 32 MiB); see message-cap.ts. */
  maxMessageBytes?: number;
  /**
   * Calls one caller (tenant + agent + user) may have running at once (default 2, and always
   * below poolMax when poolMax > 1, so one caller never holds every connection). Counted in this
   * process: with several replicas each replica allows this many.
   */
  maxConcurrentPerCaller?: number;
}

/**
 * The settings that time-box a session (`name=value`, numbers formatted here, so trusted text):
 * sent as startup defaults, or SET for one session or one transaction. client_connection_check_interval
 * (PG 14+) ends the backend if this process vanishes mid-query.
 */
function timeoutSettings(timeoutMs: number, serverVersion: number): string[] {
  const settings = [
    `statement_timeout=${timeoutMs}`,
    `lock_timeout=${timeoutMs}`,
    `idle_in_transaction_session_timeout=${timeoutMs + 10_000}`,
  ];
  if (serverVersion >= 140000) settings.push('client_connection_check_interval=1000');
  return settings;
}

/**
 * Session defaults sent in the startup packet. DISCARD ALL (RESET ALL) returns a session to these,
 * so no call can leave a session writable or without timeouts, whatever happened in its
 * transaction. (A call still opens one transaction, in the same round trip as its settings, to
 * carry the caller's claims.)
 */
function sessionOptions(timeoutMs: number, serverVersion: number): string {
  return ['default_transaction_read_only=on', ...timeoutSettings(timeoutMs, serverVersion)]
    .map((o) => `-c ${o}`)
    .join(' ');
}

/**
 * Logs connection errors. The pool reports errors of its idle clients (including those pool.end()
 * is still closing); each client also keeps its own listener, because pg-pool stops listening to a
 * client while it is checked out, and a backend terminated between two of a call's queries (a
 * failover, a forced database drop) would otherwise raise an uncaught error.
 */
function watchErrors(pool: pg.Pool, logger: Logger): void {
  const log = (err: Error) => logger.warn({ err: err.message }, 'warehouse connection error');
  pool.on('error', log);
  pool.on('connect', (client) =>
    client.on('error', (err) => logger.debug({ err: err.message }, 'warehouse connection closed')),
  );
}

/**
 * How a connection keeps its calls read-only and time-boxed: by its startup defaults, or (when a
 * pooler kept them from the server) by a READ ONLY transaction with SET LOCAL timeouts per call.
 */
type SessionMode = 'startup' | 'transaction';

/** PgBouncer's refusal of a startup parameter it does not know (`ignore_startup_parameters`). */
const REFUSED_OPTIONS = /unsupported startup parameter/i;

/** The verified claims a call's transaction carries (the tool context's identity fits). */
export interface CallClaims {
  tenant: string | undefined;
  user: string | undefined;
  roles: readonly string[];
}

/** Who a call is for, as far as the per-caller concurrency limit is concerned. */
export interface Caller {
  agentId?: string;
  tenant: string | undefined;
  user: string | undefined;
}

/** Per-call limits. */
export interface CallOptions {
  /**
   * The caller, for the per-caller limit on concurrent calls (default: `claims`, when they name
   * an agent). Start-up and other server work has none and is never limited.
   */
  caller?: Caller;
  signal: AbortSignal;
  /** Server-side statement timeout; the tool's own timeout cancels the backend too. */
  timeoutMs: number;
  /**
   * The caller's verified claims. Without them (start-up and catalog work) the call's fleet.tenant
   * is empty, and row-level security shows it no tenant's rows.
   */
  claims?: CallClaims;
}

/** The fleet.tenant of a token without a tenant claim: every tenant (see docs/database.md). */
export const ALL_TENANTS = '*';

/**
 * SET LOCAL statements for the caller's claims. Values are escaped literals (SET takes no
 * parameters); they end with the transaction, and the guard refuses SET and set_config in queries,
 * so the query cannot change them (and the reader role has no EXECUTE on set_config).
 */
function claimSettings(claims: CallClaims | undefined): string[] {
  if (claims?.tenant === ALL_TENANTS) {
    throw new ToolError(
      `the token's tenant claim "${ALL_TENANTS}" is reserved (it means every tenant); ask for a token with your own tenant`,
      'reserved_tenant',
    );
  }
  const tenant = claims ? (claims.tenant ?? ALL_TENANTS) : '';
  return [
    `fleet.tenant = ${pg.escapeLiteral(tenant)}`,
    // "user" is a reserved word: quoted, the setting is still named fleet.user.
    `fleet."user" = ${pg.escapeLiteral(claims?.user ?? '')}`,
    `fleet.roles = ${pg.escapeLiteral((claims?.roles ?? []).join(','))}`,
  ];
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

/** The pool of read-only warehouse sessions, plus a small control pool for cancels and health. */
export class Warehouse {
  /** Separate connections, so a cancel or a health check never waits behind busy query slots. */
  readonly control: pg.Pool;
  readonly #options: WarehouseOptions;
  /** Connection settings both pools share. */
  readonly #base: pg.PoolConfig;
  readonly #defaultTimeoutMs: number;
  readonly #logger: Logger;
  readonly #typeNames = new Map<number, string>();
  #pool: pg.Pool | undefined;
  /** Whether the pool sends the startup options at all (not after a pooler refused them). */
  #startupOptions = true;
  /** Each connection's mode, learned on its first call (the same client object is reused). */
  readonly #modes = new WeakMap<pg.ClientBase, SessionMode>();
  #transactionModeLogged = false;
  #serverVersion = 0;
  readonly #perCaller: number;
  /** Calls running (or waiting for a connection) per caller key. */
  readonly #running = new Map<string, number>();

  constructor(o: WarehouseOptions) {
    this.#options = o;
    this.#base = {
      connectionString: o.url,
      connectionTimeoutMillis: 5_000,
      idleTimeoutMillis: 30_000,
      types: warehouseTypes,
      // No single row or error text above the cap is ever buffered or decoded (message-cap.ts).
      Client: messageCappedClient(o.maxMessageBytes ?? 33_554_432),
    };
    this.#defaultTimeoutMs = Math.max(1, Math.ceil(o.defaultTimeoutMs ?? 30_000));
    this.#perCaller = Math.max(1, Math.min(o.maxConcurrentPerCaller ?? 2, o.poolMax - 1));
    this.control = new pg.Pool({
      ...this.#base,
      max: 2,
      application_name: `${o.applicationName ?? 'mcp-fleet-database'}-control`,
    });
    this.#logger = o.logger;
    watchErrors(this.control, o.logger);
  }

  /** The query sessions (built by {@link init}, once the server version is known). */
  get pool(): pg.Pool {
    if (!this.#pool) throw new Error('Warehouse.init() has not run');
    return this.#pool;
  }

  /** server_version_num of the warehouse (known after {@link init}). */
  get serverVersion(): number {
    return this.#serverVersion;
  }

  /**
   * Connects once and learns the server version (fails fast on a bad URL or password), then opens
   * the first query session to learn whether its startup defaults reach the server.
   */
  async init(): Promise<void> {
    const r = await this.control.query<{ v: string }>(
      extended("SELECT current_setting('server_version_num') AS v"),
    );
    this.#serverVersion = Number(r.rows[0]?.v ?? 0);
    if (this.#pool) return;
    this.#pool = this.#createPool();
    let first: pg.PoolClient;
    try {
      first = await this.#pool.connect();
    } catch (err) {
      if (!REFUSED_OPTIONS.test((err as Error).message)) throw err;
      // A pooler in front of the warehouse refuses the startup options: open sessions without
      // them, and give every call its own READ ONLY transaction.
      await this.#pool.end();
      this.#startupOptions = false;
      this.#pool = this.#createPool();
      first = await this.#pool.connect();
    }
    try {
      await this.#learnMode(first);
      first.release();
    } catch (err) {
      first.release(true);
      throw err;
    }
  }

  #createPool(): pg.Pool {
    const o = this.#options;
    const pool = new pg.Pool({
      ...this.#base,
      max: o.poolMax,
      application_name: o.applicationName ?? 'mcp-fleet-database',
      ...(this.#startupOptions
        ? { options: sessionOptions(this.#defaultTimeoutMs, this.#serverVersion) }
        : {}),
    });
    watchErrors(pool, o.logger);
    return pool;
  }

  /**
   * Learns whether this connection is a session of its own with the startup defaults in force (once
   * per connection). A pooler that drops unknown startup parameters would otherwise leave sessions
   * writable and unbounded; one that hides the backend's pid (its own BackendKeyData) may hand the
   * connection's statements to different backends, and a cancel by that pid could hit a stranger.
   */
  async #learnMode(client: pg.PoolClient): Promise<SessionMode> {
    let mode: SessionMode = 'transaction';
    if (this.#startupOptions) {
      const r = await client.query<{ held: boolean; pid: number }>(
        extended(
          `SELECT current_setting('default_transaction_read_only') = 'on'
              AND (SELECT setting::bigint FROM pg_catalog.pg_settings WHERE name = 'statement_timeout') = $1 AS held,
              pg_backend_pid() AS pid`,
          [this.#defaultTimeoutMs],
        ),
      );
      const row = r.rows[0];
      if (row?.held === true && row.pid === backendPid(client)) mode = 'startup';
    }
    if (mode === 'transaction' && !this.#transactionModeLogged) {
      this.#transactionModeLogged = true;
      this.#logger.warn(
        { startupOptionsSent: this.#startupOptions },
        'warehouse sessions are not plain PostgreSQL sessions with their startup settings (a connection pooler in between?); every call runs in its own READ ONLY transaction',
      );
    }
    this.#modes.set(client, mode);
    return mode;
  }

  /**
   * Runs `fn` in one READ ONLY transaction whose statements time out after `timeoutMs` and which
   * carries `o.claims` as fleet.tenant / fleet.user / fleet.roles (row-level security reads them;
   * without claims fleet.tenant is empty, and tenant-protected tables show no rows).
   * On abort the backend is cancelled (pg_cancel_backend from the control pool) and the
   * connection destroyed; otherwise it is DISCARD ALL'd (back to the read-only startup defaults)
   * before reuse, so nothing one call does to its session can be seen by the next.
   */
  async readOnly<T>(o: CallOptions, fn: (session: ReadOnlySession) => Promise<T>): Promise<T> {
    if (o.signal.aborted) throw o.signal.reason;
    const who = o.caller ?? (o.claims as Caller | undefined);
    if (who?.agentId === undefined) return this.#readOnly(o, fn);
    const key = JSON.stringify([who.tenant ?? null, who.agentId, who.user ?? null]);
    const running = this.#running.get(key) ?? 0;
    if (running >= this.#perCaller) {
      throw new ToolError(
        `You already have ${running} warehouse ${running === 1 ? 'call' : 'calls'} running, the most one caller may run at once. ` +
          'Wait for them to finish (or narrow them: aggregate, filter, add a LIMIT), then try again.',
        'too_many_concurrent_queries',
      );
    }
    this.#running.set(key, running + 1);
    try {
      return await this.#readOnly(o, fn);
    } finally {
      const left = (this.#running.get(key) ?? 1) - 1;
      if (left > 0) this.#running.set(key, left);
      else this.#running.delete(key);
    }
  }

  async #readOnly<T>(o: CallOptions, fn: (session: ReadOnlySession) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw toToolError(err, o.timeoutMs) ?? err;
    }
    // The backend to cancel: known once the mode is (in a transaction, the one that runs it).
    let pid: number | undefined;
    let cancelling: Promise<void> | undefined;
    const onAbort = () => {
      // Before the pid is known there is nothing to cancel; the connection is destroyed below.
      cancelling ??= pid === undefined ? Promise.resolve() : this.#cancel(pid);
    };
    o.signal.addEventListener('abort', onAbort, { once: true });
    let failure: unknown;
    try {
      if (o.signal.aborted) throw o.signal.reason;
      const ms = Math.max(1, Math.ceil(o.timeoutMs));
      const claims = claimSettings(o.claims);
      const mode = this.#modes.get(client) ?? (await this.#learnMode(client));
      // Trusted text (numbers formatted here, claims escaped), so the simple protocol is fine for
      // these: one round trip opens the call's transaction with its settings.
      if (mode === 'transaction') {
        const set = [...timeoutSettings(ms, this.#serverVersion), ...claims].map((t) => `SET LOCAL ${t}; `);
        const results = (await client.query(
          `BEGIN TRANSACTION READ ONLY; ${set.join('')}SELECT pg_backend_pid() AS pid`,
        )) as unknown as pg.QueryResult<{ pid: number }>[];
        pid = results.at(-1)?.rows[0]?.pid;
      } else {
        pid = backendPid(client);
        // Another timeout than the sessions' default: set for this transaction only.
        const timeouts = ms !== this.#defaultTimeoutMs ? timeoutSettings(ms, this.#serverVersion) : [];
        await client.query(
          `BEGIN TRANSACTION READ ONLY; ${[...timeouts, ...claims].map((t) => `SET LOCAL ${t}`).join('; ')}`,
        );
      }
      // An abort before the pid was known cancelled nothing: stop here rather than start the query.
      if (o.signal.aborted) throw o.signal.reason;
      const session = this.#session(client, pid ?? backendPid(client));
      return await withUpstreamSpan(
        'warehouse query',
        { 'db.system.name': 'postgresql', 'upstream.system': 'warehouse' },
        () => fn(session),
      );
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
        // The caller has its answer; the reset (DISCARD ALL) finishes before the
        // connection goes back to the pool, so the next call still starts clean, without waiting here.
        void this.#reset(client);
      }
    }
  }

  /**
   * Discards all session state (settings back to the startup defaults, prepared statements, temp
   * objects, locks); a connection that cannot be reset (say, left inside a transaction) is destroyed.
   */
  async #reset(client: pg.PoolClient): Promise<void> {
    try {
      // Every call runs in a transaction (read-only: nothing to commit).
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

  #session(client: pg.PoolClient, pid: number): ReadOnlySession {
    return {
      pid,
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
    // Parse/Bind/Execute of one unnamed statement (never the simple protocol, so never several
    // statements), read in batches with the caps applied as rows arrive.
    const select = new CappedSelect(text, values, limits, warehouseTypes);
    client.query(select as never);
    const { fields, rows, truncatedBy } = await select.result;
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
    await Promise.allSettled([this.#pool?.end(), this.control.end()]);
  }
}
