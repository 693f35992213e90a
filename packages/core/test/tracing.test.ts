// One call followed everywhere by its trace id (issue 16): a client sends a W3C traceparent; its call is
// found in the audit trail by that id (details.clientTraceId), and the record's trace id — the fleet's
// own, never the client's — is found in the call's log lines, the spans a real OTLP/HTTP receiver gets
// from the server (HTTP, governance steps, handler, fleet database, upstream HTTP, with their parent
// links; the client's span a link of the HTTP span), and in the traceparent the upstream received. Also: a collector that
// is down costs nothing (calls answer, the server stops), sampler ratio 0 exports nothing but still
// gives audit and logs a trace id, and every tool's audit record carries one.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import {
  callBounds,
  defineTool,
  type ServerDefinition,
  signalledFetch,
  UpstreamBreaker,
  UpstreamFailure,
  upstreamCall,
} from '@mcp-fleet/core';
import {
  type BootedServer,
  bootServer,
  createTestDatabase,
  type OtlpReceiver,
  type OtlpSpan,
  startOtlpReceiver,
  testRedisUrl,
  untilDefined,
} from '@mcp-fleet/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { fixtureServer } from './fixtures.js';
import { callMsg, rpc } from './helpers.js';

/** A local upstream that records the headers of every request it gets. */
async function startUpstream() {
  const seen: IncomingHttpHeaders[] = [];
  const server = createServer((req, res) => {
    seen.push(req.headers);
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"answer":42}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { seen, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

const close = (s: Server) => new Promise<void>((r) => s.close(() => r()));

let upstreamUrl = '';
const breaker = new UpstreamBreaker('vendor', { threshold: 5, halfOpenAfterMs: 30_000 });

const lookUp = defineTool({
  name: 'look_up',
  title: 'Look up',
  description: 'Asks the upstream a question (a read through core upstreamCall and signalledFetch).',
  input: z.object({ q: z.string() }),
  governance: { readOnly: true },
  handler: async ({ q }, ctx) => {
    ctx.logger.info({ q }, 'asking the upstream');
    const b = callBounds(ctx);
    const answer = await upstreamCall(
      {
        system: 'vendor',
        who: 'the vendor',
        breaker,
        timeoutMs: 5_000,
        signal: b.signal,
        deadline: b.deadline,
        kind: 'read',
        retries: 0,
        classify: () => new UpstreamFailure('vendor', 'unavailable', 'no answer'),
      },
      async () => (await signalledFetch(`${upstreamUrl}/answer?q=${encodeURIComponent(q)}`)).json(),
    );
    return { text: JSON.stringify(answer) };
  },
});

const note = defineTool({
  name: 'save_note',
  title: 'Save a note',
  description: 'A mutation: its audit record is stored in the fleet database before it runs.',
  input: z.object({ note: z.string() }),
  governance: { readOnly: false },
  handler: async ({ note }, ctx) => {
    ctx.logger.info('saving the note');
    return { text: `saved ${note}` };
  },
});

const definition: ServerDefinition<object> = {
  name: 'traced',
  version: '0.0.1',
  defaultPort: 7497,
  tools: [lookUp, note],
  connect: () => ({}),
};
const policy = { version: 1, roles: { all: { grants: [{ servers: ['traced', 'fixture'], tools: ['*'] }] } } };
/** The same, with a rate limit (counted in Redis when REDIS_URL is set). */
const limitedPolicy = {
  version: 1,
  roles: { all: { grants: [{ servers: ['traced'], tools: ['*'] }], limits: { perMinute: 1000 } } },
};

const TRACE_ID = /^[0-9a-f]{32}$/;
const newTraceparent = () => {
  const traceId = randomBytes(16).toString('hex');
  return { traceId, clientSpan: randomBytes(8).toString('hex'), header: '' };
};

let db: { url: string; drop: () => Promise<void> };
let reader: pg.Pool;

/**
 * The audit record of the call a client traced with `clientTraceId`, once it has ended: found by
 * details.clientTraceId, as an investigation that starts from the client's trace id finds it.
 */
async function auditRowByClientTrace(clientTraceId: string) {
  return untilDefined(async () => {
    const { rows } = await reader.query<{ tool: string; trace_id: string; outcome: string }>(
      "SELECT tool, trace_id, outcome FROM audit_records WHERE details->>'clientTraceId' = $1 AND outcome <> 'started'",
      [clientTraceId],
    );
    return rows.length === 1 ? rows[0] : undefined;
  }, `the audit record of client trace ${clientTraceId}`);
}

/** The audit record (tool, trace_id, outcome) of a request id, once its call has ended. */
async function auditRow(requestId: string) {
  return untilDefined(async () => {
    const { rows } = await reader.query<{ tool: string; trace_id: string | null; outcome: string }>(
      "SELECT tool, trace_id, outcome FROM audit_records WHERE request_id = $1 AND outcome <> 'started'",
      [requestId],
    );
    return rows[0];
  }, `the audit record of ${requestId}`);
}

/** A log sink: every JSON line the server's own logger writes. */
function logSink() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l));
      done();
    },
  });
  return { lines, stream };
}

