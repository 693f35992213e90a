// `fleet start --replicas N`: one server as N processes behind its one public port. The servers are
// stateless per request (MCP sessions are not pinned: the fleet's shared state is in PostgreSQL and
// Redis), so any replica may answer any request; this proxy picks the ready replica with the fewest
// open requests (long SSE streams count), round robin among equals. Each replica's /readyz is asked
// every second: one that is not ready (draining after SIGTERM, a critical check failing) gets no new
// requests while another one is ready. Bodies are streamed both ways, SSE included; the Host and Origin
// headers are passed unchanged (the servers check them against their public URL, which every replica
// shares). The proxy is no narrower a pipe than one server: no cap on sockets to a replica, but a
// request's headers and body must arrive in time and the body is limited as the servers limit it
// (BODY_LIMIT_BYTES). A request is sent again to another replica only when the first one took nothing
// of it (its connection refused, or the stopping server's 503 before any handler ran); once sent, it is
// never sent again: if that replica's connection breaks, the caller is told the outcome is unknown.
// /readyz and /metrics are the proxy's own: the replicas' readiness together, and their metrics merged
// with a `replica` label (so Prometheus scraping the one port sees each process's counters as its own).
import {
  Agent,
  type ClientRequest,
  createServer,
  type IncomingMessage,
  request,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { Socket } from 'node:net';
import {
  type CallErrorCode,
  ERROR_META_KEY,
  FLEET_ERRORS,
  type FleetErrorCode,
} from '@mcp-fleet/core/protocol';

/** One replica's place behind the proxy. */
export interface ReplicaTarget {
  /** 1-based, as in its log file's name (`<server>-<index>.log`). */
  index: number;
  /** Its internal port on 127.0.0.1. */
  port: number;
}

/** What /readyz on the public port says of each replica. */
type ReplicaState = 'ready' | 'not_ready' | 'down';

// Hop-by-hop headers (RFC 9110 §7.6.1): about one connection, never forwarded.
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'upgrade',
]);

// End-to-end headers the servers read to decide a request (the host and origin guards, the token, the
// body's framing and type, content negotiation, the MCP and trace headers, the console's cookie and
// fetch metadata): a client naming one in `Connection` must not get it removed on the way to the
// replica (`Connection: host` would otherwise walk past the host guard).
const END_TO_END = new Set([
  'host',
  'origin',
  'referer',
  'authorization',
  'cookie',
  'content-type',
  'content-length',
  'content-encoding',
  'transfer-encoding',
  'accept',
  'accept-encoding',
  'accept-language',
  'user-agent',
  'if-match',
  'if-none-match',
  'last-event-id',
  'traceparent',
  'tracestate',
  'baggage',
  'x-request-id',
  'forwarded',
]);
const END_TO_END_PREFIXES = ['mcp-', 'sec-', 'x-forwarded-'];
const endToEnd = (name: string) =>
  END_TO_END.has(name) || END_TO_END_PREFIXES.some((p) => name.startsWith(p));

function forwardable(headers: IncomingMessage['headers']): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  // The extension headers the sender declared hop-by-hop, never one of the end-to-end ones above.
  const named = new Set(
    String(headers.connection ?? '')
      .split(',')
      .map((h) => h.trim().toLowerCase())
      .filter((h) => h !== '' && !endToEnd(h)),
  );
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined || HOP_BY_HOP.has(k) || named.has(k)) continue;
    out[k] = v;
  }
  return out;
}

/**
 * Merges the text expositions (Prometheus 0.0.4) of several replicas into one: each family's HELP and
 * TYPE once (the first replica's), then its samples from every replica in turn, each with
 * `replica="<index>"` added to its labels. A family's lines stay together, as the format requires.
 */
