// Turns PostgreSQL and driver errors into advice a model can act on, without echoing secrets.
import { ToolError } from '@mcp-fleet/core';
import { MessageTooLargeError, megabytes } from './message-cap.js';

/** Most characters of a PostgreSQL error message passed on. */
const MAX_MESSAGE_CHARS = 2_000;

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
  // The connection was closed mid-message: it is never reused.
  if (err instanceof MessageTooLargeError) return true;
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
  if (err instanceof MessageTooLargeError) {
    const mb = megabytes(err.limitBytes);
    return new ToolError(
      err.messageType === 'E'
        ? `the warehouse's error message is larger than ${mb} MB (it quotes a huge value); select less`
        : `a value in the result is larger than ${mb} MB; select less (filter, aggregate, or take a substring)`,
      'value_too_large',
    );
  }
  if (isConnectionError(err)) {
    return new ToolError(
      'The warehouse is unreachable right now. Wait a moment and try again; call database_health to check it.',
      'warehouse_unavailable',
    );
  }
  if (!isPgError(err)) return null;
  // An error can quote a value of any size (up to the message cap): the model gets the start.
  const message =
    err.message.length > MAX_MESSAGE_CHARS
      ? `${err.message.slice(0, MAX_MESSAGE_CHARS)}... (cut)`
      : err.message;
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
        `${message}${at}. Call list_tables to see the tables you can read, and qualify names as schema.table.`,
        'undefined_table',
      );
    case '42703':
      return new ToolError(
        `${message}${at}. Call describe_table to see the table's columns.`,
        'undefined_column',
      );
    case '42883':
      return new ToolError(
        `${message}${at}. Check argument types; add explicit casts.${hint}`,
        'undefined_function',
      );
    case '42501':
      return new ToolError(
        `${message}. The warehouse role may not read this; use tables listed by list_tables.`,
        'permission_denied',
      );
    case '25006':
      return new ToolError(`${message}. This server only reads; writes are never possible.`, 'read_only');
    case '53200':
    case '54000':
      return new ToolError(
        `${message}. The query needs too much memory; aggregate or filter more.`,
        'resources',
      );
    default:
      return new ToolError(
        `PostgreSQL error ${err.code}: ${message}${at}.${hint} Fix the query and try again.`,
        'sql_error',
      );
  }
}
