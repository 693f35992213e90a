import { type BootedServer, bootServer, connectClient } from '@mcp-fleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixturePolicy, fixtureServer } from './fixtures.js';

let s: BootedServer;
beforeAll(async () => {
  s = await bootServer(fixtureServer, { policy: fixturePolicy });
});
afterAll(async () => s?.close());

describe.each(['modern', 'legacy'] as const)('%s client', (era) => {
  it('lists and calls tools', async () => {
    const token = await s.token({ sub: 'agent-1', roles: ['reader'] });
    const client = await connectClient(era, s.url, token);
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(['echo_text', 'lookup_record', 'wait_slowly']);
    const r = await client.callTool('echo_text', { text: 'hi' });
    expect(r.structuredContent).toEqual({ text: 'hi', agent: 'agent-1' });
    await client.close();
  });
});
