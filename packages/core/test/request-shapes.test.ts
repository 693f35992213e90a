// Whatever shape a request has, the fast path and the SDK-only path give the same answer, nothing
// answers 500, and every tools/call that reaches the pipeline leaves exactly one audit record.
import { randomUUID } from 'node:crypto';
import { type BootedServer, bootServer } from '@mcp-fleet/testkit';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FLEET_ERRORS } from '../src/kernel/errors.js';
import { fixturePolicy, fixtureServer } from './fixtures.js';
import { rpc } from './helpers.js';

interface Line {
  requestId: string;
  method: string;
  outcome: string;
  arguments: unknown;
  details: Record<string, unknown> | null;
}

let fast: BootedServer;
let sdkOnly: BootedServer;
const lines = { fast: [] as Line[], sdk: [] as Line[] };
let fastToken: string;
let sdkToken: string;

beforeAll(async () => {
  const env = { AUDIT_STDOUT: 'true' };
  fast = await bootServer(fixtureServer, {
    policy: fixturePolicy,
    env,
    serverOptions: { auditWrite: (l) => lines.fast.push(JSON.parse(l)) },
  });
  sdkOnly = await bootServer(fixtureServer, {
    policy: fixturePolicy,
    issuer: fast.issuer,
    env,
    serverOptions: { mcp: { fastPath: false }, auditWrite: (l) => lines.sdk.push(JSON.parse(l)) },
  });
  fastToken = await fast.token({ sub: 'agent-shapes', roles: ['reader'] });
  sdkToken = await sdkOnly.token({ sub: 'agent-shapes', roles: ['reader'] });
});
afterAll(async () => {
  await sdkOnly?.close();
  await fast?.close();
});

const strip = (body: unknown) => JSON.parse(JSON.stringify(body ?? null));

/** Sends one body to both servers under one request id; returns both answers and both audit records. */
async function both(body: unknown, headers: Record<string, string | undefined> = {}) {
  const requestId = randomUUID();
  const send = (s: BootedServer, token: string) =>
    rpc(s.url, body, { authorization: `Bearer ${token}`, 'x-request-id': requestId, ...headers });
  const [a, b] = await Promise.all([send(fast, fastToken), send(sdkOnly, sdkToken)]);
  return {
    a,
    b,
    // The client's x-request-id is a detail of the record (request_id is the server's own).
    fastRecords: lines.fast.filter((l) => l.details?.clientRequestId === requestId),
    sdkRecords: lines.sdk.filter((l) => l.details?.clientRequestId === requestId),
  };
}

function expectSameAndAudited(r: Awaited<ReturnType<typeof both>>, body: unknown): void {
  const context = JSON.stringify(body).slice(0, 300);
  expect(r.a.status, context).toBeLessThan(500);
  expect(r.b.status, context).toBeLessThan(500);
  expect(r.a.status, context).toBe(r.b.status);
  expect(strip(r.a.body), context).toEqual(strip(r.b.body));
  expect(r.fastRecords.length, context).toBeLessThanOrEqual(1);
  // Whatever the client sent, its record stays small (arguments, ids and reserved values are bounded).
  for (const l of [...r.fastRecords, ...r.sdkRecords])
    expect(JSON.stringify(l).length, context).toBeLessThan(300_000);
  expect(
    r.fastRecords.map((l) => l.outcome),
    context,
  ).toEqual(r.sdkRecords.map((l) => l.outcome));
  // A tools/call answered with a result went through the pipeline: it has its record.
  const answered = (x: { body: { result?: { content?: unknown } } }) => x.body?.result?.content !== undefined;
  if (answered(r.a)) expect(r.fastRecords.length, context).toBe(1);
  if (answered(r.b)) expect(r.sdkRecords.length, context).toBe(1);
  // Every JSON-RPC error carries its catalogue code; a message recognisably a tools/call (method
  // tools/call, whatever else is wrong) has exactly one record, a refused one with that same code.
  // `body` is the message itself, or { body, headers } (generated shapes).
  const message =
    typeof body === 'object' && body !== null && 'headers' in body ? (body as { body?: unknown }).body : body;
  // A body with a `__proto__` key or a `constructor.prototype` anywhere is refused by the JSON parser
  // itself (prototype poisoning, fastify's secure-json-parse) before anything reads it: a parse error
  // with no record, like malformed JSON, whatever method it names.
  if (poisoned(message)) {
    for (const x of [r.a, r.b]) {
      expect(x.status, context).toBe(400);
      expect(x.body.error?.data?.code, context).toBe('FLEET_ERR_PARSE_ERROR');
    }
    expect([...r.fastRecords, ...r.sdkRecords], context).toEqual([]);
    return;
  }
  const isCall =
    typeof message === 'object' &&
    message !== null &&
    (message as { method?: unknown }).method === 'tools/call';
  for (const [x, records] of [
    [r.a, r.fastRecords],
    [r.b, r.sdkRecords],
  ] as const) {
    const error = x.body?.error;
    if (error !== undefined) expect(Object.keys(FLEET_ERRORS), context).toContain(error.data?.code);
    if (isCall) {
      expect(records.length, context).toBe(1);
      if (error !== undefined) expect(records[0]!.details?.errorCode, context).toBe(error.data.code);
    }
  }
}

