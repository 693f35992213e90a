// Dual control (issue 15): a request that policy says needs 2 (or 3) approvers stays pending until that
// many DISTINCT people approved. Against a real fleet database, through the desk the console and the
// approvals API use: the first approval is its own audit record (approved_first) and leaves the request
// pending "1 of 2"; the same person again — however any of their identifiers is spelled, and by any
// identifier they share (subject, email, preferred_username...) — is refused (same_approver); concurrent
// decisions never approve with one person; a denial by anyone denies; only a fully approved request is used.
import { randomUUID } from 'node:crypto';
import {
  ApprovalDesk,
  ApprovalStore,
  AuditLog,
  AuditQuery,
  type DeskDecision,
} from '@mcp-fleet/core/approvals';
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
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Approver } from '../../src/approvals/approvers.js';
import { createGovernanceMetrics } from '../../src/observability/governance-metrics.js';
import { name, spelling } from './spellings.js';

const logger = createLogger({ level: 'silent' });
let db: { url: string; drop: () => Promise<void> };
let pool: pg.Pool;
let store: ApprovalStore;
let audit: AuditLog;
let trail: AuditQuery;
let desk: ApprovalDesk;

beforeAll(async () => {
  db = await createTestDatabase('fleet_dual');
  pool = createFleetPool(db.url, logger, 12);
  await migrate(pool, CORE_MIGRATIONS, logger);
  store = new ApprovalStore(pool);
  const fleetMetrics = createMetrics('console');
  audit = new AuditLog({ pool, logger, metrics: fleetMetrics, stdout: false, flushMs: 10, queueMax: 10_000 });
  trail = new AuditQuery(pool);
  desk = new ApprovalDesk({
    store,
    server: 'admin',
    allTenants: false,
    audit: (r) => audit.record(r),
    metrics: createGovernanceMetrics(fleetMetrics.registry),
    policyVersion: () => 'v-dual',
  });
});
afterAll(async () => {
  await audit?.close();
  await pool?.end();
  await db?.drop();
});
beforeEach(async () => {
  await audit.flush();
  await pool.query('TRUNCATE approvals, audit_records');
});

const CONSOLE = 'http://127.0.0.1:7400';
/** A person as the console (ID token) or the approvals API (access token) builds them. */
const person = (subject: string, o: Partial<Approver> = {}): Approver => ({
  issuer: CONSOLE,
  subject,
  user: null,
  tenant: 'acme',
  identifiers: [subject],
  clients: [],
  ...o,
});

const caller = { agentId: 'agent-admin', tenant: 'acme', user: 'carol' };

/** Opens a request as the pipeline does, needing `required` approvals. */
async function open(required: number, o: { argsHash?: string; ttlSeconds?: number } = {}) {
  const opened = await store.request({
    server: 'admin',
    tool: 'delete_user',
    argsHash: o.argsHash ?? randomUUID(),
    argumentsJson: '{"user_name":"dave"}',
    caller,
    session: 'sess-1',
    roles: ['admin'],
    ttlSeconds: o.ttlSeconds ?? 600,
    auditId: randomUUID(),
    requiredApprovals: required,
  });
  if ('refused' in opened) throw new Error('refused');
  return opened;
}

const approve = (who: Approver, id: string, note?: string) =>
  desk.decide(who, { id, approve: true, requestId: randomUUID(), ...(note ? { note } : {}) });
const deny = (who: Approver, id: string) => desk.decide(who, { id, approve: false, requestId: randomUUID() });
const outcome = (d: DeskDecision) => (d.ok ? d.event : d.why);
const consume = (id: string, argsHash: string) =>
  store.consume(id, {
    server: 'admin',
    tool: 'delete_user',
    argsHash,
    caller,
    session: 'sess-1',
    auditId: randomUUID(),
  });

async function records(approvalId: string) {
  await audit.flush();
  const { records } = await trail.page({ limit: 1000 });
  return records
    .filter((r) => (r.details as { approvalId?: string } | null)?.approvalId === approvalId)
    .sort((a, b) => a.ts.localeCompare(b.ts));
}

