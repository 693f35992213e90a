// What the guard reports: a refusal the model can act on, and the relations a query names.
import { ToolError } from '@mcp-fleet/core';

/** A relation a query names, as written (schema is null when unqualified). */
export interface RelationRef {
  schema: string | null;
  name: string;
}

/** A refusal of SQL: its message tells the model what to change. */
export class SqlRefused extends ToolError {
  constructor(message: string) {
    super(message, 'sql_refused');
    this.name = 'SqlRefused';
  }
}
