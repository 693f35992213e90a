// Requests the protocol host refuses before any tool runs, the same on the fast path and the SDK-only
// path: JSON-RPC batches, routing headers that disagree with the body, shapes the SDK refuses.
import { randomUUID } from 'node:crypto';
import type { BootedServer } from '@mcp-fleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upstream } from './fixtures.js';
import { type BothPaths, bootBothPaths, callMsg, rpc } from './helpers.js';

interface Line {
  requestId: string;
  tool: string;
  outcome: string;
  details: Record<string, unknown> | null;
}

let fast: BootedServer;
let sdkOnly: BootedServer;
const lines = { fast: [] as Line[], sdk: [] as Line[] };
let tokens: BothPaths['tokens'];
let booted: BothPaths | undefined;

beforeAll(async () => {
  booted = await bootBothPaths('fleet_protocol_refusals', 'agent-refusals', lines);
  ({ fast, sdkOnly, tokens } = booted);
});
// Closing must not hang on a request left open (a batch once kept its response open for ever).
afterAll(() => booted?.close());

const paths = [['fast path'], ['SDK path']] as const;
const server = (label: string) => (label === 'fast path' ? fast : sdkOnly);
const which = (label: string) => (label === 'fast path' ? 'fast' : 'sdk');

async function send(label: string, body: unknown, headers: Record<string, string | undefined> = {}) {
  const requestId = randomUUID();
  const r = await rpc(server(label).url, body, {
    authorization: `Bearer ${tokens[which(label)]}`,
    'x-request-id': requestId,
    ...headers,
  });
  return { ...r, requestId };
}
const recordsOf = (label: string, requestId: string) =>
  lines[which(label)].filter(
    (l) =>
      l.requestId === requestId ||
      (l.details as { clientRequestId?: string } | null)?.clientRequestId === requestId,
  );

describe.each(paths)('JSON-RPC batches (%s)', (label) => {
  it.each([
    [
      'a cancel and a mutation',
      [
        { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 1 } },
        callMsg('write_note', { note: 'batched' }, 1),
      ],
    ],
    ['two calls', [callMsg('write_note', { note: 'b1' }, 1), callMsg('write_note', { note: 'b2' }, 2)]],
    ['one call', [callMsg('write_note', { note: 'b3' }, 1)]],
    [
      'a call and a notification',
      [callMsg('write_note', { note: 'b4' }, 1), { jsonrpc: '2.0', method: 'notifications/initialized' }],
    ],
    ['nothing', []],
  ])('refuses a batch of %s with one JSON-RPC error; nothing runs', async (_n, batch) => {
    const before = upstream.writes;
    const r = await send(label, batch);
    expect(r.status).toBe(400);
    expect(r.body).toEqual({
      jsonrpc: '2.0',
      id: null,
      error: {
        code: -32600,
        message: 'Invalid Request: batches are not supported',
        data: { code: 'FLEET_ERR_INVALID_REQUEST' },
      },
    });
    expect(upstream.writes).toBe(before);
    expect(recordsOf(label, r.requestId)).toEqual([]);
  });
});

const MODERN_META = {
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
  'io.modelcontextprotocol/clientCapabilities': {},
};
const modernHeaders = (method: string, name?: string) => ({
  'mcp-protocol-version': '2026-07-28',
  'mcp-method': method,
  ...(name ? { 'mcp-name': name } : {}),
});
const withMeta = (meta: Record<string, unknown>) => ({
  ...callMsg('write_note', { note: 'shape' }),
  params: { name: 'write_note', arguments: { note: 'shape' }, _meta: meta },
});
const { 'io.modelcontextprotocol/clientCapabilities': _caps, ...modernNoCaps } = MODERN_META;

