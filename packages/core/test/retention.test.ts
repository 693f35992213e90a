// Audit retention against a real PostgreSQL: records are inserted with real timestamps (set in SQL,
// around the window's edge), the job runs, and the audit table itself says what went. Two jobs on two
// pools run concurrently: every old record is deleted once, and their locked runs never overlap.
// A server started with AUDIT_RETENTION_DAYS runs it by itself and its /metrics counts the deletions;
// each server's job deletes only its own server's records, under a lock of its own. The variable is
// a decimal number of days from 0 (keep forever, as unset or empty) to 36500; anything else is
// refused when the configuration is loaded, and a server started with it exits saying so.
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bootServer, createTestDatabase } from '@mcp-fleet/testkit';
import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditRetention, auditRetentionLockKey, purgeAuditRecords } from '../src/audit/retention.js';
import { loadCoreConfig } from '../src/config.js';
import { migrate } from '../src/db/fleet-db.js';
import { createLogger } from '../src/observability/logger.js';
import { migrationsOf } from '../src/server.js';
import { fixturePolicy, fixtureServer } from './fixtures.js';

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let pool: pg.Pool;
beforeAll(async () => {
  db = await createTestDatabase('fleet_retention');
  pool = new pg.Pool({ connectionString: db.url, max: 4 });
  await migrate(pool, migrationsOf(fixtureServer), createLogger({ level: 'silent', name: 'retention' }));
});
afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

/**
 * Inserts `count` records whose ts is `age` before now() (a PostgreSQL interval), tagged with `tag` in
 * request_id; returns their ids.
 */
async function insert(tag: string, age: string, count = 1, server = 'retention'): Promise<string[]> {
  const r = await pool.query<{ id: string }>(
    `INSERT INTO audit_records (id, ts, server, request_id, method, tool, decision, outcome)
     SELECT gen_random_uuid(), now() - $2::interval, $4, $1 || '-' || g, 'tools/call', 'echo', 'allow', 'ok'
       FROM generate_series(1, $3::int) g
     RETURNING id`,
    [tag, age, count, server],
  );
  return r.rows.map((row) => row.id);
}

async function idsOf(tagPrefix: string): Promise<Set<string>> {
  const r = await pool.query<{ id: string }>(`SELECT id FROM audit_records WHERE request_id LIKE $1 || '%'`, [
    tagPrefix,
  ]);
  return new Set(r.rows.map((row) => row.id));
}

describe('purgeAuditRecords', () => {
  it('deletes exactly the records older than the window, in bounded batches; the rest stay', async () => {
    const old = [
      ...(await insert('a-old', '400 days', 7)),
      ...(await insert('a-old', '30 days 1 minute', 3)), // just past the edge of a 30-day window
    ];
    const kept = [
      ...(await insert('a-new', '29 days 23 hours', 2)), // just inside it
      ...(await insert('a-new', '1 second', 2)),
    ];
    const r = await purgeAuditRecords(pool, { olderThanDays: 30, batchSize: 4 });
    expect(r).toMatchObject({ ran: true, deleted: old.length, batches: 3, dryRun: false });
    expect(await idsOf('a-old')).toEqual(new Set());
    expect(await idsOf('a-new')).toEqual(new Set(kept));
    // Nothing left to do: a second run deletes nothing.
    expect((await purgeAuditRecords(pool, { olderThanDays: 30 })).deleted).toBe(0);
    expect(await idsOf('a-new')).toEqual(new Set(kept));
  });

  it('a dry run counts what would go and changes nothing', async () => {
    const old = await insert('d-old', '90 days', 5);
    const kept = await insert('d-new', '10 days', 3);
    const before = await pool.query('SELECT count(*)::int AS n FROM audit_records');
    const r = await purgeAuditRecords(pool, { olderThanDays: 60, dryRun: true });
    expect(r).toMatchObject({ ran: true, dryRun: true, deleted: old.length });
    expect(await idsOf('d-old')).toEqual(new Set(old));
    expect(await idsOf('d-new')).toEqual(new Set(kept));
    expect((await pool.query('SELECT count(*)::int AS n FROM audit_records')).rows).toEqual(before.rows);
    await purgeAuditRecords(pool, { olderThanDays: 60 });
  });

  it('bad input is refused before anything is touched', async () => {
    const old = await insert('b-old', '900 days', 1);
    for (const olderThanDays of [0, -1, 1.5, Number.NaN])
      await expect(purgeAuditRecords(pool, { olderThanDays })).rejects.toThrow(/whole number of days/);
    await expect(purgeAuditRecords(pool, { olderThanDays: 1, batchSize: 0 })).rejects.toThrow(/batchSize/);
    expect(await idsOf('b-old')).toEqual(new Set(old));
    await purgeAuditRecords(pool, { olderThanDays: 1 });
  });

  it('two jobs on two pools at once: each old record deleted once, locked runs never overlap', async () => {
    const old = await insert('c-old', '45 days', 3_000);
    const kept = await insert('c-new', '5 days', 20);
    const other = new pg.Pool({ connectionString: db.url, max: 2 });
    try {
      // Four runs started together from two pools, each in batches of 50 (60 statements for one run
      // that does it all); whichever runs hold the lock in turn, the rest skip.
      const runs = await Promise.all(
        [pool, other, pool, other].map((p) => purgeAuditRecords(p, { olderThanDays: 30, batchSize: 50 })),
      );
      const ran = runs.filter((r) => r.ran).sort((a, b) => a.startedAt - b.startedAt);
      expect(ran.length).toBeGreaterThan(0);
      expect(runs.reduce((n, r) => n + r.deleted, 0)).toBe(old.length);
      for (let i = 1; i < ran.length; i++)
        expect(ran[i]!.startedAt).toBeGreaterThanOrEqual(ran[i - 1]!.finishedAt);
      expect(await idsOf('c-old')).toEqual(new Set());
      expect(await idsOf('c-new')).toEqual(new Set(kept));
      // While one process holds the lock, another's run is skipped, not queued behind it.
      const holder = await other.connect();
      try {
        await holder.query('SELECT pg_advisory_lock($1)', [0x6d63706172]);
        await insert('e-old', '45 days', 2);
        expect(await purgeAuditRecords(pool, { olderThanDays: 30 })).toMatchObject({
          ran: false,
          deleted: 0,
        });
        expect((await idsOf('e-old')).size).toBe(2);
      } finally {
        await holder.query('SELECT pg_advisory_unlock($1)', [0x6d63706172]);
        holder.release();
      }
      expect((await purgeAuditRecords(pool, { olderThanDays: 30 })).deleted).toBe(2);
    } finally {
      await other.end();
    }
  });
});

