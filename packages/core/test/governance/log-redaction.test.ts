// A server's auditRedact masks its log lines too: what a tool logs, and what core logs about a tool
// that failed unexpectedly (message and stack), never carries a secret the redactor knows.
import { Writable } from 'node:stream';
import { defineTool, type ServerDefinition } from '@mcp-fleet/core';
import { type BootedServer, bootServer, connectModern } from '@mcp-fleet/testkit';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { z } from 'zod';

const SECRET = 'sk_live_51Hx9TESTONLYabcdefghijklmnop';
const lines: string[] = [];
const sink = new Writable({
  write(chunk, _enc, done) {
    lines.push(...String(chunk).split('\n').filter(Boolean));
    done();
  },
});

const leaky = defineTool({
  name: 'call_vendor',
  title: 'Leaky',
  description: 'Logs its argument and fails with it (a test tool).',
  input: z.object({ text: z.string() }),
  governance: { readOnly: true },
  handler: async (args, ctx) => {
    ctx.logger.info(
      { upstream: { body: { error: args.text } }, list: [args.text] },
      `calling with ${args.text}`,
    );
    throw new Error(`vendor said: bad key ${args.text}`);
  },
});

const definition: ServerDefinition<object, object> = {
  name: 'logs',
  version: '0.0.1',
  defaultPort: 7496,
  config: () => ({}),
  tools: () => [leaky],
  auditRedact: (text) => text.replace(/sk_live_[A-Za-z0-9]+/g, '[secret]'),
  connect: () => ({}),
};

let server: BootedServer;
beforeAll(async () => {
  server = await bootServer(definition, {
    policy: { version: 1, roles: { reader: { grants: [{ servers: ['logs'], tools: ['*'] }] } } },
    env: { LOG_LEVEL: 'info' },
    serverOptions: { logDestination: sink },
  });
});
afterAll(async () => {
  await server?.close();
});

it('masks the secret in what the tool logs and in core’s "tool failed" line, keeping the rest', async () => {
  const client = await connectModern(server.url, await server.token({ sub: 'a1', roles: ['reader'] }));
  const out = await client.callTool('call_vendor', { text: `key=${SECRET}` });
  expect(out.isError).toBe(true);
  await client.close();
  const logged = lines.join('\n');
  expect(logged).toContain('calling with key=[secret]');
  expect(logged).toMatch(/tool failed/);
  expect(logged).toContain('vendor said: bad key key=[secret]');
  expect(logged).not.toContain(SECRET);
});
