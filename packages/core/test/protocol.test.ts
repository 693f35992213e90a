// The protocol host: both eras, the fast path agreeing with the SDK path, and no crossed answers.
import { type BootedServer, bootServer } from '@mcp-fleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixturePolicy, fixtureServer } from './fixtures.js';
import { callMsg, modernCall, rpc } from './helpers.js';

let fast: BootedServer;
let sdkOnly: BootedServer;

beforeAll(async () => {
  fast = await bootServer(fixtureServer, { policy: fixturePolicy });
  sdkOnly = await bootServer(fixtureServer, {
    policy: fixturePolicy,
    issuer: fast.issuer,
    serverOptions: { mcp: { fastPath: false } },
  });
});
afterAll(async () => {
  await sdkOnly?.close();
  await fast?.close();
});

const strip = (body: unknown) => JSON.parse(JSON.stringify(body));

describe('fast path and SDK path give the same answers', () => {
  const requests: [string, (id: number) => { body: unknown; headers: Record<string, string> }][] = [
    ['legacy tools/list', (id) => ({ body: { jsonrpc: '2.0', id, method: 'tools/list' }, headers: {} })],
    ['legacy tools/call', (id) => ({ body: callMsg('echo_text', { text: 'same' }, id), headers: {} })],
    ['legacy invalid arguments', (id) => ({ body: callMsg('echo_text', { text: 42 }, id), headers: {} })],
    ['legacy denied tool', (id) => ({ body: callMsg('write_note', { note: 'x' }, id), headers: {} })],
    [
      'legacy tool error',
      (id) => ({ body: callMsg('lookup_record', { schema: 'public', id: 5000 }, id), headers: {} }),
    ],
    ['legacy ping', (id) => ({ body: { jsonrpc: '2.0', id, method: 'ping' }, headers: {} })],
    ['modern tools/call', (id) => modernCall('echo_text', { text: 'same' }, id)],
    ['modern denied tool', (id) => modernCall('write_note', { note: 'x' }, id)],
    [
      'modern tools/list',
      (id) => {
        const m = modernCall('x', {}, id);
        const params = { _meta: (m.body.params as { _meta: unknown })._meta };
        return {
          body: { jsonrpc: '2.0', id, method: 'tools/list', params },
          headers: { 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/list' },
        };
      },
    ],
  ];
  it.each(requests)('%s', async (_name, make) => {
    const token = await fast.token({ sub: 'agent-eq', roles: ['reader'] });
    const headers = { authorization: `Bearer ${token}` };
    const m = make(7);
    const a = await rpc(fast.url, m.body, { ...headers, ...m.headers });
    const b = await rpc(sdkOnly.url, m.body, {
      ...headers,
      ...m.headers,
      authorization: `Bearer ${await sdkOnly.token({ sub: 'agent-eq', roles: ['reader'] })}`,
    });
    expect(a.status).toBe(b.status);
    expect(strip(a.body)).toEqual(strip(b.body));
    // The two answers really came from different code paths: the SDK's legacy leg streams SSE.
    expect(a.headers.get('content-type')).toContain('application/json');
    if (_name.startsWith('legacy')) expect(b.headers.get('content-type')).toContain('text/event-stream');
  });
});

describe('stateless HTTP behaviour', () => {
  it('gives each of two clients using the same JSON-RPC id its own answer', async () => {
    const [t1, t2] = await Promise.all([
      fast.token({ sub: 'agent-one', roles: ['reader'] }),
      fast.token({ sub: 'agent-two', roles: ['reader'] }),
    ]);
    const calls = [];
    for (let i = 0; i < 50; i++) {
      calls.push(
        rpc(fast.url, callMsg('echo_text', { text: `one-${i}` }, 1), { authorization: `Bearer ${t1}` }),
      );
      calls.push(
        rpc(fast.url, callMsg('echo_text', { text: `two-${i}` }, 1), { authorization: `Bearer ${t2}` }),
      );
      calls.push(
        rpc(sdkOnly.url, callMsg('echo_text', { text: `one-${i}` }, 1), {
          authorization: `Bearer ${await sdkOnly.token({ sub: 'agent-one', roles: ['reader'] })}`,
        }),
      );
    }
    const results = await Promise.all(calls);
    results.forEach((r, n) => {
      const i = Math.floor(n / 3);
      const who = n % 3 === 1 ? 'two' : 'one';
      expect(r.body.id).toBe(1);
      expect(r.body.result.structuredContent).toEqual({ text: `${who}-${i}`, agent: `agent-${who}` });
    });
  });

  it('answers GET and DELETE with 405 (no sessions, no server-initiated stream)', async () => {
    const token = await fast.token({ sub: 'a', roles: ['reader'] });
    for (const method of ['GET', 'DELETE']) {
      const res = await fetch(fast.url, {
        method,
        headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' },
      });
      expect(res.status).toBe(405);
    }
  });

  it('acknowledges notifications with 202 and no body', async () => {
    const token = await fast.token({ sub: 'a', roles: ['reader'] });
    const res = await rpc(
      fast.url,
      { jsonrpc: '2.0', method: 'notifications/initialized' },
      { authorization: `Bearer ${token}` },
    );
    expect(res.status).toBe(202);
  });

  it('answers initialize with the negotiated version and the tools capability', async () => {
    const token = await fast.token({ sub: 'a', roles: ['reader'] });
    const res = await rpc(
      fast.url,
      {
        jsonrpc: '2.0',
        id: 0,
        method: 'initialize',
        params: {
          protocolVersion: '2025-06-18',
          capabilities: {},
          clientInfo: { name: 'raw', version: '1' },
        },
      },
      { authorization: `Bearer ${token}` },
    );
    expect(res.status).toBe(200);
    expect(res.body.result.protocolVersion).toBe('2025-06-18');
    expect(res.body.result.capabilities.tools).toBeDefined();
    expect(res.body.result.serverInfo.name).toBe('mcp-fleet-fixture');
  });

  it('refuses a modern request whose envelope disagrees with its header', async () => {
    const token = await fast.token({ sub: 'a', roles: ['reader'] });
    const m = modernCall('echo_text', { text: 'x' });
    const res = await rpc(fast.url, m.body, {
      authorization: `Bearer ${token}`,
      ...m.headers,
      'mcp-name': 'other_tool',
    });
    // Refused as a header/body mismatch (not run, not some other error), the same on the SDK-only path.
    expect(res.status).toBe(400);
    expect(res.body.result).toBeUndefined();
    expect(res.body.error.code).toBe(-32020);
    expect(res.body.error.message).toMatch(/Mcp-Name header names "other_tool"/);
    const viaSdk = await rpc(sdkOnly.url, m.body, {
      authorization: `Bearer ${await sdkOnly.token({ sub: 'a', roles: ['reader'] })}`,
      ...m.headers,
      'mcp-name': 'other_tool',
    });
    expect(viaSdk.status).toBe(400);
    expect(strip(viaSdk.body)).toEqual(strip(res.body));
  });
});
