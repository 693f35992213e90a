// The fastify app of a fleet server: /mcp behind the guards, plus health, readiness, metrics and
// protected-resource metadata outside them.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { context as contextApi, trace as traceApi } from '@opentelemetry/api';
import fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import type { Identity } from '../identity/identity.js';
import type { TokenVerifier } from '../identity/token-verifier.js';
import type { ReadinessCheck } from '../kernel/call.js';
import { FLEET_ERRORS, type FleetErrorCode } from '../kernel/errors.js';
import { type FleetTracing, failed, SpanKind, withSpan } from '../observability/tracing.js';
import type { FleetRuntime } from '../pipeline/runtime.js';
import { createMcpHost, type McpHostOptions } from '../protocol/mcp-host.js';
import { approvalsApi } from './approvals-api.js';
import { bearerAuth, hostAndOriginGuard, metadataPath } from './request-guards.js';

export type { ReadinessCheck } from '../kernel/call.js';

/** Options for {@link buildHttpApp}. */
export interface HttpAppOptions {
  verifier: Pick<TokenVerifier, 'verify'>;
  readiness?: ReadinessCheck[];
  mcp?: McpHostOptions;
}

declare module 'fastify' {
  interface FastifyRequest {
    identity: Identity | null;
  }
}

/** Builds (never listens) the HTTP app of one server. */
export function buildHttpApp(rt: FleetRuntime, options: HttpAppOptions): FastifyInstance {
  const { config } = rt;
  const app = fastify({
    bodyLimit: config.bodyLimitBytes,
    logger: false,
    return503OnClosing: true,
    // Always the server's own id: a client-chosen x-request-id collides across clients and sessions,
    // so it is kept only as the audit record's details.clientRequestId (and echoed back as it came).
    genReqId: () => randomUUID(),
    ...(rt.tracing ? { serverFactory: tracedServerFactory(rt.tracing) } : {}),
  });
  drainKeepAliveOnClose(app);
  // The client learns the server's id for its request (on the raw response: the MCP host hijacks it).
  app.addHook('onRequest', async (request, reply) => {
    reply.raw.setHeader('x-request-id', request.id);
    const span = reply.raw.fleetSpan;
    if (span && request.routeOptions.url) {
      span.updateName(`${request.method} ${request.routeOptions.url}`);
      span.setAttribute('http.route', request.routeOptions.url);
      span.setAttribute('mcp.request_id', request.id);
    }
  });
  // RFC 9728: the metadata URL is the origin + the well-known prefix + the resource path.
  const metadataUrl = `${new URL(config.publicUrl).origin}${metadataPath(config.resource)}`;
  const metadata = {
    resource: config.resource,
    authorization_servers: config.auth.issuer ? [config.auth.issuer] : [],
    bearer_methods_supported: ['header'],
    scopes_supported: config.auth.requiredScopes,
    resource_name: `mcp-fleet ${rt.server}`,
  };

  app.setErrorHandler((err: { statusCode?: number; code?: string; message: string }, request, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) rt.logger.error({ err: err.message, requestId: request.id }, 'request failed');
    // Never echo internals: 4xx from fastify (body too large, bad JSON) carry safe messages.
    const message = status === 500 ? `internal error (reference ${request.id})` : err.message;
    const code = status === 413 ? -32600 : status === 400 ? -32700 : -32603;
    // The catalogue code (kernel/errors.ts) for programs to match on, as on every JSON-RPC error the
    // fleet sends; fastify's own FST_ERR_* code, when it has one, is kept beside it.
    const fleetCode: FleetErrorCode =
      status === 500
        ? 'FLEET_ERR_INTERNAL'
        : typeof err.code === 'string' && Object.hasOwn(FLEET_ERRORS, err.code)
          ? (err.code as FleetErrorCode)
          : status === 413
            ? 'FLEET_ERR_BODY_TOO_LARGE'
            : status === 415
              ? 'FLEET_ERR_UNSUPPORTED_MEDIA_TYPE'
              : status === 400
                ? 'FLEET_ERR_PARSE_ERROR'
                : 'FLEET_ERR_INVALID_REQUEST';
    const data = {
      code: fleetCode,
      ...(status !== 500 && typeof err.code === 'string' && err.code !== fleetCode
        ? { detail: err.code }
        : {}),
    };
    reply.code(status).send({ jsonrpc: '2.0', id: null, error: { code, message, data } });
  });

  app.get('/healthz', async () => ({ status: 'ok', server: rt.server }));
  app.get('/readyz', async (_req, reply) => {
    const checks: Record<string, string> = { policy: `ok (${rt.policy.version || 'deny-all'})` };
    let ready = true;
    let degraded = false;
    // The policy above stays in force; a refused reload is for the operator to fix, not a reason to
    // leave the pool: non-critical.
    const refused = rt.policy.refusal;
    if (refused) {
      checks.policy_reload = `refused${refused.version ? ` (${refused.version})` : ''}: ${refused.reason}`;
      degraded = true;
    }
    await Promise.all(
      (options.readiness ?? []).map(async (c) => {
        try {
          await c.check();
          checks[c.name] = 'ok';
        } catch (err) {
          // /readyz is unauthenticated: up or down only; why goes to the logs (it can name hosts).
          checks[c.name] = 'failing';
          rt.logger.warn({ check: c.name, err: (err as Error).message }, 'readiness check failing');
          if (c.critical) ready = false;
          else degraded = true;
        }
      }),
    );
    reply.code(ready ? 200 : 503);
    return { status: ready ? (degraded ? 'degraded' : 'ready') : 'not_ready', server: rt.server, checks };
  });
  // /metrics has no authentication on purpose: it is for the cluster's Prometheus scraper. What limits
  // who reaches it is the deployment: the charts' NetworkPolicy (helm/mcp-fleet-lib/templates/
  // _networkpolicy.tpl) admits only the gateway and monitoring namespaces to the pod's port. Note that
  // the gateway namespaces are admitted to the same port, and the per-server Ingress routes the prefix
  // `/`: an operator exposing a server through that Ingress should block /metrics at the gateway. The
  // series carry tool names and outcome counts, never arguments, identities or secrets.
  app.get('/metrics', async (_req, reply) => {
    rt.metrics.policyReloadFailed.set(rt.policy.refusal ? 1 : 0);
    await Promise.all(
      (options.readiness ?? [])
        .filter((c) => c.onScrape)
        .map((c) =>
          c.check().then(
            () => rt.metrics.readinessCheck.set({ check: c.name }, 1),
            () => rt.metrics.readinessCheck.set({ check: c.name }, 0),
          ),
        ),
    );
    for (const c of options.readiness ?? [])
      if (c.breaker) rt.metrics.breakerState.set({ upstream: c.breaker.upstream }, c.breaker.state());
    reply.header('content-type', rt.metrics.registry.contentType);
    return rt.metrics.registry.metrics();
  });
  const sendMetadata = async (_req: unknown, reply: FastifyReply) => {
    reply.header('cache-control', 'public, max-age=300');
    return metadata;
  };
  app.get('/.well-known/oauth-protected-resource', sendMetadata);
  if (metadataPath(config.resource) !== '/.well-known/oauth-protected-resource') {
    app.get(metadataPath(config.resource), sendMetadata);
  }

  // Human approvals: outside /mcp, in their own context, for approver tokens only.
  app.register(approvalsApi(rt, { metadataUrl }));

  const host = createMcpHost(rt, options.mcp);
  app.addHook('onClose', async () => host.close());

  // /mcp in its own encapsulated context: guards and auth apply here only.
  app.register(async (mcp) => {
    mcp.decorateRequest('identity', null);
    mcp.addHook('onRequest', hostAndOriginGuard(config.allowedHosts, config.allowedOrigins));
    const auth = bearerAuth({
      verifier: options.verifier,
      metrics: rt.metrics,
      metadataUrl,
      scopes: config.auth.requiredScopes,
      textKey: 'error_description',
      accept: (request, identity) => {
        request.identity = identity;
      },
    });
    mcp.addHook('onRequest', (request, reply) => withSpan('mcp.auth', {}, () => auth(request, reply)));
    const serve = async (request: Parameters<typeof host.handle>[0], reply: FastifyReply) =>
      host.handle(request, reply, request.identity!);
    mcp.post('/mcp', serve);
    mcp.get('/mcp', serve);
    mcp.delete('/mcp', serve);
  });

  return app;
}

