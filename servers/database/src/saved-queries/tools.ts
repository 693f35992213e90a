// Turns each saved query into its own tool: generated input schema, values bound as parameters
// (never spliced into SQL), claim-bound parameters filled from the verified token only.
import { type AnyTool, claimValue, type Identity, ToolError } from '@mcp-fleet/core';
import {
  type DatabaseConnectors,
  type DatabaseContext,
  type QueryResult,
  queryResultSchema,
  resultText,
  runChecked,
  tool,
} from '../tools/query-result.js';
import { allowedSchemas, schemas } from '../tools/schema-access.js';
import { claimSchemaOf, inputSchemaOf, type SavedQuery } from './saved-query.js';

/** Binds a saved query's parameters in declaration order ($1, $2...). */
export function bindParameters(q: SavedQuery, args: Record<string, unknown>, identity: Identity): unknown[] {
  return q.parameters.map((p) => {
    if (!p.fromClaim) return args[p.name] ?? null;
    const value = claimValue(identity, p.fromClaim);
    if (value === undefined || value === null || value === '') {
      throw new ToolError(
        `${q.name} is scoped by the "${p.fromClaim}" claim of your token, and your token has none. Ask for a token that carries it; this value cannot be passed as an argument.`,
        'claim_missing',
      );
    }
    const checked = claimSchemaOf(p).safeParse(value);
    if (!checked.success)
      throw new ToolError(
        `The "${p.fromClaim}" claim of your token is not a valid ${p.type} for ${q.name}.`,
        'claim_invalid',
      );
    return checked.data;
  });
}

/** Cache-key material of a query's claim-bound parameters (their values for this caller). */
export function claimKey(q: SavedQuery, identity: Identity): string {
  return JSON.stringify(
    q.parameters.filter((p) => p.fromClaim).map((p) => claimValue(identity, p.fromClaim as string) ?? null),
  );
}

/** Why the allowed schemas do not cover a saved query, or null when they do. */
export function savedQueryViolation(q: SavedQuery, allowed: Iterable<string>): string | null {
  if (q.schemas === null)
    return `${q.name} is not ready yet (the warehouse has not been inspected); try again shortly.`;
  const set = new Set(allowed);
  const bad = q.schemas.filter((s) => !set.has(s));
  return bad.length === 0 ? null : `${q.name} reads schema ${bad.join(', ')}, which your role may not read.`;
}

/** Runs a saved query for the caller of `ctx` (parameters bound, schema policy enforced). */
export async function runSavedQuery(
  q: SavedQuery,
  args: Record<string, unknown>,
  ctx: DatabaseContext,
  o: { maxRows?: number; allowed: Set<string> | null },
): Promise<QueryResult> {
  const values = bindParameters(q, args, ctx.identity);
  const { config } = ctx.connectors;
  return runChecked(
    ctx,
    { text: q.statement, relations: q.relations, parameterCount: q.parameters.length },
    values,
    {
      maxRows: Math.min(o.maxRows ?? q.maxRows ?? config.maxRows, config.maxRows),
      timeoutMs: config.queryTimeoutMs,
      allowed: o.allowed,
    },
  );
}

/** The tool of one saved query. */
export function savedQueryTool(q: SavedQuery, o: { queryTimeoutMs: number }): AnyTool<DatabaseConnectors> {
  const claimBound = q.parameters.filter((p) => p.fromClaim);
  const note = claimBound.length
    ? ` Scoped to you by your token (${claimBound.map((p) => p.fromClaim).join(', ')}); you cannot choose that scope.`
    : '';
  return tool({
    name: q.name,
    title: q.title,
    description: `${q.description.trim()}${note}`,
    input: inputSchemaOf(q),
    output: queryResultSchema,
    governance: { readOnly: true, cacheTtlSeconds: q.cacheTtlSeconds, timeoutMs: o.queryTimeoutMs },
    // The saved query must read only schemas the role may read.
    constraint: { dimension: schemas, check: (_args, value) => savedQueryViolation(q, value.schemas) },
    toText: resultText,
    // Core keys the cache by tenant, user and roles; a query bound to any other claim adds its value.
    cacheKey: claimBound.length > 0 ? (_args, ctx) => claimKey(q, ctx.identity) : undefined,
    handler: async (args, ctx) => ({
      data: await runSavedQuery(q, args as Record<string, unknown>, ctx, {
        allowed: allowedSchemas(ctx.constraints),
      }),
    }),
  });
}