/** Whether JSON text of `v` has a key the parser refuses: `__proto__`, or `constructor` holding `prototype`. */
function poisoned(v: unknown): boolean {
  // Iterative: generated bodies can be nested deeper than the call stack.
  const todo: unknown[] = [v];
  while (todo.length > 0) {
    const x = todo.pop();
    if (Array.isArray(x)) todo.push(...x);
    else if (typeof x === 'object' && x !== null) {
      for (const [k, y] of Object.entries(x)) {
        if (k === '__proto__') return true;
        if (k === 'constructor' && typeof y === 'object' && y !== null && Object.hasOwn(y, 'prototype'))
          return true;
        todo.push(y);
      }
    }
  }
  return false;
}

/** `depth` arrays inside each other around a string. */
function nested(depth: number): unknown {
  let v: unknown = 'bottom';
  for (let i = 0; i < depth; i++) v = [v];
  return v;
}

describe('deep and odd arguments', () => {
  it('refuses 10,000-deep arguments with a clear message and one small audit record, on both paths', async () => {
    // As text: JSON.stringify itself cannot write 10,000 levels.
    const deep = `${'['.repeat(10_000)}"bottom"${']'.repeat(10_000)}`;
    const body = `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo_text","arguments":{"text":"x","extra":${deep}}}}`;
    const r = await both(body);
    expectSameAndAudited(r, 'deep');
    expect(r.a.status).toBe(200);
    expect(r.a.body.result.isError).toBe(true);
    expect(r.a.body.result.content[0].text).toMatch(/nested more than 64 levels/);
    expect(r.fastRecords).toHaveLength(1);
    expect(r.fastRecords[0]!.outcome).toBe('invalid');
    expect(JSON.stringify(r.fastRecords[0]).length).toBeLessThan(10_000);
  });

  it.each([
    ['null', null],
    ['an array', ['text']],
    ['a string', 'text'],
    ['a number', 7],
  ])('answers arguments that are %s the same on both paths, with one record', async (_n, args) => {
    const body = {
      jsonrpc: '2.0',
      id: 3,
      method: 'tools/call',
      params: { name: 'echo_text', arguments: args },
    };
    const r = await both(body);
    expectSameAndAudited(r, body);
    expect(r.fastRecords).toHaveLength(1);
    expect(r.fastRecords[0]!.outcome).toBe('invalid');
  });

  it.each([
    ['1e308', 1e308],
    ['1.5', 1.5],
    ['null', null],
    ['-0', -0],
    ['a huge string', 'x'.repeat(5000)],
  ])('answers id %s the same on both paths', async (_n, id) => {
    const body = {
      jsonrpc: '2.0',
      id,
      method: 'tools/call',
      params: { name: 'echo_text', arguments: { text: 'a' } },
    };
    expectSameAndAudited(await both(body), body);
  });

  it('keeps the record small whatever the id and argument names (a 100,000-character id and key)', async () => {
    const body = {
      jsonrpc: '2.0',
      id: 'i'.repeat(100_000),
      method: 'tools/call',
      params: { name: 'echo_text', arguments: { text: 'a', ['k'.repeat(100_000)]: 1 } },
    };
    const r = await both(body);
    expectSameAndAudited(r, 'huge id and key');
    expect(r.fastRecords).toHaveLength(1);
    expect(JSON.stringify(r.fastRecords[0]).length).toBeLessThan(10_000);
  });

  it('answers params given as an array the same on both paths', async () => {
    const body = { jsonrpc: '2.0', id: 4, method: 'tools/call', params: ['echo_text', { text: 'a' }] };
    expectSameAndAudited(await both(body), body);
  });
});