declare module 'node:http' {
  interface ServerResponse {
    /** The request's SERVER span (tracedServerFactory), for the route name once fastify knows it. */
    fleetSpan?: import('@opentelemetry/api').Span;
  }
}

/** Requests that get no span: probes and scrapes would fill the trace store with nothing to follow. */
const UNTRACED = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * The HTTP server of a traced app: each request runs in a SERVER span that starts the fleet's own trace
 * (the client's valid W3C `traceparent` only a link; TRACE_INCOMING=continue continues it), with the
 * request's streams bound to its context so that everything fastify and the MCP host do for it (body,
 * hooks, the tool call) runs under that span. The span names the matched route (`http.route`, set once
 * fastify knows it), never the raw path: an unmatched one is the client's text (T-4).
 */
function tracedServerFactory(tracing: FleetTracing) {
  return (handler: (req: IncomingMessage, res: ServerResponse) => void) =>
    createServer((req, res) => {
      const path = req.url ? req.url.split('?', 1)[0]! : '/';
      if (UNTRACED.has(path)) {
        handler(req, res);
        return;
      }
      const { parent, links } = tracing.requestContext(req.headers);
      const method = req.method ?? 'GET';
      const span = tracing.tracer.startSpan(
        method,
        { kind: SpanKind.SERVER, attributes: { 'http.request.method': method }, links },
        parent,
      );
      res.fleetSpan = span;
      const ctx = traceApi.setSpan(parent, span);
      let ended = false;
      const end = () => {
        if (ended) return;
        ended = true;
        span.setAttribute('http.response.status_code', res.statusCode);
        if (res.statusCode >= 500) failed(span, new Error(`HTTP ${res.statusCode}`));
        span.end();
      };
      res.once('finish', end);
      res.once('close', end);
      contextApi.with(ctx, () => {
        contextApi.bind(ctx, req);
        contextApi.bind(ctx, res);
        handler(req, res);
      });
    });
}

/**
 * A clean stop (SIGTERM) must not wait for keep-alive connections. Node's `server.close()` (and
 * fastify's `forceCloseConnections: 'idle'`) close the connections idle at that moment only: one whose
 * call was in flight turns idle when its answer is sent and would then stay open for the keep-alive
 * timeout (fastify's 72 s, beyond any grace period), so the server never finished closing. While
 * closing, an answer not yet started says `Connection: close`, and every connection is closed as soon
 * as its answer is done. A request that arrives on it meanwhile is refused (`return503OnClosing`).
 */
function drainKeepAliveOnClose(app: FastifyInstance): void {
  const inFlight = new Set<ServerResponse>();
  let closing = false;
  const closeIdle = () => setImmediate(() => app.server.closeIdleConnections());
  app.server.on('request', (_req: IncomingMessage, res: ServerResponse) => {
    inFlight.add(res);
    const done = () => {
      if (!inFlight.delete(res)) return;
      if (closing) closeIdle();
    };
    res.once('finish', done);
    res.once('close', done);
  });
  app.addHook('preClose', async () => {
    closing = true;
    for (const res of inFlight) if (!res.headersSent) res.setHeader('connection', 'close');
    closeIdle();
  });
}
