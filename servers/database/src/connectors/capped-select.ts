// One checked SELECT read through PostgreSQL's extended protocol with row and byte caps, as a
// node-postgres "submittable" (the documented interface pg-cursor is built on).
//
// Why not pg-cursor: it delivers a finished result only at ReadyForQuery, one round trip after the
// rows arrived (its Close/Sync is sent on CommandComplete and answered by the backend first), and
// writes every protocol message with its own syscall. Here Parse/Bind/Describe/Execute/Flush leave
// in one write, rows are decoded and capped as they arrive (so memory stays bounded by the caps,
// whatever the query would return), and the result resolves at CommandComplete; the Sync that ends
// the implicit transaction goes out at the same moment and the connection is ready before anyone
// else can use it (pg queues the next query behind ReadyForQuery). Measured in process on this
// machine: ~395 µs per 1-row SELECT through pg-cursor against ~225 µs for a plain extended query.
import { createRequire } from 'node:module';
import type { Writable } from 'node:stream';
import { ToolError } from '@mcp-fleet/core';
import { jsonBytes, toJsonValue } from './values.js';

// node-postgres's own parameter serialisation (dates, arrays, buffers, JSON), as pg.Query and
// pg-cursor use it; not part of pg's typed surface, hence the require.
const { prepareValue } = createRequire(import.meta.url)('pg/lib/utils.js') as {
  prepareValue: (value: unknown, seen?: unknown) => unknown;
};

/** Rows fetched per Execute: bounds memory between caps checks. */
const BATCH = 250;

/** A result column as the RowDescription message gives it. */
export interface FieldDescription {
  name: string;
  dataTypeID: number;
  format?: string;
}

/** What a capped read returns. */
export interface CappedRows {
  fields: FieldDescription[];
  rows: unknown[][];
  /** Which cap stopped reading: `rows`, `bytes`, or null when the result is complete. */
  truncatedBy: 'rows' | 'bytes' | null;
}

/** The protocol calls of pg's Connection this query uses. */
interface ProtocolConnection {
  stream: Writable;
  parse(query: { text: string }): void;
  bind(config: { values: unknown[]; valueMapper: (value: unknown) => unknown }): void;
  describe(msg: { type: 'P'; name: string }): void;
  execute(config: { portal: string; rows: number }): void;
  flush(): void;
  sync(): void;
}

interface TypeParsers {
  getTypeParser(oid: number, format?: string): (text: string) => unknown;
}

/** Submit with `client.query(new CappedSelect(...))`, then await {@link CappedSelect.result}. */
export class CappedSelect {
  /** Settles once the rows are complete or a cap stopped reading; rejects with the backend's error. */
  readonly result: Promise<CappedRows>;
  readonly text: string;
  readonly #values: unknown[];
  readonly #limits: { maxRows: number; maxBytes: number };
  readonly #types: TypeParsers;
  #rowError: Error | null = null;
  #resolve!: (rows: CappedRows) => void;
  #reject!: (err: unknown) => void;
  #fields: FieldDescription[] = [];
  #parsers: ((text: string) => unknown)[] = [];
  readonly #rows: unknown[][] = [];
  #bytes = 0;
  #truncatedBy: CappedRows['truncatedBy'] = null;
  #settled = false;
  #synced = false;

  constructor(
    text: string,
    values: unknown[],
    limits: { maxRows: number; maxBytes: number },
    types: TypeParsers,
  ) {
    this.text = text;
    this.#values = values;
    this.#limits = limits;
    this.#types = types;
    this.result = new Promise<CappedRows>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  /** Called by pg when the connection is free: the whole request in one write. */
  submit(connection: ProtocolConnection): void {
    this.#corked(connection, () => {
      connection.parse({ text: this.text });
      connection.bind({ values: this.#values, valueMapper: (v) => prepareValue(v) });
      connection.describe({ type: 'P', name: '' });
      connection.execute({ portal: '', rows: this.#want() });
      connection.flush();
    });
  }

  handleRowDescription(msg: { fields: FieldDescription[] }): void {
    this.#fields = msg.fields;
    this.#parsers = msg.fields.map((f) => this.#types.getTypeParser(f.dataTypeID, f.format ?? 'text'));
  }

  handleDataRow(msg: { fields: (string | null)[] }): void {
    if (this.#truncatedBy !== null) return; // the rest of a batch after a cap: dropped
    if (this.#rows.length === this.#limits.maxRows) {
      this.#truncatedBy = 'rows';
      return;
    }
    let row: unknown[];
    let size: number;
    try {
      row = msg.fields.map((v, i) => (v === null ? null : toJsonValue(this.#parsers[i]!(v))));
      size = jsonBytes(row) + 1;
    } catch (err) {
      // This runs inside the socket's data handler: a throw here would end the process. The query
      // ends with the error instead (at its next batch or completion), and later rows are dropped.
      this.#rowError = new ToolError(
        `a value in the result could not be turned into JSON (${(err as Error).message.slice(0, 120)}); select it as text or less of it`,
      );
      this.#truncatedBy = 'rows';
      return;
    }
    if (this.#bytes + size > this.#limits.maxBytes) {
      this.#truncatedBy = 'bytes';
      return;
    }
    this.#bytes += size;
    this.#rows.push(row);
  }

  /** The batch ended and the portal has more rows: fetch the next batch, unless a cap was hit. */
  handlePortalSuspended(connection: ProtocolConnection): void {
    if (this.#truncatedBy !== null) {
      this.#finish(connection, this.#rowError ?? undefined);
      return;
    }
    this.#corked(connection, () => {
      connection.execute({ portal: '', rows: this.#want() });
      connection.flush();
    });
  }

  handleCommandComplete(_msg: unknown, connection: ProtocolConnection): void {
    this.#finish(connection, this.#rowError ?? undefined);
  }

  handleEmptyQuery(connection: ProtocolConnection): void {
    this.#finish(connection);
  }

  /** pg has already detached this query; the backend skips to our Sync (sent here if not yet). */
  handleError(err: unknown, connection: ProtocolConnection): void {
    this.#finish(connection, err);
  }

  handleReadyForQuery(): void {
    this.#settle(new Error('the warehouse ended the query without a result'));
  }

  /** One row past maxRows is asked for, so a result of exactly maxRows rows is not called truncated. */
  #want(): number {
    return Math.max(1, Math.min(BATCH, this.#limits.maxRows + 1 - this.#rows.length));
  }

  /** Sends the Sync once (it ends the exchange, and an implicit transaction with its portal), then settles. */
  #finish(connection: ProtocolConnection, err?: unknown): void {
    if (!this.#synced) {
      this.#synced = true;
      connection.sync();
    }
    this.#settle(err);
  }

  #settle(err?: unknown): void {
    if (this.#settled) return;
    this.#settled = true;
    if (err !== undefined) this.#reject(err);
    else this.#resolve({ fields: this.#fields, rows: this.#rows, truncatedBy: this.#truncatedBy });
  }

  #corked(connection: ProtocolConnection, send: () => void): void {
    connection.stream.cork();
    try {
      send();
    } finally {
      connection.stream.uncork();
    }
  }
}
