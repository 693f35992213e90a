// Every decision and withdrawal, through the approvals HTTP API (an approver token) and through the
// approval desk in process (as the admin console will call it, with an approver it verified itself),
// leaves exactly one audit record naming the approver, the approval and the outcome, and one count
// in mcp_approvals_total; the same records reach the durable trail.
import { setTimeout as sleep } from 'node:timers/promises';
import { ApprovalDesk, AuditQuery, type AuditRecord } from '@mcp-fleet/core/approvals';
import { connectClient, createTestDatabase } from '@mcp-fleet/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Approver } from '../../src/approvals/approvers.js';
import { type AuditLine, Fleet, metric, PUBLIC_URL, textOf } from '../governance/harness.js';

let fleet: Fleet;
let db: { url: string; drop: () => Promise<void> };
let desk: ApprovalDesk;
beforeAll(async () => {
  db = await createTestDatabase('fleet_decision_audit');
  fleet = await Fleet.start({ count: 1, databaseUrl: db.url, env: { AUDIT_FLUSH_MS: '20' } });
  // What the console does: one desk over the server's stores, audit log and metrics.
  const rt = fleet.replicas[0]!.server.runtime;
  desk = new ApprovalDesk({
    store: rt.governance.approvals!,
    server: rt.server,
    allTenants: false,
    audit: (r) => rt.audit.record(r),
    metrics: rt.governance.metrics,
    policyVersion: () => rt.policy.version || null,
  });
});
afterAll(async () => {
  await fleet?.close();
  await db?.drop();
});

let n = 0;
/** An agent (acting for `user`) asks for a refund; returns the approval id. */
async function request(user = 'frank'): Promise<string> {
  n += 1;
  const agent = await connectClient(
    'modern',
    fleet.replicas[0]!.url,
    await fleet.token({ sub: 'agent-audit', roles: ['operator'], user }),
  );
  const r = await agent.callTool('refund_payment', { payment: `pay_da_${n}`, amount: 3 });
  await agent.close();
  return /Approval id: ([0-9a-f-]{36})/.exec(textOf(r))![1]!;
}

type Action = 'approve' | 'deny' | 'revoke';
type Via = 'http' | 'desk';

