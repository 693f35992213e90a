// ctx.callTool: a tool's call of another tool of its server is the caller's own governed call (its
// decision, its audit record linked to the parent), cannot nest again, cannot mutate, and stops when
// the parent stops.
import { defineTool, type ServerDefinition } from '@mcp-fleet/core';
import { type BootedServer, bootServer, connectClient } from '@mcp-fleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type WaitCounters, waitingTool } from '../fixtures.js';

const counters: WaitCounters = { slowStarted: 0, slowAborted: 0 };
let writes = 0;

const relay = defineTool({
  name: 'relay_call',
  title: 'Relay a call',
  description: 'Calls another tool of this server for the caller and returns how that call ended.',
  input: z.object({ tool: z.string(), args: z.record(z.string(), z.unknown()).default({}) }),
  output: z.object({ outcome: z.string(), ok: z.boolean(), text: z.string(), data: z.unknown().optional() }),
  governance: { readOnly: true, timeoutMs: 400 },
  handler: async ({ tool, args }, ctx) => ({ data: await ctx.callTool(tool, args) }),
});

const echo = defineTool({
  name: 'echo_text',
  title: 'Echo text',
  description: 'Returns the text it is given, with the caller it ran for.',
  input: z.object({ text: z.string().max(100) }),
  output: z.object({ text: z.string(), agent: z.string(), tenant: z.string().nullable() }),
  governance: { readOnly: true },
  handler: async ({ text }, ctx) => ({
    data: { text, agent: ctx.identity.agentId, tenant: ctx.identity.tenant ?? null },
  }),
});

const write = defineTool({
  name: 'write_note',
  title: 'Write a note',
  description: 'Stores a note (a mutating fixture).',
  input: z.object({ note: z.string() }),
  governance: { readOnly: false },
  handler: async () => {
    writes += 1;
    return { text: 'stored' };
  },
});

const wait = waitingTool(
  { name: 'wait_slowly', title: 'Wait', description: 'Waits, honouring cancellation.', timeoutMs: 30_000 },
  counters,
);

const server: ServerDefinition<undefined> = {
  name: 'nesting',
  version: '0.0.1',
  defaultPort: 7498,
  tools: [relay, echo, write, wait],
};

const policy = {
  version: 1,
  roles: {
    everything: { grants: [{ servers: ['nesting'], tools: ['*'] }] },
    relay_only: { grants: [{ servers: ['nesting'], tools: ['relay_call'] }] },
    no_echo: { grants: [{ servers: ['nesting'], tools: ['*'], except: ['echo_text'] }] },
  },
};

const lines: string[] = [];
let s: BootedServer;

type Line = {
  id: string;
  tool: string;
  agentId: string;
  outcome: string;
  details: Record<string, unknown> | null;
};

async function records(agentId: string): Promise<Line[]> {
  await s.server.runtime.audit.flush();
  return lines.map((l) => JSON.parse(l) as Line).filter((r) => r.agentId === agentId);
}

async function relayAs(sub: string, role: string, tool: string, args: Record<string, unknown> = {}) {
  const c = await connectClient('modern', s.url, await s.token({ sub, roles: [role], tenant: 'acme' }));
  try {
    const r = await c.callTool('relay_call', { tool, args });
    expect(r.isError, JSON.stringify(r.content)).toBeFalsy();
    return r.structuredContent as {
      outcome: string;
      ok: boolean;
      text: string;
      data?: Record<string, unknown>;
    };
  } finally {
    await c.close();
  }
}

beforeAll(async () => {
  s = await bootServer(server, {
    policy,
    env: { AUDIT_STDOUT: 'true' },
    serverOptions: { auditWrite: (chunk) => lines.push(...chunk.split('\n').filter(Boolean)) },
  });
});
afterAll(async () => {
  await s?.close();
});

describe('ctx.callTool', () => {
  it('runs the tool as the same caller, with its own audit record naming the parent call', async () => {
    const r = await relayAs('agent-ok', 'everything', 'echo_text', { text: 'hi' });
    expect(r).toMatchObject({
      outcome: 'ok',
      ok: true,
      data: { text: 'hi', agent: 'agent-ok', tenant: 'acme' },
    });
    const rows = await records('agent-ok');
    const parent = rows.find((x) => x.tool === 'relay_call');
    const child = rows.find((x) => x.tool === 'echo_text');
    expect(parent?.outcome).toBe('ok');
    expect(child?.outcome).toBe('ok');
    expect(child?.details?.parentCallId).toBe(parent?.id);
  });

  it("applies the caller's own grants: not granted and except: are refusals, audited as denied", async () => {
    for (const [sub, role] of [
      ['agent-relay-only', 'relay_only'],
      ['agent-no-echo', 'no_echo'],
    ] as const) {
      const r = await relayAs(sub, role, 'echo_text', { text: 'hi' });
      expect(r).toMatchObject({ outcome: 'denied', ok: false });
      expect(r.data).toBeUndefined();
      const rows = await records(sub);
      const parent = rows.find((x) => x.tool === 'relay_call');
      expect(
        rows.filter((x) => x.tool === 'echo_text').map((x) => [x.outcome, x.details?.parentCallId]),
      ).toEqual([['denied', parent?.id]]);
    }
  });

  it('validates arguments like a direct call', async () => {
    const r = await relayAs('agent-invalid', 'everything', 'echo_text', { text: 42 });
    expect(r).toMatchObject({ outcome: 'invalid', ok: false });
    expect(r.text).toMatch(/Invalid arguments for echo_text/);
  });

  it('cannot nest: a tool called by a tool cannot call tools', async () => {
    const r = await relayAs('agent-nest', 'everything', 'relay_call', {
      tool: 'echo_text',
      args: { text: 'x' },
    });
    expect(r.outcome).toBe('ok');
    expect(r.data).toMatchObject({ outcome: 'denied', ok: false });
    expect(String(r.data?.text)).toMatch(/cannot call tools itself/);
    const rows = await records('agent-nest');
    expect(rows.map((x) => x.tool).sort()).toEqual(['relay_call', 'relay_call']);
  });

  it('refuses mutating tools: only the client asks for a change', async () => {
    const before = writes;
    const r = await relayAs('agent-write', 'everything', 'write_note', { note: 'x' });
    expect(r).toMatchObject({ outcome: 'denied', ok: false });
    expect(r.text).toMatch(/changes data/);
    expect(writes).toBe(before);
  });

  it('is cancelled when the parent call ends (here: the parent times out)', async () => {
    const aborted = counters.slowAborted;
    const c = await connectClient(
      'modern',
      s.url,
      await s.token({ sub: 'agent-slow', roles: ['everything'], tenant: 'acme' }),
    );
    try {
      const r = await c.callTool('relay_call', { tool: 'wait_slowly', args: { ms: 20_000 } });
      expect(r.isError).toBe(true);
      expect(JSON.stringify(r.content)).toMatch(/timed out/);
    } finally {
      await c.close();
    }
    expect(counters.slowAborted).toBe(aborted + 1);
    const rows = await records('agent-slow');
    const child = rows.find((x) => x.tool === 'wait_slowly');
    expect(child?.outcome).toBe('cancelled');
    expect(child?.details?.cancelledBy).toBe('parent');
    expect(child?.details?.parentCallId).toBe(rows.find((x) => x.tool === 'relay_call')?.id);
  });
});