const silent = createLogger({ level: 'silent', name: 'retention' });
const noMetrics = () => {
  const m = { inc: () => {}, set: () => {} };
  return { auditRetentionDeleted: m, auditRetentionRuns: m, auditRetentionLastSuccess: m } as never;
};

describe('each server purges only its own records (separate releases, separate windows)', () => {
  it("two servers' jobs with different windows each delete only their own old records", async () => {
    const alphaOld = await insert('alpha-old', '40 days', 5, 'alpha');
    const alphaKept = await insert('alpha-new', '20 days', 3, 'alpha');
    const betaOld = [
      ...(await insert('beta-old', '40 days', 4, 'beta')),
      ...(await insert('beta-old', '20 days', 2, 'beta')),
    ];
    const betaKept = await insert('beta-new', '5 days', 2, 'beta');
    const untouched = await insert('gamma-old', '400 days', 3, 'gamma');
    const job = (server: string, retentionDays: number) =>
      new AuditRetention({
        pool,
        server,
        retentionDays,
        intervalMs: 3_600_000,
        logger: silent,
        metrics: noMetrics(),
      });
    // alpha keeps 30 days: beta's 40-day-old records are not alpha's to delete.
    const a = await job('alpha', 30).runOnce();
    expect(a).toMatchObject({ ran: true, deleted: alphaOld.length });
    expect(await idsOf('alpha-old')).toEqual(new Set());
    expect(await idsOf('alpha-new')).toEqual(new Set(alphaKept));
    expect(await idsOf('beta-old')).toEqual(new Set(betaOld));
    // beta keeps 10 days: alpha's 20-day-old records stay.
    const b = await job('beta', 10).runOnce();
    expect(b).toMatchObject({ ran: true, deleted: betaOld.length });
    expect(await idsOf('beta-old')).toEqual(new Set());
    expect(await idsOf('beta-new')).toEqual(new Set(betaKept));
    expect(await idsOf('alpha-new')).toEqual(new Set(alphaKept));
    expect(await idsOf('gamma-old')).toEqual(new Set(untouched));
    await purgeAuditRecords(pool, { olderThanDays: 1, server: 'gamma' });
    expect(await idsOf('gamma-old')).toEqual(new Set());
  });

  it("a lock per server name: one server's run in progress skips only that server's other runs", async () => {
    await insert('lock-alpha', '40 days', 2, 'alpha');
    await insert('lock-beta', '40 days', 2, 'beta');
    const holder = await pool.connect();
    try {
      await holder.query('SELECT pg_advisory_lock($1::bigint)', [auditRetentionLockKey('alpha')]);
      expect(await purgeAuditRecords(pool, { olderThanDays: 30, server: 'alpha' })).toMatchObject({
        ran: false,
        deleted: 0,
      });
      expect(await purgeAuditRecords(pool, { olderThanDays: 30, server: 'beta' })).toMatchObject({
        ran: true,
        deleted: 2,
      });
      expect((await idsOf('lock-alpha')).size).toBe(2);
    } finally {
      await holder.query('SELECT pg_advisory_unlock($1::bigint)', [auditRetentionLockKey('alpha')]);
      holder.release();
    }
    expect((await purgeAuditRecords(pool, { olderThanDays: 30, server: 'alpha' })).deleted).toBe(2);
  });
});

