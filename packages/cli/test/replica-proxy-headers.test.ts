// The replicas proxy of `fleet start --replicas N` drops hop-by-hop headers (RFC 9110 §7.6.1), and the
// headers a client names in `Connection` — but never one the servers read to decide a request: Host
// and Origin (the DNS-rebinding guard), Authorization, the body's framing and type, Accept, the MCP
// headers... A client naming `Connection: host` must not get past the host guard (issue 16, F-8).
// The class is generated: every request header read by core's and the servers' code (found in their
// source), plus the framing headers the HTTP layer reads. Each is sent through a real proxy to a
// listener standing in for a replica that records what reached it; the same header named in
// `Connection` must arrive unchanged, while a genuine hop-by-hop extension header is still dropped.
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, request, type Server } from 'node:http';
import { join } from 'node:path';
import { freePort } from '@mcp-fleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../src/layout.js';
import { ReplicaProxy } from '../src/replicas.js';

/** Every request header read as `request.headers.x` / `req.headers['x-y']` in core and the servers. */
function headersTheServersRead(): string[] {
  const found = new Set<string>();
  const dirs = [
    join(ROOT, 'packages/core/src'),
    ...readdirSync(join(ROOT, 'servers')).map((s) => join(ROOT, 'servers', s, 'src')),
  ];
  const read = /\b(?:request|req)\.headers(?:\.([a-z_]+)|\[['"]([a-z0-9-]+)['"]\])/gi;
  for (const dir of dirs) {
    let files: string[];
    try {
      files = readdirSync(dir, { recursive: true }) as string[];
    } catch {
      continue;
    }
    for (const f of files.filter((x) => x.endsWith('.ts'))) {
      for (const m of readFileSync(join(dir, f), 'utf8').matchAll(read)) {
        const name = (m[1] ?? m[2])!.toLowerCase();
        if (name !== 'get') found.add(name);
      }
    }
  }
  return [...found].sort();
}

/** The class: the headers the servers read, and what the HTTP layer reads to frame and type the body. */
const CLASS = [
  ...new Set([
    ...headersTheServersRead(),
    'host',
    'origin',
    'authorization',
    'content-type',
    'content-length',
    'accept',
    'mcp-session-id',
    'mcp-protocol-version',
    'last-event-id',
    'traceparent',
    'tracestate',
  ]),
].sort();

/** A value of each header that a server would act on (and that is recognisable when it arrives). */
function telling(name: string): string {
  switch (name) {
    case 'host':
      return 'evil.example:7502';
    case 'origin':
      return 'http://evil.example';
    case 'authorization':
      return 'Bearer not-a-token';
    case 'content-type':
      return 'application/json';
    case 'content-length':
      return '2';
    case 'accept':
      return 'application/json, text/event-stream';
    case 'traceparent':
      return '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    default:
      return `value-of-${name}`;
  }
}

let replica: Server;
let replicaPort = 0;
let proxy: ReplicaProxy;
let proxyPort = 0;
/** What reached the stand-in replica, by the request's x-probe header. */
const seen = new Map<string, IncomingHttpHeaders>();

beforeAll(async () => {
  replica = createServer((req, res) => {
    seen.set(String(req.headers['x-probe']), req.headers);
    req.resume();
    req.once('end', () => res.end('{}'));
  });
  replicaPort = await freePort();
  await new Promise<void>((r) => replica.listen(replicaPort, '127.0.0.1', r));
  proxy = new ReplicaProxy('files', [{ index: 1, port: replicaPort }]);
  proxyPort = await freePort();
  await proxy.listen(proxyPort, '127.0.0.1');
});
afterAll(async () => {
  await proxy?.close();
  await new Promise<void>((r) => (replica ? replica.close(() => r()) : r()));
});

/** Sends a POST with `headers` (raw, so Host and Content-Length are ours) through the proxy. */
function send(probe: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: proxyPort,
        method: 'POST',
        path: '/mcp',
        headers: { 'content-type': 'application/json', 'content-length': '2', ...headers, 'x-probe': probe },
      },
      (res) => {
        res.resume();
        res.once('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.once('error', reject);
    req.end('{}');
  });
}

describe('replicas proxy: Connection never removes a header the servers read', () => {
  it('finds the headers the servers read (the class is not empty)', () => {
    for (const h of ['host', 'origin', 'authorization', 'accept', 'mcp-protocol-version', 'mcp-method'])
      expect(CLASS).toContain(h);
  });

  it.each(CLASS)('keeps %s when Connection names it', async (name) => {
    const probe = `one-${name}`;
    const value = telling(name);
    expect(await send(probe, { [name]: value, connection: `keep-alive, ${name}` })).toBe(200);
    const got = seen.get(probe);
    expect(got, probe).toBeDefined();
    expect(got![name]).toBe(value);
  });

  it('keeps all of them when Connection names them all, and still drops a hop-by-hop extension header', async () => {
    const headers: Record<string, string> = {};
    for (const name of CLASS) headers[name] = telling(name);
    const status = await send('all', {
      ...headers,
      'x-hop-only': 'for-the-proxy',
      connection: [...CLASS, 'x-hop-only'].join(', '),
    });
    expect(status).toBe(200);
    const got = seen.get('all')!;
    for (const name of CLASS) expect(got[name], name).toBe(telling(name));
    expect(got['x-hop-only']).toBeUndefined();
    expect(got.connection).not.toContain('x-hop-only');
  });
});
