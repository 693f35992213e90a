// Turns PostgreSQL and driver errors into advice a model can act on, without echoing secrets.
import { ToolError } from '@mcp-fleet/core';

interface PgErrorLike {
  code?: string;
  message: string;
  hint?: string;
  position?: string;
}

function isPgError(err: unknown): err is PgErrorLike {
  return (
    err instanceof Error &&
    typeof (err as PgErrorLike).code === 'string' &&
    /^[0-9A-Z]{5}$/.test((err as PgErrorLike).code ?? '')
  );
}

/** True when the error means the connection itself is unusable (socket gone, server restarting). */
export function isConnectionError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as PgErrorLike).code ?? '';
  return (
    code.startsWith('08') ||
    code === '57P01' ||
    code === '57P02' ||
    code === '57P03' ||
    /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|Connection terminated|timeout exceeded when trying to connect/i.test(
      err.message,
    )
  );
}

/**
 * Maps an error from a warehouse query to a ToolError. PostgreSQL's own messages are safe to show
 * (they name objects and values the caller sent); driver errors may carry host names or users, so
 * they become a generic "unreachable" message and the details stay in the server log.
 */
export function toToolError(err: unknown, timeoutMs: number): ToolError | null {
  if (err instanceof ToolError) return err;
  if (isConnectionError(err)) {
    return new ToolError(
      'The warehouse is unreachable right now. Wait a moment and try again; call database_health to check it.',
      'warehouse_unavailable',
    );
  }
  if (!isPgError(err)) return null;
  const at = err.position ? ` (at character ${err.position})` : '';
  const hint = err.hint ? ` Hint: ${err.hint}` : '';
  switch (err.code) {
    case '57014':
      return new ToolError(
        `The query was cancelled after ${timeoutMs} ms (statement timeout). Narrow it: filter on indexed columns, aggregate, or add a LIMIT.`,
        'query_timeout',
      );
    case '42P01':
      return new ToolError(
        `${err.message}${at}. Call list_tables to see the tables you can read, and qualify names as schema.table.`,
        'undefined_table',
      );
    case '42703':
      return new ToolError(
        `${err.message}${at}. Call describe_table to see the table's columns.`,
        'undefined_column',
      );
    case '42883':
      return new ToolError(
        `${err.message}${at}. Check argument types; add explicit casts.${hint}`,
        'undefined_function',
      );
    case '42501':
      return new ToolError(
        `${err.message}. The warehouse role may not read this; use tables listed by list_tables.`,
        'permission_denied',
      );
    case '25006':
      return new ToolError(`${err.message}. This server only reads; writes are never possible.`, 'read_only');
    case '53200':
    case '54000':
      return new ToolError(
        `${err.message}. The query needs too much memory; aggregate or filter more.`,
        'resources',
      );
    default:
      return new ToolError(
        `PostgreSQL error ${err.code}: ${err.message}${at}.${hint} Fix the query and try again.`,
        'sql_error',
      );
  }
}
