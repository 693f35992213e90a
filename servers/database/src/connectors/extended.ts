// Every query of this server goes over PostgreSQL's extended protocol (Parse/Bind/Execute), which
// runs exactly one statement. node-postgres uses the simple protocol — several statements per
// string — for a query without parameters unless `queryMode: 'extended'` is set (pg >= 8.16;
// @types/pg does not declare it yet, hence this one typed helper).
import type pg from 'pg';

/** A query config that always uses the extended protocol. */
export function extended(text: string, values: readonly unknown[] = []): pg.QueryConfig {
  return { text, values: [...values], queryMode: 'extended' } as pg.QueryConfig;
}

/** The backend process id of a connected client (set by node-postgres, not declared by @types/pg). */
export function backendPid(client: pg.ClientBase): number {
  return (client as unknown as { processID: number }).processID;
}
