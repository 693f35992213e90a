// An agent's trace headers are untrusted input (issue 16, T-1..T-4). By default (TRACE_INCOMING=link)
// every request starts a new trace with a fleet-generated id, sampled by the fleet's own ratio; the
// client's valid traceparent is kept only as a span link on the SERVER span and as
// details.clientTraceId on the call's audit record. Its tracestate and baggage are never stored,
// exported or forwarded, and the vendor gets only the fleet's own traceparent. Checked with a real
// OTLP/HTTP receiver (every body it gets, raw), a real upstream listener (every header it gets) and
// the audit rows in the fleet database, over generated header shapes (fast-check, with fixed examples:
// valid, invalid, flags 00/01, huge, duplicated). TRACE_INCOMING=continue keeps the client's trace id.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { callBounds, defineTool, type ServerDefinition, signalledFetch } from '@mcp-fleet/core';
import {
  type BootedServer,
  bootServer,
  createTestDatabase,
  type OtlpReceiver,
  startOtlpReceiver,
  untilDefined,
} from '@mcp-fleet/testkit';
import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { callMsg } from './helpers.js';

/** The vendor: records the raw header lines of every request, by the marker in its query. */
const seen = new Map<string, { headers: IncomingHttpHeaders; raw: string[] }>();
let upstreamUrl = '';

const lookUp = defineTool({
  name: 'look_up',
  title: 'Look up',
  description: 'Asks the vendor (core signalledFetch).',
  input: z.object({ q: z.string() }),
  governance: { readOnly: true },
  handler: async ({ q }, ctx) => {
    const b = callBounds(ctx);
    const res = await signalledFetch(`${upstreamUrl}/answer?q=${encodeURIComponent(q)}`, {
      signal: b.signal,
    });
    return { text: await res.text() };
  },
});
const definition: ServerDefinition<object> = {
  name: 'incoming',
  version: '0.0.1',
  defaultPort: 7498,
  tools: [lookUp],
  connect: () => ({}),
};
const policy = { version: 1, roles: { all: { grants: [{ servers: ['incoming'], tools: ['*'] }] } } };

const close = (s: Server) => new Promise<void>((r) => s.close(() => r()));
const hex = (bytes: number) => randomBytes(bytes).toString('hex');

/**
 * A POST with header lines exactly as given (a header may repeat: node:http sends each array item as
 * its own line, as a client or proxy that duplicates trace headers does).
 */
function post(
  url: string,
  body: unknown,
  headers: Record<string, string | string[]>,
): Promise<{ status: number; requestId: string; text: string }> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-protocol-version': '2025-11-25',
          'content-length': String(Buffer.byteLength(payload)),
          ...headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            requestId: String(res.headers['x-request-id'] ?? ''),
            text: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** The trace headers a client sends, and the trace id the fleet may keep of them (valid ones only). */
interface Incoming {
  headers: Record<string, string | string[]>;
  /** The client's trace id when its traceparent is one valid W3C header, else undefined. */
  valid: string | undefined;
  /** Every 32-hex id the client put in a traceparent (valid or not). */
  chosenIds: string[];
  /** Text of its tracestate/baggage that must reach nothing (unique per sample). */
  secrets: string[];
}

const flagsArb = fc.constantFrom('00', '01', '03', 'ff');
/** A traceparent: valid (flags 00/01/other), or invalid in one of the ways clients get it wrong. */
const traceparentArb = fc
  .record({
    kind: fc.constantFrom(
      'valid',
      'valid',
      'valid',
      'zero-trace',
      'upper',
      'version-ff',
      'short',
      'junk',
      'huge',
      'duplicated',
      'none',
    ),
    flags: flagsArb,
  })
  .map(({ kind, flags }): { header?: string | string[]; valid?: string; ids: string[] } => {
    const id = hex(16);
    const span = hex(8);
    switch (kind) {
      case 'valid':
        return { header: `00-${id}-${span}-${flags}`, valid: id, ids: [id] };
      case 'zero-trace':
        return { header: `00-${'0'.repeat(32)}-${span}-01`, ids: [] };
      case 'upper':
        return { header: `00-${id.toUpperCase()}-${span}-01`, ids: [id] };
      case 'version-ff':
        return { header: `ff-${id}-${span}-01`, ids: [id] };
      case 'short':
        return { header: `00-${id.slice(2)}-${span}-01`, ids: [] };
      case 'junk':
        return { header: `00-${id}-${span}-01-extra;${'x'.repeat(40)}`, ids: [id] };
      case 'huge':
        return { header: `00-${id}-${span}-01${'-'.repeat(1)}${'a'.repeat(7_000)}`, ids: [id] };
      case 'duplicated': {
        const other = hex(16);
        return { header: [`00-${id}-${span}-01`, `00-${other}-${hex(8)}-01`], ids: [id, other] };
      }
      default:
        return { ids: [] };
    }
  });

