// The database server's tools: built-ins, then one tool per saved query, then dashboards and health.
import type { AnyTool } from '@mcp-fleet/core';
import type { SavedQuery } from '../saved-queries/saved-query.js';
import { savedQueryTool } from '../saved-queries/tools.js';
import { dashboardTools } from './dashboards.js';
import { describeTableTool, listSchemasTool, listTablesTool } from './discovery.js';
import { explainQueryTool } from './explain-query.js';
import { databaseHealthTool } from './health.js';
import type { DatabaseConnectors } from './query-result.js';
import { runQueryTool } from './run-query.js';

/** Names no saved query may take. */
export const BUILT_IN_TOOL_NAMES = [
  'list_schemas',
  'list_tables',
  'describe_table',
  'run_query',
  'explain_query',
  'list_dashboards',
  'get_dashboard',
  'save_dashboard',
  'database_health',
] as const;

/** Every tool of the server, in the order tools/list shows them. */
export function databaseTools(
  saved: readonly SavedQuery[],
  o: { queryTimeoutMs: number },
): AnyTool<DatabaseConnectors>[] {
  return [
    listSchemasTool,
    listTablesTool,
    describeTableTool,
    runQueryTool(o),
    explainQueryTool(o),
    ...saved.map((q) => savedQueryTool(q, o)),
    ...dashboardTools(saved),
    databaseHealthTool,
  ];
}