beforeAll(async () => {
  db = await createTestDatabase('tracing');
  reader = new pg.Pool({ connectionString: db.url, max: 2 });
});
afterAll(async () => {
  await reader?.end();
  await db?.drop();
});

describe('one call followed by its trace id', () => {
  let receiver: OtlpReceiver;
  let upstream: Awaited<ReturnType<typeof startUpstream>>;
  let server: BootedServer;
  const logs = logSink();

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    upstream = await startUpstream();
    upstreamUrl = upstream.url;
    server = await bootServer(definition, {
      policy: limitedPolicy,
      databaseUrl: db.url,
      env: {
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        LOG_LEVEL: 'info',
        AUDIT_FLUSH_MS: '50',
        REDIS_URL: testRedisUrl(),
        REDIS_KEY_PREFIX: `tracing-${randomBytes(4).toString('hex')}`,
      },
      serverOptions: { logDestination: logs.stream },
    });
  });
  afterAll(async () => {
    await server?.close();
    await receiver?.close();
    if (upstream) await close(upstream.server);
  });

  it('is in the audit row, the log lines, the exported spans (linked) and the upstream’s traceparent', async () => {
    const t = newTraceparent();
    const token = await server.token({ sub: 'tracer-agent', roles: ['all'] });
    const res = await rpc(server.url, callMsg('look_up', { q: 'life' }), {
      authorization: `Bearer ${token}`,
      traceparent: `00-${t.traceId}-${t.clientSpan}-01`,
    });
    expect(res.status).toBe(200);
    expect(res.body.result.isError).toBeFalsy();

    // The audit record, read from the fleet database by the client's trace id: its trace id is the fleet's.
    const row = await auditRowByClientTrace(t.traceId);
    expect(row).toMatchObject({ tool: 'look_up', outcome: 'ok' });
    expect(row.trace_id).toMatch(TRACE_ID);
    expect(row.trace_id).not.toBe(t.traceId);
    const traceId = row.trace_id;

    // The log line the tool wrote carries the trace id.
    const asked = logs.lines.find((l) => l.msg === 'asking the upstream');
    expect(asked?.trace_id).toBe(traceId);
    expect(asked?.span_id).toMatch(/^[0-9a-f]{16}$/);

    // The spans of this trace, as the collector received them.
    const names = ['mcp.handler', 'HTTP GET', 'upstream vendor', 'POST /mcp', 'mcp.tool look_up'];
    const spans = await untilDefined(() => {
      const mine = receiver.spans.filter((s) => s.traceId === traceId);
      return names.every((n) => mine.some((s) => s.name === n)) &&
        mine.some((s) => s.name.startsWith('redis '))
        ? mine
        : undefined;
    }, 'the spans of the call');
    expect(new Set(spans.map((s) => s.service))).toEqual(new Set(['mcp-fleet-traced']));
    const byName = (n: string) => {
      const s = spans.find((x) => x.name === n);
      expect(s, `span ${n}`).toBeDefined();
      return s!;
    };
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const http = byName('POST /mcp');
    expect(http.parentSpanId || undefined).toBeUndefined(); // the fleet's own trace...
    expect(http.links?.map((l) => [l.traceId, l.spanId])).toEqual([[t.traceId, t.clientSpan]]); // ...linked
    expect(http.kind).toBe(2); // SERVER
    const tool = byName('mcp.tool look_up');
    const handler = byName('mcp.handler');
    const fetchSpan = byName('HTTP GET');
    // Each span's parent chain reaches the HTTP span: tool -> ... -> handler -> upstream -> HTTP GET.
    const ancestors = (s: OtlpSpan): string[] => {
      const out: string[] = [];
      for (
        let p = s.parentSpanId && byId.get(s.parentSpanId);
        p;
        p = p.parentSpanId && byId.get(p.parentSpanId)
      )
        out.push(p.name);
      return out;
    };
    expect(ancestors(tool)).toContain('POST /mcp');
    for (const step of [
      'mcp.auth',
      'mcp.policy',
      'mcp.suspension',
      'mcp.validate',
      'mcp.limits',
      'mcp.cache',
    ])
      expect(
        spans.some((s) => s.name === step),
        step,
      ).toBe(true);
    expect(ancestors(byName('mcp.limits'))).toContain('mcp.tool look_up');
    expect(ancestors(handler)).toEqual(
      expect.arrayContaining(['mcp.limits', 'mcp.tool look_up', 'POST /mcp']),
    );
    expect(ancestors(fetchSpan).slice(0, 2)).toEqual(['upstream vendor', 'mcp.handler']);
    expect(fetchSpan.kind).toBe(3); // CLIENT
    const attr = (s: OtlpSpan, k: string) => s.attributes?.find((a) => a.key === k)?.value.stringValue;
    expect(attr(tool, 'mcp.outcome')).toBe('ok');
    expect(attr(tool, 'mcp.agent')).toBe('tracer-agent');
    // The rate limit counted in Redis: a CLIENT span under the limits step.
    const redis = spans.find((s) => s.name.startsWith('redis '));
    expect(redis?.kind).toBe(3);
    expect(ancestors(redis!)[0]).toBe('mcp.limits');
    // A batch of audit records written later is no part of this call.
    expect(spans.filter((s) => s.name.startsWith('pg '))).toEqual([]);

    // The upstream received the trace, parented on the HTTP client span.
    const sent = upstream.seen.at(-1)!;
    expect(sent.traceparent).toBe(`00-${traceId}-${fetchSpan.spanId}-01`);
  });

  it('a mutation’s fleet-database statements are spans of its trace', async () => {
    const t = newTraceparent();
    const token = await server.token({ sub: 'tracer-agent', roles: ['all'] });
    const res = await rpc(server.url, callMsg('save_note', { note: 'hello' }), {
      authorization: `Bearer ${token}`,
      traceparent: `00-${t.traceId}-${t.clientSpan}-01`,
    });
    expect(res.body.result.isError).toBeFalsy();
    const row = await auditRowByClientTrace(t.traceId);
    expect(row).toMatchObject({ tool: 'save_note', outcome: 'ok' });
    const traceId = row.trace_id;
    expect(traceId).not.toBe(t.traceId);
    expect(logs.lines.find((l) => l.msg === 'saving the note')?.trace_id).toBe(traceId);
    const spans = await untilDefined(() => {
      const mine = receiver.spans.filter((s) => s.traceId === traceId);
      return mine.some((s) => s.name === 'pg INSERT') && mine.some((s) => s.name === 'mcp.handler')
        ? mine
        : undefined;
    }, 'the fleet database span');
    const insert = spans.find((s) => s.name === 'pg INSERT')!;
    expect(insert.kind).toBe(3);
    const parent = spans.find((s) => s.spanId === insert.parentSpanId);
    expect(parent?.name).toBe('mcp.audit'); // the record stored before the mutation runs
    expect(spans.some((s) => s.name === 'mcp.idempotency')).toBe(true);
  });
});

