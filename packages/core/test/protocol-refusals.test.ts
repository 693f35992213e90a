// Requests the protocol host refuses before any tool runs, the same on the fast path and the SDK-only
// path: JSON-RPC batches, routing headers that disagree with the body, shapes the SDK refuses.
import { randomUUID } from 'node:crypto';
import { type BootedServer, bootServer } from '@mcp-fleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixturePolicy, fixtureServer, upstream } from './fixtures.js';
import { callMsg, rpc } from './helpers.js';

interface Line {
  requestId: string;
  tool: string;
  outcome: string;
  details: Record<string, unknown> | null;
}

let fast: BootedServer;
let sdkOnly: BootedServer;
const lines = { fast: [] as Line[], sdk: [] as Line[] };
const tokens = { fast: '', sdk: '' };

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
  tokens.fast = await fast.token({ sub: 'agent-refusals', roles: ['writer'] });
  tokens.sdk = await sdkOnly.token({ sub: 'agent-refusals', roles: ['writer'] });
});
afterAll(async () => {
  // Closing must not hang on a request left open (a batch once kept its response open for ever).
  await sdkOnly?.close();
  await fast?.close();
});

const paths = [['fast path'], ['SDK path']] as const;
const server = (label: string) => (label === 'fast path' ? fast : sdkOnly);
const which = (label: string) => (label === 'fast path' ? 'fast' : 'sdk');

async function send(label: string, body: unknown, headers: Record<string, string> = {}) {
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
      error: { code: -32600, message: 'Invalid Request: batches are not supported' },
    });
    expect(upstream.writes).toBe(before);
    expect(recordsOf(label, r.requestId)).toEqual([]);
  });
});