export function mergeExpositions(parts: readonly { index: number; text: string }[]): string {
  const families = new Map<string, { meta: string[]; samples: string[] }>();
  const family = (name: string) => {
    let f = families.get(name);
    if (!f) {
      f = { meta: [], samples: [] };
      families.set(name, f);
    }
    return f;
  };
  for (const { index, text } of parts) {
    const label = `replica="${index}"`;
    const seenMeta = new Set<string>();
    let current: string | undefined;
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      const meta = /^# (HELP|TYPE) (\S+)/.exec(line);
      if (meta) {
        current = meta[2]!;
        const f = family(current);
        const kind = `${meta[1]} ${current}`;
        // The first replica's HELP and TYPE; a later replica's are the same lines.
        if (!seenMeta.has(kind) && !f.meta.some((m) => m.startsWith(`# ${kind}`))) f.meta.push(line);
        seenMeta.add(kind);
        continue;
      }
      if (line.startsWith('#')) continue;
      const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0];
      if (!name) continue;
      // A sample belongs to the family declared above it (histogram _bucket/_sum/_count included).
      const owner = current !== undefined && name.startsWith(current) ? current : name;
      const rest = line.slice(name.length);
      const labelled = rest.startsWith('{}')
        ? `${name}{${label}}${rest.slice(2)}`
        : rest.startsWith('{')
          ? `${name}{${label},${rest.slice(1)}`
          : `${name}{${label}}${rest}`;
      family(owner).samples.push(labelled);
    }
  }
  return [...families.values()].map((f) => `${[...f.meta, ...f.samples].join('\n')}\n`).join('\n');
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(text)),
  });
  res.end(text);
}

/** The JSON-RPC request a body holds (its id, method and tool name), when it is a whole single message. */
function requestMessage(
  ex: Exchange,
): { id: string | number | null; method: unknown; tool: unknown } | undefined {
  if (!ex.complete || ex.path !== '/mcp' || ex.req.method !== 'POST') return undefined;
  try {
    const m = JSON.parse(Buffer.concat(ex.chunks).toString('utf8')) as unknown;
    if (typeof m !== 'object' || m === null || Array.isArray(m)) return undefined;
    const msg = m as { id?: unknown; method?: unknown; params?: { name?: unknown } };
    const id = typeof msg.id === 'string' || typeof msg.id === 'number' ? msg.id : null;
    return { id, method: msg.method, tool: msg.params?.name };
  } catch {
    return undefined;
  }
}

/** A JSON-RPC error with its catalogue code in `error.data.code`, as every server sends one. */
function rpcError(id: string | number | null, code: FleetErrorCode, message: string) {
  return { jsonrpc: '2.0', id, error: { code: FLEET_ERRORS[code].rpc, message, data: { code } } };
}

/**
 * What fastify answers (before any handler runs) a request that reaches a server after it began to
 * stop (`return503OnClosing`): the request did nothing there, so it may go to another replica.
 */
const CLOSING_ANSWER = '{"error":"Service Unavailable","message":"Service Unavailable","statusCode":503}';

/** The request body limit of the servers (BODY_LIMIT_BYTES, as core reads it), which the proxy applies too. */
export function bodyLimitOf(env: NodeJS.ProcessEnv): number {
  const raw = (env.BODY_LIMIT_BYTES ?? '').trim();
  const n = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  return Number.isSafeInteger(n) && n >= 1024 ? n : 1024 * 1024;
}

/** How the proxy guards itself; `fleet start` uses the defaults. */
export interface ReplicaProxyOptions {
  /** The largest request body taken (default: the servers' BODY_LIMIT_BYTES, else 1 MiB). */
  bodyLimitBytes?: number;
  /** How long a whole request (headers and body) may take to arrive; the answer is not limited (default 30 s). */
  requestTimeoutMs?: number;
  /** How long a request's headers may take to arrive (default 10 s, at most requestTimeoutMs). */
  headersTimeoutMs?: number;
  /** How often each replica's /readyz is asked, to route only to ready ones (default 1 s). */
  readyPollMs?: number;
}

type Target = ReplicaTarget & { up: boolean; ready: boolean; polling: boolean; open: number };

