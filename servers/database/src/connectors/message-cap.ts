// A cap on the size of any one message the warehouse sends, checked on the frame header before
// node-postgres buffers or decodes the message. Without it a single huge value (a 600 MB
// string_agg, or an error message quoting one) is buffered whole and then decoded into a JS
// string inside the socket's 'data' handler: past ~512 MB V8 throws ERR_STRING_TOO_LONG there,
// where nothing can catch it, and the process dies; below that it still costs a GB of memory.
//
// How: pg's Connection hands the stream that carries protocol messages (the socket, or the TLS
// stream wrapped around it after SSL negotiation) to attachListeners(), which feeds its 'data' to
// the pg-protocol parser. A Client subclass wraps that one method, so the check always sees
// plaintext frames, whether or not TLS is in use: each chunk is walked frame by frame (1 type
// byte, 4 length bytes, body), and when a header announces a body above the cap the stream is
// destroyed with a {@link MessageTooLargeError}. pg then fails the active query with that error
// and marks the client unusable; the pool never hands it out again.
import { EventEmitter } from 'node:events';
import pg from 'pg';

/** Raised (as the connection's error) when the warehouse announces a message above the cap. */
export class MessageTooLargeError extends Error {
  readonly code = 'FLEET_MESSAGE_TOO_LARGE';
  constructor(
    readonly limitBytes: number,
    readonly messageType: string,
  ) {
    super(`the warehouse sent a message (type ${messageType}) larger than ${limitBytes} bytes`);
    this.name = 'MessageTooLargeError';
  }
}

/** Whole megabytes (at least 1) for messages. */
export function megabytes(bytes: number): number {
  return Math.max(1, Math.floor(bytes / 1_048_576));
}

/**
 * Tracks message frames across chunks; returns the first oversized frame's type, or null.
 * Only headers are read: bodies are skipped by count, so the cost is a few operations per message.
 */
export class FrameWatcher {
  /** Bytes of the current message body still to skip. */
  #skip = 0;
  /** Bytes of a header split across chunks. */
  readonly #header = Buffer.alloc(5);
  #headerLength = 0;

  constructor(readonly limitBytes: number) {}

  /** Feeds one chunk; returns the type of a message above the limit, or null. */
  feed(chunk: Buffer): string | null {
    let i = 0;
    while (i < chunk.length) {
      if (this.#skip > 0) {
        const n = Math.min(this.#skip, chunk.length - i);
        this.#skip -= n;
        i += n;
        continue;
      }
      const n = Math.min(5 - this.#headerLength, chunk.length - i);
      chunk.copy(this.#header, this.#headerLength, i, i + n);
      this.#headerLength += n;
      i += n;
      if (this.#headerLength < 5) break;
      this.#headerLength = 0;
      const body = this.#header.readUInt32BE(1) - 4;
      if (body > this.limitBytes) return String.fromCharCode(this.#header[0] ?? 0);
      this.#skip = Math.max(0, body);
    }
    return null;
  }
}

interface AttachableConnection {
  attachListeners(stream: NodeJS.ReadableStream & { destroy(err?: Error): void }): void;
}

/** A pg.Client class whose connections refuse any backend message larger than `limitBytes`. */
export function messageCappedClient(limitBytes: number): typeof pg.Client {
  return class MessageCappedClient extends pg.Client {
    constructor(config?: string | pg.ClientConfig) {
      super(config);
      const connection = (this as unknown as { connection: AttachableConnection }).connection;
      const attach = connection.attachListeners.bind(connection);
      connection.attachListeners = (stream) => {
        // The parser sees only what passes the check; after a refusal nothing more is fed to it.
        const gate = new EventEmitter();
        const watcher = new FrameWatcher(limitBytes);
        let refused = false;
        stream.on('data', (chunk: Buffer) => {
          if (refused) return;
          const type = watcher.feed(chunk);
          if (type === null) {
            gate.emit('data', chunk);
            return;
          }
          refused = true;
          stream.destroy(new MessageTooLargeError(limitBytes, type));
        });
        stream.on('end', () => gate.emit('end'));
        attach(gate as never);
      };
    }
  } as typeof pg.Client;
}