describe('a collector that is down', () => {
  it('costs nothing: calls answer with a trace id in audit and logs, and the server stops', async () => {
    const dead = createServer();
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
    const port = (dead.address() as AddressInfo).port;
    await close(dead); // nothing listens there now
    const logs = logSink();
    const server = await bootServer(definition, {
      policy,
      databaseUrl: db.url,
      env: {
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
        AUDIT_FLUSH_MS: '50',
        LOG_LEVEL: 'info',
      },
      serverOptions: { logDestination: logs.stream },
    });
    const token = await server.token({ sub: 'a2', roles: ['all'] });
    const requestIds: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await rpc(server.url, callMsg('save_note', { note: `n${i}` }), {
        authorization: `Bearer ${token}`,
      });
      expect(res.body.result.isError).toBeFalsy();
      requestIds.push(res.headers.get('x-request-id')!);
    }
    for (const id of requestIds) expect((await auditRow(id)).trace_id).toMatch(TRACE_ID);
    const saved = logs.lines.filter((l) => l.msg === 'saving the note');
    expect(saved).toHaveLength(5);
    for (const l of saved) expect(l.trace_id).toMatch(TRACE_ID);
    await server.close(); // bounded flush: resolves although the export cannot land
  });
});

describe('sampler ratio 0', () => {
  it('exports nothing, yet the call has a trace id in its audit row and log lines', async () => {
    const receiver = await startOtlpReceiver();
    const logs = logSink();
    const server = await bootServer(definition, {
      policy,
      databaseUrl: db.url,
      env: {
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_TRACES_SAMPLER_ARG: '0',
        AUDIT_FLUSH_MS: '50',
        LOG_LEVEL: 'info',
      },
      serverOptions: { logDestination: logs.stream },
    });
    const token = await server.token({ sub: 'a3', roles: ['all'] });
    const res = await rpc(server.url, callMsg('save_note', { note: 'quiet' }), {
      authorization: `Bearer ${token}`,
    });
    expect(res.body.result.isError).toBeFalsy();
    const row = await auditRow(res.headers.get('x-request-id')!);
    expect(row.trace_id).toMatch(TRACE_ID);
    expect(logs.lines.find((l) => l.msg === 'saving the note')?.trace_id).toBe(row.trace_id);
    await server.close(); // flushes whatever was recorded
    expect(receiver.spans.filter((s) => s.traceId === row.trace_id)).toEqual([]);
    await receiver.close();
  });
});

