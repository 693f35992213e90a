// What a tool declaration gets from core, whoever builds the registry (a server, the CLI): the
// reserved arguments in its listed schema, hints derived from its governance (a contradicting hint
// is refused), one object per constraint dimension, and a typed ctx from toolsFor.
import { type AnyTool, defineConstraint, type Identity, toolsFor } from '@mcp-fleet/core';
import { ToolRegistry } from '@mcp-fleet/core/policy';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';

interface Connectors {
  store: { get(id: string): Promise<string> };
}
const tool = toolsFor<Connectors>();
const regions = defineConstraint({
  name: 'regions',
  description: 'regions the role may read',
  schema: z.object({ regions: z.array(z.string()).min(1) }),
});

const getThing = tool({
  name: 'get_thing',
  title: 'Get a thing',
  description: 'Returns one thing of a region by id. Read-only; cached for a minute.',
  input: z.object({ region: z.string(), id: z.string() }),
  governance: { readOnly: true, cacheTtlSeconds: 60 },
  constraint: {
    dimension: regions,
    check: (args, value) => {
      expectTypeOf(args).toEqualTypeOf<{ region: string; id: string }>();
      expectTypeOf(value).toEqualTypeOf<{ regions: string[] }>();
      return value.regions.includes(args.region) ? null : `region ${args.region} is not yours`;
    },
  },
  cacheKey: (args, ctx) => {
    expectTypeOf(ctx.connectors).toEqualTypeOf<Connectors>();
    expectTypeOf(ctx.identity).toEqualTypeOf<Identity>();
    return args.id;
  },
  handler: async (args, ctx) => {
    expectTypeOf(ctx.connectors).toEqualTypeOf<Connectors>();
    expectTypeOf(ctx.constraints).toEqualTypeOf<readonly { regions: string[] }[] | null>();
    return { text: await ctx.connectors.store.get(args.id) };
  },
});

const putThing = tool({
  name: 'put_thing',
  title: 'Put a thing',
  description: 'Stores one thing. Mutating: audited before it runs, idempotent with a key.',
  input: z.object({ id: z.string() }),
  governance: { readOnly: false },
  handler: async (args, ctx) => {
    expectTypeOf(ctx.constraints).toEqualTypeOf<readonly unknown[] | null>();
    return { text: `stored ${args.id}` };
  },
});

const listing = (t: AnyTool) => new ToolRegistry([t]).get(t.name)?.listing;

describe('a registry built without any server (as the CLI builds it)', () => {
  it('lists idempotency_key and approval_id on mutating tools, not on read tools', () => {
    const put = listing(putThing)?.inputSchema.properties as Record<string, unknown>;
    expect(Object.keys(put).sort()).toEqual(['approval_id', 'id', 'idempotency_key']);
    const get = listing(getThing)?.inputSchema.properties as Record<string, unknown>;
    expect(Object.keys(get).sort()).toEqual(['id', 'region']);
  });

  it('derives the hints from governance, and refuses a declared hint that contradicts it', () => {
    expect(listing(putThing)?.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: false });
    expect(() =>
      listing({
        ...putThing,
        name: 'put_quietly',
        annotations: { readOnlyHint: true },
      } as unknown as AnyTool),
    ).toThrow(/annotations\.readOnlyHint: true contradicts its governance/);
    expect(() =>
      listing({
        ...getThing,
        name: 'get_loudly',
        annotations: { destructiveHint: true },
      } as unknown as AnyTool),
    ).toThrow(/annotations\.destructiveHint/);
    // Repeating a derived hint, or adding one governance does not derive, is fine.
    expect(
      listing({
        ...getThing,
        name: 'get_gently',
        annotations: { readOnlyHint: true, title: 'x' },
      } as unknown as AnyTool)?.annotations,
    ).toMatchObject({ readOnlyHint: true, title: getThing.title });
  });

  it('knows the dimensions its tools declare, and refuses two different ones of one name', () => {
    const reg = new ToolRegistry([getThing, putThing]);
    expect([...reg.dimensions().keys()]).toEqual(['regions']);
    const impostor = defineConstraint({ name: 'regions', description: 'another', schema: z.string() });
    expect(
      () =>
        new ToolRegistry([
          getThing,
          {
            ...putThing,
            name: 'put_other',
            constraint: { dimension: impostor, check: () => null },
          } as unknown as AnyTool,
        ]),
    ).toThrow(/second constraint dimension named "regions"/);
  });

  it('refuses a constraint that belongs to no dimension (the old per-tool shape)', () => {
    const old = {
      ...getThing,
      name: 'get_old',
      constraint: { description: 'x', schema: z.object({}), check: () => null },
    } as unknown as AnyTool;
    expect(() => new ToolRegistry([old])).toThrow(/constraint must be made by a dimension/);
  });

  it('refuses a dimension name that is not lower_snake_case', () => {
    expect(() => defineConstraint({ name: 'Bad.Name', description: 'x', schema: z.string() })).toThrow(
      /lower_snake_case/,
    );
  });
});
