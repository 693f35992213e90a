// The approval desk in process, as the admin console will call it (an approver it verified itself),
// against a real fleet database: every rule of who may see and decide what is one test here, and
// every decision or withdrawal leaves exactly one record in the durable audit trail (read back with
// AuditQuery) and one count in mcp_approvals_total.
import { randomUUID } from 'node:crypto';
import {
  ApprovalDesk,
  type ApprovalDeskOptions,
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
import type pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Approver } from '../../src/approvals/approvers.js';
import { REFUSED_ATTEMPTS_AUDITED_PER_MINUTE } from '../../src/approvals/desk.js';
import { createGovernanceMetrics } from '../../src/observability/governance-metrics.js';

const logger = createLogger({ level: 'silent' });
let db: { url: string; drop: () => Promise<void> };
let pool: pg.Pool;
let store: ApprovalStore;
let audit: AuditLog;
let trail: AuditQuery;
let metrics: ReturnType<typeof createGovernanceMetrics>;

beforeAll(async () => {
  db = await createTestDatabase('fleet_desk');
  pool = createFleetPool(db.url, logger, 4);
  await migrate(pool, CORE_MIGRATIONS, logger);
  store = new ApprovalStore(pool);
  const fleetMetrics = createMetrics('console');
  audit = new AuditLog({
    pool,
    logger,
    metrics: fleetMetrics,
    stdout: false,
    flushMs: 10,
    queueMax: 10_000,
  });
  trail = new AuditQuery(pool);
  metrics = createGovernanceMetrics(fleetMetrics.registry);
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

const ISSUER = 'https://idp.example';
/** An approver as the console builds it from a verified OIDC session. */
const person = (subject: string, o: Partial<Approver> = {}): Approver => ({
  issuer: ISSUER,
  subject,
  user: null,
  tenant: 'acme',
  identifiers: [subject],
  clients: [],
  ...o,
});

function desk(o: Partial<ApprovalDeskOptions> = {}): ApprovalDesk {
  return new ApprovalDesk({
    store,
    server: 'database',
    allTenants: false,
    audit: (r) => audit.record(r),
    metrics,
    policyVersion: () => 'v-test',
    ...o,
  });
}

/** Opens a request the way the pipeline's approval step does. */
async function open(
  o: {
    server?: string;
    agent?: string;
    tenant?: string | null;
    user?: string | null;
    tool?: string;
    ttlSeconds?: number;
  } = {},
): Promise<string> {
  const opened = await store.request({
    server: o.server ?? 'database',
    tool: o.tool ?? 'drop_table',
    argsHash: randomUUID(),
    argumentsJson: '{"table":"orders"}',
    caller: {
      agentId: o.agent ?? 'agent-7',
      tenant: o.tenant === undefined ? 'acme' : o.tenant,
      user: o.user === undefined ? 'alice' : o.user,
    },
    session: 'sess-1',
    roles: ['operator'],
    ttlSeconds: o.ttlSeconds ?? 600,
    auditId: randomUUID(),
  });
  if ('refused' in opened) throw new Error('refused');
  return opened.id;
}

/** The durable decision records of one approval. */
async function decisionRecords(approvalId: string) {
  await audit.flush();
  const { records } = await trail.page({ limit: 1000 });
  // Oldest first (records of one millisecond in the order of their request ids).
  return records
    .filter(
      (r) =>
        r.method.startsWith('approvals/') &&
        (r.details as { approvalId?: string } | null)?.approvalId === approvalId,
    )
    .sort((a, b) => a.ts.localeCompare(b.ts) || a.requestId.localeCompare(b.requestId));
}

async function counted(event: string): Promise<number> {
  const m = await metrics.approvals.get();
  return m.values.filter((v) => v.labels.event === event).reduce((n, v) => n + v.value, 0);
}

const refusedWhy = (d: DeskDecision) => (d.ok ? 'ok' : d.why);

describe('decisions', () => {
  it('approves a pending request: one audit record naming the approver, the approval and the outcome, one count', async () => {
    const id = await open();
    const before = await counted('approved');
    const d = await desk().decide(person('human-dana'), {
      id,
      approve: true,
      note: 'fine',
      requestId: 'req-1',
    });
    expect(d).toMatchObject({ ok: true, event: 'approved', approval: { id, status: 'approved' } });
    expect(await counted('approved')).toBe(before + 1);
    expect(await decisionRecords(id)).toEqual([
      expect.objectContaining({
        server: 'database',
        method: 'approvals/approve',
        requestId: 'req-1',
        agentId: 'human-dana',
        tool: 'drop_table',
        outcome: 'ok',
        decision: 'allow',
        resultSummary: 'approved',
        policyVersion: 'v-test',
        details: expect.objectContaining({
          approvalId: id,
          approver: { issuer: ISSUER, subject: 'human-dana', tenant: 'acme' },
          requestedBy: { agentId: 'agent-7', user: 'alice', tenant: 'acme' },
        }),
      }),
    ]);
    expect((await store.get(id))?.decidedBy).toBe('human-dana');
  });

  it('denies a pending request, audited once', async () => {
    const id = await open();
    const d = await desk().decide(person('human-erin'), { id, approve: false, requestId: 'r' });
    expect(d).toMatchObject({ ok: true, event: 'denied', approval: { status: 'denied' } });
    expect((await decisionRecords(id)).map((r) => [r.method, r.outcome, r.resultSummary])).toEqual([
      ['approvals/deny', 'ok', 'denied'],
    ]);
  });

  it('refuses the agent that asked, however its name is spelled or as the token client, audited and counted', async () => {
    const id = await open({ agent: 'Agent-7' });
    const before = await counted('decision_refused');
    const bySubject = await desk().decide(person('ＡＧＥＮＴ-７ '), { id, approve: true, requestId: 'r' });
    const byClient = await desk().decide(person('human-x', { clients: ['agent-7'] }), {
      id,
      approve: true,
      requestId: 'r',
    });
    expect([refusedWhy(bySubject), refusedWhy(byClient)]).toEqual(['self_approval', 'self_approval']);
    expect(bySubject).toMatchObject({ status: 403, message: expect.stringMatching(/agent that asked/) });
    expect(await counted('decision_refused')).toBe(before + 2);
    expect((await store.get(id))?.status).toBe('pending');
    expect((await decisionRecords(id)).map((r) => [r.outcome, r.details?.refused])).toEqual([
      ['denied', 'self_approval'],
      ['denied', 'self_approval'],
    ]);
  });

  it('refuses the person the agent acts for, by any identifier, normalized', async () => {
    const id = await open({ user: 'Alice@Corp.example' });
    const d = await desk().decide(
      person('00u-opaque', { identifiers: ['00u-opaque', '\u200balice@corp.EXAMPLE'] }),
      { id, approve: true, requestId: 'r' },
    );
    expect(refusedWhy(d)).toBe('requester_approval');
    expect((await store.get(id))?.status).toBe('pending');
    expect(await decisionRecords(id)).toHaveLength(1);
  });

  it('refuses a second decision (already decided), audited', async () => {
    const id = await open();
    await desk().decide(person('human-a'), { id, approve: true, requestId: 'r1' });
    const again = await desk().decide(person('human-b'), { id, approve: false, requestId: 'r2' });
    // A denial of an approved, unused request withdraws it: a second approval is what is refused.
    expect(again).toMatchObject({ ok: true, event: 'revoked' });
    const third = await desk().decide(person('human-c'), { id, approve: true, requestId: 'r3' });
    expect(third).toMatchObject({ ok: false, why: 'already_decided', status: 409 });
    expect((await decisionRecords(id)).map((r) => [r.method, r.resultSummary])).toEqual([
      ['approvals/approve', 'approved'],
      ['approvals/deny', 'revoked'],
      ['approvals/approve', 'already_decided'],
    ]);
  });

  it('refuses an expired request', async () => {
    const id = await open({ ttlSeconds: -1 });
    expect(await desk().decide(person('human-a'), { id, approve: true, requestId: 'r' })).toMatchObject({
      ok: false,
      why: 'expired',
    });
    expect(await decisionRecords(id)).toHaveLength(1);
  });

  it('refuses a request without its exact arguments (incomplete)', async () => {
    const id = await open();
    await pool.query('UPDATE approvals SET arguments_json = NULL WHERE id = $1', [id]);
    expect(refusedWhy(await desk().decide(person('human-a'), { id, approve: true, requestId: 'r' }))).toBe(
      'incomplete',
    );
  });

  it('refuses bad input before reading anything: a malformed id (not found, no record) and an over-long note (one refused record)', async () => {
    const id = await open();
    const malformed = await desk().decide(person('human-a'), {
      id: "x' OR 1=1 --",
      approve: true,
      requestId: 'r',
    });
    expect(malformed).toMatchObject({ ok: false, why: 'not_found', status: 404 });
    const longNote = await desk().decide(person('human-a'), {
      id,
      approve: true,
      note: 'n'.repeat(1001),
      requestId: 'r',
    });
    expect(longNote).toMatchObject({ ok: false, why: 'invalid_request', status: 400 });
    await audit.flush();
    // The malformed id names no approval: only the refused note on the real one is recorded.
    expect(
      (await trail.page({ method: 'approvals/approve' })).records.map((r) => [
        r.details?.approvalId,
        r.details?.refused,
      ]),
    ).toEqual([[id, 'invalid_request']]);
    expect((await store.get(id))?.status).toBe('pending');
  });
});

describe('withdrawals', () => {
  it('revokes an approved, unused request: one record naming who approved and who withdrew', async () => {
    const id = await open();
    await desk().decide(person('human-a'), { id, approve: true, requestId: 'r1' });
    const before = await counted('revoked');
    const r = await desk().revoke(person('human-b'), { id, note: 'changed my mind', requestId: 'r2' });
    expect(r).toMatchObject({
      ok: true,
      event: 'revoked',
      approval: { status: 'denied', revokedBy: 'human-b', revokeNote: 'changed my mind' },
    });
    expect(await counted('revoked')).toBe(before + 1);
    const records = await decisionRecords(id);
    expect(records.map((x) => [x.method, x.agentId])).toEqual([
      ['approvals/approve', 'human-a'],
      ['approvals/revoke', 'human-b'],
    ]);
    expect(records[1]!.details).toMatchObject({
      revoked: true,
      approvedBy: { issuer: ISSUER, subject: 'human-a' },
    });
  });

  it('refuses to revoke a pending request (not approved), and it stays pending', async () => {
    const id = await open();
    const r = await desk().revoke(person('human-b'), { id, requestId: 'r' });
    expect(r).toMatchObject({ ok: false, why: 'not_approved', status: 409 });
    expect((await store.get(id))?.status).toBe('pending');
    expect((await decisionRecords(id)).map((x) => x.details?.refused)).toEqual(['not_approved']);
  });

  it('applies the same who-may-decide rules to a withdrawal', async () => {
    const id = await open({ user: 'alice' });
    await desk().decide(person('human-a'), { id, approve: true, requestId: 'r' });
    expect(refusedWhy(await desk().revoke(person('alice'), { id, requestId: 'r' }))).toBe(
      'requester_approval',
    );
    expect((await store.get(id))?.status).toBe('approved');
  });
});

describe('scope: tenants and servers', () => {
  it("an approver sees and decides only their tenant's requests; others look missing", async () => {
    const mine = await open({ tenant: 'acme' });
    const theirs = await open({ tenant: 'globex' });
    const dana = person('human-dana', { tenant: 'acme' });
    const page = await desk().list(dana, { status: 'pending' });
    expect(page.ok && page.approvals.map((a) => a.id)).toEqual([mine]);
    expect(await desk().get(dana, theirs)).toBeUndefined();
    expect(await desk().decide(dana, { id: theirs, approve: true, requestId: 'r' })).toMatchObject({
      ok: false,
      why: 'not_found',
    });
    expect((await store.get(theirs))?.status).toBe('pending');
  });

  it('an approver without a tenant sees untenanted requests only, unless APPROVER_ALL_TENANTS', async () => {
    const untenanted = await open({ tenant: null });
    const tenanted = await open({ tenant: 'acme' });
    const nobody = person('human-root', { tenant: null });
    const ids = async (d: ApprovalDesk) => {
      const p = await d.list(nobody);
      return p.ok ? p.approvals.map((a) => a.id).sort() : p;
    };
    expect(await ids(desk())).toEqual([untenanted]);
    expect(await ids(desk({ allTenants: true }))).toEqual([untenanted, tenanted].sort());
    expect(await desk().get(nobody, tenanted)).toBeUndefined();
    expect(await desk({ allTenants: true }).get(nobody, tenanted)).toMatchObject({ id: tenanted });
  });

  it("a server's desk sees only its server's requests; a fleet desk sees all, filtered by server", async () => {
    const db1 = await open({ server: 'database' });
    const files = await open({ server: 'files' });
    const dana = person('human-dana');
    const ids = (p: Awaited<ReturnType<ApprovalDesk['list']>>) => (p.ok ? p.approvals.map((a) => a.id) : p);
    expect(ids(await desk().list(dana))).toEqual([db1]);
    expect(ids(await desk().list(dana, { server: 'files' }))).toEqual([]);
    expect(await desk().get(dana, files)).toBeUndefined();
    expect(refusedWhy(await desk().decide(dana, { id: files, approve: true, requestId: 'r' }))).toBe(
      'not_found',
    );
    const fleet = desk({ server: 'admin', servers: 'fleet' });
    expect((ids(await fleet.list(dana)) as string[]).sort()).toEqual([db1, files].sort());
    expect(ids(await fleet.list(dana, { server: 'files' }))).toEqual([files]);
    // Decided from the console: recorded as the console's, naming the request's server (the
    // refused attempt at the database server's desk above has its own record).
    expect(await fleet.decide(dana, { id: files, approve: true, requestId: 'r2' })).toMatchObject({
      ok: true,
    });
    expect(
      (await decisionRecords(files)).map((r) => [r.server, r.outcome, r.details?.approvalServer ?? null]),
    ).toEqual([
      ['database', 'denied', null],
      ['admin', 'ok', 'files'],
    ]);
  });
});

describe('lists', () => {
  it('pages through every request exactly once, newest first, with totals and the queue per agent', async () => {
    const opened: string[] = [];
    for (let i = 0; i < 7; i++) opened.push(await open({ agent: i < 5 ? 'agent-a' : 'agent-b' }));
    const dana = person('human-dana');
    const seen: string[] = [];
    let offset: number | null = 0;
    while (offset !== null) {
      const p = await desk().list(dana, { limit: 3, offset });
      if (!p.ok) throw new Error(p.message);
      expect(p.total).toBe(7);
      expect(p.pendingByAgent).toEqual({ 'agent-a': 5, 'agent-b': 2 });
      seen.push(...p.approvals.map((a) => a.id));
      offset = p.nextOffset;
    }
    expect([...seen].sort()).toEqual([...opened].sort());
    expect(new Set(seen).size).toBe(7);
    const byAgent = await desk().list(dana, { agent: 'agent-b' });
    expect(byAgent.ok && byAgent.total).toBe(2);
  });

  it('refuses an unknown status, a negative offset and an over-long filter, naming the valid statuses', async () => {
    const dana = person('human-dana');
    expect(await desk().list(dana, { status: 'bogus' })).toMatchObject({
      ok: false,
      why: 'invalid_request',
      status: 400,
      message: 'status must be one of pending, approved, denied, executing, executed, expired, all',
    });
    expect(await desk().list(dana, { offset: -1 })).toMatchObject({ ok: false, why: 'invalid_request' });
    expect(await desk().list(dana, { agent: 'a'.repeat(1001) })).toMatchObject({
      ok: false,
      why: 'invalid_request',
    });
  });
});

describe('refused tokens', () => {
  it(`audits at most ${REFUSED_ATTEMPTS_AUDITED_PER_MINUTE} refused attempts a minute per presenter, never a malformed id`, async () => {
    const id = await open();
    const d = desk();
    const attempt = (subject: string, approvalId = id) =>
      d.refusedAttempt({
        requestId: 'r',
        approvalId,
        action: 'approve',
        reason: 'wrong_audience',
        presentedBy: { issuer: ISSUER, subject },
      });
    const audited = Array.from({ length: REFUSED_ATTEMPTS_AUDITED_PER_MINUTE + 3 }, () => attempt('agent-x'));
    expect(audited.filter(Boolean)).toHaveLength(REFUSED_ATTEMPTS_AUDITED_PER_MINUTE);
    expect(attempt('agent-y')).toBe(true);
    expect(attempt('agent-z', 'not-an-id')).toBe(false);
    const records = await decisionRecords(id);
    expect(records).toHaveLength(REFUSED_ATTEMPTS_AUDITED_PER_MINUTE + 1);
    expect(records[0]).toMatchObject({
      agentId: null,
      outcome: 'denied',
      details: expect.objectContaining({ refused: 'token_wrong_audience' }),
    });
  });
});

// Bad input on a real approval id is a refused decision like any other: exactly one record (with
// `details.errorCode`), one count, nothing decided; and no input reaches PostgreSQL that it cannot
// store (NUL, unpaired surrogates), in a decision's note or in a list's filters.
const BAD_NOTES: [string, unknown][] = [
  ['an object', { x: 1 }],
  ['an array', ['fine']],
  ['a number', 7],
  ['1001 characters', 'n'.repeat(1001)],
  ['a NUL character', 'fi\u0000ne'],
  ['only a NUL', '\u0000'],
  ['a lone high surrogate', 'fine \ud800'],
  ['a lone low surrogate', '\udc00 fine'],
];
const ACTIONS = ['approve', 'deny', 'revoke'] as const;

describe('bad input on a real approval', () => {
  it.each(ACTIONS.flatMap((action) => BAD_NOTES.map(([what, note]) => [action, what, note] as const)))(
    '%s with a note that is %s: refused 400, exactly one refused record with errorCode invalid_arguments',
    async (action, _what, note) => {
      const id = await open();
      if (action === 'revoke')
        expect((await desk().decide(person('human-dana'), { id, approve: true, requestId: 'r0' })).ok).toBe(
          true,
        );
      const before = await counted('decision_refused');
      const input = { id, note: note as string, requestId: 'req-bad-note' };
      const d =
        action === 'revoke'
          ? await desk().revoke(person('human-erin'), input)
          : await desk().decide(person('human-erin'), { ...input, approve: action === 'approve' });
      expect(d).toMatchObject({ ok: false, why: 'invalid_request', status: 400 });
      expect(await counted('decision_refused')).toBe(before + 1);
      expect((await store.get(id))?.status).toBe(action === 'revoke' ? 'approved' : 'pending');
      const records = (await decisionRecords(id)).filter((r) => r.requestId === 'req-bad-note');
      expect(records).toEqual([
        expect.objectContaining({
          method: `approvals/${action}`,
          agentId: 'human-erin',
          outcome: 'denied',
          decision: 'deny',
          details: expect.objectContaining({
            approvalId: id,
            refused: 'invalid_request',
            errorCode: 'invalid_arguments',
          }),
        }),
      ]);
    },
  );

  it.each(['agent', 'tool', 'user', 'server'] as const)(
    'a list filtered by %s with a NUL or an unpaired surrogate is refused 400, not an internal error',
    async (name) => {
      for (const v of ['\u0000', 'a\u0000', '\ud800', 'x\udfff']) {
        expect(await desk().list(person('human-dana'), { [name]: v })).toMatchObject({
          ok: false,
          why: 'invalid_request',
          status: 400,
        });
      }
    },
  );

  it('every desk record carries details.errorCode: null for a decision taken, approval_refused for a refusal', async () => {
    const id = await open();
    expect((await desk().decide(person('human-dana'), { id, approve: true, requestId: 'a' })).ok).toBe(true);
    expect((await desk().decide(person('human-dana'), { id, approve: true, requestId: 'b' })).ok).toBe(false);
    expect(
      desk().refusedAttempt({
        requestId: 'c',
        approvalId: id,
        action: 'deny',
        reason: 'wrong_audience',
        presentedBy: { issuer: ISSUER, subject: 'agent-7' },
      }),
    ).toBe(true);
    expect((await decisionRecords(id)).map((r) => [r.requestId, r.outcome, r.details?.errorCode])).toEqual([
      ['a', 'ok', null],
      ['b', 'denied', 'approval_refused'],
      ['c', 'denied', 'approval_refused'],
    ]);
  });
});
