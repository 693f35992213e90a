// A real OTLP/HTTP trace receiver (POST /v1/traces, JSON encoding) for tests that follow a call by its
// trace id: it keeps every span with its service name and every body as it arrived, and answers 200.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A span link as the JSON encoding carries it (ids as hex). */
export interface OtlpLink {
  traceId: string;
  spanId: string;
  traceState?: string;
}

/** An OTLP span as the JSON encoding carries it (ids as hex). */
export interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  links?: OtlpLink[];
  attributes?: { key: string; value: { stringValue?: string; intValue?: string | number } }[];
}

/** A running receiver: point OTEL_EXPORTER_OTLP_ENDPOINT at `url`. */
export interface OtlpReceiver {
  /** Every span received, with the `service.name` of its resource. */
  spans: (OtlpSpan & { service: string })[];
  /** Every body received, as it arrived. */
  bodies: string[];
  /** http://127.0.0.1:<port> */
  url: string;
  close(): Promise<void>;
}

/** Starts an OTLP/HTTP trace receiver on a free local port. */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: OtlpReceiver['spans'] = [];
  const bodies: string[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/v1/traces') {
        const text = Buffer.concat(chunks).toString('utf8');
        bodies.push(text);
        const body = JSON.parse(text) as {
          resourceSpans?: {
            resource?: { attributes?: { key: string; value: { stringValue?: string } }[] };
            scopeSpans?: { spans?: OtlpSpan[] }[];
          }[];
        };
        for (const rs of body.resourceSpans ?? []) {
          const service =
            rs.resource?.attributes?.find((a) => a.key === 'service.name')?.value.stringValue ?? '';
          for (const ss of rs.scopeSpans ?? []) for (const s of ss.spans ?? []) spans.push({ ...s, service });
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    spans,
    bodies,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/**
 * Waits (bounded) until `check` returns a value other than undefined, and returns it; polls every
 * `everyMs`, and throws "timed out waiting for <what>" after `timeoutMs`.
 */
export async function untilDefined<T>(
  check: () => T | undefined | Promise<T | undefined>,
  what: string,
  { timeoutMs = 15_000, everyMs = 50 }: { timeoutMs?: number; everyMs?: number } = {},
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