/** One request on its way: its body as read so far (kept to replay it), and where it goes now. */
interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  path: string;
  chunks: Buffer[];
  size: number;
  /** The whole body has been read. */
  complete: boolean;
  /** Over the body limit: refused, nothing more forwarded. */
  refused: boolean;
  /** The client went away before its answer was done. */
  gone: boolean;
  /** The replica request the body is written to once its connection stands. */
  sink: ClientRequest | undefined;
  tried: Set<number>;
}

/** The reverse proxy of one server's replicas. */
export class ReplicaProxy {
  readonly server: string;
  readonly #targets: Target[];
  // No cap on the sockets to a replica: the proxy must be no narrower a pipe than one server, which
  // takes any number of connections (slow clients holding 256 sockets locked everyone else out).
  readonly #agent = new Agent({ keepAlive: true });
  readonly #sockets = new Set<Socket>();
  readonly #bodyLimit: number;
  readonly #requestTimeout: number;
  readonly #headersTimeout: number;
  readonly #readyPoll: number;
  #poller: NodeJS.Timeout | undefined;
  /** Told when a replica is taken out of the rotation because its port refused a connection. */
  onDown: ((target: ReplicaTarget, why: string) => void) | undefined;
  #http: Server | undefined;
  #next = 0;

  constructor(server: string, targets: readonly ReplicaTarget[], options: ReplicaProxyOptions = {}) {
    this.server = server;
    this.#targets = targets.map((t) => ({ ...t, up: true, ready: true, polling: false, open: 0 }));
    this.#bodyLimit = options.bodyLimitBytes ?? bodyLimitOf(process.env);
    this.#requestTimeout = options.requestTimeoutMs ?? 30_000;
    this.#headersTimeout = Math.min(options.headersTimeoutMs ?? 10_000, this.#requestTimeout);
    this.#readyPoll = options.readyPollMs ?? 1_000;
  }

  /** The replicas still in the rotation. */
  get up(): ReplicaTarget[] {
    return this.#targets.filter((t) => t.up).map(({ index, port }) => ({ index, port }));
  }

  /** Takes a replica out of the rotation (its process exited). */
  markDown(index: number): void {
    const t = this.#targets.find((x) => x.index === index);
    if (t) t.up = false;
  }