// --- the property: generated request shapes -----------------------------------------------------

const scalar = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null),
);
/** JSON of random depth and size, sometimes very deep (a chain), sometimes wide. */
const json: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 4 }) },
  { weight: 1, arbitrary: fc.integer({ min: 60, max: 3_000 }).map(nested) },
  { weight: 1, arbitrary: fc.array(scalar, { minLength: 0, maxLength: 300 }) },
);
const reservedKeys = fc.constantFrom(
  'idempotency_key',
  'approval_id',
  'io.mcp-fleet/idempotencyKey',
  'io.mcp-fleet/approvalId',
  'io.modelcontextprotocol/protocolVersion',
);
const hugeString = fc.integer({ min: 1_000, max: 20_000 }).map((n) => 'k'.repeat(n));
const reservedValue = fc.oneof(
  fc.uuid(),
  fc.string({ maxLength: 20 }),
  fc.integer({ min: 1, max: 5_000 }).map((n) => 'k'.repeat(n)),
  json,
);
const args = fc.oneof(
  { weight: 3, arbitrary: fc.record({ text: fc.oneof(fc.string({ maxLength: 30 }), scalar) }) },
  {
    weight: 3,
    arbitrary: fc
      .tuple(
        fc.record({ text: fc.string({ maxLength: 10 }) }),
        fc.dictionary(fc.oneof(fc.string({ maxLength: 6 }), reservedKeys, hugeString), json, { maxKeys: 3 }),
      )
      .map(([a, b]) => ({ ...a, ...b })),
  },
  { weight: 1, arbitrary: json },
  { weight: 1, arbitrary: fc.constant(undefined) },
);
const meta = fc.option(fc.dictionary(reservedKeys, reservedValue, { maxKeys: 3 }), { nil: undefined });
const toolName = fc.constantFrom('echo_text', 'lookup_record', 'write_note', 'no_such_tool', 'ECHO_TEXT', '');
const method = fc.constantFrom(
  'tools/call',
  'tools/call',
  'tools/call',
  'TOOLS/CALL',
  'Tools/Call',
  'tools/list',
  'ping',
);
const id = fc.oneof(
  fc.integer({ min: 0, max: 1_000_000 }),
  fc.string({ maxLength: 12 }),
  fc.constantFrom(1e308, 1.5, null, -1, 2 ** 53),
  hugeString,
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);
const params = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({ name: toolName, arguments: args, _meta: meta }, { requiredKeys: ['name'] }),
  },
  { weight: 1, arbitrary: fc.array(json, { maxLength: 3 }) },
  { weight: 1, arbitrary: fc.record({ name: fc.oneof(scalar, json) }) },
  { weight: 1, arbitrary: fc.constant(undefined) },
);
const envelope = fc.record(
  { jsonrpc: fc.constantFrom('2.0', '2.0', '2.0', '1.0'), id, method, params },
  { requiredKeys: ['jsonrpc', 'method'] },
);

/**
 * Either era's headers: a 2025 revision, 2026-07-28 with the envelope in `_meta` (or without it), or
 * no version header at all; the Accept header in its many spellings; routing headers (Mcp-Method,
 * Mcp-Name) that match the body or not, whatever the version; and, in `_meta`, a progress token and
 * the 2026 client capabilities of every JSON type or absent.
 */
