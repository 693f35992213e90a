// Test-only tools for core's tests (core has no real tools of its own).
import { defineConstraint, defineTool, type ServerDefinition, ToolError } from '@mcp-fleet/core';
import { z } from 'zod';

/** Counts how many times each mutating fixture really ran (the "upstream"). */
export const upstream = { writes: 0, slowStarted: 0, slowAborted: 0 };

const echo = defineTool({
  name: 'echo_text',
  title: 'Echo text',
  description: 'Returns the text it is given. Use it to check that the server answers.',
  input: z.object({ text: z.string().max(1000) }),
  output: z.object({ text: z.string(), agent: z.string() }),
  governance: { readOnly: true },
  handler: async ({ text }, ctx) => ({ data: { text, agent: ctx.identity.agentId } }),
});

/** The fixture server's one constraint dimension (`fixture.schemas` in policy). */
export const schemas = defineConstraint({
  name: 'schemas',
  description: 'schemas the caller may read',
  schema: z.object({ schemas: z.array(z.string()).min(1) }),
});

const lookup = defineTool({
  name: 'lookup_record',
  title: 'Look up a record',
  description: 'Looks up a record by id in a schema. Fails with advice when the record does not exist.',
  input: z.object({ schema: z.string(), id: z.number().int().positive() }),
  output: z.object({ schema: z.string(), id: z.number() }),
  governance: { readOnly: true },
  constraint: {
    dimension: schemas,
    check: (args, value) =>
      value.schemas.includes(args.schema)
        ? null
        : `schema "${args.schema}" is not one you may read (allowed: ${value.schemas.join(', ')})`,
  },
  handler: async ({ schema, id }) => {
    if (id > 1000) throw new ToolError(`record ${id} not found in ${schema}; ids go up to 1000`);
    return { data: { schema, id } };
  },
});

const write = defineTool({
  name: 'write_note',
  title: 'Write a note',
  description: 'Stores a note. A mutating tool: its audit record is stored before it runs.',
  input: z.object({ note: z.string().min(1).max(200) }),
  governance: { readOnly: false },
  handler: async ({ note }) => {
    upstream.writes += 1;
    return { text: `stored: ${note}` };
  },
});

/** Counters a waiting tool bumps: how many calls started, how many saw their abort signal. */
export interface WaitCounters {
  slowStarted: number;
  slowAborted: number;
}

/**
 * A read-only tool that waits `ms` milliseconds, honouring cancellation, counting starts and aborts
 * in `counters` (the "upstream" timeout and cancellation tests look at).
 */
export function waitingTool(
  o: { name: string; title: string; description: string; timeoutMs: number },
  counters: WaitCounters,
) {
  return defineTool({
    name: o.name,
    title: o.title,
    description: o.description,
    input: z.object({ ms: z.number().int().min(0).max(60_000) }),
    governance: { readOnly: true, timeoutMs: o.timeoutMs },
    handler: async ({ ms }, ctx) => {
      counters.slowStarted += 1;
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(resolve, ms);
        ctx.signal.addEventListener('abort', () => {
          clearTimeout(t);
          counters.slowAborted += 1;
          reject(ctx.signal.reason);
        });
      });
      return { text: `waited ${ms} ms` };
    },
  });
}

const slow = waitingTool(
  {
    name: 'wait_slowly',
    title: 'Wait slowly',
    description: 'Waits for the given number of milliseconds, honouring cancellation. For timeout tests.',
    timeoutMs: 300,
  },
  upstream,
);

const destroy = defineTool({
  name: 'delete_everything',
  title: 'Delete everything',
  description: 'A destructive fixture that no role in the test policy is granted.',
  input: z.object({}),
  governance: { readOnly: false, destructive: true },
  handler: async () => ({ text: 'gone' }),
});

/** A server definition made of the fixtures. */
export const fixtureServer: ServerDefinition<undefined> = {
  name: 'fixture',
  version: '0.0.1',
  defaultPort: 7499,
  tools: [echo, lookup, write, slow, destroy],
};

/** A policy for the fixtures: readers, writers, constrained readers. */
export const fixturePolicy = {
  version: 1,
  roles: {
    reader: {
      description: 'read tools',
      grants: [{ servers: ['fixture'], access: 'read', constraints: { 'fixture.schemas': '*' } }],
    },
    writer: { grants: [{ servers: ['fixture'], tools: ['write_note', 'echo_text'] }] },
    narrow: {
      grants: [
        {
          servers: ['*'],
          tools: ['lookup_record'],
          constraints: { 'fixture/lookup_record': { schemas: ['public'] } },
        },
      ],
    },
    other_server: { grants: [{ servers: ['database'], tools: ['*'] }] },
  },
};
