// The result shape every query-running tool shares (run_query, saved queries, dashboard panels):
// typed columns, rows as arrays, and an honest "truncated" flag; plus the text a model reads.
import { type ToolContext, toolsFor } from '@mcp-fleet/core';
import { z } from 'zod';
import type { DatabaseConfig } from '../config.js';
import { resolveRelationSchemas, schemasRead } from '../connectors/catalog.js';
import type { Warehouse } from '../connectors/warehouse.js';
import type { DashboardStore } from '../dashboards/store.js';
import type { CheckedQuery } from '../sql/guard.js';
import { assertRelationsAllowed } from './schema-access.js';

/** What every tool of this server receives as `ctx.connectors`. */
export interface DatabaseConnectors {
  warehouse: Warehouse;
  config: DatabaseConfig;
  /** Null without a fleet database (DATABASE_URL). */
  dashboards: DashboardStore | null;
}

/** Handler context of this server's tools (for helpers; tools declared with {@link tool} get it typed). */
export type DatabaseContext = ToolContext<DatabaseConnectors>;

/** Declares a tool of this server: `ctx` is typed in its handler and cacheKey. */
export const tool = toolsFor<DatabaseConnectors>();

/** Output schema of a query result. */
export const queryResultSchema = z.object({
  columns: z.array(z.object({ name: z.string(), type: z.string() })),
  rows: z.array(z.array(z.unknown())),
  rowCount: z.number().int(),
  truncated: z.boolean(),
  truncatedBy: z.enum(['rows', 'bytes']).nullable(),
  elapsedMs: z.number(),
});

/** A query result. */
export type QueryResult = z.output<typeof queryResultSchema>;

function cell(v: unknown): string {
  const s = v === null ? 'NULL' : typeof v === 'string' ? v : JSON.stringify(v);
  const flat = s.replace(/\s+/g, ' ');
  return flat.length > 120 ? `${flat.slice(0, 117)}...` : flat;
}

/** Renders a result as an aligned text table with a footer saying whether it is complete. */
export function resultText(r: QueryResult): string {
  const header = r.columns.map((c) => c.name);
  const body = r.rows.map((row) => row.map(cell));
  const widths = header.map((h, i) =>
    Math.min(60, Math.max(h.length, ...body.map((b) => (b[i] ?? '').length))),
  );
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join(' | ')
      .trimEnd();
  const out = [line(header), widths.map((w) => '-'.repeat(w)).join('-+-'), ...body.map(line)];
  const count = `(${r.rowCount} row${r.rowCount === 1 ? '' : 's'}, ${r.elapsedMs} ms)`;
  if (r.truncated) {
    const why = r.truncatedBy === 'bytes' ? 'the byte limit' : `the ${r.rowCount}-row limit`;
    out.push(
      `${count} TRUNCATED at ${why}: the query has more rows. Aggregate, filter, or add ORDER BY ... LIMIT.`,
    );
  } else {
    out.push(count);
  }
  return out.join('\n');
}

/** Limits of one execution. */
export interface RunLimits {
  maxRows: number;
  timeoutMs: number;
  /** Allowed schemas from policy; null = unconstrained. */
  allowed: Set<string> | null;
}

/**
 * Runs a checked SELECT: resolves the relations it names in the same session that will run it,
 * refuses those outside the allowed schemas, then reads through a capped cursor.
 */
export async function runChecked(
  ctx: DatabaseContext,
  q: CheckedQuery,
  values: unknown[],
  limits: RunLimits,
): Promise<QueryResult> {
  const { warehouse, config } = ctx.connectors;
  const call = { signal: ctx.signal, timeoutMs: limits.timeoutMs, claims: ctx.identity };
  return warehouse.readOnly(call, async (s) => {
    const resolved = await resolveRelationSchemas(s, q.relations);
    assertRelationsAllowed(resolved, limits.allowed);
    // Flow guard: every schema whose data the result can hold (views followed to what they read).
    for (const schema of await schemasRead(s, resolved, limits.allowed)) ctx.source('schema', schema);
    const started = performance.now();
    const r = await s.select(q.text, values, { maxRows: limits.maxRows, maxBytes: config.maxBytes });
    return { ...r, rowCount: r.rows.length, elapsedMs: Math.round((performance.now() - started) * 10) / 10 };
  });
}
