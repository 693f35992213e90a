// run_query: one model-written SELECT, checked by the real PostgreSQL parser and executed
// read-only with row, byte and time caps.
import { z } from 'zod';
import { learnWarehouseNames } from '../connectors/catalog.js';
import { type CheckedQuery, checkReadOnlySql } from '../sql/guard.js';
import { type DatabaseContext, queryResultSchema, resultText, runChecked, tool } from './query-result.js';
import { allowedSchemas, schemaConstraint } from './schema-access.js';

/** Explicit `schema.table` references, for the policy check core runs before the handler. */
export function namedSchemas(sql: string): string[] {
  try {
    return [...new Set(checkReadOnlySql(sql).relations.flatMap((r) => (r.schema ? [r.schema] : [])))];
  } catch {
    return []; // the handler refuses unparsable SQL with the parser's message
  }
}

/**
 * Checks model-written SQL (run_query, explain_query) for the calling token: once the guard knows
 * the warehouse's names, and with the tenant-bound checks when the token carries a tenant.
 */
export async function checkCallerSql(ctx: DatabaseContext, sql: string): Promise<CheckedQuery> {
  await learnWarehouseNames(ctx.connectors.warehouse);
  return checkReadOnlySql(sql, { tenantBound: ctx.identity.tenant !== undefined });
}

/** Builds run_query with the configured query timeout. */
export function runQueryTool(o: { queryTimeoutMs: number }) {
  return tool({
    name: 'run_query',
    title: 'Run a read-only SQL query',
    description:
      'Runs ONE PostgreSQL SELECT against the warehouse and returns typed columns and rows. Use list_tables and ' +
      'describe_table first to find tables and columns; qualify tables as schema.table. Aggregate in SQL (count, sum, ' +
      'GROUP BY) rather than fetching raw rows: results are capped and marked truncated. Only reads are possible: ' +
      'no INSERT/UPDATE/DDL, no SET, no multiple statements, no $1 parameters (write literals).',
    input: z.object({
      sql: z.string().min(1).max(20_000).describe('One SELECT statement (WITH, VALUES and TABLE also work).'),
      max_rows: z
        .number()
        .int()
        .min(1)
        .max(100_000)
        .optional()
        .describe('Return at most this many rows (capped by the server limit).'),
      timeout_ms: z
        .number()
        .int()
        .min(100)
        .max(600_000)
        .optional()
        .describe('Cancel the query after this long (capped by the server limit).'),
    }),
    output: queryResultSchema,
    governance: { readOnly: true, cacheTtlSeconds: 30, timeoutMs: o.queryTimeoutMs },
    constraint: schemaConstraint((a: { sql: string }) => namedSchemas(a.sql)),
    toText: resultText,
    handler: async (args, ctx) => {
      const checked = await checkCallerSql(ctx, args.sql);
      const { config } = ctx.connectors;
      const data = await runChecked(ctx, checked, [], {
        maxRows: Math.min(args.max_rows ?? config.maxRows, config.maxRows),
        timeoutMs: Math.min(args.timeout_ms ?? o.queryTimeoutMs, o.queryTimeoutMs),
        allowed: allowedSchemas(ctx.constraints),
      });
      return { data };
    },
  });
}