const incomingArb: fc.Arbitrary<Incoming> = fc
  .record({
    tp: traceparentArb,
    tracestate: fc.constantFrom('none', 'one', 'many', 'huge', 'duplicated'),
    baggage: fc.boolean(),
  })
  .map(({ tp, tracestate, baggage }) => {
    const headers: Record<string, string | string[]> = {};
    const secrets: string[] = [];
    if (tp.header !== undefined) headers.traceparent = tp.header;
    const s = () => {
      const v = `leak${hex(6)}`;
      secrets.push(v);
      return v;
    };
    if (tracestate === 'one') headers.tracestate = `vendor=${s()}`;
    if (tracestate === 'many') headers.tracestate = `a=${s()},b@t=${s()},congo=t61rcWkgMzE`;
    if (tracestate === 'huge') headers.tracestate = `big=${s()}${'z'.repeat(480)}`;
    if (tracestate === 'duplicated') headers.tracestate = [`one=${s()}`, `two=${s()}`];
    if (baggage) headers.baggage = `userId=${s()},exfil=${s()}`;
    return { headers, valid: tp.valid, chosenIds: tp.ids, secrets };
  });

/** Fixed examples first: the shapes the findings name, so the property is never vacuous. */
const fixed = (valid: string, flags: string): Incoming => {
  const secret = `leak${hex(6)}`;
  return {
    headers: {
      traceparent: `00-${valid}-${hex(8)}-${flags}`,
      tracestate: `vendor=${secret}`,
      baggage: `k=${secret}b`,
    },
    valid,
    chosenIds: [valid],
    secrets: [secret, `${secret}b`],
  };
};

let db: { url: string; drop: () => Promise<void> };
let reader: pg.Pool;
let upstream: Server;

async function auditOf(requestId: string) {
  return untilDefined(async () => {
    const { rows } = await reader.query<{ trace_id: string | null; details: Record<string, unknown> | null }>(
      "SELECT trace_id, details FROM audit_records WHERE request_id = $1 AND outcome <> 'started'",
      [requestId],
    );
    return rows[0];
  }, `the audit record of ${requestId}`);
}

beforeAll(async () => {
  db = await createTestDatabase('tracing_incoming');
  reader = new pg.Pool({ connectionString: db.url, max: 2 });
  upstream = createServer((req, res) => {
    const q = new URL(req.url ?? '/', 'http://x').searchParams.get('q') ?? '';
    seen.set(q, { headers: req.headers, raw: req.rawHeaders });
    req.resume();
    res.writeHead(200, { 'content-type': 'text/plain' }).end('42');
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await reader?.end();
  await db?.drop();
  if (upstream) await close(upstream);
});

async function boot(receiverUrl: string, env: Record<string, string>) {
  return bootServer(definition, {
    policy,
    databaseUrl: db.url,
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiverUrl, AUDIT_FLUSH_MS: '50', ...env },
  });
}

describe('TRACE_INCOMING=link (default), sampler ratio 1', () => {
  let receiver: OtlpReceiver;
  let server: BootedServer;
  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    server = await boot(receiver.url, { OTEL_SERVICE_NAME: 'incoming-link' });
  });
  afterAll(async () => {
    await server?.close();
    await receiver?.close();
  });

  it('the fleet owns the trace: audit, spans and the vendor’s traceparent never carry what the client chose', async () => {
    const token = await server.token({ sub: 'incoming-agent', roles: ['all'] });
    const calls: { incoming: Incoming; traceId: string }[] = [];
    await fc.assert(
      fc.asyncProperty(incomingArb, async (incoming) => {
        const marker = hex(8);
        const res = await post(server.url, callMsg('look_up', { q: marker }), {
          authorization: `Bearer ${token}`,
          ...incoming.headers,
        });
        expect(res.status, res.text).toBe(200);
        const row = await auditOf(res.requestId);
        // The audit trace id is the fleet's: never one the client chose, whatever it sent.
        expect(row.trace_id).toMatch(/^[0-9a-f]{32}$/);
        for (const id of incoming.chosenIds) expect(row.trace_id).not.toBe(id);
        // The client's trace id is kept for the investigation only when it was a valid one.
        if (incoming.valid) expect(row.details?.clientTraceId).toBe(incoming.valid);
        else expect(row.details?.clientTraceId).toBeUndefined();
        expect(JSON.stringify(row.details ?? {})).not.toMatch(/leak[0-9a-f]{12}/);
        // The vendor got the fleet's traceparent (the audit's trace id) and nothing else of the client's.
        const sent = seen.get(marker);
        expect(sent, 'the vendor request').toBeDefined();
        expect(sent!.headers.traceparent).toMatch(new RegExp(`^00-${row.trace_id}-[0-9a-f]{16}-01$`));
        expect(sent!.headers.tracestate).toBeUndefined();
        expect(sent!.headers.baggage).toBeUndefined();
        const raw = sent!.raw.join('\n');
        for (const secret of incoming.secrets) expect(raw).not.toContain(secret);
        for (const id of incoming.chosenIds) expect(raw).not.toContain(id);
        calls.push({ incoming, traceId: row.trace_id! });
      }),
      {
        numRuns: 30,
        examples: [[fixed(hex(16), '00')], [fixed(hex(16), '01')]],
      },
    );
    expect(calls.filter((c) => c.incoming.valid).length).toBeGreaterThanOrEqual(2);

    // Ratio 1: every call's spans are exported, flags 00 or not, under the audit's trace id.
    const byTrace = await untilDefined(() => {
      const ok = calls.every((c) =>
        receiver.spans.some((s) => s.traceId === c.traceId && s.name === 'POST /mcp'),
      );
      return ok ? receiver.spans : undefined;
    }, 'every call’s SERVER span');
    for (const c of calls) {
      const mine = byTrace.filter((s) => s.traceId === c.traceId);
      expect(mine.some((s) => s.name === 'mcp.handler')).toBe(true);
      const http = mine.find((s) => s.name === 'POST /mcp')!;
      expect(http.parentSpanId || undefined).toBeUndefined(); // a new trace: no remote parent
      // The client's valid traceparent is a link (its ids only), never a parent.
      const links = http.links ?? [];
      if (c.incoming.valid) {
        expect(links.map((l) => l.traceId)).toEqual([c.incoming.valid]);
        expect(links[0]!.traceState || undefined).toBeUndefined();
      } else expect(links).toEqual([]);
    }
    // Nothing exported carries a client-chosen trace id or any of its tracestate/baggage.
    const chosen = new Set(calls.flatMap((c) => c.incoming.chosenIds));
    expect(receiver.spans.filter((s) => chosen.has(s.traceId))).toEqual([]);
    const exported = receiver.bodies.join('\n');
    for (const secret of calls.flatMap((c) => c.incoming.secrets)) expect(exported).not.toContain(secret);
  });

  it('an unmatched path is not recorded on the SERVER span (no client-chosen text exported)', async () => {
    const marker = `probe${hex(6)}`;
    const res = await post(`${server.url.replace(/\/mcp$/, '')}/${marker}${'/x'.repeat(100)}`, {}, {});
    expect(res.status).toBe(404);
    const probe = await untilDefined(() => {
      // The 404's SERVER span: the newest one without a route, once exported.
      const s = receiver.spans.find(
        (x) =>
          x.kind === 2 &&
          x.name === 'POST' &&
          x.attributes?.some((a) => a.key === 'http.response.status_code'),
      );
      return s;
    }, 'the 404’s SERVER span');
    expect(probe.attributes?.some((a) => a.key === 'http.route')).toBe(false);
    expect(receiver.bodies.join('\n')).not.toContain(marker);
  });
});