describe('the fast path takes only what the SDK takes', () => {
  it.each<[string, unknown, Record<string, string>]>([
    ['Accept: application/json', callMsg('write_note', { note: 'a' }), { accept: 'application/json' }],
    ['Accept: */*', callMsg('write_note', { note: 'a' }), { accept: '*/*' }],
    ['Accept: text/event-stream', callMsg('write_note', { note: 'a' }), { accept: 'text/event-stream' }],
    ['a request that also carries result', { ...callMsg('write_note', { note: 'a' }), result: {} }, {}],
    [
      'a request that also carries error',
      { ...callMsg('write_note', { note: 'a' }), error: { code: 1, message: 'x' } },
      {},
    ],
    ['progressToken as an object', withMeta({ progressToken: { a: 1 } }), {}],
    ['progressToken as true', withMeta({ progressToken: true }), {}],
    ['progressToken as [1]', withMeta({ progressToken: [1] }), {}],
    [
      'a 2026 call without clientCapabilities',
      withMeta(modernNoCaps),
      modernHeaders('tools/call', 'write_note'),
    ],
    [
      'a 2026 call with clientCapabilities as a string',
      withMeta({ ...MODERN_META, 'io.modelcontextprotocol/clientCapabilities': 'x' }),
      modernHeaders('tools/call', 'write_note'),
    ],
    [
      'a 2026 tools/list without clientCapabilities',
      { jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: modernNoCaps } },
      modernHeaders('tools/list'),
    ],
  ])('%s: same answer, same record, same runs on both paths', async (_n, body, headers) => {
    const w0 = upstream.writes;
    const a = await send('fast path', body, headers);
    const w1 = upstream.writes;
    const b = await send('SDK path', body, headers);
    const w2 = upstream.writes;
    expect(a.status).toBe(b.status);
    expect(a.body).toEqual(b.body);
    expect(w1 - w0).toBe(w2 - w1);
    expect(recordsOf('fast path', a.requestId).map((l) => l.outcome)).toEqual(
      recordsOf('SDK path', b.requestId).map((l) => l.outcome),
    );
  });
});

describe.each(paths)('routing headers that disagree with the body (%s)', (label) => {
  it.each<[string, unknown, Record<string, string | undefined>]>([
    [
      'no version, Mcp-Name of another tool, Mcp-Method tools/list',
      callMsg('write_note', { note: 'r1' }),
      { 'mcp-protocol-version': undefined, 'mcp-name': 'echo_text', 'mcp-method': 'tools/list' },
    ],
    [
      'no version, Mcp-Name of another tool',
      callMsg('write_note', { note: 'r2' }),
      { 'mcp-protocol-version': undefined, 'mcp-name': 'echo_text' },
    ],
    ['2025, Mcp-Method tools/list', callMsg('write_note', { note: 'r3' }), { 'mcp-method': 'tools/list' }],
    ['2025, Mcp-Name in another case', callMsg('write_note', { note: 'r4' }), { 'mcp-name': 'WRITE_NOTE' }],
    [
      '2026, Mcp-Name of another tool',
      withMeta(MODERN_META),
      { ...modernHeaders('tools/call', 'echo_text') },
    ],
  ])('refuses %s; the tool does not run', async (_n, body, headers) => {
    const before = upstream.writes;
    const r = await send(label, body, headers as Record<string, string>);
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe(-32020);
    expect(r.body.error.message).toMatch(/headers and body disagree: .* Mcp-(Method|Name) header names/);
    expect(upstream.writes).toBe(before);
    // It was a call (it names a tool): it has its one record, invalid.
    expect(recordsOf(label, r.requestId).map((l) => `${l.tool}:${l.outcome}`)).toEqual([
      'write_note:invalid',
    ]);
  });

  it('still answers when the routing headers match, whatever the version', async () => {
    const r = await send(label, callMsg('write_note', { note: 'ok' }), {
      'mcp-protocol-version': undefined,
      'mcp-method': 'tools/call',
      'mcp-name': 'write_note',
    } as never);
    expect(r.status).toBe(200);
    expect(r.body.result.content[0].text).toBe('stored: ok');
  });
});

const deep = (n: number) => {
  let v: unknown = { x: 1 };
  for (let i = 0; i < n; i++) v = { a: v };
  return v;
};

describe.each(paths)('calls nested too deep outside their arguments (%s)', (label) => {
  it.each([
    [
      'params.task',
      {
        ...callMsg('write_note', { note: 'deep' }),
        params: { name: 'write_note', arguments: { note: 'deep' }, task: deep(70) },
      },
    ],
    [
      'params._meta',
      {
        ...callMsg('write_note', { note: 'deep' }),
        params: { name: 'write_note', arguments: { note: 'deep' }, _meta: { x: deep(70) } },
      },
    ],
  ])('refuses one deep in %s with a protocol error and records it as an invalid call', async (_n, body) => {
    const before = upstream.writes;
    const r = await send(label, body);
    expect(r.status).toBe(400);
    expect(r.body.error.message).toMatch(/nested more than 64 levels/);
    expect(upstream.writes).toBe(before);
    expect(recordsOf(label, r.requestId).map((l) => `${l.tool}:${l.outcome}`)).toEqual([
      'write_note:invalid',
    ]);
  });

  it('gives a deep message that names no tool only the protocol error (it is not a call)', async () => {
    const r = await send(label, {
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/list',
      params: { _meta: { x: deep(70) } },
    });
    expect(r.status).toBe(400);
    expect(recordsOf(label, r.requestId)).toEqual([]);
  });
});
