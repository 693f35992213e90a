// The registry of one server's tools: checks each declaration once and precomputes what tools/list shows.
import { z } from 'zod';
import { FleetError } from '../errors.js';
import { withReservedArgs } from './reserved-listing.js';
import type { AnyTool, ConstraintDimension, ToolAnnotations } from './tool.js';

const TOOL_NAME = /^[a-z][a-z0-9]*(_[a-z0-9]+)+$/;

/** The listing entry of a tool, as sent in tools/list (computed once). */
export interface ToolListing {
  name: string;
  title: string;
  description: string;
  inputSchema: Record<string, unknown>;
  outputSchema?: Record<string, unknown>;
  annotations: ToolAnnotations;
}

/** A registered tool with its precomputed listing. */
export interface RegisteredTool {
  tool: AnyTool;
  listing: ToolListing;
}

function jsonSchemaOf(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const json = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<string, unknown>;
  delete json.$schema;
  return json;
}

/** Holds a server's tools; registration fails loudly on duplicates and incomplete declarations. */
export class ToolRegistry {
  readonly #tools = new Map<string, RegisteredTool>();
  readonly #dimensions = new Map<string, ConstraintDimension<unknown>>();

  constructor(tools: readonly AnyTool[] = []) {
    for (const tool of tools) this.register(tool);
  }

  /** Adds a tool. Throws `FLEET_ERR_TOOL_DECLARATION` on a duplicate name or a missing governance field. */
  register(tool: AnyTool): void {
    const fail = (why: string) => {
      throw new FleetError('FLEET_ERR_TOOL_DECLARATION', `tool "${tool.name}": ${why}`);
    };
    if (!TOOL_NAME.test(tool.name)) fail('name must be snake_case verb_noun, e.g. list_tables');
    if (this.#tools.has(tool.name)) fail('registered twice');
    if (!tool.description || tool.description.length < 20) fail('needs a description written for a model');
    if (!tool.governance || typeof tool.governance.readOnly !== 'boolean') {
      fail('governance.readOnly must be declared (true or false)');
    }
    const g = tool.governance;
    if (!g.readOnly && g.cacheTtlSeconds) fail('a mutating tool cannot be cacheable');
    if (g.destructive && g.readOnly) fail('a destructive tool cannot be read-only');
    if (tool.input.type !== 'object') fail('input must be a z.object');
    const dimension = tool.constraint?.dimension;
    if (tool.constraint && !dimension?.name) {
      fail('constraint must be made by a dimension: `constraint: myDimension.check((args, value) => ...)`');
    }
    const known = dimension && this.#dimensions.get(dimension.name);
    if (known && known !== dimension) {
      fail(`declares a second constraint dimension named "${dimension.name}"; declare it once and share it`);
    }
    // Derived from governance, which core enforces; a declared hint may repeat them, never contradict them.
    const derived = {
      readOnlyHint: g.readOnly,
      destructiveHint: g.readOnly ? false : Boolean(g.destructive),
      idempotentHint: g.readOnly,
      openWorldHint: Boolean(g.openWorld),
    };
    for (const [hint, value] of Object.entries(derived)) {
      const declared = tool.annotations?.[hint as keyof typeof derived];
      if (declared !== undefined && declared !== value) {
        fail(`annotations.${hint}: ${declared} contradicts its governance (which makes it ${value})`);
      }
    }
    const annotations: ToolAnnotations = { ...tool.annotations, ...derived, title: tool.title };
    const listing: ToolListing = {
      name: tool.name,
      title: tool.title,
      description: tool.description,
      inputSchema: withReservedArgs(tool, jsonSchemaOf(tool.input, 'input')),
      annotations,
    };
    if (tool.output) listing.outputSchema = jsonSchemaOf(tool.output, 'output');
    if (dimension) this.#dimensions.set(dimension.name, dimension);
    this.#tools.set(tool.name, { tool, listing });
  }

  /**
   * Knows a dimension that only tools this deployment does not list declare (their upstream is not
   * configured): a policy giving it values stays valid, and grants it still parse, instead of the
   * server refusing to start because one system is unconfigured.
   */
  declareDimension(dimension: ConstraintDimension<unknown>): void {
    const known = this.#dimensions.get(dimension.name);
    if (known && known !== dimension) {
      throw new FleetError(
        'FLEET_ERR_TOOL_DECLARATION',
        `two constraint dimensions named "${dimension.name}"; declare it once and share it`,
      );
    }
    this.#dimensions.set(dimension.name, dimension);
  }

  /** The constraint dimension of this name that some tool of this server declares, or undefined. */
  dimension(name: string): ConstraintDimension<unknown> | undefined {
    return this.#dimensions.get(name);
  }

  /** The constraint dimensions the tools of this server declare, by name. */
  dimensions(): ReadonlyMap<string, ConstraintDimension<unknown>> {
    return this.#dimensions;
  }

  /** The tool of this name, or undefined. */
  get(name: string): RegisteredTool | undefined {
    return this.#tools.get(name);
  }

  /** Every registered tool, in registration order. */
  all(): RegisteredTool[] {
    return [...this.#tools.values()];
  }

  /** Tool names, in registration order. */
  names(): string[] {
    return [...this.#tools.keys()];
  }
}
