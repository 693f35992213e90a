// A connection of the fleet database that dies while a store holds it between two queries of a
// transaction (the database restarted, an administrator terminated it) must not kill the server:
// pg emits 'error' on a checked-out client, and without a listener Node throws it as an unhandled
// 'error' event. Seen under test/faults/postgres-restart.test.ts (issue 17): the communication server
// died in the flow taint store's transaction when the fleet PostgreSQL stopped.
import { createFleetPool, createLogger } from '@mcp-fleet/core/internal';
import { createTestDatabase } from '@mcp-fleet/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let db: { url: string; drop: () => Promise<void> };
const warnings: string[] = [];
const logger = createLogger({ level: 'warn' });
logger.warn = ((obj: unknown, msg?: string) => {
  warnings.push(typeof msg === 'string' ? msg : String(obj));
}) as typeof logger.warn;

beforeAll(async () => {
  db = await createTestDatabase('fleet_pool_errors');
});
afterAll(async () => {
  await db?.drop();
});

describe('the fleet database pool', () => {
  it('logs, and does not throw, when a checked-out connection is terminated between two queries', async () => {
    const pool = createFleetPool(db.url, logger, 2);
    const client = await pool.connect();
    await client.query('BEGIN');
    const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    // The client emits 'error' once its connection ends: wait for exactly that event.
    const ended = new Promise<void>((resolve) => client.once('end', () => resolve()));
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    await admin.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
    await admin.end();
    await ended;
    // The store's next query fails like any other failure; the process lives on.
    await expect(client.query('SELECT 1')).rejects.toThrow();
    client.release(true);
    expect(warnings).toContain('fleet database connection error');
    // The pool still serves.
    expect((await pool.query<{ one: number }>('SELECT 1 AS one')).rows[0]!.one).toBe(1);
    await pool.end();
  });
});
