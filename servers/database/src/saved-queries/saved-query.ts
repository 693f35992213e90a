// Saved queries declared in a YAML file (like MCP Toolbox's `postgres-sql` tools): named,
// described, parameterised SQL written by people, each exposed as its own narrow tool.
import { readFileSync } from 'node:fs';
import { FleetError } from '@mcp-fleet/core';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { checkReadOnlySql } from '../sql/guard.js';

const parameterSchema = z
  .object({
    /** Name of the tool argument (snake_case). Parameters bind to $1, $2... in declaration order. */
    name: z.string().regex(/^[a-z][a-z0-9_]*$/, 'parameter names are snake_case'),
    type: z.enum(['string', 'integer', 'number', 'boolean', 'date', 'timestamp']),
    description: z.string().min(1),
    required: z.boolean().default(true),
    default: z.union([z.string(), z.number(), z.boolean()]).optional(),
    enum: z.array(z.string()).min(1).optional(),
    minimum: z.number().optional(),
    maximum: z.number().optional(),
    maxLength: z.number().int().positive().default(200),
    /**
     * Bind this parameter to a verified token claim (dotted path, e.g. `tenant`). It is not a tool
     * argument at all: the model can neither see nor choose it.
     */
    fromClaim: z.string().min(1).optional(),
  })
  .strict();

const querySchema = z
  .object({
    title: z.string().min(1),
    description: z.string().min(20, 'write a description a model can act on (20+ characters)'),
    statement: z.string().min(1),
    parameters: z.array(parameterSchema).default([]),
    cacheTtlSeconds: z.number().int().min(0).default(30),
    maxRows: z.number().int().positive().optional(),
  })
  .strict();

const fileSchema = z.object({ queries: z.record(z.string(), querySchema) }).strict();

/** One declared parameter. */
export type SavedParameter = z.output<typeof parameterSchema>;

/** One saved query, validated, with its checked SQL. */
export interface SavedQuery extends z.output<typeof querySchema> {
  name: string;
  /** Relations the statement names (checked by the SQL guard at load time). */
  relations: { schema: string | null; name: string }[];
  /** Schemas the statement reads, resolved against the warehouse at connect; null before that. */
  schemas: string[] | null;
}

function zodFor(p: SavedParameter): z.ZodType {
  let t: z.ZodType;
  switch (p.type) {
    case 'integer': {
      let n = z.number().int();
      if (p.minimum !== undefined) n = n.min(p.minimum);
      if (p.maximum !== undefined) n = n.max(p.maximum);
      t = n;
      break;
    }
    case 'number': {
      let n = z.number();
      if (p.minimum !== undefined) n = n.min(p.minimum);
      if (p.maximum !== undefined) n = n.max(p.maximum);
      t = n;
      break;
    }
    case 'boolean':
      t = z.boolean();
      break;
    case 'date':
      t = z.iso.date();
      break;
    case 'timestamp':
      t = z.iso.datetime({ offset: true });
      break;
    default:
      t = p.enum ? z.enum(p.enum as [string, ...string[]]) : z.string().max(p.maxLength);
  }
  t = t.describe(p.description);
  if (p.default !== undefined) return t.default(p.default as never);
  return p.required ? t : t.optional();
}

/** The tool input schema of a saved query: its parameters minus the claim-bound ones. */
export function inputSchemaOf(q: SavedQuery): z.ZodObject {
  const shape: Record<string, z.ZodType> = {};
  for (const p of q.parameters) if (!p.fromClaim) shape[p.name] = zodFor(p);
  return z.object(shape).strict();
}

/** The schema a claim-bound value must satisfy (claims are input too: checked the same way). */
export function claimSchemaOf(p: SavedParameter): z.ZodType {
  return zodFor({ ...p, required: true, default: undefined });
}

/**
 * Reads and validates a saved-queries file. Every statement goes through the same SQL guard as
 * model SQL (parameters allowed), so a file cannot declare a write.
 */
export function loadSavedQueries(file: string, reserved: readonly string[] = []): SavedQuery[] {
  const fail = (why: string): never => {
    throw new FleetError('FLEET_ERR_CONFIG', `saved queries (${file}): ${why}`);
  };
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    return fail(`cannot read the file: ${(err as Error).message}`);
  }
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) fail(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  const out: SavedQuery[] = [];
  for (const [name, q] of Object.entries(parsed.data?.queries ?? {})) {
    if (reserved.includes(name)) fail(`${name}: the name of a built-in tool`);
    let checked: ReturnType<typeof checkReadOnlySql>;
    try {
      checked = checkReadOnlySql(q.statement, { allowParameters: true });
    } catch (err) {
      return fail(`${name}: ${(err as Error).message}`);
    }
    if (checked.parameterCount !== q.parameters.length) {
      fail(
        `${name}: the statement uses $1..$${checked.parameterCount} but ${q.parameters.length} parameters are declared`,
      );
    }
    const seen = new Set<string>();
    for (const p of q.parameters) {
      if (seen.has(p.name)) fail(`${name}: parameter ${p.name} declared twice`);
      seen.add(p.name);
      if (p.fromClaim && p.default !== undefined)
        fail(`${name}.${p.name}: a claim-bound parameter cannot have a default`);
    }
    out.push({ ...q, name, statement: checked.text, relations: checked.relations, schemas: null });
  }
  return out;
}