/** One decision by `sub` through `via`; returns the refusal code or the event. */
async function act(via: Via, action: Action, id: string, sub: string): Promise<string> {
  if (via === 'http') {
    const token = await fleet.issuer.mintApprover({ sub, aud: `${PUBLIC_URL}/approvals` });
    const res = await fetch(`${fleet.replicas[0]!.baseUrl}/approvals/${id}/${action}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: '{}',
    });
    const body = (await res.json()) as { error?: string; status?: string; revokedAt?: string | null };
    if (!res.ok) return body.error!;
    return action === 'approve' ? 'approved' : body.revokedAt ? 'revoked' : 'denied';
  }
  const approver: Approver = {
    issuer: fleet.issuer.issuer,
    subject: sub,
    user: null,
    tenant: null,
    identifiers: [sub],
    clients: [],
  };
  const input = { id, requestId: `desk-${sub}-${action}` };
  const d =
    action === 'revoke'
      ? await desk.revoke(approver, input)
      : await desk.decide(approver, { ...input, approve: action === 'approve' });
  return d.ok ? d.event : d.why;
}

const decisionLines = (id: string) =>
  (fleet.audit as (AuditLine & { details: { approvalId?: string } })[]).filter(
    (a) => a.method.startsWith('approvals/') && a.details?.approvalId === id,
  );

/** Every approvals event counted on /metrics. */
async function events(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const e of ['approved', 'denied', 'revoked', 'decision_refused'])
    out[e] = await metric(fleet.replicas[0]!, 'mcp_approvals_total', { event: e });
  return out;
}

// Each step: who acts, what they ask, what comes of it (event or refusal code), the audited outcome.
const SCRIPT: { setup: Action[]; sub: string; action: Action; result: string; outcome: 'ok' | 'denied' }[] = [
  { setup: [], sub: 'human-a', action: 'approve', result: 'approved', outcome: 'ok' },
  { setup: [], sub: 'human-a', action: 'deny', result: 'denied', outcome: 'ok' },
  { setup: ['approve'], sub: 'human-b', action: 'revoke', result: 'revoked', outcome: 'ok' },
  { setup: ['approve'], sub: 'human-b', action: 'deny', result: 'revoked', outcome: 'ok' },
  { setup: [], sub: 'human-b', action: 'revoke', result: 'not_approved', outcome: 'denied' },
  { setup: ['deny'], sub: 'human-b', action: 'approve', result: 'already_decided', outcome: 'denied' },
  { setup: [], sub: 'frank', action: 'approve', result: 'requester_approval', outcome: 'denied' },
  { setup: [], sub: 'agent-audit', action: 'deny', result: 'self_approval', outcome: 'denied' },
];

describe('one audit record and one count per decision', () => {
  const decided: string[] = [];
  for (const via of ['http', 'desk'] as const) {
    for (const step of SCRIPT) {
      it(`${via}: ${step.setup.map((s) => `${s} then `).join('')}${step.action} by ${step.sub} -> ${step.result}`, async () => {
        const id = await request();
        for (const s of step.setup) expect(await act('desk', s, id, 'human-setup')).not.toMatch(/_/);
        const linesBefore = decisionLines(id).length;
        const before = await events();
        expect(await act(via, step.action, id, step.sub)).toBe(step.result);
        const lines = decisionLines(id).slice(linesBefore);
        expect(lines).toHaveLength(1);
        expect(lines[0]).toMatchObject({
          method: `approvals/${step.action}`,
          agentId: step.sub,
          outcome: step.outcome,
          details: expect.objectContaining({
            approvalId: id,
            approver: expect.objectContaining({ subject: step.sub }),
            ...(step.outcome === 'denied' ? { refused: step.result } : {}),
          }),
        });
        const after = await events();
        const counter = step.outcome === 'ok' ? step.result : 'decision_refused';
        expect(after[counter]! - before[counter]!).toBe(1);
        // Nothing else counted.
        expect(
          Object.values(after).reduce((a, b) => a + b) - Object.values(before).reduce((a, b) => a + b),
        ).toBe(1);
        decided.push(id);
      });
    }
  }

  it('the durable trail holds the same records, once each', async () => {
    const expected = new Set(
      decided.flatMap((id) => decisionLines(id).map((l) => (l as unknown as { id: string }).id)),
    );
    expect(expected.size).toBeGreaterThan(0);
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const trail = new AuditQuery(client);
      let stored: AuditRecord[] = [];
      for (let i = 0; i < 100; i++) {
        stored = [];
        for (const method of ['approvals/approve', 'approvals/deny', 'approvals/revoke']) {
          stored.push(...(await trail.page({ method, limit: 1000 })).records);
        }
        if (stored.length >= expected.size) break;
        await sleep(50);
      }
      const ids = stored.map((r) => r.id).filter((id) => expected.has(id));
      expect(new Set(ids).size).toBe(ids.length);
      expect(new Set(ids)).toEqual(expected);
    } finally {
      await client.end();
    }
  });
});

// The attacker's repro over HTTP: a valid approver's decision with a bad note on a real approval is a
// refused decision with its one record (errorCode invalid_arguments), and a list filter holding a NUL
// is a 400, never a 500 from PostgreSQL.
describe('bad input over the approvals API', () => {
  const approverToken = () =>
    fleet.issuer.mintApprover({ sub: 'human-bad-input', aud: `${PUBLIC_URL}/approvals` });
  it.each([
    ['an object', { note: { x: 1 } }],
    ['1001 characters', { note: 'n'.repeat(1001) }],
    ['a NUL', { note: 'a\u0000b' }],
  ])('a note that is %s: 400, one refused record, the request stays pending', async (_n, body) => {
    const id = await request();
    const res = await fetch(`${fleet.replicas[0]!.baseUrl}/approvals/${id}/approve`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await approverToken()}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toBe('invalid_request');
    let lines: ReturnType<typeof decisionLines> = [];
    for (let i = 0; i < 50 && lines.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
      lines = decisionLines(id);
    }
    expect(lines.map((l) => [l.method, l.outcome, l.details])).toEqual([
      [
        'approvals/approve',
        'denied',
        expect.objectContaining({ refused: 'invalid_request', errorCode: 'invalid_arguments' }),
      ],
    ]);
  });

  it.each(['agent', 'tool', 'user'])('GET /approvals?%s=(a NUL) is a 400, not a 500', async (name) => {
    const res = await fetch(`${fleet.replicas[0]!.baseUrl}/approvals?${name}=%00`, {
      headers: { authorization: `Bearer ${await approverToken()}` },
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toBe('invalid_request');
  });
});
