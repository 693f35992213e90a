// Schema discovery: list_schemas, list_tables, describe_table. Long cache TTLs (schemas change
// rarely); every schema named is checked against policy, and lists are filtered by it.
import { ToolError } from '@mcp-fleet/core';
import { z } from 'zod';
import { describeTable, listSchemas, listTables, schemaExists } from '../connectors/catalog.js';
import { type DatabaseContext, tool } from './query-result.js';
import { allowedSchemas, schemaConstraint } from './schema-access.js';

const DISCOVERY_TIMEOUT_MS = 10_000;
const identifier = z.string().min(1).max(63);
const call = (ctx: DatabaseContext) => ({
  signal: ctx.signal,
  timeoutMs: DISCOVERY_TIMEOUT_MS,
  // Catalog reads carry no claims, but count against the caller's concurrency limit.
  caller: ctx.identity,
});

/**
 * Row estimates (pg_class.reltuples) count every tenant's rows: a caller bound to a tenant gets
 * null, since the number would tell it how much data the other tenants have.
 */
const estimateFor = (ctx: DatabaseContext, estimate: number | null) =>
  ctx.identity.tenant !== undefined ? null : estimate;

/** list_schemas: the schemas the caller may read, with comments and table counts. */
export const listSchemasTool = tool({
  name: 'list_schemas',
  title: 'List warehouse schemas',
  description:
    'Lists the warehouse schemas you may read, with their descriptions and how many tables each has. ' +
    'Start here, then call list_tables for a schema.',
  input: z.object({
    include_system: z.boolean().default(false).describe('Also list pg_catalog and information_schema.'),
  }),
  output: z.object({
    schemas: z.array(
      z.object({ name: z.string(), comment: z.string().nullable(), tables: z.number().int() }),
    ),
  }),
  // Flow guard: metadata only (schema names, comments, table counts): no rows, so no source named.
  governance: { readOnly: true, cacheTtlSeconds: 600, timeoutMs: DISCOVERY_TIMEOUT_MS },
  constraint: schemaConstraint(() => []),
  handler: async (args, ctx) => {
    const allowed = allowedSchemas(ctx.constraints);
    const all = await ctx.connectors.warehouse.readOnly(call(ctx), (s) =>
      listSchemas(s, args.include_system),
    );
    return { data: { schemas: all.filter((s) => allowed === null || allowed.has(s.name)) } };
  },
});

/** list_tables: tables and views of one schema, with row estimates and comments. */
export const listTablesTool = tool({
  name: 'list_tables',
  title: 'List tables in a schema',
  description:
    'Lists the tables and views of one schema with estimated row counts (not for a token bound to a tenant) and descriptions. ' +
    'Then call describe_table for the columns of a table you want to query.',
  input: z.object({
    schema: identifier.describe('Schema name from list_schemas.'),
    name_contains: z
      .string()
      .max(63)
      .optional()
      .describe('Only tables whose name contains this text (case-insensitive).'),
    limit: z.number().int().min(1).max(1000).default(200),
  }),
  output: z.object({
    schema: z.string(),
    tables: z.array(
      z.object({
        name: z.string(),
        kind: z.string(),
        rowEstimate: z.number().nullable(),
        comment: z.string().nullable(),
      }),
    ),
  }),
  // Flow guard: metadata only (table names, kinds, row estimates): no rows, so no source named.
  governance: { readOnly: true, cacheTtlSeconds: 300, timeoutMs: DISCOVERY_TIMEOUT_MS },
  constraint: schemaConstraint((a: { schema: string }) => [a.schema]),
  handler: async (args, ctx) => {
    const tables = await ctx.connectors.warehouse.readOnly(call(ctx), async (s) => {
      if (!(await schemaExists(s, args.schema))) {
        throw new ToolError(
          `Schema "${args.schema}" was not found (or is not readable). Call list_schemas to see the schemas you can use.`,
        );
      }
      return listTables(s, args.schema, args.name_contains, args.limit);
    });
    return {
      data: {
        schema: args.schema,
        tables: tables.map((t) => ({ ...t, rowEstimate: estimateFor(ctx, t.rowEstimate) })),
      },
    };
  },
});