  /** Listens on host:port (the server's public port). */
  listen(port: number, host: string): Promise<void> {
    const http = createServer(
      {
        // A request's headers and body must arrive in time (slow clients hold sockets here and on the
        // replicas); the answer is not limited: long SSE streams and slow tools go on.
        requestTimeout: this.#requestTimeout,
        headersTimeout: this.#headersTimeout,
        connectionsCheckingInterval: Math.max(100, Math.min(1_000, Math.floor(this.#headersTimeout / 2))),
      },
      (req, res) => this.#handle(req, res),
    );
    http.on('connection', (s: Socket) => {
      this.#sockets.add(s);
      s.once('close', () => this.#sockets.delete(s));
    });
    this.#http = http;
    this.#poller = setInterval(() => this.#pollReadiness(), this.#readyPoll);
    this.#poller.unref();
    return new Promise((resolve, reject) => {
      http.once('error', reject);
      http.listen({ port, host, exclusive: true }, () => {
        http.off('error', reject);
        resolve();
      });
    });
  }

  /** Stops listening and closes every connection (after the replicas have stopped). */
  async close(): Promise<void> {
    clearInterval(this.#poller);
    const http = this.#http;
    this.#http = undefined;
    if (http) {
      const closed = new Promise<void>((r) => http.close(() => r()));
      for (const s of this.#sockets) s.destroy();
      await closed;
    }
    this.#agent.destroy();
  }

  /**
   * Each live replica's /readyz, every readyPollMs: new requests go only to ready ones. A replica that
   * got SIGTERM drains (its /readyz no longer answers 200) and gets no new calls meanwhile.
   */
  #pollReadiness(): void {
    for (const t of this.#targets) {
      if (!t.up || t.polling) continue;
      t.polling = true;
      fetch(`http://127.0.0.1:${t.port}/readyz`, { signal: AbortSignal.timeout(2_000) })
        .then(
          async (answer) => {
            await answer.body?.cancel();
            t.ready = answer.status === 200;
          },
          () => {
            t.ready = false;
          },
        )
        .finally(() => {
          t.polling = false;
        });
    }
  }

  /**
   * The ready replica with the fewest open requests, round robin among equals; when none is ready
   * (a shared dependency down), any live one: its own answer says why. Undefined when none is up.
   */
  #pick(exclude: ReadonlySet<number>) {
    const live = this.#targets.filter((t) => t.up && !exclude.has(t.index));
    const ready = live.filter((t) => t.ready);
    const candidates = ready.length > 0 ? ready : live;
    if (candidates.length === 0) return undefined;
    const least = Math.min(...candidates.map((t) => t.open));
    const tied = candidates.filter((t) => t.open === least);
    const chosen = tied[this.#next % tied.length]!;
    this.#next = (this.#next + 1) % 1_000_000;
    return chosen;
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0]!;
    if (req.method === 'GET' && path === '/readyz') {
      void this.#readiness(res);
      return;
    }
    if (req.method === 'GET' && path === '/metrics') {
      req.resume();
      void this.#metrics(res);
      return;
    }
    const ex: Exchange = {
      req,
      res,
      path,
      chunks: [],
      size: 0,
      complete: false,
      refused: false,
      gone: false,
      sink: undefined,
      tried: new Set(),
    };
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > this.#bodyLimit) {
      this.#tooLarge(ex);
      return;
    }
    // The body is read as it comes (at most the limit), kept to replay it to another replica when the
    // first one did not take it, and written to the replica once its connection stands.
    req.on('data', (chunk: Buffer) => {
      if (ex.refused) return;
      ex.size += chunk.length;
      if (ex.size > this.#bodyLimit) {
        this.#tooLarge(ex);
        return;
      }
      ex.chunks.push(chunk);
      const sink = ex.sink;
      if (sink && !sink.write(chunk)) {
        req.pause();
        sink.once('drain', () => req.resume());
      }
    });
    req.once('end', () => {
      ex.complete = true;
      if (!ex.refused) ex.sink?.end();
    });
    // The client went away, or the proxy cut its request (too slow): stop the replica's side too.
    req.once('close', () => {
      if (!req.complete) {
        ex.gone = true;
        ex.sink?.destroy();
      }
    });
    res.once('close', () => {
      if (!res.writableFinished) {
        ex.gone = true;
        ex.sink?.destroy();
      }
    });
    this.#forward(ex);
  }

  /** Refuses a body over the limit as the servers do (413), and closes the connection (its body unread). */
  #tooLarge(ex: Exchange): void {
    ex.refused = true;
    ex.sink?.destroy();
    ex.req.pause();
    if (ex.res.headersSent) {
      ex.req.socket.destroy();
      return;
    }
    sendJson(
      ex.res,
      FLEET_ERRORS.FLEET_ERR_BODY_TOO_LARGE.status,
      rpcError(null, 'FLEET_ERR_BODY_TOO_LARGE', `the request body is larger than ${this.#bodyLimit} bytes`),
      { connection: 'close' },
    );
  }

  #forward(ex: Exchange): void {
    const { req, res, tried } = ex;
    const target = this.#pick(tried);
    if (!target) {
      sendJson(res, 503, rpcError(null, 'FLEET_ERR_INTERNAL', `no replica of ${this.server} is running`));
      req.resume();
      return;
    }
    tried.add(target.index);
    target.open++;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      target.open--;
    };
    res.once('close', release);
    const headers = forwardable(req.headers);
    const peer = req.socket.remoteAddress ?? '';
    const prior = req.headers['x-forwarded-for'];
    headers['x-forwarded-for'] = prior ? `${prior}, ${peer}` : peer;
    headers['x-forwarded-proto'] = 'http';
    if (req.headers.host) headers['x-forwarded-host'] = req.headers.host;

    const upstream = request({
      host: '127.0.0.1',
      port: target.port,
      method: req.method,
      path: req.url,
      headers,
      agent: this.#agent,
    });
    let sent = false;
    let answered = false;
    // The request goes out only once the connection to the replica stands: a refused connection then
    // took nothing of it, and it can go to another replica.
    upstream.once('socket', (socket: Socket) => {
      const send = () => {
        if (ex.refused || ex.gone) return;
        sent = true;
        ex.sink = upstream;
        for (const c of ex.chunks) upstream.write(c);
        if (ex.complete) upstream.end();
      };
      if (socket.connecting) socket.once('connect', send);
      else send();
    });
    upstream.once('response', (answer: IncomingMessage) => {
      answered = true;
      if (ex.gone || ex.refused) {
        answer.resume();
        return;
      }
      // The replica is stopping and refused the request before any handler ran: another one takes it.
      if (
        answer.statusCode === 503 &&
        ex.complete &&
        answer.headers['content-length'] === String(CLOSING_ANSWER.length)
      ) {
        const body: Buffer[] = [];
        answer.on('data', (c: Buffer) => body.push(c));
        answer.once('end', () => {
          if (ex.gone) return;
          const text = Buffer.concat(body).toString('utf8');
          if (text === CLOSING_ANSWER) {
            target.ready = false;
            release();
            ex.sink = undefined;
            this.#forward(ex);
            return;
          }
          res.writeHead(503, answer.statusMessage, forwardable(answer.headers));
          res.end(text);
        });
        return;
      }
      res.writeHead(answer.statusCode ?? 502, answer.statusMessage, forwardable(answer.headers));
      // Event streams start at once, not when a buffer fills.
      res.flushHeaders();
      let tail = '\n\n';
      answer.on('data', (c: Buffer) => {
        tail = (tail + c.toString('latin1')).slice(-2);
        res.write(c);
      });
      answer.once('end', () => {
        release();
        res.end();
      });
      // The connection broke in the middle of the answer: the replica stopped while answering.
      answer.once('close', () => {
        if (answer.complete || ex.gone) return;
        release();
        this.#broken(ex, target, tail === '\n\n');
      });
    });
    upstream.once('error', (err: NodeJS.ErrnoException) => {
      if (answered) return;
      release();
      if (ex.gone || ex.refused) return;
      if (!sent) {
        // Nothing of the request reached that replica: another one takes it. A port that refuses
        // connections is a replica that stopped (or is stopping): out of the rotation.
        if (err.code === 'ECONNREFUSED' && target.up) {
          target.up = false;
          target.ready = false;
          this.onDown?.({ index: target.index, port: target.port }, err.code);
        }
        this.#forward(ex);
        return;
      }
      // The request was sent and the replica's connection broke before any answer: whatever it did
      // with it is unknown, and it is never sent again (it may have run).
      this.#broken(ex, target, true);
    });
  }

