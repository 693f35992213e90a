// OpenTelemetry traces of the request path: one tracer provider per server, spans for the HTTP request,
// each governance step, the tool handler and every upstream call (fleet database, Redis, vendor HTTP),
// exported over OTLP/HTTP only when an endpoint is configured. Spans are made either way, so every
// call has a trace id for its audit record and its log lines.
//
// An incoming W3C `traceparent` is a client's claim, not the fleet's trace (issue 16, T-1..T-3): by
// default (TRACE_INCOMING=link) every request starts a new trace with a fleet-generated id, sampled by
// the fleet's own ratio, and the client's valid traceparent is only a span link on the SERVER span and
// the audit record's `details.clientTraceId`. With `continue` (callers are the operator's own gateway)
// it is the request's parent. The client's tracestate and baggage are never read: nothing it chose is
// stored, exported or forwarded, and upstreams get the fleet's own `traceparent` only.
//
// The server's tracer travels in the request's context (not a process-global provider): a span is
// started only under a request (or a call given a context), and several servers in one process (tests)
// keep their own exporters. The context manager (AsyncLocalStorage) is process-wide.
import {
  type Attributes,
  type Context,
  context,
  createContextKey,
  defaultTextMapGetter,
  defaultTextMapSetter,
  isSpanContextValid,
  type Link,
  ROOT_CONTEXT,
  type Span,
  type SpanContext,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  type SpanProcessor,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-base';

export type { Span };

/** Where tracing says what went wrong (the server's logger; logger.ts imports this module, not the reverse). */
type Logger = { warn(fields: object, message: string): void };

/** The tracing settings of core's configuration (`config.tracing`). */
export interface TracingSettings {
  tracesEndpoint: string | undefined;
  serviceName: string | undefined;
  sampleRatio: number;
  /** What an incoming traceparent does (default 'link': a span link only; 'continue': the parent). */
  incoming?: 'link' | 'continue' | undefined;
}

/** Where a request's trace starts: its parent context (with the tracer), and the client's trace as a link. */
export interface RequestTraceStart {
  parent: Context;
  links: Link[];
}

/** How long one export (and the final flush at shutdown) may take: a dead collector never holds a call or a stop. */
const EXPORT_TIMEOUT_MS = 2_000;

let contextManagerSet = false;

/** Installs the AsyncLocalStorage context manager once per process (idempotent). */
function ensureContextManager(): void {
  if (contextManagerSet) return;
  contextManagerSet = true;
  const manager = new AsyncLocalStorageContextManager();
  // false when another library installed one already: that one (also async-hooks based in Node) is used.
  if (context.setGlobalContextManager(manager.enable())) return;
  manager.disable();
}

const TRACER_KEY = createContextKey('mcp-fleet tracer');
const CLIENT_TRACE_KEY = createContextKey('mcp-fleet client trace id');
const propagator = new W3CTraceContextPropagator();

/** One server's tracing: its provider, tracer and how it stops. */
export class FleetTracing {
  readonly tracer: Tracer;
  readonly exporting: boolean;
  readonly incoming: 'link' | 'continue';
  readonly #provider: BasicTracerProvider;
  readonly #logger: Logger | undefined;

  constructor(server: string, settings: TracingSettings, logger?: Logger) {
    ensureContextManager();
    this.#logger = logger;
    const endpoint = settings.tracesEndpoint;
    this.exporting = endpoint !== undefined && endpoint !== '';
    this.incoming = settings.incoming === 'continue' ? 'continue' : 'link';
    const spanProcessors: SpanProcessor[] = [];
    if (this.exporting) {
      spanProcessors.push(
        new BatchSpanProcessor(
          new OTLPTraceExporter({ url: endpoint, timeoutMillis: EXPORT_TIMEOUT_MS, concurrencyLimit: 4 }),
          { exportTimeoutMillis: EXPORT_TIMEOUT_MS, maxQueueSize: 4096, scheduledDelayMillis: 1_000 },
        ),
      );
    }
    const ratio = Math.min(Math.max(settings.sampleRatio, 0), 1);
    this.#provider = new BasicTracerProvider({
      resource: resourceFromAttributes({
        'service.name': settings.serviceName || `mcp-fleet-${server}`,
        'service.namespace': 'mcp-fleet',
      }),
      // Without an exporter nothing is recorded (the spans still carry ids: audit and logs need them).
      // A request's SERVER span is a root in 'link' mode, so the fleet's ratio alone decides; only in
      // 'continue' mode does a (trusted) remote parent's sampled flag count.
      sampler: new ParentBasedSampler({
        root: this.exporting ? new TraceIdRatioBasedSampler(ratio) : new AlwaysOffSampler(),
      }),
      spanProcessors,
    });
    this.tracer = this.#provider.getTracer('mcp-fleet', '0.1.0');
  }

  /**
   * Where a request's trace starts: a new trace of the fleet's (link mode; the client's valid
   * `traceparent` as a link), or the client's trace continued (continue mode). Either way only the
   * traceparent's ids are kept (never its tracestate, nor baggage), and the client's trace id is in the
   * context for the audit record's `details.clientTraceId`.
   */
  requestContext(headers: Record<string, string | string[] | undefined>): RequestTraceStart {
    let parent = ROOT_CONTEXT.setValue(TRACER_KEY, this.tracer);
    const client = clientSpanContext(headers.traceparent);
    if (!client) return { parent, links: [] };
    parent = parent.setValue(CLIENT_TRACE_KEY, client.traceId);
    if (this.incoming === 'continue') return { parent: trace.setSpanContext(parent, client), links: [] };
    return { parent, links: [{ context: client }] };
  }

  /** `ctx` (default: the active one) with this server's tracer in it, for work outside a request. */
  withTracer(ctx: Context = context.active()): Context {
    return ctx.setValue(TRACER_KEY, this.tracer);
  }

  /** Exports what is queued and stops; bounded: an unreachable collector never holds a shutdown long. */
  async close(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, EXPORT_TIMEOUT_MS + 500);
      timer.unref();
    });
    try {
      await Promise.race([
        this.#provider.shutdown().catch((err: unknown) => {
          this.#logger?.warn({ err: (err as Error).message }, 'trace export at shutdown failed');
        }),
        bound,
      ]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** The tracer of the server whose request (or work) is running, when there is one. */