const era = fc.record({
  version: fc.constantFrom('2025-11-25', '2025-06-18', '2026-07-28', '2026-07-28', undefined),
  envelope: fc.boolean(),
  mcpMethod: fc.constantFrom('same', 'same', 'absent', 'tools/list', 'tools/call', 'ping', 'TOOLS/CALL'),
  mcpName: fc.option(toolName, { nil: undefined }),
  accept: fc.constantFrom(
    'application/json, text/event-stream',
    'application/json, text/event-stream',
    'text/event-stream, application/json',
    'application/json;q=0.9, text/event-stream',
    'application/json',
    'text/event-stream',
    '*/*',
    'application/*, text/*',
    '',
  ),
  capabilities: fc.constantFrom<unknown>('object', 'object', 'absent', 'a string', [1], null, 7),
  clientInfo: fc.constantFrom<unknown>('object', 'object', 'absent', 'a string'),
  progressToken: fc.constantFrom<unknown>(undefined, undefined, 'p-1', 7, 1.5, { a: 1 }, true, [1], null),
  extra: fc.constantFrom<Record<string, unknown>>(
    {},
    {},
    { result: {} },
    { error: { code: 1, message: 'x' } },
  ),
});
type EraShape = typeof era extends fc.Arbitrary<infer T> ? T : never;
function withEra(body: Record<string, unknown>, e: EraShape) {
  // helpers.rpc sends a 2025 version unless told otherwise: `undefined` leaves the header out.
  const headers: Record<string, string | undefined> = { accept: e.accept, 'mcp-protocol-version': e.version };
  if (e.mcpMethod === 'same') {
    if (typeof body.method === 'string') headers['mcp-method'] = body.method;
  } else if (e.mcpMethod !== 'absent') headers['mcp-method'] = e.mcpMethod;
  if (e.mcpName !== undefined) headers['mcp-name'] = e.mcpName;
  const out: Record<string, unknown> = { ...body, ...e.extra };
  const params = body.params;
  if (params === null || typeof params !== 'object' || Array.isArray(params)) return { body: out, headers };
  const p = params as Record<string, unknown>;
  const meta: Record<string, unknown> =
    p._meta !== null && typeof p._meta === 'object' ? { ...(p._meta as Record<string, unknown>) } : {};
  if (e.progressToken !== undefined) meta.progressToken = e.progressToken;
  if (e.version === '2026-07-28' && e.envelope) {
    meta['io.modelcontextprotocol/protocolVersion'] = '2026-07-28';
    if (e.clientInfo !== 'absent')
      meta['io.modelcontextprotocol/clientInfo'] =
        e.clientInfo === 'object' ? { name: 'prop', version: '1' } : e.clientInfo;
    if (e.capabilities !== 'absent')
      meta['io.modelcontextprotocol/clientCapabilities'] = e.capabilities === 'object' ? {} : e.capabilities;
  }
  const hasMeta = Object.keys(meta).length > 0 || p._meta !== undefined;
  return { body: { ...out, params: hasMeta ? { ...p, _meta: meta } : p }, headers };
}

/** Routing headers that disagree with the body: refused on both paths before anything runs. */
function routingMismatch(
  body: Record<string, unknown>,
  headers: Record<string, string | undefined>,
): boolean {
  // A body with a 2026 envelope claim: the SDK's header checks answer it (parity covers those).
  const p = body.params as { _meta?: Record<string, unknown> } | undefined;
  if (p?._meta && typeof p._meta === 'object' && 'io.modelcontextprotocol/protocolVersion' in p._meta)
    return false;
  const method = headers['mcp-method'];
  if (method !== undefined && method !== body.method) return true;
  const name = headers['mcp-name'];
  const params = body.params as Record<string, unknown> | undefined;
  return (
    name !== undefined &&
    body.method === 'tools/call' &&
    (typeof params !== 'object' || params === null || params.name !== name)
  );
}

describe('generated request shapes', () => {
  it('get the same answer from both paths, never a 500, and at most one audit record per call', async () => {
    await fc.assert(
      fc.asyncProperty(envelope, era, async (raw, e) => {
        const { body, headers } = withEra(raw as Record<string, unknown>, e);
        const r = await both(body, headers);
        expectSameAndAudited(r, { body, headers });
        if (!poisoned(body) && routingMismatch(body, headers)) {
          const context = JSON.stringify({ body, headers }).slice(0, 300);
          expect(r.a.status, context).toBe(400);
          // -32020 for the headers, or -32600 if the body was refused first (nested too deep).
          expect([-32020, -32600], context).toContain(r.a.body.error.code);
          // A refused tools/call (whatever else is wrong with it) has its one record (invalid); anything else none.
          expect(
            r.fastRecords.map((l) => l.outcome),
            context,
          ).toEqual(body.method === 'tools/call' ? ['invalid'] : []);
        }
      }),
      {
        numRuns: 300,
        // Found by a CI run: a tools/call whose name is an object with a `__proto__` key.
        examples: [
          [
            JSON.parse(
              '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":{"__proto__":false}}}',
            ),
            {
              version: '2025-11-25',
              envelope: false,
              mcpMethod: 'same',
              mcpName: undefined,
              accept: 'application/json, text/event-stream',
              capabilities: 'object',
              clientInfo: 'object',
              progressToken: undefined,
              extra: {},
            },
          ],
        ],
      },
    );
  });
});
