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
    (f.to === undefined || ts < f.to.getTime())
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

  it('bounds the page size', async () => {
    const records = Array.from({ length: 3 }, () => fc.sample(record, 1)[0]!);
    const unique = records.map((r) => ({ ...r, id: randomUUID() }));
    await store(unique);
    expect((await query.page({ limit: 0 })).records).toHaveLength(1);
    expect((await query.page({ limit: 10_000 })).records).toHaveLength(3);
  });
});