export function activeTracer(ctx: Context = context.active()): Tracer | undefined {
  return ctx.getValue(TRACER_KEY) as Tracer | undefined;
}

/**
 * The client's span context from one `traceparent` header (W3C, validated by OpenTelemetry's
 * propagator): its ids and sampled flag only, no tracestate. Undefined when absent, invalid or repeated.
 */
function clientSpanContext(header: string | string[] | undefined): SpanContext | undefined {
  if (typeof header !== 'string' || header.length > 512) return undefined;
  const extracted = propagator.extract(ROOT_CONTEXT, { traceparent: header }, defaultTextMapGetter);
  const sc = trace.getSpanContext(extracted);
  if (!sc || !isSpanContextValid(sc)) return undefined;
  return { traceId: sc.traceId, spanId: sc.spanId, traceFlags: sc.traceFlags & 1, isRemote: true };
}

/**
 * The trace id (32 lowercase hex) of the client's valid `traceparent` on the running request, kept for
 * the audit record's `details.clientTraceId` (never the audit trace id, in link mode); else undefined.
 */
export function currentClientTraceId(): string | undefined {
  return context.active().getValue(CLIENT_TRACE_KEY) as string | undefined;
}

/** The trace id (32 lowercase hex) of the active span, or undefined outside any span. */
export function currentTraceId(): string | undefined {
  const sc = trace.getSpanContext(context.active());
  return sc && isSpanContextValid(sc) ? sc.traceId : undefined;
}

/** `trace_id` and `span_id` of the active span for a log line; an empty object outside any span. */
export function traceLogFields(): { trace_id?: string; span_id?: string } {
  const sc = trace.getSpanContext(context.active());
  return sc && isSpanContextValid(sc) ? { trace_id: sc.traceId, span_id: sc.spanId } : {};
}

/** Copies the active trace into outgoing HTTP headers: `traceparent` only (no tracestate, ever). */
export function injectTraceHeaders(headers: Record<string, string>, ctx: Context = context.active()): void {
  const carrier: Record<string, string> = {};
  propagator.inject(ctx, carrier, defaultTextMapSetter);
  if (carrier.traceparent) headers.traceparent = carrier.traceparent;
}

/**
 * Runs `fn` outside any request's trace (work the request only triggers, such as a batch of audit
 * records written later for many calls, must not show up as a part of that one request).
 */
export function untraced<T>(fn: () => T): T {
  return context.with(ROOT_CONTEXT, fn);
}

/** Options of {@link withSpan}. */
export interface SpanOptions {
  kind?: SpanKind;
  attributes?: Attributes;
}

/**
 * Runs `fn` in a child span of the active one (ended when `fn` settles; a throw marks it as an error).
 * Outside a server's request there is no tracer in the context: `fn` runs as it is, at no cost.
 */
export function withSpan<T>(name: string, options: SpanOptions, fn: (span: Span | undefined) => T): T {
  const parent = context.active();
  const tracer = activeTracer(parent);
  if (!tracer) return fn(undefined);
  const span = tracer.startSpan(name, options, parent);
  const ctx = trace.setSpan(parent, span);
  let result: T;
  try {
    result = context.with(ctx, fn, undefined, span);
  } catch (err) {
    failed(span, err);
    span.end();
    throw err;
  }
  if (result instanceof Promise) {
    return result.then(
      (v) => {
        span.end();
        return v;
      },
      (err: unknown) => {
        failed(span, err);
        span.end();
        throw err;
      },
    ) as T;
  }
  span.end();
  return result;
}

/** Starts a child span of the active one that the caller ends (synchronous steps); undefined outside a request. */
export function startSpan(name: string, options: SpanOptions = {}): Span | undefined {
  const parent = context.active();
  const tracer = activeTracer(parent);
  return tracer?.startSpan(name, options, parent);
}

/** Marks a span as failed with the error's class (never its message: it may name hosts or data). */
export function failed(span: Span, err: unknown): void {
  span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.name : 'error' });
  if (err instanceof Error) span.setAttribute('error.type', err.name);
}

/**
 * A span around one call to an upstream system (a vendor SDK, SMTP, a warehouse query): a CLIENT
 * span named `name` (e.g. `slack chat.postMessage`) with `attrs`, ended when `fn` settles. The seam each
 * server uses where it calls out; core's own upstreams (fleet database, Redis, upstreamCall) have theirs.
 */
export function withUpstreamSpan<T>(name: string, attrs: Attributes, fn: () => Promise<T>): Promise<T> {
  return withSpan(name, { kind: SpanKind.CLIENT, attributes: attrs }, fn);
}

export { SpanKind, SpanStatusCode };