describe('every tool of a server', () => {
  it('leaves an audit record with a valid trace id, whatever the call’s outcome', async () => {
    const server = await bootServer(fixtureServer, {
      policy,
      databaseUrl: db.url,
      env: { AUDIT_FLUSH_MS: '50' },
    });
    try {
      const token = await server.token({ sub: 'a4', roles: ['all'] });
      const tools = fixtureServer.tools as readonly { name: string }[];
      expect(tools.length).toBeGreaterThan(2);
      for (const tool of tools) {
        const t = newTraceparent();
        const res = await rpc(server.url, callMsg(tool.name, {}), {
          authorization: `Bearer ${token}`,
          traceparent: `00-${t.traceId}-${t.clientSpan}-01`,
        });
        expect(res.status, tool.name).toBe(200);
        const row = await auditRow(res.headers.get('x-request-id')!);
        expect(row.tool).toBe(tool.name);
        expect(row.trace_id, tool.name).toMatch(TRACE_ID);
        expect(row.trace_id, tool.name).not.toBe(t.traceId); // the fleet's, not the client's
        expect((await auditRowByClientTrace(t.traceId)).trace_id, tool.name).toBe(row.trace_id);
        // Without a client traceparent the server starts a trace of its own.
        const own = await rpc(server.url, callMsg(tool.name, {}), { authorization: `Bearer ${token}` });
        const ownRow = await auditRow(own.headers.get('x-request-id')!);
        expect(ownRow.trace_id, tool.name).toMatch(TRACE_ID);
        expect(ownRow.trace_id).not.toBe(t.traceId);
      }
    } finally {
      await server.close();
    }
  });
});
