// Every JSON-RPC error the fleet sends carries `error.data.code` from the catalogue (kernel/errors.ts),
// and every refused request that is recognisably a tools/call (method `tools/call`, whatever else is
// wrong with it) leaves exactly one audit record: outcome `invalid`, `details.errorCode` the code the
// client was sent. Generated: a table of malformations × both protocol eras × both paths (fast path
// on, SDK only), plus requests that are no call (unknown method, GET), which get the code and no record.
import { randomUUID } from 'node:crypto';
import type { BootedServer } from '@mcp-fleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FLEET_ERRORS, type FleetErrorCode } from '../src/kernel/errors.js';
import { upstream } from './fixtures.js';
import { type BothPaths, bootBothPaths, rpc } from './helpers.js';

interface Line {
  requestId: string;
  method: string;
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
  booted = await bootBothPaths('fleet_refused_call_audit', 'agent-refused-audit', lines);
  ({ fast, sdkOnly, tokens } = booted);
});
afterAll(() => booted?.close());

const MODERN_META = {
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
  'io.modelcontextprotocol/clientCapabilities': {},
};
type Era = 'legacy' | 'modern';
type Headers = Record<string, string | undefined>;
interface Request {
  body: Record<string, unknown>;
  headers: Headers;
}

/** A well-formed write_note call of `era` (it would run: the upstream counts it). */
function wellFormed(era: Era): Request {
  const params: Record<string, unknown> = { name: 'write_note', arguments: { note: 'refused?' } };
  if (era === 'modern') params._meta = { ...MODERN_META };
  return {
    body: { jsonrpc: '2.0', id: 7, method: 'tools/call', params },
    headers:
      era === 'modern'
        ? { 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': 'write_note' }
        : { 'mcp-protocol-version': '2025-11-25' },
  };
}
const params = (r: Request) => r.body.params as Record<string, unknown>;
const meta = (r: Request) => params(r)._meta as Record<string, unknown>;

/** What is wrong, the eras it is wrong in, how to make it, and the code the client must be sent. */
const MALFORMATIONS: [string, Era[], (r: Request, era: Era) => void, FleetErrorCode][] = [
  [
    'params._meta is a string',
    ['legacy'],
    (r) => {
      params(r)._meta = 'zzz';
    },
    'FLEET_ERR_INVALID_REQUEST',
  ],
  [
    'the id is 1.5',
    ['legacy', 'modern'],
    (r) => {
      r.body.id = 1.5;
    },
    'FLEET_ERR_INVALID_REQUEST',
  ],
  [
    'an extra top-level member',
    ['legacy', 'modern'],
    (r) => {
      r.body.extra = 1;
    },
    'FLEET_ERR_INVALID_REQUEST',
  ],
  [
    'jsonrpc is "1.0"',
    ['legacy', 'modern'],
    (r) => {
      r.body.jsonrpc = '1.0';
    },
    'FLEET_ERR_INVALID_REQUEST',
  ],
  [
    'the tool name is a number',
    ['legacy', 'modern'],
    (r) => {
      params(r).name = 7;
    },
    'FLEET_ERR_INVALID_PARAMS',
  ],
  [
    'params is an array',
    ['legacy'],
    (r) => {
      r.body.params = ['write_note'];
    },
    'FLEET_ERR_INVALID_REQUEST',
  ],
  [
    'an unsupported MCP-Protocol-Version',
    ['legacy'],
    (r) => {
      r.headers['mcp-protocol-version'] = '2024-01-01';
    },
    'FLEET_ERR_UNSUPPORTED_PROTOCOL_VERSION',
  ],
  [
    'an unsupported MCP-Protocol-Version',
    ['modern'],
    (r) => {
      r.headers['mcp-protocol-version'] = '2024-01-01';
    },
    'FLEET_ERR_HEADER_MISMATCH',
  ],
  [
    'no Mcp-Name header',
    ['modern'],
    (r) => {
      delete r.headers['mcp-name'];
    },
    'FLEET_ERR_HEADER_MISMATCH',
  ],
  [
    'no Mcp-Method header',
    ['modern'],
    (r) => {
      delete r.headers['mcp-method'];
    },
    'FLEET_ERR_HEADER_MISMATCH',
  ],
  [
    'an Mcp-Name of another tool',
    ['legacy', 'modern'],
    (r) => {
      r.headers['mcp-name'] = 'echo_text';
    },
    'FLEET_ERR_HEADER_MISMATCH',
  ],
  [
    'a 2026 envelope without clientCapabilities',
    ['modern'],
    (r) => {
      delete meta(r)['io.modelcontextprotocol/clientCapabilities'];
    },
    'FLEET_ERR_INVALID_PARAMS',
  ],
  [
    'a 2026 envelope under a 2025 MCP-Protocol-Version',
    ['modern'],
    (r) => {
      r.headers['mcp-protocol-version'] = '2025-11-25';
    },
    'FLEET_ERR_HEADER_MISMATCH',
  ],
  [
    'Accept: application/json only',
    ['legacy'],
    (r) => {
      r.headers.accept = 'application/json';
    },
    'FLEET_ERR_NOT_ACCEPTABLE',
  ],
  [
    'Content-Type: text/plain',
    ['legacy', 'modern'],
    (r) => {
      r.headers['content-type'] = 'text/plain';
    },
    'FLEET_ERR_UNSUPPORTED_MEDIA_TYPE',
  ],
];

const PATHS = { 'fast path': 'fast', 'SDK path': 'sdk' } as const;
type Path = keyof typeof PATHS;
const server = (p: Path) => (p === 'fast path' ? fast : sdkOnly);

async function send(path: Path, r: Request) {
  const requestId = randomUUID();
  const res = await rpc(server(path).url, r.body, {
    authorization: `Bearer ${tokens[PATHS[path]]}`,
    'x-request-id': requestId,
    ...r.headers,
  });
  // Records reach the stdout sink synchronously with the answer; give a streamed answer a moment.
  await new Promise((resolve) => setTimeout(resolve, 20));
  const records = lines[PATHS[path]].filter((l) => l.details?.clientRequestId === requestId);
  return { ...res, records };
}

const cases = MALFORMATIONS.flatMap(([what, eras, make, code]) =>
  eras.flatMap((era) => (Object.keys(PATHS) as Path[]).map((path) => [what, era, path, make, code] as const)),
);

describe('refused tools/call requests', () => {
  it('a well-formed call of either era runs and has its one record (the table starts from these)', async () => {
    for (const era of ['legacy', 'modern'] as const)
      for (const path of Object.keys(PATHS) as Path[]) {
        const r = await send(path, wellFormed(era));
        expect(r.body.result?.isError, `${era} ${path}`).toBeFalsy();
        expect(r.records.map((l) => l.outcome)).toEqual(['ok']);
      }
  });

  it.each(cases)(
    '%s (%s era, %s): error.data.code from the catalogue and exactly one invalid record with that code',
    async (what, era, path, make, code) => {
      const r = wellFormed(era);
      make(r, era);
      const before = upstream.writes;
      const res = await send(path, r);
      const context = `${what} / ${era} / ${path}: ${res.status} ${res.text.slice(0, 300)}`;
      expect(res.body?.error, context).toBeDefined();
      expect(res.body.error.data?.code, context).toBe(code);
      expect(Object.keys(FLEET_ERRORS)).toContain(res.body.error.data.code);
      expect(upstream.writes, context).toBe(before);
      expect(
        res.records.map((l) => [l.method, l.outcome, l.details?.errorCode]),
        context,
      ).toEqual([['tools/call', 'invalid', code]]);
    },
  );

  it.each(
    (['legacy', 'modern'] as const).flatMap((era) =>
      (Object.keys(PATHS) as Path[]).map((p) => [era, p] as const),
    ),
  )(
    'a tools/call sent as a notification (no id) is not run, and has its one invalid record (%s era, %s)',
    async (era, path) => {
      const r = wellFormed(era);
      delete r.body.id;
      const before = upstream.writes;
      const res = await send(path, r);
      expect(upstream.writes).toBe(before);
      if (res.body?.error) expect(Object.keys(FLEET_ERRORS)).toContain(res.body.error.data?.code);
      expect(res.records.map((l) => [l.outcome, l.details?.errorCode])).toEqual([
        ['invalid', res.body?.error?.data?.code ?? 'FLEET_ERR_INVALID_REQUEST'],
      ]);
    },
  );
});

describe('JSON-RPC errors of requests that are no tools/call', () => {
  it.each(
    (['legacy', 'modern'] as const).flatMap((era) =>
      (Object.keys(PATHS) as Path[]).map((p) => [era, p] as const),
    ),
  )(
    'an unknown method: -32601 with FLEET_ERR_METHOD_NOT_FOUND, no record (%s era, %s)',
    async (era, path) => {
      const r = wellFormed(era);
      r.body.method = 'tools/frobnicate';
      if (era === 'modern') r.headers['mcp-method'] = 'tools/frobnicate';
      delete r.headers['mcp-name'];
      const res = await send(path, r);
      expect(res.body.error, res.text).toMatchObject({
        code: -32601,
        data: { code: 'FLEET_ERR_METHOD_NOT_FOUND' },
      });
      expect(res.records).toEqual([]);
    },
  );

  it.each(Object.keys(PATHS) as Path[])(
    'GET /mcp: 405 with FLEET_ERR_METHOD_NOT_ALLOWED (%s)',
    async (path) => {
      const res = await fetch(server(path).url, {
        headers: { authorization: `Bearer ${tokens[PATHS[path]]}`, accept: 'text/event-stream' },
      });
      expect(res.status).toBe(405);
      expect(((await res.json()) as { error: unknown }).error).toMatchObject({
        data: { code: 'FLEET_ERR_METHOD_NOT_ALLOWED' },
      });
    },
  );

  it('a body that is not JSON: FLEET_ERR_PARSE_ERROR', async () => {
    const res = await rpc(fast.url, '{"jsonrpc":"2.0",', { authorization: `Bearer ${tokens.fast}` });
    expect(res.body.error).toMatchObject({ data: { code: 'FLEET_ERR_PARSE_ERROR' } });
  });
});
