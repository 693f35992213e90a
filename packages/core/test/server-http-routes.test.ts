// A server's own HTTP routes (ServerDefinition.http, the admin server's console): served beside /mcp in
// their own context, given the runtime and the server's config; /mcp keeps its guards and bearer
// authentication, and none of them leaks onto the server's routes (which bring their own).
import { type BootedServer, bootServer, DevIssuer } from '@mcp-fleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { govPolicy, govServer } from './governance/harness.js';

let issuer: DevIssuer;
let server: BootedServer;
const seen: string[] = [];
beforeAll(async () => {
  issuer = await DevIssuer.create();
  await issuer.listen();
  server = await bootServer(
    {
      ...govServer,
      http: async (app, ctx) => {
        seen.push(`${ctx.runtime.server}:${ctx.core.port}:${ctx.fleetDb ? 'db' : 'no-db'}`);
        app.addHook('onRequest', async (request, reply) => {
          if (request.headers['x-console'] !== 'yes') return reply.code(403).send({ error: 'console only' });
        });
        app.get('/console/hello', async () => ({
          server: ctx.runtime.server,
          tools: ctx.runtime.registry.names(),
        }));
      },
    },
    { policy: govPolicy, issuer },
  );
});
afterAll(async () => {
  await server?.close();
  await issuer?.close();
});

describe("a server's own HTTP routes", () => {
  it('are registered once, with the runtime, and answer without a bearer token', async () => {
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatch(/^govtest:\d+:no-db$/);
    const base = server.baseUrl;
    const res = await fetch(`${base}/console/hello`, { headers: { 'x-console': 'yes' } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { server: string; tools: string[] };
    expect(body.server).toBe('govtest');
    expect(body.tools).toContain('echo_caller');
  });

  it('keep their hooks to themselves: /mcp, /healthz and /approvals are untouched by them', async () => {
    const base = server.baseUrl;
    expect((await fetch(`${base}/console/hello`)).status).toBe(403);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    // /mcp still demands a bearer token (401 with the metadata challenge), not the console's header.
    const mcp = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    expect(mcp.status).toBe(401);
    expect(mcp.headers.get('www-authenticate')).toMatch(/resource_metadata=/);
  });
});