describe('the fleet’s ratio alone decides sampling', () => {
  it('ratio 0: a client’s sampled flag exports nothing, authenticated or not', async () => {
    const receiver = await startOtlpReceiver();
    const server = await boot(receiver.url, {
      OTEL_SERVICE_NAME: 'incoming-ratio0',
      OTEL_TRACES_SAMPLER_ARG: '0',
    });
    try {
      const token = await server.token({ sub: 'incoming-agent', roles: ['all'] });
      for (let i = 0; i < 5; i++) {
        const traceparent = `00-${hex(16)}-${hex(8)}-01`;
        const ok = await post(server.url, callMsg('look_up', { q: hex(8) }), {
          authorization: `Bearer ${token}`,
          traceparent,
        });
        expect(ok.status).toBe(200);
        const anon = await post(server.url, callMsg('look_up', { q: 'x' }), { traceparent });
        expect(anon.status).toBe(401);
      }
    } finally {
      await server.close(); // flushes whatever was recorded
      await receiver.close();
    }
    expect(receiver.spans).toEqual([]);
  });
});

describe('TRACE_INCOMING=continue (callers are the operator’s own gateway)', () => {
  it('continues the client’s trace, yet forwards no tracestate to the vendor', async () => {
    const receiver = await startOtlpReceiver();
    const server = await boot(receiver.url, {
      OTEL_SERVICE_NAME: 'incoming-continue',
      TRACE_INCOMING: 'continue',
    });
    const secret = `leak${hex(6)}`;
    try {
      const token = await server.token({ sub: 'gateway-agent', roles: ['all'] });
      const traceId = hex(16);
      const clientSpan = hex(8);
      const marker = hex(8);
      const res = await post(server.url, callMsg('look_up', { q: marker }), {
        authorization: `Bearer ${token}`,
        traceparent: `00-${traceId}-${clientSpan}-01`,
        tracestate: `gw=${secret}`,
      });
      expect(res.status).toBe(200);
      expect((await auditOf(res.requestId)).trace_id).toBe(traceId);
      const sent = seen.get(marker)!;
      expect(sent.headers.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
      expect(sent.headers.tracestate).toBeUndefined();
      const http = await untilDefined(
        () => receiver.spans.find((s) => s.traceId === traceId && s.name === 'POST /mcp'),
        'the SERVER span',
      );
      expect(http.parentSpanId).toBe(clientSpan);
    } finally {
      await server.close(); // flushes every span
      await receiver.close();
    }
    expect(receiver.bodies.join('\n')).not.toContain(secret);
  });
});
