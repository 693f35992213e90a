// explain_query: the plan of one checked SELECT. ANALYZE is only ever applied to that SELECT,
// so "EXPLAIN ANALYZE <DML>" cannot be expressed.
import { defineTool } from '@mcp-fleet/core';
import { z } from 'zod';
import { learnWarehouseNames, resolveRelationSchemas } from '../connectors/catalog.js';
import { checkReadOnlySql, explainStatement } from '../sql/guard.js';
import type { DatabaseContext } from './query-result.js';
import { namedSchemas } from './run-query.js';
import { allowedSchemas, assertRelationsAllowed, schemaConstraint } from './schema-access.js';

interface PlanNode {
  'Node Type'?: string;
  'Relation Name'?: string;
  Schema?: string;
  'Index Name'?: string;
  'Total Cost'?: number;
  'Plan Rows'?: number;
  'Actual Rows'?: number;
  'Actual Total Time'?: number;
  'Actual Loops'?: number;
  Plans?: PlanNode[];
}

function renderPlan(node: PlanNode, depth: number, out: string[]): void {
  if (out.length >= 200) return;
  const on = node['Relation Name']
    ? ` on ${node.Schema ? `${node.Schema}.` : ''}${node['Relation Name']}`
    : '';
  const using = node['Index Name'] ? ` using ${node['Index Name']}` : '';
  const actual =
    node['Actual Total Time'] !== undefined
      ? ` (actual ${node['Actual Total Time']} ms, rows=${node['Actual Rows']}, loops=${node['Actual Loops']})`
      : '';
  out.push(
    `${'  '.repeat(depth)}-> ${node['Node Type'] ?? '?'}${on}${using} (cost=${node['Total Cost']} rows=${node['Plan Rows']})${actual}`,
  );
  for (const child of node.Plans ?? []) renderPlan(child, depth + 1, out);
}

const output = z.object({
  analyzed: z.boolean(),
  totalCost: z.number().nullable(),
  planRows: z.number().nullable(),
  executionMs: z.number().nullable(),
  plan: z.unknown(),
});

/** Builds explain_query with the configured query timeout. */
export function explainQueryTool(o: { queryTimeoutMs: number }) {
  return defineTool({
    name: 'explain_query',
    title: 'Explain a query plan',
    description:
      'Shows how PostgreSQL would run ONE SELECT (EXPLAIN, JSON plan plus a readable tree), to find why a query is slow ' +
      'or to check index use before running it. With analyze=true the SELECT is really executed (read-only, same time ' +
      'limit as run_query) and actual timings are shown. Send the SELECT itself, not an EXPLAIN statement.',
    input: z.object({
      sql: z.string().min(1).max(20_000).describe('One SELECT statement.'),
      analyze: z.boolean().default(false).describe('Execute the SELECT to report actual rows and timings.'),
    }),
    output,
    governance: { readOnly: true, cacheTtlSeconds: 60, timeoutMs: o.queryTimeoutMs },
    constraint: schemaConstraint('warehouse schemas whose tables the query may read', (a: { sql: string }) =>
      namedSchemas(a.sql),
    ),
    toText: (d) => {
      const root = (d.plan as { Plan?: PlanNode }[] | undefined)?.[0]?.Plan;
      const lines: string[] = [];
      if (root) renderPlan(root, 0, lines);
      if (d.executionMs !== null) lines.push(`Execution time: ${d.executionMs} ms`);
      return lines.join('\n');
    },
    handler: async (args, ctx: DatabaseContext) => {
      await learnWarehouseNames(ctx.connectors.warehouse);
      const checked = checkReadOnlySql(args.sql);
      const text = explainStatement(checked, args.analyze);
      const plan = await ctx.connectors.warehouse.readOnly(
        { signal: ctx.signal, timeoutMs: o.queryTimeoutMs, claims: ctx.identity },
        async (s) => {
          assertRelationsAllowed(
            await resolveRelationSchemas(s, checked.relations),
            allowedSchemas(ctx.constraints),
          );
          const rows = await s.query<{ 'QUERY PLAN': unknown }>(text);
          return rows[0]?.['QUERY PLAN'];
        },
      );
      const top = (plan as { Plan?: PlanNode; 'Execution Time'?: number }[] | undefined)?.[0];
      return {
        data: {
          analyzed: args.analyze,
          totalCost: top?.Plan?.['Total Cost'] ?? null,
          planRows: top?.Plan?.['Plan Rows'] ?? null,
          executionMs: top?.['Execution Time'] ?? null,
          plan,
        },
      };
    },
  });
}
