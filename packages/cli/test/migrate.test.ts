// `fleet migrate`, run as an operator runs it (the CLI entry point, as a child process) against a
// fresh database: it creates the fleet's tables, and a second run changes nothing.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createTestDatabase } from '@mcp-fleet/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../src/layout.js';

const run = promisify(execFile);
const MAIN = join(ROOT, 'packages/cli/src/main.ts');

/** Runs `fleet <args>` with `env` added; resolves with the exit code and output, never rejects. */
async function fleet(
  env: Record<string, string | undefined>,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  const childEnv = { ...process.env, ...env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete childEnv[k];
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      ['--conditions=mcp-fleet-source', '--import', 'tsx', MAIN, ...args],
      { cwd: ROOT, env: childEnv },
    );
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

// What the operator relies on after `fleet migrate`: the audit trail, idempotency records,
// approvals, the database server's saved dashboards, and the ledger of applied migrations.
const FLEET_TABLES = [
  'approvals',
  'audit_records',
  'database_dashboards',
  'fleet_migrations',
  'idempotency_records',
];

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let client: pg.Client;

async function state(): Promise<{ tables: string[]; migrations: { id: string; applied_at: Date }[] }> {
  const tables = await client.query<{ table_name: string }>(
    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1",
  );
  const hasLedger = tables.rows.some((r) => r.table_name === 'fleet_migrations');
  const migrations = hasLedger
    ? (
        await client.query<{ id: string; applied_at: Date }>(
          'SELECT id, applied_at FROM fleet_migrations ORDER BY id',
        )
      ).rows
    : [];
  return { tables: tables.rows.map((r) => r.table_name), migrations };
}

beforeAll(async () => {
  db = await createTestDatabase('cli_migrate');
  client = new pg.Client({ connectionString: db.url });
  await client.connect();
});
afterAll(async () => {
  await client?.end();
  await db?.drop();
});

describe('fleet migrate', () => {
  it('refuses to guess a database: without DATABASE_URL it exits 2 and says so', async () => {
    const r = await fleet({ DATABASE_URL: undefined }, 'migrate');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('DATABASE_URL is required');
  });

  it('creates the fleet tables in a fresh database, and a second run is a no-op', async () => {
    expect((await state()).tables).toEqual([]);

    const first = await fleet({ DATABASE_URL: db.url }, 'migrate');
    expect(first.code, first.stderr).toBe(0);
    const after = await state();
    expect(after.tables).toEqual(expect.arrayContaining(FLEET_TABLES));
    // It reports exactly what it applied, and the ledger holds exactly that.
    const applied = /^applied: (.+)$/m.exec(first.stdout)?.[1]?.split(', ') ?? [];
    expect(applied.length).toBeGreaterThan(0);
    expect(after.migrations.map((m) => m.id)).toEqual([...applied].sort());

    const second = await fleet({ DATABASE_URL: db.url }, 'migrate');
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout.trim()).toBe('up to date');
    expect(await state()).toEqual(after);

    // The migrated schema is the one the other commands read: `fleet audit` answers from it.
    const audit = await fleet({ DATABASE_URL: db.url }, 'audit', '--json');
    expect(audit.code, audit.stderr).toBe(0);
    expect(JSON.parse(audit.stdout)).toEqual([]);
  }, 180_000); // three CLI processes, each compiling the workspace through tsx
});