describe('AUDIT_RETENTION_DAYS', () => {
  const load = (v: string | undefined) =>
    loadCoreConfig({ AUDIT_RETENTION_DAYS: v }, 7000).audit.retentionDays;
  const refused = (v: string) => {
    let err: unknown;
    try {
      load(v);
    } catch (e) {
      err = e;
    }
    expect(err, JSON.stringify(v)).toBeDefined();
    const e = err as { code?: string; message: string };
    expect(e.code).toBe('FLEET_ERR_CONFIG');
    expect(e.message).toMatch(/AUDIT_RETENTION_DAYS: .*whole number of days from 0 .* to 36500/);
    expect(e.message).not.toMatch(/\n\s+at /);
  };

  it('a decimal whole number of days from 1 to 36500 is the window', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 36_500 }), (n) => {
        expect(load(String(n))).toBe(n);
      }),
      { examples: [[1], [30], [36_500]] },
    );
  });

  it('unset, empty or 0 keeps the records forever (as the chart says of 0)', () => {
    for (const v of [undefined, '', '0']) expect(load(v), JSON.stringify(v)).toBeUndefined();
  });

  it('anything else is refused when the configuration is loaded, with a clear message', () => {
    const decimal = /^(0|[1-9][0-9]*)$/;
    const notAWindow = fc.oneof(
      fc.string().filter((s) => s !== '' && !(decimal.test(s) && Number(s) <= 36_500)),
      fc.integer({ min: 36_501 }).map(String),
      fc.integer({ max: -1 }).map(String),
      fc
        .integer({ min: 1, max: 36_500 })
        .chain((n) =>
          fc.constantFrom(
            ` ${n}`,
            `${n} `,
            `+${n}`,
            `0${n}`,
            `${n}.0`,
            `${n}e0`,
            `0x${n.toString(16)}`,
            `${n}d`,
          ),
        ),
    );
    fc.assert(
      fc.property(notAWindow, (v) => refused(v)),
      {
        examples: [
          ['3000000000'],
          ['99999999'],
          ['36501'],
          ['0x10'],
          ['1e3'],
          ['-1'],
          ['1.5'],
          [' '],
          ['00'],
          ['Infinity'],
          ['NaN'],
        ],
      },
    );
  });

  it('a server started with one exits saying which variable is wrong, without a stack trace', () => {
    const main = fileURLToPath(new URL('../../../servers/files/src/main.ts', import.meta.url));
    const root = mkdtempSync(join(tmpdir(), 'retention-config-'));
    for (const value of ['0x10', '36501']) {
      const r = spawnSync(process.execPath, ['--conditions=mcp-fleet-source', '--import', 'tsx', main], {
        env: { PATH: process.env.PATH, FILES_ROOT: root, PORT: '0', AUDIT_RETENTION_DAYS: value },
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(r.status, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/AUDIT_RETENTION_DAYS: .*whole number of days from 0 .* to 36500/);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });
});

describe('the server runs the job when AUDIT_RETENTION_DAYS is set', () => {
  it("deletes its own server's old records at start and counts them on /metrics; newer records and other servers' stay", async () => {
    const old = await insert('s-old', '8 days', 12, fixtureServer.name);
    const kept = await insert('s-new', '6 days', 4, fixtureServer.name);
    const others = await insert('s-other', '80 days', 3, 'another-server');
    const server = await bootServer(fixtureServer, {
      policy: fixturePolicy,
      databaseUrl: db.url,
      env: { AUDIT_RETENTION_DAYS: '7', MIGRATE_ON_START: 'false' },
    });
    try {
      const scrape = async () => (await fetch(`${server.baseUrl}/metrics`)).text();
      let text = '';
      for (let i = 0; i < 200; i++) {
        text = await scrape();
        if (/^mcp_audit_retention_runs_total\{[^}]*result="ok"[^}]*\} 1$/m.test(text)) break;
        await new Promise((r) => setTimeout(r, 25));
      }
      expect(text).toMatch(/^mcp_audit_retention_runs_total\{[^}]*result="ok"[^}]*\} 1$/m);
      expect(text).toMatch(new RegExp(`^mcp_audit_retention_deleted_total\\{[^}]*\\} ${old.length}$`, 'm'));
      expect(text).toMatch(/^mcp_audit_retention_last_success_timestamp_seconds\{[^}]*\} [1-9]/m);
      expect(await idsOf('s-old')).toEqual(new Set());
      expect(await idsOf('s-new')).toEqual(new Set(kept));
      expect(await idsOf('s-other')).toEqual(new Set(others));
    } finally {
      await server.close();
    }
  });
});