describe('two approvers', () => {
  it('the first approval leaves the request pending "1 of 2" with its own audit record; a distinct second approves it; only then is it used', async () => {
    const argsHash = randomUUID();
    const { id } = await open(2, { argsHash });
    const first = await approve(person('alice', { identifiers: ['alice', 'alice@example.com'] }), id, 'ok');
    expect(first).toMatchObject({
      ok: true,
      event: 'approved_first',
      approval: {
        status: 'pending',
        requiredApprovals: 2,
        approvals: [{ by: 'alice', issuer: CONSOLE, note: 'ok', at: expect.stringMatching(/Z$/) }],
        decidedBy: null,
      },
    });
    // Not usable after one approval.
    expect(await consume(id, argsHash)).toMatchObject({ ok: false, why: 'pending' });
    const second = await approve(person('bob', { identifiers: ['bob', 'bob@example.com'] }), id);
    expect(second).toMatchObject({
      ok: true,
      event: 'approved',
      approval: { status: 'approved', decidedBy: 'bob', approvals: [{ by: 'alice' }, { by: 'bob' }] },
    });
    expect(await consume(id, argsHash)).toEqual({ ok: true });
    const trailOf = await records(id);
    expect(trailOf.map((r) => [r.method, r.outcome, r.resultSummary, r.agentId])).toEqual([
      ['approvals/approve', 'ok', 'approved_first', 'alice'],
      ['approvals/approve', 'ok', 'approved', 'bob'],
    ]);
    expect(trailOf[0]!.decisionReason).toMatch(/approval 1 of 2 given by approver alice/);
    expect(trailOf[1]!.details).toMatchObject({
      requiredApprovals: 2,
      approvals: [
        { issuer: CONSOLE, subject: 'alice' },
        { issuer: CONSOLE, subject: 'bob' },
      ],
    });
  });

  it('the same person twice is refused (403 same_approver), audited, and the request stays pending', async () => {
    const { id } = await open(2);
    expect(outcome(await approve(person('alice'), id))).toBe('approved_first');
    const again = await approve(person('alice'), id);
    expect(again).toMatchObject({ ok: false, why: 'same_approver', status: 403 });
    expect((await store.get(id))?.status).toBe('pending');
    expect((await records(id)).map((r) => [r.outcome, r.resultSummary])).toEqual([
      ['ok', 'approved_first'],
      ['denied', 'same_approver'],
    ]);
  });

  it('one person through the console and through a CLI token, by any shared identifier, is one person', async () => {
    // The console's alice (ID token: sub, preferred_username, email) and every other way alice may
    // appear: a CLI token with another subject but the same email, Alice in capitals, a fullwidth
    // login, an email-only token, another issuer with the same login.
    const consoleAlice = person('alice', {
      identifiers: ['alice', 'alice@example.com'],
    });
    const sameAlice: Approver[] = [
      person('Alice', { issuer: 'http://cli.example' }),
      person('00u1x2y3', { identifiers: ['00u1x2y3', 'alice@example.com'] }),
      person('ａｌｉｃｅ'),
      person('\u200balice '),
      person('someone', { user: 'ALICE' }),
      person('alice@example.com', { identifiers: ['alice@example.com'] }),
      person('x-1', { identifiers: ['x-1', 'ALICE@EXAMPLE.COM'] }),
    ];
    for (const other of sameAlice) {
      const { id } = await open(2);
      expect(outcome(await approve(consoleAlice, id))).toBe('approved_first');
      expect(outcome(await approve(other, id))).toBe('same_approver');
      // And in the other order.
      const { id: id2 } = await open(2);
      expect(outcome(await approve(other, id2))).toBe('approved_first');
      expect(outcome(await approve(consoleAlice, id2))).toBe('same_approver');
    }
  });

  it('every spelling of any identifier the first approver had is the same approver (generated)', async () => {
    await fc.assert(
      fc.asyncProperty(
        name.chain((login) =>
          fc.tuple(
            fc.constant(login),
            fc.constantFrom('subject', 'email', 'user', 'preferred'),
            spelling(login),
          ),
        ),
        async ([login, via, variant]) => {
          const first = person(login, { identifiers: [login, `${login}@example.com`] });
          const second =
            via === 'subject'
              ? person(variant)
              : via === 'email'
                ? person(`other-${randomUUID()}`, {
                    identifiers: [`other-${randomUUID()}`, `${variant.trim()}@EXAMPLE.com`],
                  })
                : via === 'user'
                  ? person(`other-${randomUUID()}`, { user: variant })
                  : person(`other-${randomUUID()}`, { identifiers: [variant] });
          const { id } = await open(2);
          expect(outcome(await approve(first, id))).toBe('approved_first');
          expect(outcome(await approve(second, id))).toBe('same_approver');
          expect((await store.get(id))?.status).toBe('pending');
        },
      ),
      { numRuns: 60 },
    );
  });

  it('the person the agent acts for is refused as any approver of a dual-control request, however spelled (generated)', async () => {
    await fc.assert(
      fc.asyncProperty(spelling('carol'), fc.boolean(), async (variant, asFirst) => {
        const { id } = await open(2);
        if (!asFirst) expect(outcome(await approve(person('alice'), id))).toBe('approved_first');
        expect(outcome(await approve(person(`p-${randomUUID()}`, { identifiers: [variant] }), id))).toBe(
          'requester_approval',
        );
        expect((await store.get(id))?.status).toBe('pending');
      }),
      { numRuns: 40 },
    );
  });

  it('a denial by anyone denies, the first approver included; nothing is used', async () => {
    const argsHash = randomUUID();
    const { id } = await open(2, { argsHash });
    await approve(person('alice'), id);
    expect(outcome(await deny(person('alice'), id))).toBe('denied');
    expect(outcome(await approve(person('bob'), id))).toBe('already_decided');
    expect(await consume(id, argsHash)).toMatchObject({ ok: false, why: 'denied' });
    const { id: id2 } = await open(2);
    await approve(person('alice'), id2);
    expect(outcome(await deny(person('erin'), id2))).toBe('denied');
    expect((await store.get(id2))?.status).toBe('denied');
  });

  it('an expired partial approval cannot be completed', async () => {
    const { id } = await open(2, { ttlSeconds: 1 });
    await approve(person('alice'), id);
    await pool.query(`UPDATE approvals SET expires_at = now() - interval '1 second' WHERE id = $1`, [id]);
    expect(outcome(await approve(person('bob'), id))).toBe('expired');
  });

  it('an approver with no comparable identifier (only invisible characters) cannot give one of several approvals', async () => {
    const { id } = await open(2);
    expect(outcome(await approve(person('\u200b\u2060'), id))).toBe('same_approver');
    expect((await store.get(id))?.approvals).toEqual([]);
  });
});

