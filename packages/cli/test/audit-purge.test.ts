// `fleet audit purge`, as an operator runs it once: a dry run says what would go and changes nothing,
// a real run deletes exactly the records older than the window (the table says so), bad input is a
// usage error that touches nothing, and a run while a server's retention job holds the lock says so.
import { CORE_MIGRATIONS, createFleetPool, createLogger, migrate } from '@mcp-fleet/core/internal';
import { createTestDatabase } from '@mcp-fleet/testkit';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditCommand } from '../src/commands/audit.js';

const logger = createLogger({ level: 'silent' });
let db: { url: string; drop: () => Promise<void> };
let pool: pg.Pool;

beforeAll(async () => {
  db = await createTestDatabase('fleet_cli_purge');
  pool = createFleetPool(db.url, logger, 2);
  await migrate(pool, CORE_MIGRATIONS, logger);
  // 6 records 100 days old, 4 records 10 days old (timestamps set by the database).
  await pool.query(
    `INSERT INTO audit_records (id, ts, server, request_id, method, tool, decision, outcome)
     SELECT gen_random_uuid(), now() - (CASE WHEN g <= 6 THEN interval '100 days' ELSE interval '10 days' END),
            'database', 'purge-' || g, 'tools/call', 'run_query', 'allow', 'ok'
       FROM generate_series(1, 10) g`,
  );
});
afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

async function run(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await auditCommand(argv, {
    env: { DATABASE_URL: db.url },
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
  });
  return { code, out: out.join(''), err: err.join('') };
}

const ages = async () =>
  (
    await pool.query<{ old: number; recent: number }>(
      `SELECT count(*) FILTER (WHERE ts < now() - interval '50 days')::int AS old,
              count(*) FILTER (WHERE ts >= now() - interval '50 days')::int AS recent FROM audit_records`,
    )
  ).rows[0];

describe('fleet audit purge', () => {
  it('refuses bad input with a usage error and touches nothing', async () => {
    for (const argv of [
      ['purge'],
      ['purge', '--older-than', '0'],
      ['purge', '--older-than', '-3'],
      ['purge', '--older-than', '1.5'],
      ['purge', '--older-than', 'thirty'],
      ['purge', '--older-than', '30', '--batch-size', '0'],
      ['purge', 'extra', '--older-than', '30'],
      ['purge', '--older-than', '30', '--server', ''],
      ['purge', '--older-than', '30', '--server', 'Files; DROP TABLE audit_records'],
    ]) {
      const r = await run(argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err).toMatch(/--older-than|--server/);
      expect(r.err).not.toMatch(/\n\s+at /); // no stack trace
    }
    expect(await ages()).toEqual({ old: 6, recent: 4 });
  });

  it('--dry-run counts what would go and deletes nothing', async () => {
    const r = await run(['purge', '--older-than', '50', '--dry-run']);
    expect(r).toMatchObject({ code: 0, err: '' });
    expect(r.out).toMatch(
      /^would delete 6 audit records of all servers older than 50 days \(before .+\); nothing deleted/,
    );
    expect(await ages()).toEqual({ old: 6, recent: 4 });
  });

  it('says so and does nothing while another process holds the retention lock', async () => {
    const holder = await pool.connect();
    try {
      await holder.query('SELECT pg_advisory_lock($1)', [0x6d63706172]);
      const r = await run(['purge', '--older-than', '50']);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/another process .* is purging right now; nothing done/);
    } finally {
      await holder.query('SELECT pg_advisory_unlock($1)', [0x6d63706172]);
      holder.release();
    }
    expect(await ages()).toEqual({ old: 6, recent: 4 });
  });

  it("--server deletes only that server's records, and says whose", async () => {
    await pool.query(
      `INSERT INTO audit_records (id, ts, server, request_id, method, tool, decision, outcome)
       SELECT gen_random_uuid(), now() - interval '100 days', 'files', 'purge-files-' || g, 'tools/call',
              'read_file', 'allow', 'ok'
         FROM generate_series(1, 3) g`,
    );
    const files = async () =>
      (await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_records WHERE server = 'files'`))
        .rows[0]?.n;
    const dry = await run(['purge', '--older-than', '50', '--server', 'files', '--dry-run']);
    expect(dry.out).toMatch(/^would delete 3 audit records of the server files older than 50 days/);
    const r = await run(['purge', '--older-than', '50', '--server', 'files']);
    expect(r).toMatchObject({ code: 0, err: '' });
    expect(r.out).toMatch(/^deleted 3 audit records of the server files older than 50 days/);
    expect(await files()).toBe(0);
    // The database server's old records are not the files server's to delete.
    expect(await ages()).toEqual({ old: 6, recent: 4 });
  });

  it('deletes exactly the records older than the window, in batches (every server when --server is not given, and says so)', async () => {
    const dry = await run(['purge', '--older-than', '50', '--dry-run']);
    expect(dry.out).toMatch(/^would delete 6 audit records of all servers older than 50 days/);
    const r = await run(['purge', '--older-than', '50', '--batch-size', '4', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ dry_run: false, deleted: 6, server: null });
    expect(await ages()).toEqual({ old: 0, recent: 4 });
    const again = await run(['purge', '--older-than', '50']);
    expect(again.out).toMatch(/^deleted 0 audit records of all servers older than 50 days/);
  });
});
