// Requests the protocol host refuses before any tool runs, the same on the fast path and the SDK-only
// path: JSON-RPC batches, routing headers that disagree with the body, shapes the SDK refuses.
import { randomUUID } from 'node:crypto';
import type { BootedServer } from '@mcp-fleet/testkit';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upstream } from './fixtures.js';
import { type BothPaths, bootBothPaths, callMsg, rpc } from './helpers.js';

interface Line {
  requestId: string;
  decisionReason: string;
  tool: string;
  outcome: string;
  details: Record<string, unknown> | null;
  arguments: unknown;
  argsHash: string | null;
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

/**
 * A batch element: what it is, and the tools/call messages (method `tools/call`) in it — itself, or
 * at any depth of a nested array (a batch in a batch is still a call attempted).
 */
type Element = { value: unknown; calls: unknown[] };
const callsIn = (value: unknown): unknown[] =>
  Array.isArray(value)
    ? value.flatMap(callsIn)
    : typeof value === 'object' && value !== null && (value as { method?: unknown }).method === 'tools/call'
      ? [value]
      : [];
const element = (value: unknown): Element => ({ value, calls: callsIn(value) });
/** Elements of every kind: valid and malformed calls, other requests, notifications, non-messages. */
const ELEMENTS: fc.Arbitrary<Element> = fc.oneof(
  fc.string({ minLength: 1, maxLength: 12 }).map((note) => element(callMsg('write_note', { note }, 1))),
  fc.constantFrom(
    element(callMsg('echo_text', { text: 'batched' }, 'e')),
    element(callMsg('no_such_tool', {}, 3)),
    element({
      jsonrpc: '2.0',
      method: 'tools/call',
      params: { name: 'write_note', arguments: { note: 'n' } },
    }),
    element({ jsonrpc: '2.0', id: 4, method: 'tools/call' }),
    element({ jsonrpc: '2.0', id: 5, method: 'tools/call', params: { name: 42 } }),
    element({ jsonrpc: '2.0', id: 6, method: 'tools/call', params: { name: 'write_note', arguments: 'x' } }),
    element({
      id: 7,
      method: 'tools/call',
      params: { name: 'write_note', arguments: { note: 'no jsonrpc' } },
    }),
    element({ jsonrpc: '2.0', id: 8, method: 'tools/list' }),
    element({ jsonrpc: '2.0', id: 9, method: 'ping' }),
    element({ jsonrpc: '2.0', id: 10, method: 'no/such/method' }),
    element({ jsonrpc: '2.0', method: 'notifications/initialized' }),
    element({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 1 } }),
    element(null),
    element(5),
    element('tools/call'),
    element([callMsg('write_note', { note: 'nested batch' }, 11)]),
    element([
      [callMsg('write_note', { note: 'nested twice' }, 12)],
      { jsonrpc: '2.0', id: 13, method: 'ping' },
    ]),
  ),
);
const BATCHES = fc.array(ELEMENTS, { minLength: 1, maxLength: 5 });
/** Fixed examples first (the shapes that once misbehaved), so the property is never vacuous. */
const FIXED: Element[][] = [
  [
    element({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 1 } }),
    element(callMsg('write_note', { note: 'batched' }, 1)),
  ],
  [element(callMsg('write_note', { note: 'b1' }, 1)), element(callMsg('write_note', { note: 'b2' }, 2))],
  [element(callMsg('write_note', { note: 'b3' }, 1))],
  [
    element(callMsg('write_note', { note: 'b4' }, 1)),
    element({ jsonrpc: '2.0', method: 'notifications/initialized' }),
  ],
  [element({ jsonrpc: '2.0', id: 8, method: 'tools/list' })],
  [element([[callMsg('write_note', { note: 'nested' }, 1)]])],
];

describe.each(paths)('JSON-RPC batches (%s)', (label) => {
  it('refuses an empty batch with one JSON-RPC error; nothing runs, no record', async () => {
    const before = upstream.writes;
    const r = await send(label, []);
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

  it('refuses any batch with one JSON-RPC error; nothing runs; each tools/call in it has exactly one invalid record', async () => {
    await fc.assert(
      fc.asyncProperty(BATCHES, async (batch) => {
        const before = upstream.writes;
        const r = await send(
          label,
          batch.map((e) => e.value),
        );
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
        const calls = batch.flatMap((e) => e.calls) as { params?: { name?: unknown } }[];
        const records = recordsOf(label, r.requestId);
        expect(records.map((l) => [l.outcome, l.details?.errorCode])).toEqual(
          calls.map(() => ['invalid', 'FLEET_ERR_INVALID_REQUEST']),
        );
        const names = (c: (typeof calls)[number]) => {
          const n = c.params?.name;
          return typeof n === 'string' ? n : n === undefined ? '(no name)' : '(name not a string)';
        };
        expect(records.map((l) => l.tool).sort()).toEqual(calls.map(names).sort());
      }),
      { numRuns: 40, examples: FIXED.map((b) => [b]) },
    );
  });

  it('a batch of a thousand calls: refused, nothing runs, at most 100 records — the last stands for the rest', async () => {
    const batch = Array.from({ length: 1000 }, (_, i) => callMsg('write_note', { note: `many ${i}` }, i + 1));
    const before = upstream.writes;
    const r = await send(label, batch);
    expect(r.status).toBe(400);
    expect(upstream.writes).toBe(before);
    const records = recordsOf(label, r.requestId);
    // One request cannot flood the audit trail (and its queue) with records of calls that never ran.
    expect(records).toHaveLength(100);
    expect(records.every((l) => l.outcome === 'invalid' && l.tool === 'write_note')).toBe(true);
    expect(records.slice(0, 99).every((l) => !/stands for/.test(l.decisionReason))).toBe(true);
    expect(records[99]?.decisionReason).toMatch(/stands for the 901 tools\/call elements from the 100th on/);
  });

  it('a batch of large calls: each record carries no arguments, only their hash and size, so a refused batch costs about what one refused call costs', async () => {
    const big = 'x'.repeat(8 * 1024);
    const batch = Array.from({ length: 20 }, (_, i) => callMsg('write_note', { note: `${i}${big}` }, i + 1));
    const r = await send(label, [batch[0], [batch.slice(1)]]);
    expect(r.status).toBe(400);
    const records = recordsOf(label, r.requestId);
    expect(records).toHaveLength(20);
    for (const l of records) {
      expect(l.arguments).toBeNull();
      expect(l.argsHash).toMatch(/^[A-Za-z0-9_-]{16,}$/);
      expect(l.details?.argumentsBytes).toBeGreaterThan(8 * 1024);
    }
    expect(new Set(records.map((l) => l.argsHash)).size).toBe(20);
    expect(JSON.stringify(records).length).toBeLessThan(20 * 1024);
  });

  it('a batch sent as text/plain: refused, nothing runs, each tools/call in it has exactly one invalid record with the code sent', async () => {
    const batch = [
      callMsg('write_note', { note: 'plain 1' }, 1),
      { jsonrpc: '2.0', id: 2, method: 'ping' },
      callMsg('write_note', { note: 'plain 2' }, 3),
    ];
    const before = upstream.writes;
    const r = await send(label, JSON.stringify(batch), { 'content-type': 'text/plain' });
    expect(r.body?.error?.data?.code, r.text).toBeDefined();
    expect(upstream.writes).toBe(before);
    expect(recordsOf(label, r.requestId).map((l) => [l.tool, l.outcome, l.details?.errorCode])).toEqual([
      ['write_note', 'invalid', r.body.error.data.code],
      ['write_note', 'invalid', r.body.error.data.code],
    ]);
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