describe('atomic in SQL (concurrent decisions against PostgreSQL)', () => {
  it('concurrent approvals by one person, however spelled, give one approval: never approved with one person', async () => {
    for (let round = 0; round < 5; round++) {
      const { id } = await open(2);
      const spellings = ['alice', 'Alice', 'ALICE', 'ａｌｉｃｅ', 'alice\u200b', ' alice', 'Alİce', 'alíce'];
      const results = await Promise.all(spellings.map((s) => approve(person(s), id)));
      const events = results.map(outcome).sort();
      expect(events.filter((e) => e === 'approved_first')).toHaveLength(1);
      expect(events.filter((e) => e !== 'approved_first')).toEqual(
        Array(spellings.length - 1).fill('same_approver'),
      );
      const row = await store.get(id);
      expect(row).toMatchObject({ status: 'pending' });
      expect(row?.approvals).toHaveLength(1);
    }
  });

  it('two concurrent "second approvals" by the same person: at most one counts, and the request is approved only by two people', async () => {
    for (let round = 0; round < 5; round++) {
      const { id } = await open(2);
      await approve(person('alice'), id);
      const results = await Promise.all([
        approve(person('bob'), id),
        approve(person('BOB'), id),
        approve(person('alice'), id),
        approve(person('b0b', { identifiers: ['b0b', 'bob'] }), id),
      ]);
      const events = results.map(outcome);
      expect(events.filter((e) => e === 'approved')).toHaveLength(1);
      const row = await store.get(id);
      expect(row?.status).toBe('approved');
      expect(row?.approvals.map((a) => a.by)).toHaveLength(2);
      expect(row?.approvals[0]?.by).toBe('alice');
    }
  });

  it('a first approval racing a denial never leaves the request approved', async () => {
    for (let round = 0; round < 10; round++) {
      const { id } = await open(2);
      await Promise.all([approve(person('alice'), id), deny(person('bob'), id)]);
      expect((await store.get(id))?.status).toBe('denied');
    }
  });

  it('a second approval racing a denial ends denied (an approval that won is withdrawn) and is never used', async () => {
    for (let round = 0; round < 10; round++) {
      const argsHash = randomUUID();
      const { id } = await open(2, { argsHash });
      await approve(person('alice'), id);
      const [a, d] = await Promise.all([approve(person('bob'), id), deny(person('erin'), id)]);
      expect(d.ok).toBe(true);
      expect(['approved', 'already_decided']).toContain(outcome(a));
      expect((await store.get(id))?.status).toBe('denied');
      expect(await consume(id, argsHash)).toMatchObject({ ok: false, why: 'denied' });
    }
  });
});