const described = z.object({
  schema: z.string(),
  table: z.string(),
  kind: z.string(),
  comment: z.string().nullable(),
  rowEstimate: z.number().nullable(),
  columns: z.array(
    z.object({
      name: z.string(),
      type: z.string(),
      nullable: z.boolean(),
      default: z.string().nullable(),
      comment: z.string().nullable(),
      enumValues: z.array(z.string()).nullable(),
    }),
  ),
  primaryKey: z.array(z.string()).nullable(),
  foreignKeys: z.array(
    z.object({
      name: z.string(),
      columns: z.array(z.string()),
      references: z.string(),
      referencedColumns: z.array(z.string()),
    }),
  ),
  referencedBy: z.array(z.object({ name: z.string(), table: z.string(), columns: z.array(z.string()) })),
  uniqueConstraints: z.array(z.object({ name: z.string(), columns: z.array(z.string()) })),
  checks: z.array(z.object({ name: z.string(), definition: z.string() })),
  indexes: z.array(z.object({ name: z.string(), unique: z.boolean(), definition: z.string() })),
  viewDefinition: z.string().nullable(),
});

function describedText(d: z.output<typeof described>): string {
  const cols = d.columns.map((c) => {
    const extra = [
      c.nullable ? null : 'not null',
      c.default ? `default ${c.default}` : null,
      c.enumValues ? `one of: ${c.enumValues.join(', ')}` : null,
      c.comment,
    ].filter(Boolean);
    return `  ${c.name} ${c.type}${extra.length ? ` -- ${extra.join('; ')}` : ''}`;
  });
  return [
    `${d.kind} ${d.schema}.${d.table}${d.rowEstimate !== null ? ` (~${d.rowEstimate} rows)` : ''}${d.comment ? `: ${d.comment}` : ''}`,
    ...cols,
    d.primaryKey ? `primary key (${d.primaryKey.join(', ')})` : 'no primary key',
    ...d.foreignKeys.map(
      (f) => `foreign key (${f.columns.join(', ')}) -> ${f.references} (${f.referencedColumns.join(', ')})`,
    ),
    ...d.referencedBy.map((r) => `referenced by ${r.table} (${r.columns.join(', ')})`),
    ...d.indexes.map((i) => `index ${i.definition}`),
  ].join('\n');
}

/** describe_table: columns, types, nullability, defaults, comments, keys and indexes. */
export const describeTableTool = tool({
  name: 'describe_table',
  title: 'Describe a table',
  description:
    'Columns (types, nullability, defaults, descriptions, allowed values of enum columns), primary and foreign keys, ' +
    'tables that reference it, and indexes of one table or view. Call list_tables first to find names; use the ' +
    'foreign keys to write joins for run_query.',
  input: z.object({
    schema: identifier.describe('Schema name.'),
    table: identifier.describe('Table or view name.'),
  }),
  output: described,
  // Flow guard: metadata only (columns, keys, enum labels, view text): no rows, so no source named.
  governance: { readOnly: true, cacheTtlSeconds: 300, timeoutMs: DISCOVERY_TIMEOUT_MS },
  constraint: schemaConstraint((a: { schema: string }) => [a.schema]),
  toText: describedText,
  handler: async (args, ctx) => {
    const found = await ctx.connectors.warehouse.readOnly(call(ctx), (s) =>
      describeTable(s, args.schema, args.table, allowedSchemas(ctx.constraints)),
    );
    if (!found) {
      throw new ToolError(
        `Table ${args.schema}.${args.table} was not found (or is not readable). Call list_tables with schema "${args.schema}" to see its tables.`,
      );
    }
    return { data: { ...found, rowEstimate: estimateFor(ctx, found.rowEstimate) } };
  },
});
