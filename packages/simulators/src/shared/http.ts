// The HTTP side shared by the Slack, Teams and Jira simulators: a fastify plugin mounted under a prefix
// (alone on its own port, or beside the others in the hub), request recording and the common fault knobs.
import fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { type Fault, FaultBox, isAfterCommit, never } from './faults.js';
import { type RecordedRequest, Recorder, safeHeaders } from './records.js';

/** Where a standalone simulator listens; port 0 (the default) picks a free one. */
export interface ListenOptions {
  port?: number;
  host?: string;
}

/** Base of every HTTP simulator: mount with `register`, or `start()` alone; `close()` ends it. */
export abstract class HttpSimulator extends FaultBox {
  /** Requests received and what agents sent. */
  readonly recorder = new Recorder();
  /** After-commit faults taken by `intercept`, applied by `afterCommit` once the handler has run. */
  readonly #afterCommit = new WeakMap<FastifyRequest, Fault>();
  #app: FastifyInstance | undefined;
  #url = '';

  /** The prefix used when the simulator runs alone (`''` for Slack and Jira, `/teams` for Teams). */
  protected abstract readonly standalonePrefix: string;
  /** Adds the vendor's routes to a scope already mounted under the prefix. */
  protected abstract routes(scope: FastifyInstance): void;
  /** The vendor's answer for a status / rate-limit / application-error fault. */
  protected abstract faultReply(reply: FastifyReply, fault: Fault, operation: string): FastifyReply;

  /** Requests received, oldest first (credentials removed). */
  get requests() {
    return this.recorder.requests;
  }
  /** Everything agents sent through this simulator, oldest first. */
  get outbox() {
    return this.recorder.outbox;
  }
  /** Base URL of the mounted simulator (origin + prefix), known once listening. */
  get url(): string {
    return this.#url;
  }

  /** Mounts the simulator's routes under `prefix` on `app`; call `listening(origin)` once `app` listens. */
  async register(app: FastifyInstance, prefix: string): Promise<void> {
    this.#prefix = prefix;
    await app.register(
      async (scope) => {
        this.routes(scope);
        this.#controlRoutes(scope);
      },
      { prefix },
    );
  }
  #prefix = '';

  /** The simulator's own control plane (see {@link controlRoutes}). */
  #controlRoutes(scope: FastifyInstance): void {
    controlRoutes(scope, this.constructor.name, this, () => this.requests);
  }

  /** Tells the simulator the origin it is reachable at (`http://127.0.0.1:1234`). */
  listening(origin: string): void {
    this.#url = origin + this.#prefix;
  }

  /** Starts the simulator alone on its own port; resolves to its base URL. */
  async start(opts: ListenOptions = {}): Promise<string> {
    const app = createApp();
    await this.register(app, this.standalonePrefix);
    const host = opts.host ?? '127.0.0.1';
    await app.listen({ port: opts.port ?? 0, host });
    this.#app = app;
    this.listening(originOf(app, host));
    return this.url;
  }

  /** Stops a simulator started with `start()` (hung requests are cut). */
  async close(): Promise<void> {
    await this.#app?.close();
    this.#app = undefined;
  }

  /** Records the request, then applies a pending fault; true when a fault answered (the handler stops). */
  protected async intercept(
    req: FastifyRequest,
    reply: FastifyReply,
    operation: string,
    params: unknown,
    faultKeys: readonly string[] = [operation],
  ): Promise<boolean> {
    this.recorder.request({
      operation,
      method: req.method,
      path: req.url.split('?')[0] ?? req.url,
      params,
      headers: safeHeaders(req.headers),
    });
    const fault = this.take(faultKeys);
    if (!fault) return false;
    if (isAfterCommit(fault)) {
      this.#afterCommit.set(req, fault);
      return false;
    }
    if ('hang' in fault) await never();
    if ('drop' in fault) {
      reply.hijack();
      req.raw.socket.destroy();
      return true;
    }
    this.faultReply(reply, fault, operation);
    return true;
  }

  /**
   * Applies the after-commit fault `intercept` took for this request, once its handler has run (the
   * change landed): waits before answering, or drops the connection (true: the reply is gone). A
   * simulator whose handlers do not call this answers such faults normally (Jira, SCIM and Slack call it).
   */
  protected async afterCommit(req: FastifyRequest, reply: FastifyReply): Promise<boolean> {
    const fault = this.#afterCommit.get(req);
    if (!fault) return false;
    this.#afterCommit.delete(req);
    if ('delayAfterCommit' in fault) {
      await new Promise((resolve) => setTimeout(resolve, fault.delayAfterCommit).unref());
      return false;
    }
    reply.hijack();
    req.raw.socket.destroy();
    return true;
  }
}

/**
 * A simulator's own control plane, for a person or a test driving the local fleet by hand (never a
 * vendor route), mounted on `scope` (under the simulator's prefix): `GET /_simulator/requests` (what
 * reached it), `POST /_simulator/faults` `{operation, fault, once?}` (make it misbehave; operation `*` =
 * every operation; `once: false` = until cleared), `DELETE /_simulator/faults` (back to normal). The
 * HTTP simulators mount it themselves; the hub mounts it for the SMTP simulator (operations are its
 * stages) under `/smtp`.
 */
export function controlRoutes(
  scope: FastifyInstance,
  name: string,
  faults: FaultBox,
  requests: () => readonly RecordedRequest[],
): void {
  scope.get('/_simulator/requests', async () => ({ simulator: name, requests: requests() }));
  scope.post('/_simulator/faults', async (req, reply) => {
    const body = (req.body ?? {}) as { operation?: unknown; fault?: unknown; once?: unknown };
    if (typeof body.operation !== 'string' || body.fault === null || typeof body.fault !== 'object')
      return reply
        .code(400)
        .send({ error: 'body must be {"operation": "<op>|*", "fault": {...}, "once": true|false}' });
    if (body.once === false) faults.setFault(body.operation, body.fault as Fault);
    else faults.failNext(body.operation, body.fault as Fault);
    return { ok: true };
  });
  scope.delete('/_simulator/faults', async () => {
    faults.clearFaults();
    return { ok: true };
  });
}

/** A fastify instance as the simulators want it: no logging (bodies hold secrets), hung sockets cut on close. */
export function createApp(): FastifyInstance {
  return fastify({ logger: false, forceCloseConnections: true, bodyLimit: 8 * 1024 * 1024 });
}

/** `http://host:port` of a listening app. */
export function originOf(app: FastifyInstance, host: string): string {
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}
