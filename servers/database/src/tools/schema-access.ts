// The policy constraint dimension of this server, `database.schemas`: which warehouse schemas a role
// may see. Declared by every tool that names or reads a schema; policy grants give `{ schemas: [...] }`
// (or "*"), parsed once when the policy is loaded.
import { defineConstraint, type ToolConstraint, ToolError } from '@mcp-fleet/core';
import { z } from 'zod';

/** The value a policy grant gives: the schemas that grant lets a role read. */
export const schemaConstraintSchema = z.object({ schemas: z.array(z.string().min(1)).min(1) }).strict();

/** A parsed schema constraint value. */
export type SchemaConstraint = z.output<typeof schemaConstraintSchema>;

/** `database.schemas`: the warehouse schemas a role may read. Every tool that reads warehouse data declares it. */
export const schemas = defineConstraint({
  name: 'schemas',
  description: 'warehouse schemas the role may read, e.g. { schemas: [sales, support] }',
  schema: schemaConstraintSchema,
});

/**
 * The schemas allowed for this call: the union over the caller's constraining grants (each grant
 * alone would let the caller read its schemas), or null when a grant gives "*".
 */
export function allowedSchemas(constraints: readonly SchemaConstraint[] | null): Set<string> | null {
  if (constraints === null) return null;
  return new Set(constraints.flatMap((c) => c.schemas));
}

function refusal(schemas: readonly string[], allowed: Iterable<string>): string {
  const list = [...allowed].sort().join(', ') || 'none';
  return `schema ${schemas.join(', ')} is not one your role may read (allowed: ${list}). Use tables in the allowed schemas; call list_schemas.`;
}

/**
 * A tool's `database.schemas` constraint that checks the schemas a call names (`schemasOf`; empty
 * for tools that filter their output instead, like list_schemas).
 */
export function schemaConstraint<Args>(
  schemasOf: (args: Args) => readonly string[],
): ToolConstraint<Args, SchemaConstraint> {
  return {
    dimension: schemas,
    check: (args, value) => {
      const bad = schemasOf(args).filter((s) => !value.schemas.includes(s));
      return bad.length === 0 ? null : refusal(bad, value.schemas);
    },
  };
}

/** Throws a ToolError when a resolved relation lies outside the allowed schemas. */
export function assertRelationsAllowed(
  resolved: readonly { relation: string; schema: string }[],
  allowed: Set<string> | null,
): void {
  if (allowed === null) return;
  const bad = resolved.filter((r) => !allowed.has(r.schema));
  if (bad.length === 0) return;
  const schemas = [...new Set(bad.map((b) => b.schema))];
  throw new ToolError(
    `Not allowed by policy: the query reads ${bad.map((b) => b.relation).join(', ')}; ${refusal(schemas, allowed)}`,
    'schema_not_allowed',
  );
}
