// explain_query: the plan of one checked SELECT. ANALYZE is only ever applied to that SELECT,
// so "EXPLAIN ANALYZE <DML>" cannot be expressed.
import { z } from 'zod';
import { resolveRelationSchemas, schemasRead } from '../connectors/catalog.js';
import { explainStatement } from '../sql/guard.js';
import { tool } from './query-result.js';
import { checkCallerSql, namedSchemas } from './run-query.js';
import { allowedSchemas, assertRelationsAllowed, schemaConstraint } from './schema-access.js';

/**
 * The plan keys a tenant-bound caller sees: the plan's shape and the query's own text, nothing
 * counted or measured. Row-level security filters rows after index conditions and statistics
 * have seen every tenant's rows, so every number in a plan (Actual Rows, Rows Removed by Filter,
 * Heap Fetches, Plan Rows and costs from all tenants' statistics, buffers, sort and hash memory,
 * workers launched) can tell whether another tenant's row matches a condition. Timings are left
 * out too: they grow with the rows scanned, whoever owns them. Anything not listed here (including
 * keys a future PostgreSQL adds) is dropped.
 */
const TENANT_PLAN_KEYS = new Set([
  'Node Type',
  'Parent Relationship',
  'Subplan Name',
  'Relation Name',
  'Schema',
  'Alias',
  'Index Name',
  'CTE Name',
  'Function Name',
  'Table Function Name',
  'Join Type',
  'Strategy',
  'Partial Mode',
  'Operation',
  'Command',
  'Scan Direction',
  'Parallel Aware',
  'Async Capable',
  'Inner Unique',
  'Single Copy',
  'Index Cond',
  'Recheck Cond',
  'Filter',
  'Join Filter',
  'Hash Cond',
  'Merge Cond',
  'One-Time Filter',
  'TID Cond',
  'Order By',
  'Sort Key',
  'Presorted Key',
  'Group Key',
  'Hash Key',
  'Cache Key',
  'Output',
  'Plans',
]);

/** Keeps only {@link TENANT_PLAN_KEYS} of every node (and of the top level, only `Plan`). */
export function tenantSafePlan(plan: unknown): unknown {
  const node = (n: unknown): unknown => {
    if (typeof n !== 'object' || n === null || Array.isArray(n)) return undefined;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(n)) {
      if (!TENANT_PLAN_KEYS.has(k)) continue;
      out[k] = k === 'Plans' && Array.isArray(v) ? v.map(node) : v;
    }
    return out;
  };
  if (!Array.isArray(plan)) return [];
  return plan.map((top) => ({ Plan: node((top as { Plan?: unknown })?.Plan) }));
}

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
  const cost =
    node['Total Cost'] !== undefined ? ` (cost=${node['Total Cost']} rows=${node['Plan Rows']})` : '';
  const actual =
    node['Actual Total Time'] !== undefined
      ? ` (actual ${node['Actual Total Time']} ms, rows=${node['Actual Rows']}, loops=${node['Actual Loops']})`
      : '';
  out.push(`${'  '.repeat(depth)}-> ${node['Node Type'] ?? '?'}${on}${using}${cost}${actual}`);
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
  return tool({
    name: 'explain_query',
    title: 'Explain a query plan',
    description:
      'Shows how PostgreSQL would run ONE SELECT (EXPLAIN, JSON plan plus a readable tree), to find why a query is slow ' +
      'or to check index use before running it. With analyze=true the SELECT is really executed (read-only, same time ' +
      'limit as run_query) and actual timings are shown. For a caller bound to a tenant the plan has no numbers (no ' +
      "costs, row counts or timings: they would count other tenants' rows), only its shape and conditions. " +
      'Send the SELECT itself, not an EXPLAIN statement.',
    input: z.object({
      sql: z.string().min(1).max(20_000).describe('One SELECT statement.'),
      analyze: z.boolean().default(false).describe('Execute the SELECT to report actual rows and timings.'),
    }),
    output,
    // Flow guard: names every schema the SELECT can read, as run_query does, before anything runs,
    // with or without analyze. ANALYZE executes the SELECT: an error raised while it runs (a cast of
    // string_agg(...)) carries the rows' values in its text, and its row counts answer questions
    // about the values (a WHERE on a billing amount). A plain plan carries literals and estimates
    // from the data's statistics. Naming them always fails toward more labels.
    governance: { readOnly: true, cacheTtlSeconds: 60, timeoutMs: o.queryTimeoutMs },
    constraint: schemaConstraint((a: { sql: string }) => namedSchemas(a.sql)),
    toText: (d) => {
      const root = (d.plan as { Plan?: PlanNode }[] | undefined)?.[0]?.Plan;
      const lines: string[] = [];
      if (root) renderPlan(root, 0, lines);
      if (d.executionMs !== null) lines.push(`Execution time: ${d.executionMs} ms`);
      return lines.join('\n');
    },
    handler: async (args, ctx) => {
      const checked = await checkCallerSql(ctx, args.sql);
      const text = explainStatement(checked, args.analyze);
      const plan = await ctx.connectors.warehouse.readOnly(
        { signal: ctx.signal, timeoutMs: o.queryTimeoutMs, claims: ctx.identity },
        async (s) => {
          const allowed = allowedSchemas(ctx.constraints);
          const resolved = await resolveRelationSchemas(s, checked.relations);
          assertRelationsAllowed(resolved, allowed);
          for (const schema of await schemasRead(s, resolved, allowed)) ctx.source('schema', schema);
          const rows = await s.query<{ 'QUERY PLAN': unknown }>(text);
          return rows[0]?.['QUERY PLAN'];
        },
      );
      // A caller bound to a tenant sees the plan's shape only (see TENANT_PLAN_KEYS).
      if (ctx.identity.tenant !== undefined) {
        return {
          data: {
            analyzed: args.analyze,
            totalCost: null,
            planRows: null,
            executionMs: null,
            plan: tenantSafePlan(plan),
          },
        };
      }
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
