// AuditQuery against the real audit table, by property: random records written by the AuditLog,
// random filter combinations and page sizes; paging through a filter returns exactly the rows an
// in-memory filter of the same records returns, newest first (time, then id), each once.
import { randomUUID } from 'node:crypto';
import { AuditLog, AuditQuery, AuditQueryError, type AuditRecord } from '@mcp-fleet/core/approvals';
import {
  CORE_MIGRATIONS,
  createFleetPool,
  createLogger,
  createMetrics,
  migrate,
} from '@mcp-fleet/core/internal';
import { createTestDatabase } from '@mcp-fleet/testkit';
import fc from 'fast-check';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditRecord } from '../../src/audit/audit-record.js';

const logger = createLogger({ level: 'silent' });
let db: { url: string; drop: () => Promise<void> };
let pool: pg.Pool;
let log: AuditLog;
let query: AuditQuery;

beforeAll(async () => {
  db = await createTestDatabase('fleet_audit_query');
  pool = createFleetPool(db.url, logger, 4);
  await migrate(pool, CORE_MIGRATIONS, logger);
  log = new AuditLog({
    pool,
    logger,
    metrics: createMetrics('audit-query'),
    stdout: false,
    flushMs: 10_000,
    queueMax: 100_000,
  });
  query = new AuditQuery(pool);
});
afterAll(async () => {
  await log?.close();
  await pool?.end();
  await db?.drop();
});

const BASE = Date.parse('2026-03-01T12:00:00.000Z');
const AGENTS = ['agent-a', 'agent-b', null] as const;
const TOOLS = ['run_query', 'read_file', null] as const;
const OUTCOMES = ['ok', 'denied', 'error'] as const;
const SESSIONS = ['sess-1', 'sess-2', null] as const;
const TENANTS = ['acme', 'globex', null] as const;
const SERVERS = ['database', 'files'] as const;
const METHODS = ['tools/call', 'approvals/approve'] as const;

/** A record; times from a small range so several share a millisecond (the id breaks the tie). */
const record = fc
  .record({
    id: fc.uuid().map((u) => u.toLowerCase()),
    ms: fc.integer({ min: 0, max: 20 }),
    agent: fc.constantFrom(...AGENTS),
    tool: fc.constantFrom(...TOOLS),
    outcome: fc.constantFrom(...OUTCOMES),
    session: fc.constantFrom(...SESSIONS),
    tenant: fc.constantFrom(...TENANTS),
    server: fc.constantFrom(...SERVERS),
    method: fc.constantFrom(...METHODS),
  })
  .map(
    (r): AuditRecord => ({
      ...auditRecord(
        { agentId: r.agent, session: r.session, tenant: r.tenant, user: 'u', roles: ['reader'] },
        {
          server: r.server,
          requestId: `req-${r.id.slice(0, 8)}`,
          method: r.method,
          tool: r.tool,
          decision: r.outcome === 'denied' ? 'deny' : 'allow',
          decisionReason: 'generated',
          outcome: r.outcome,
          arguments: { n: r.ms },
          details: { generated: true },
        },
      ),
      id: r.id,
      ts: new Date(BASE + r.ms).toISOString(),
    }),
  );

const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
const instant = fc.integer({ min: -2, max: 22 }).map((ms) => new Date(BASE + ms));
const filter = fc.record({
  agent: maybe(fc.constantFrom(...AGENTS)),
  tool: maybe(fc.constantFrom(...TOOLS)),
  outcome: maybe(fc.constantFrom(...OUTCOMES)),
  session: maybe(fc.constantFrom(...SESSIONS)),
  tenant: maybe(fc.constantFrom(...TENANTS)),
  server: maybe(fc.constantFrom(...SERVERS)),
  method: maybe(fc.constantFrom(...METHODS)),
  from: maybe(instant),
  to: maybe(instant),
  // Who reads (an approver's tenant scope): ANDed with the filter, whatever the filter says.
  scope: maybe(fc.record({ tenant: fc.constantFrom(...TENANTS, undefined) })),
});
type Filter = typeof filter extends fc.Arbitrary<infer F> ? F : never;

function matches(r: AuditRecord, f: Filter): boolean {
  const ts = Date.parse(r.ts);
  return (
    (f.agent === undefined || r.agentId === f.agent) &&
    (f.tool === undefined || r.tool === f.tool) &&
    (f.outcome === undefined || r.outcome === f.outcome) &&
    (f.session === undefined || r.agentSession === f.session) &&
    (f.tenant === undefined || r.tenant === f.tenant) &&
    (f.server === undefined || r.server === f.server) &&
    (f.method === undefined || r.method === f.method) &&
    (f.from === undefined || ts >= f.from.getTime()) &&
    (f.to === undefined || ts < f.to.getTime()) &&
    (f.scope?.tenant === undefined || r.tenant === f.scope.tenant)
  );
}

const newestFirst = (a: AuditRecord, b: AuditRecord) =>
  b.ts.localeCompare(a.ts) || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);

async function store(records: readonly AuditRecord[]): Promise<void> {
  await pool.query('TRUNCATE audit_records');
  for (const r of records) log.record(r);
  await log.flush();
}