describe('three approvers, and the requirement is fixed at open time', () => {
  it('needs three distinct people: approved_first, approved_partial, approved', async () => {
    const { id } = await open(3);
    expect(outcome(await approve(person('alice'), id))).toBe('approved_first');
    expect(outcome(await approve(person('Alice@x', { identifiers: ['alice'] }), id))).toBe('same_approver');
    expect(outcome(await approve(person('bob'), id))).toBe('approved_partial');
    expect((await store.get(id))?.status).toBe('pending');
    expect(outcome(await approve(person('bob'), id))).toBe('same_approver');
    expect(outcome(await approve(person('dana'), id))).toBe('approved');
    expect((await store.get(id))?.approvals.map((a) => a.by)).toEqual(['alice', 'bob', 'dana']);
  });

  it('a retry does not reuse an open request that needs fewer approvers than policy now requires', async () => {
    const argsHash = randomUUID();
    const one = await open(1, { argsHash });
    const two = await open(2, { argsHash });
    expect(two.reused).toBe(false);
    expect(two.id).not.toBe(one.id);
    // ...but a request needing at least as many is reused.
    expect(await open(2, { argsHash })).toMatchObject({ id: two.id, reused: true });
    expect(await open(1, { argsHash })).toMatchObject({ reused: true });
  });

  it('refuses a requirement outside 1..3 at the store, and the table refuses one too', async () => {
    await expect(open(0)).rejects.toThrow(RangeError);
    await expect(open(4)).rejects.toThrow(RangeError);
    const { id } = await open(1);
    await expect(
      pool.query('UPDATE approvals SET required_approvals = 4 WHERE id = $1', [id]),
    ).rejects.toThrow(/check/i);
  });

  it('a single-approver request is approved by one person, with that approval kept', async () => {
    const { id } = await open(1);
    expect(await approve(person('alice'), id)).toMatchObject({
      ok: true,
      event: 'approved',
      approval: { status: 'approved', requiredApprovals: 1, approvals: [{ by: 'alice' }] },
    });
  });

  it('an approved request whose approvals were tampered below the requirement is not used', async () => {
    const argsHash = randomUUID();
    const { id } = await open(2, { argsHash });
    await pool.query(`UPDATE approvals SET status = 'approved' WHERE id = $1`, [id]);
    expect((await consume(id, argsHash)).ok).toBe(false);
  });
});