  /**
   * The answer when the replica's connection broke after the request was sent: for a tools/call, the
   * fleet's `outcome_unknown` (the tool may or may not have run; retry only with the same idempotency
   * key), as the servers themselves say of a call whose outcome is unknown; for anything else a
   * JSON-RPC error. Into an event stream already started, as its last event when it stopped at an
   * event's end; otherwise the client's connection is cut.
   */
  #broken(ex: Exchange, target: ReplicaTarget, atEventEnd: boolean): void {
    const { req, res } = ex;
    const message = requestMessage(ex);
    const id = message?.id ?? null;
    const who = `${this.server}'s process handling this request (replica ${target.index})`;
    let status = 502;
    let body: unknown;
    if (message?.method === 'tools/call' && id !== null) {
      const tool = typeof message.tool === 'string' ? message.tool : 'the tool';
      const code: CallErrorCode = 'outcome_unknown';
      status = 200;
      body = {
        jsonrpc: '2.0',
        id,
        result: {
          content: [
            {
              type: 'text',
              text: `${who} stopped before answering, so whether ${tool} took effect is unknown: it may or may not have run. Check in the target system before retrying; retry only with the same idempotency_key, never a new one.`,
            },
          ],
          isError: true,
          _meta: { [ERROR_META_KEY]: { code } },
        },
      };
    } else {
      const what =
        req.method === 'GET' ||
        req.method === 'HEAD' ||
        (message !== undefined && message.method !== 'tools/call')
          ? 'it changed nothing; retry'
          : 'whether the request took effect is unknown';
      body = rpcError(id, 'FLEET_ERR_INTERNAL', `${who} stopped before answering: ${what}`);
    }
    if (!res.headersSent) {
      sendJson(res, status, body);
      return;
    }
    const type = String(res.getHeader('content-type') ?? '');
    if (type.startsWith('text/event-stream') && atEventEnd && !res.writableEnded) {
      res.end(`event: message\ndata: ${JSON.stringify(body)}\n\n`);
      return;
    }
    res.destroy();
  }

  /**
   * Every live replica's /metrics as one exposition, each sample labelled with its `replica`: scraped
   * through the one port, Prometheus sees each process's counters as their own series (forwarded to
   * one replica or another, they would alternate under the same labels: counter resets). A replica
   * that is down or does not answer is left out; 503 when none answers.
   */
  async #metrics(res: ServerResponse): Promise<void> {
    let contentType: string | undefined;
    const parts = await Promise.all(
      this.#targets.map(async (t) => {
        if (!t.up) return undefined;
        try {
          const answer = await fetch(`http://127.0.0.1:${t.port}/metrics`, {
            signal: AbortSignal.timeout(5000),
          });
          if (answer.status !== 200) return undefined;
          contentType ??= answer.headers.get('content-type') ?? undefined;
          return { index: t.index, text: await answer.text() };
        } catch {
          return undefined;
        }
      }),
    );
    const answered = parts.filter((p): p is { index: number; text: string } => p !== undefined);
    if (answered.length === 0) {
      res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`# no replica of ${this.server} answered /metrics\n`);
      return;
    }
    const body = mergeExpositions(answered);
    res.writeHead(200, {
      'content-type': contentType ?? 'text/plain; version=0.0.4; charset=utf-8',
      'content-length': Buffer.byteLength(body),
    });
    res.end(body);
  }

  /** 200 while at least one replica is ready ("degraded" when not all are), 503 when none is. */
  async #readiness(res: ServerResponse): Promise<void> {
    const states: Record<string, ReplicaState> = {};
    let first: Record<string, unknown> | undefined;
    await Promise.all(
      this.#targets.map(async (t) => {
        if (!t.up) {
          states[t.index] = 'down';
          return;
        }
        try {
          const answer = await fetch(`http://127.0.0.1:${t.port}/readyz`, {
            signal: AbortSignal.timeout(5000),
          });
          const body = (await answer.json()) as Record<string, unknown>;
          states[t.index] = answer.status === 200 ? 'ready' : 'not_ready';
          // What /readyz says is what the routing goes by from now on.
          t.ready = answer.status === 200;
          if (answer.status === 200 && (!first || t.index === 1)) first = body;
        } catch {
          states[t.index] = 'not_ready';
          t.ready = false;
        }
      }),
    );
    const ready = Object.values(states).filter((s) => s === 'ready').length;
    const all = ready === this.#targets.length;
    const ordered = Object.fromEntries(this.#targets.map((t) => [String(t.index), states[t.index]!]));
    if (ready === 0) {
      sendJson(res, 503, { status: 'not_ready', server: this.server, replicas: ordered });
      return;
    }
    const replicaStatus = first?.status === 'degraded' ? 'degraded' : 'ready';
    sendJson(res, 200, { ...first, status: all ? replicaStatus : 'degraded', replicas: ordered });
  }
}