describe('AuditQuery', () => {
  it('pages through exactly the matching records, newest first, each once (generated records and filters)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(record, { maxLength: 40, selector: (r) => r.id }),
        filter,
        fc.integer({ min: 1, max: 8 }),
        async (records, f, limit) => {
          await store(records);
          const expected = records
            .filter((r) => matches(r, f))
            .sort(newestFirst)
            .map((r) => r.id);
          const seen: string[] = [];
          let after: string | undefined;
          for (let pages = 0; pages <= records.length + 1; pages++) {
            const page = await query.page({ ...f, limit, after });
            expect(page.records.length).toBeLessThanOrEqual(limit);
            if (page.next !== null) expect(page.records).toHaveLength(limit);
            for (const r of page.records) expect(matches(r, f)).toBe(true);
            seen.push(...page.records.map((r) => r.id));
            if (page.next === null) break;
            after = page.next;
          }
          expect(seen).toEqual(expected);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('returns one record by id as it was written, and nothing for unknown or malformed ids', async () => {
    const [a, b] = fc.sample(record, 2);
    await store([a!, b!]);
    expect(await query.get(a!.id)).toEqual({ ...a!, argsHash: null });
    expect(await query.get(randomUUID())).toBeUndefined();
    expect(await query.get("' OR 1=1 --")).toBeUndefined();
  });

  it('get answers a record outside the reader’s tenant scope exactly as a missing one', async () => {
    const [a, b, c] = fc.sample(record, 3);
    const acme = { ...a!, tenant: 'acme' };
    const globex = { ...b!, tenant: 'globex' };
    const none = { ...c!, tenant: null };
    await store([acme, globex, none]);
    const seen = async (tenant: string | null | undefined) => {
      const out: string[] = [];
      for (const r of [acme, globex, none]) if (await query.get(r.id, { tenant })) out.push(r.tenant ?? '-');
      return out;
    };
    expect(await seen('acme')).toEqual(['acme']);
    expect(await seen('globex')).toEqual(['globex']);
    expect(await seen(null)).toEqual(['-']);
    expect(await seen(undefined)).toEqual(['acme', 'globex', '-']);
    expect(await query.get(acme.id, { tenant: 'acme\u0000' })).toBeUndefined();
    // A page filtered for another tenant inside a scope finds nothing of it.
    expect((await query.page({ tenant: 'globex', scope: { tenant: 'acme' } })).records).toEqual([]);
  });

  it('keeps a page boundary between records written in the same microsecond', async () => {
    const ts = new Date(BASE).toISOString();
    const [a, b, c] = fc.sample(record, 3).map((r) => ({ ...r, ts }));
    await store([a!, b!, c!]);
    const first = await query.page({ limit: 2 });
    const rest = await query.page({ limit: 2, after: first.next! });
    expect([...first.records, ...rest.records].map((r) => r.id)).toEqual(
      [a!, b!, c!].sort(newestFirst).map((r) => r.id),
    );
    expect(rest.next).toBeNull();
  });

  it('refuses a cursor it did not make and a time that is not one, before querying', async () => {
    const forged = Buffer.from(JSON.stringify(["2026-01-01' OR 1=1", randomUUID()])).toString('base64url');
    await expect(query.page({ after: forged })).rejects.toBeInstanceOf(AuditQueryError);
    await expect(query.page({ after: 'garbage' })).rejects.toBeInstanceOf(AuditQueryError);
    await expect(query.page({ from: 'yesterday-ish' })).rejects.toBeInstanceOf(AuditQueryError);
  });

  it('refuses times PostgreSQL cannot take, impossible cursor times and NUL in filters with AuditQueryError (generated)', async () => {
    const outside = fc.oneof(
      fc.integer({ min: -8_640_000_000_000_000, max: Date.UTC(1970, 0, 1) - 1 }),
      fc.integer({ min: Date.UTC(10000, 0, 1), max: 8_640_000_000_000_000 }),
    );
    await fc.assert(
      fc.asyncProperty(outside, fc.constantFrom('from', 'to'), async (ms, name) => {
        const d = new Date(ms);
        for (const v of [d, d.toISOString()])
          await expect(query.page({ [name]: v })).rejects.toBeInstanceOf(AuditQueryError);
      }),
      { numRuns: 50 },
    );
    // The attacker's value: a JS Date, but no timestamptz (time zone displacement out of range).
    await expect(query.page({ from: '-271821-04-20T00:00:00Z' })).rejects.toBeInstanceOf(AuditQueryError);
    // Cursors of the right shape naming no instant PostgreSQL has.
    for (const ts of [
      '0000-01-01T00:00:00.000000Z',
      '2026-13-01T00:00:00.000000Z',
      '2026-02-30T00:00:00.000000Z',
      '2026-01-01T25:00:00.000000Z',
    ]) {
      const after = Buffer.from(JSON.stringify([ts, randomUUID()])).toString('base64url');
      await expect(query.page({ after })).rejects.toBeInstanceOf(AuditQueryError);
    }
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('agent', 'tool', 'outcome', 'session', 'tenant', 'server', 'method'),
        fc.string(),
        fc.string(),
        async (name, x, y) => {
          await expect(query.page({ [name]: `${x}\u0000${y}` })).rejects.toBeInstanceOf(AuditQueryError);
          await expect(query.page({ scope: { tenant: `${x}\u0000${y}` } })).rejects.toBeInstanceOf(
            AuditQueryError,
          );
        },
      ),
      { numRuns: 30 },
    );
    // The edges of the range are times.
    await expect(
      query.page({ from: '1970-01-01T00:00:00Z', to: '9999-12-31T23:59:59.999Z' }),
    ).resolves.toBeDefined();
  });

  it('bounds the page size', async () => {
    const records = Array.from({ length: 3 }, () => fc.sample(record, 1)[0]!);
    const unique = records.map((r) => ({ ...r, id: randomUUID() }));
    await store(unique);
    expect((await query.page({ limit: 0 })).records).toHaveLength(1);
    expect((await query.page({ limit: 10_000 })).records).toHaveLength(3);
  });
});
