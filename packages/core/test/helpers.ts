// Small helpers for core's HTTP-level tests: raw JSON-RPC posts, as an attacker or odd client would send.
import { request } from 'node:http';
import { type BootedServer, bootServer, createTestDatabase } from '@mcp-fleet/testkit';
import { fixturePolicy, fixtureServer } from './fixtures.js';

/**
 * Posts one JSON-RPC message to an MCP endpoint over node:http (which, unlike fetch, lets a test set
 * Host like a DNS-rebinding page would) and returns status, headers and parsed body.
 */
export async function rpc(
  url: string,
  body: unknown,
  /** `undefined` leaves a header out (even one sent by default). */
  headers: Record<string, string | undefined> = {},
  // biome-ignore lint/suspicious/noExplicitAny: tests walk arbitrary JSON-RPC answers
): Promise<{ status: number; headers: Headers; body: any; text: string }> {
  const payload = typeof body === 'string' ? body : JSON.stringify(body);
  const { status, rawHeaders, text } = await new Promise<{
    status: number;
    rawHeaders: Record<string, string>;
    text: string;
  }>((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        headers: Object.fromEntries(
          Object.entries({
            'content-type': 'application/json',
            accept: 'application/json, text/event-stream',
            'mcp-protocol-version': '2025-11-25',
            'content-length': String(Buffer.byteLength(payload)),
            ...headers,
          }).filter((h): h is [string, string] => h[1] !== undefined),
        ),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            rawHeaders: Object.fromEntries(Object.entries(res.headers).map(([k, v]) => [k, String(v)])),
            text: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    const data = /^data: (.*)$/m.exec(text);
    if (data) parsed = JSON.parse(data[1]!);
  }
  return { status, headers: new Headers(rawHeaders), body: parsed, text };
}

/** A legacy tools/call message. */
export const callMsg = (name: string, args: Record<string, unknown> = {}, id: number | string = 1) => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: { name, arguments: args },
});

/** A modern (2026-07-28) tools/call message with its envelope, and the headers that go with it. */
export const modernCall = (name: string, args: Record<string, unknown> = {}, id: number | string = 1) => ({
  body: {
    jsonrpc: '2.0',
    id,
    method: 'tools/call',
    params: {
      name,
      arguments: args,
      _meta: {
        'io.modelcontextprotocol/protocolVersion': '2026-07-28',
        'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
        'io.modelcontextprotocol/clientCapabilities': {},
      },
    },
  },
  headers: { 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': name },
});

/** Two servers on one issuer and fleet database: the fast path on, and every message through the SDK. */
export interface BothPaths {
  fast: BootedServer;
  sdkOnly: BootedServer;
  /** A `writer` token for each. */
  tokens: { fast: string; sdk: string };
  close(): Promise<void>;
}

/**
 * Boots the fixture server twice (fast path, SDK only) with a fleet database, so mutations really run,
 * audit lines pushed to `lines.fast` / `lines.sdk`.
 */
export async function bootBothPaths<L>(
  database: string,
  agent: string,
  lines: { fast: L[]; sdk: L[] },
): Promise<BothPaths> {
  const env = { AUDIT_STDOUT: 'true' };
  const db = await createTestDatabase(database);
  const fast = await bootServer(fixtureServer, {
    policy: fixturePolicy,
    databaseUrl: db.url,
    env,
    serverOptions: { auditWrite: (l) => lines.fast.push(JSON.parse(l)) },
  });
  const sdkOnly = await bootServer(fixtureServer, {
    policy: fixturePolicy,
    issuer: fast.issuer,
    databaseUrl: db.url,
    env,
    serverOptions: { mcp: { fastPath: false }, auditWrite: (l) => lines.sdk.push(JSON.parse(l)) },
  });
  const tokens = {
    fast: await fast.token({ sub: agent, roles: ['writer'] }),
    sdk: await sdkOnly.token({ sub: agent, roles: ['writer'] }),
  };
  return {
    fast,
    sdkOnly,
    tokens,
    async close() {
      await sdkOnly.close();
      await fast.close();
      await db.drop();
    },
  };
}
