// The per-caller cap on waiting approval requests (APPROVAL_MAX_PENDING_PER_AGENT) against a real
// fleet database: the same agent id in another tenant, or acting for another user, neither fills a
// caller's queue nor learns its size (the refusal names only the caller's own count), and concurrent
// requests of one caller still cannot pass the cap together.
import { randomUUID } from 'node:crypto';
import { type ApprovalCaller, ApprovalStore } from '@mcp-fleet/core/approvals';
import { CORE_MIGRATIONS, createFleetPool, createLogger, migrate } from '@mcp-fleet/core/internal';
import { createTestDatabase } from '@mcp-fleet/testkit';
import fc from 'fast-check';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const logger = createLogger({ level: 'silent' });
let db: { url: string; drop: () => Promise<void> };
let pool: pg.Pool;
let store: ApprovalStore;

beforeAll(async () => {
  db = await createTestDatabase('fleet_pending_cap');
  pool = createFleetPool(db.url, logger, 8);
  await migrate(pool, CORE_MIGRATIONS, logger);
  store = new ApprovalStore(pool);
});
afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

const ask = (caller: ApprovalCaller, maxPending: number) =>
  store.request({
    server: 'files',
    tool: 'write_report',
    argsHash: randomUUID(),
    argumentsJson: '{}',
    caller,
    session: null,
    roles: ['analyst'],
    ttlSeconds: 600,
    auditId: randomUUID(),
    maxPending,
  });

// Two callers with one agent id that differ in tenant, in user, or both (null is a value too).
const scope = fc.option(fc.constantFrom('evilcorp', 'victimcorp', 'acme', 'a:b', 'a'), { nil: null });
const user = fc.option(fc.constantFrom('eve', 'victor', 'mo'), { nil: null });
const twoCallers = fc.tuple(scope, user, scope, user).filter(([t1, u1, t2, u2]) => t1 !== t2 || u1 !== u2);

describe('pending-approval cap', () => {
  it('is per caller (server, agent, tenant, user): another tenant or user of the same agent id cannot exhaust it or learn its count', async () => {
    await fc.assert(
      fc.asyncProperty(twoCallers, fc.integer({ min: 1, max: 4 }), async ([t1, u1, t2, u2], limit) => {
        const agentId = `shared-bot-${randomUUID()}`;
        const victim: ApprovalCaller = { agentId, tenant: t1, user: u1 };
        const attacker: ApprovalCaller = { agentId, tenant: t2, user: u2 };
        expect('refused' in (await ask(victim, limit))).toBe(false);
        // The attacker floods (concurrently) well past the cap: exactly `limit` of its own open.
        const flood = await Promise.all(Array.from({ length: limit + 3 }, () => ask(attacker, limit)));
        expect(flood.filter((r) => !('refused' in r))).toHaveLength(limit);
        for (const r of flood) if ('refused' in r) expect(r.pending).toBe(limit);
        // The victim still has room for limit - 1 more; its refusal names its own count only.
        for (let i = 1; i < limit; i++) expect('refused' in (await ask(victim, limit))).toBe(false);
        const full = await ask(victim, limit);
        expect(full).toEqual({ refused: 'too_many_pending', pending: limit, limit });
      }),
      { numRuns: 25 },
    );
  });
});
