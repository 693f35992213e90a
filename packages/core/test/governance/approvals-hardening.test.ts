// The approval gate against an adversarial tester (THREATS A-section): the person an agent acts for
// cannot approve however the IdP spells them; tokens an agent may hold (delegated, with agent roles,
// naming another resource, issued to the agent's client) cannot approve; an approval belongs to the
// agent session that asked; one agent cannot flood the queue, and the queue can be filtered and paged;
// the CLI shows nothing but printable ASCII; refused attempts cannot fill the audit trail; an unused
// approval can be withdrawn.
import { loadCoreConfig } from '@mcp-fleet/core/internal';
import { connectClient, createTestDatabase, type TestClient } from '@mcp-fleet/testkit';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runApprovals, visibleJson } from '../../../cli/src/commands/approvals.js';
import { AUDIENCE, type AuditLine, Fleet, metric, PUBLIC_URL, textOf, upstream } from './harness.js';

let fleet: Fleet;
let db: { url: string; drop: () => Promise<void> };
beforeAll(async () => {
  db = await createTestDatabase('fleet_gov_appr_hard');
  fleet = await Fleet.start({ count: 1, databaseUrl: db.url });
});
afterAll(async () => {
  await fleet?.close();
  await db?.drop();
});

type Result = Awaited<ReturnType<TestClient['callTool']>> & { _meta?: Record<string, unknown> };
type ApiBody = Record<string, unknown> & { status?: string; error?: string; approvals?: { id: string }[] };
const APPROVALS_AUDIENCE = `${PUBLIC_URL}/approvals`;
const approvalIdOf = (r: Result) =>
  (r._meta?.['io.mcp-fleet/governance'] as { approvalId?: string } | undefined)?.approvalId ?? '';
const refundsOf = (payment: string) => upstream.refunds.filter((r) => r.payment === payment).length;

async function api(method: 'GET' | 'POST', path: string, token?: string, replica = 0) {
  const res = await fetch(`${fleet.replicas[replica]!.baseUrl}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(method === 'POST' ? { 'content-type': 'application/json' } : {}),
    },
    ...(method === 'POST' ? { body: '{}' } : {}),
  });
  return { status: res.status, body: (await res.json()) as ApiBody };
}

const approver = (sub = 'human-alice', extra: Record<string, unknown> = {}) =>
  fleet.issuer.mintApprover({ sub, aud: APPROVALS_AUDIENCE, tenant: 'acme', extra });
const agent = async (o: { sub: string; user?: string; sid?: string; replica?: number }) =>
  connectClient(
    'modern',
    fleet.replicas[o.replica ?? 0]!.url,
    await fleet.token({
      sub: o.sub,
      roles: ['operator'],
      tenant: 'acme',
      ...(o.user ? { user: o.user } : {}),
      ...(o.sid ? { sid: o.sid } : {}),
    }),
  );
/** Opens a refund request as `who` and returns its approval id. */
async function hold(payment: string, who: { sub: string; user?: string; sid?: string }): Promise<string> {
  const c = await agent(who);
  const id = approvalIdOf((await c.callTool('refund_payment', { payment, amount: 5 })) as Result);
  await c.close();
  expect(id).toMatch(/^[0-9a-f-]{36}$/);
  return id;
}
const decisionAudits = () =>
  fleet.audit.filter(
    (a) => a.method === 'approvals/approve' || a.method === 'approvals/deny',
  ) as (AuditLine & {
    agentId: string | null;
    details: Record<string, unknown> & { approvalId: string; refused?: string };
  })[];

// Spellings of one identifier an IdP may use: letter case, fullwidth forms (NFKC folds them), and
// surrounding spaces.
const identifier = fc.stringMatching(/^[a-z][a-z0-9]{2,8}(\.[a-z]{2,6})?@corp\.example$/);
const spelling = (id: string) =>
  fc
    .tuple(
      fc.array(fc.constantFrom('lower', 'upper', 'fullwidth'), {
        minLength: id.length,
        maxLength: id.length,
      }),
      fc.constantFrom('', ' ', '\u3000', '\t'),
      fc.constantFrom('', ' ', '\u00a0'),
    )
    .map(([forms, before, after]) => {
      const body = [...id]
        .map((ch, i) => {
          const form = forms[i];
          if (form === 'upper') return ch.toUpperCase();
          if (form === 'fullwidth' && ch > ' ' && ch <= '~')
            return String.fromCharCode(ch.charCodeAt(0) + 0xfee0);
          return ch;
        })
        .join('');
      return `${before}${body}${after}`;
    });
const IDENTIFIER_CLAIMS = ['sub', 'user', 'email', 'preferred_username', 'upn', 'unique_name'] as const;
// biome-ignore lint/suspicious/noControlCharactersInRegex: the check is for control characters
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

describe('1. the person the agent acts for cannot approve, however the IdP spells them', () => {
  it('refuses an approver any of whose identifier claims names the requesting user (generated spellings)', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        identifier
          .chain((id) => fc.tuple(spelling(id), spelling(id), fc.constantFrom(...IDENTIFIER_CLAIMS)))
          // An agent token whose user claim holds a control character (the tab) is refused at the door.
          .filter(([asRequested]) => !CONTROL.test(asRequested)),
        async ([asRequested, asApprover, claim]) => {
          n += 1;
          const id = await hold(`pay_h1_${n}`, { sub: `agent-h1-${n}`, user: asRequested });
          const token = await fleet.issuer.mintApprover({
            sub: claim === 'sub' ? asApprover : '00u1a2b3opaque',
            aud: APPROVALS_AUDIENCE,
            tenant: 'acme',
            ...(claim === 'sub' ? {} : { extra: { [claim]: asApprover } }),
          });
          const r = await api('POST', `/approvals/${id}/approve`, token);
          // The approver's subject or user claim with a control character is refused before anything
          // is compared (no such identity can be read); every other spelling is compared, and refused.
          const atTheDoor = (claim === 'sub' || claim === 'user') && CONTROL.test(asApprover);
          expect([r.status, r.body.error], JSON.stringify({ asRequested, asApprover, claim })).toEqual(
            atTheDoor ? [401, 'invalid_token'] : [403, 'requester_approval'],
          );
          expect((await api('GET', `/approvals/${id}`, await approver())).body.status).toBe('pending');
        },
      ),
      { numRuns: 25 },
    );
  });

  it('refuses an approver whose identifier claims name the requesting agent', async () => {
    const id = await hold('pay_h1_self', { sub: 'Agent-Self', user: 'dora' });
    const r = await api(
      'POST',
      `/approvals/${id}/approve`,
      await approver('opaque-1', { email: 'agent-self' }),
    );
    expect([r.status, r.body.error]).toEqual([403, 'self_approval']);
  });

  it("reads approvers with their own claim mapping, never the agents' (AUTH_CLAIM_AGENT=azp)", async () => {
    const azp = await fleet.add({ AUTH_CLAIM_AGENT: 'azp' });
    const at = fleet.replicas.indexOf(azp);
    const agentToken = await fleet.issuer.mint({
      sub: 'svc-agent-azp',
      roles: ['operator'],
      tenant: 'acme',
      user: 'carol',
      aud: AUDIENCE,
      extra: { azp: 'agent-azp' },
    });
    const c = await connectClient('modern', azp.url, agentToken);
    const open = async (payment: string) =>
      approvalIdOf((await c.callTool('refund_payment', { payment, amount: 50 })) as Result);
    const first = await open('pay_h1_azp1');
    // Carol, through the company's approvals console (its client id in azp): she is who the agent acts for.
    const carol = await approver('carol', { azp: 'approvals-console' });
    const asCarol = await api('POST', `/approvals/${first}/approve`, carol, at);
    expect([asCarol.status, asCarol.body.error]).toEqual([403, 'requester_approval']);
    // Dave through the same console is recorded as Dave, not as the console.
    const dave = await api(
      'POST',
      `/approvals/${first}/approve`,
      await approver('dave', { azp: 'approvals-console' }),
      at,
    );
    expect(dave.status).toBe(200);
    expect(dave.body).toMatchObject({ decidedBy: 'dave', decidedByIssuer: fleet.issuer.issuer });
    expect(decisionAudits().find((a) => a.details.approvalId === first && a.outcome === 'ok')).toMatchObject({
      agentId: 'dave',
      details: { approver: { issuer: fleet.issuer.issuer, subject: 'dave' } },
    });
    // A person's token without any azp is an approver token too.
    const second = await open('pay_h1_azp2');
    const erin = await api('POST', `/approvals/${second}/deny`, await approver('erin'), at);
    expect([erin.status, erin.body.decidedBy]).toEqual([200, 'erin']);
    await c.close();
    await fleet.stop(azp);

    // APPROVER_CLAIM_SUBJECT names another claim as the approver's subject.
    const oid = await fleet.add({ APPROVER_CLAIM_SUBJECT: 'oid' });
    const third = await hold('pay_h1_oid', { sub: 'agent-h1-oid', user: 'gina' });
    const byOid = await api(
      'POST',
      `/approvals/${third}/deny`,
      await approver('ignored-sub', { oid: 'oid-1234' }),
      fleet.replicas.indexOf(oid),
    );
    expect([byOid.status, byOid.body.decidedBy]).toEqual([200, 'oid-1234']);
    await fleet.stop(oid);
  });
});

describe('2. tokens an agent may hold are not approver tokens', () => {
  it('refuses a token that is delegated (act), carries agent roles or names a non-approvals audience (generated)', async () => {
    const id = await hold('pay_h2', { sub: 'agent-h2', user: 'hank' });
    await fc.assert(
      fc.asyncProperty(
        fc
          .record({
            act: fc.boolean(),
            roles: fc.boolean(),
            otherMcp: fc.boolean(),
            otherResource: fc.boolean(),
          })
          .filter((f) => Object.values(f).some(Boolean)),
        async (f) => {
          const aud = [
            APPROVALS_AUDIENCE,
            ...(f.otherMcp ? ['http://billing.local/mcp'] : []),
            ...(f.otherResource ? ['https://api.corp.example/'] : []),
          ];
          const token = await fleet.issuer.mint({
            sub: 'dave',
            aud,
            scope: 'mcp:approve',
            tenant: 'acme',
            sid: 'some-session',
            ...(f.roles ? { roles: ['operator'] } : {}),
            ...(f.act ? { extra: { act: { sub: 'agent-h2' } } } : {}),
          });
          const r = await api('POST', `/approvals/${id}/approve`, token);
          expect(r.status, JSON.stringify(f)).toBe(401);
        },
      ),
      { numRuns: 20 },
    );
    expect((await api('GET', `/approvals/${id}`, await approver())).body.status).toBe('pending');
  });

  it("refuses a token issued to the requesting agent's client (azp or client_id)", async () => {
    const id = await hold('pay_h2_client', { sub: 'agent-h2c', user: 'ivy' });
    for (const claim of ['azp', 'client_id']) {
      const r = await api(
        'POST',
        `/approvals/${id}/approve`,
        await approver('dave', { [claim]: 'agent-h2c' }),
      );
      expect([claim, r.status, r.body.error]).toEqual([claim, 403, 'self_approval']);
    }
  });

  it("keeps the dev issuer's approver tokens valid, also for several servers' approvals", async () => {
    const id = await hold('pay_h2_dev', { sub: 'agent-h2d', user: 'jo' });
    const token = await fleet.issuer.mintApprover({
      sub: 'human-kim',
      aud: [APPROVALS_AUDIENCE, 'http://127.0.0.1:7401/approvals'],
      tenant: 'acme',
    });
    expect((await api('POST', `/approvals/${id}/approve`, token)).status).toBe(200);
  });
});

describe('3. an approval belongs to the agent session that asked', () => {
  it('is neither handed to nor usable from another session of the same agent and user', async () => {
    const s1 = await agent({ sub: 'agent-h3', user: 'lou', sid: 'session-1' });
    const s2 = await agent({ sub: 'agent-h3', user: 'lou', sid: 'session-2' });
    const args = { payment: 'pay_h3', amount: 5 };
    const id = approvalIdOf((await s1.callTool('refund_payment', args)) as Result);
    const other = approvalIdOf((await s2.callTool('refund_payment', args)) as Result);
    expect(other).toMatch(/^[0-9a-f-]{36}$/);
    expect(other).not.toBe(id);
    expect((await api('POST', `/approvals/${id}/approve`, await approver())).status).toBe(200);
    const stolen = await s2.callTool('refund_payment', { ...args, approval_id: id });
    expect(textOf(stolen)).toMatch(/is not a valid approval for this caller/);
    expect(refundsOf('pay_h3')).toBe(0);
    expect(textOf(await s1.callTool('refund_payment', { ...args, approval_id: id }))).toMatch(/refunded 5/);
    expect(refundsOf('pay_h3')).toBe(1);
    await s1.close();
    await s2.close();
  });
});

describe('4. one agent cannot flood the queue', () => {
  it('caps pending requests per agent; the list filters, pages and shows who is waiting', async () => {
    expect(loadCoreConfig({ PUBLIC_URL }, 7498).approvers?.maxPendingPerAgent).toBe(20);
    const capped = await fleet.add({ APPROVAL_MAX_PENDING_PER_AGENT: '5' });
    const at = fleet.replicas.indexOf(capped);
    const real = await hold('pay_h4_real', { sub: 'agent-h4-real', user: 'mo' });
    const flooder = await agent({ sub: 'agent-h4-flood', user: 'nobody', replica: at });
    const opened: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = (await flooder.callTool('refund_payment', { payment: `pay_h4_${i}`, amount: 1 })) as Result;
      opened.push(approvalIdOf(r));
    }
    expect(opened.every((x) => /^[0-9a-f-]{36}$/.test(x))).toBe(true);
    const sixth = (await flooder.callTool('refund_payment', { payment: 'pay_h4_5', amount: 1 })) as Result;
    expect(sixth.isError).toBe(true);
    expect(approvalIdOf(sixth)).toBe('');
    expect(textOf(sixth)).toMatch(/5 approval requests are already waiting/);
    const record = fleet.audit.filter((a) => a.tool === 'refund_payment' && a.method === 'tools/call').at(-1);
    expect(record).toMatchObject({ outcome: 'denied', details: { approvalRefused: 'too_many_pending' } });
    // A retry of a request already waiting is not a new one: still answered with its id.
    const retry = (await flooder.callTool('refund_payment', { payment: 'pay_h4_0', amount: 1 })) as Result;
    expect(approvalIdOf(retry)).toBe(opened[0]);
    expect(upstream.refunds.filter((r) => r.payment.startsWith('pay_h4_'))).toEqual([]);
    await flooder.close();

    const token = await approver();
    const byAgent = await api('GET', '/approvals?agent=agent-h4-real', token, at);
    expect(byAgent.body.approvals!.map((a) => a.id)).toEqual([real]);
    expect(byAgent.body.total).toBe(1);
    expect(byAgent.body.pendingByAgent).toMatchObject({ 'agent-h4-flood': 5, 'agent-h4-real': 1 });
    const byUserTool = await api('GET', '/approvals?user=mo&tool=refund_payment', token, at);
    expect(byUserTool.body.approvals!.map((a) => a.id)).toEqual([real]);
    // Paging through the flooder's requests: every one once.
    const seen: string[] = [];
    let next: unknown = 0;
    while (next !== null && next !== undefined) {
      const page = await api('GET', `/approvals?agent=agent-h4-flood&limit=2&offset=${next}`, token, at);
      expect(page.body.total).toBe(5);
      seen.push(...page.body.approvals!.map((a) => a.id));
      next = page.body.nextOffset;
    }
    expect(seen.sort()).toEqual([...opened].sort());
    // The CLI: filters, and the summary makes the flood visible.
    const out: string[] = [];
    const code = await runApprovals(
      ['list', '--agent', 'agent-h4-real', '--url', capped.url, '--token', token],
      {
        env: {},
        stdout: (t) => out.push(t),
        stderr: (t) => out.push(t),
      },
    );
    expect(code).toBe(0);
    const text = out.join('');
    expect(text).toContain(real);
    expect(text).not.toContain(opened[0]);
    expect(text).toMatch(/pending by agent: .*agent-h4-flood=5/);
    await fleet.stop(capped);
  });
});

describe('4b. the cap holds under concurrent calls', () => {
  it('opens at most the cap when one agent asks many times at once', async () => {
    const capped = await fleet.add({ APPROVAL_MAX_PENDING_PER_AGENT: '3' });
    const c = await agent({ sub: 'agent-h4-burst', user: 'pat', replica: fleet.replicas.indexOf(capped) });
    const results = (await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        c.callTool('refund_payment', { payment: `pay_h4b_${i}`, amount: 1 }),
      ),
    )) as Result[];
    expect(results.filter((r) => approvalIdOf(r) !== '')).toHaveLength(3);
    expect(results.filter((r) => r.isError && /already waiting/.test(textOf(r)))).toHaveLength(7);
    const listed = await api('GET', '/approvals?agent=agent-h4-burst', await approver());
    expect(listed.body.total).toBe(3);
    await c.close();
    await fleet.stop(capped);
  });
});

/** Every character outside printable ASCII in a text (code points). */
const nonAscii = (s: string) => [...s].filter((ch) => !/^[\x20-\x7e]$/.test(ch)).length;
const anyString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 12 }),
  // Lone surrogates and every other UTF-16 code unit.
  fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 8 }).map((u) => String.fromCharCode(...u)),
  fc.constantFrom(
    '\u{E0049}\u{E0047}',
    '\u3164',
    '\u2800',
    '\u034f',
    '\ufe0f',
    '\u{E0100}',
    '\u00a0',
    '\u2000',
    '\u3000',
    '\u0338',
  ),
);

describe('5. the CLI shows nothing but printable ASCII', () => {
  it('escapes every character outside printable ASCII, and the text is the same JSON value (all code points)', () => {
    fc.assert(
      fc.property(fc.jsonValue({ stringUnit: 'binary', maxDepth: 3 }), anyString, (value, s) => {
        for (const v of [value, { s, value }]) {
          const json = JSON.stringify(v);
          const shown = visibleJson(json);
          expect(shown).toMatch(/^[\x20-\x7e]*$/);
          expect(JSON.parse(shown)).toEqual(JSON.parse(json));
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('`fleet approvals show` prints only ASCII, says how much was escaped, and the shown arguments are what runs (generated)', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        // Arguments with U+0000 or a lone surrogate never reach the gate: core refuses them as
        // invalid_arguments (argument-text.test.ts). Every other code unit is generated.
        anyString.filter((h) => !h.includes('\u0000') && h.isWellFormed()),
        // A user claim with a control character or an unpaired surrogate is refused at the door
        // (identity.test.ts, policy-reload.test.ts): every other code unit is generated.
        anyString.filter((u) => u.length > 0 && !CONTROL.test(u) && u.isWellFormed()),
        async (hidden, user) => {
          n += 1;
          const payment = `pay_h5_${n}${hidden}`;
          const c = await agent({ sub: `agent-h5-${n}`, user });
          const held = (await c.callTool('refund_payment', { payment, amount: 1 })) as Result;
          const id = approvalIdOf(held);
          expect(id, textOf(held)).toMatch(/^[0-9a-f-]{36}$/);
          const token = await approver();
          const raw = (await api('GET', `/approvals/${id}`, token)).body.argumentsJson as string;
          let stdout = '';
          const code = await runApprovals(['show', id, '--url', fleet.replicas[0]!.url, '--token', token], {
            env: {},
            stdout: (t) => {
              stdout += t;
            },
            stderr: () => {},
          });
          expect(code).toBe(0);
          expect(stdout).toMatch(/^[\x20-\x7e\n]*$/);
          const escaped = nonAscii(raw);
          if (escaped > 0)
            expect(stdout).toContain(`arguments contain ${escaped} non-ASCII characters, shown escaped`);
          else expect(stdout).not.toMatch(/arguments contain/);
          if (nonAscii(user) > 0)
            expect(stdout).toMatch(
              /names, reasons and notes contain \d+ non-ASCII characters, shown escaped/,
            );
          const shownArgs = JSON.parse(/\n {4}arguments: (.*)\n/.exec(stdout)![1]!);
          expect((await api('POST', `/approvals/${id}/approve`, token)).status).toBe(200);
          const ran = await c.callTool('refund_payment', { ...shownArgs, approval_id: id });
          expect(textOf(ran)).toMatch(/^refunded 1 on/);
          expect(upstream.refunds.at(-1)).toEqual({ payment, amount: 1 });
          await c.close();
        },
      ),
      { numRuns: 15 },
    );
  });
});

describe('6. refused attempts cannot fill the audit trail', () => {
  it('answers a malformed approval id with 404 and writes nothing', async () => {
    const before = decisionAudits().length;
    const tok = await fleet.token({ sub: 'agent-h6', roles: ['operator'], scope: 'mcp:approve' });
    for (const bad of [
      'APPROVED-BY-CFO-routine-cleanup-1',
      'x'.repeat(64),
      '00000000-0000-4000-8000-00000000000g',
    ]) {
      const r = await api('POST', `/approvals/${bad}/approve`, tok);
      expect(r.status).toBe(404);
    }
    expect(decisionAudits().length).toBe(before);
  });

  it('audits a bounded number of refused attempts per presenter, and counts every one', async () => {
    const tok = await fleet.token({ sub: 'agent-h6-burst', roles: ['operator'], scope: 'mcp:approve' });
    const countedBefore = await metric(fleet.replicas[0]!, 'mcp_approval_refused_attempts_total');
    for (let i = 0; i < 30; i++) {
      const r = await api('POST', `/approvals/${crypto.randomUUID()}/approve`, tok);
      expect(r.status).toBe(401);
    }
    const audited = decisionAudits().filter(
      (a) => (a.details.presentedBy as { subject?: string } | undefined)?.subject === 'agent-h6-burst',
    );
    expect(audited.length).toBeGreaterThan(0);
    expect(audited.length).toBeLessThanOrEqual(10);
    expect((await metric(fleet.replicas[0]!, 'mcp_approval_refused_attempts_total')) - countedBefore).toBe(
      30,
    );
    expect(
      await metric(fleet.replicas[0]!, 'mcp_approval_refused_attempts_total', { audited: 'false' }),
    ).toBeGreaterThanOrEqual(20);
  });
});

describe('7. an approved, unused request can be withdrawn', () => {
  it('lets an approver deny an approved request until it is used; audited as a revocation', async () => {
    const c = await agent({ sub: 'agent-h7', user: 'nia' });
    const args = { payment: 'pay_h7', amount: 5 };
    const id = approvalIdOf((await c.callTool('refund_payment', args)) as Result);
    expect((await api('POST', `/approvals/${id}/approve`, await approver('human-alice'))).status).toBe(200);
    const revoked = await api('POST', `/approvals/${id}/deny`, await approver('human-bob'));
    expect(revoked.status).toBe(200);
    expect(revoked.body).toMatchObject({
      status: 'denied',
      revokedBy: 'human-bob',
      decidedBy: 'human-alice',
    });
    expect(
      decisionAudits()
        .filter((a) => a.details.approvalId === id)
        .map((a) => [a.method, a.outcome, a.details.revoked ?? false]),
    ).toEqual([
      ['approvals/approve', 'ok', false],
      ['approvals/deny', 'ok', true],
    ]);
    const r = await c.callTool('refund_payment', { ...args, approval_id: id });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toMatch(/was denied by a human/);
    expect(refundsOf('pay_h7')).toBe(0);
    // Once used, there is nothing to withdraw.
    const used = approvalIdOf((await c.callTool('refund_payment', { ...args, amount: 6 })) as Result);
    expect((await api('POST', `/approvals/${used}/approve`, await approver())).status).toBe(200);
    expect(textOf(await c.callTool('refund_payment', { ...args, amount: 6, approval_id: used }))).toMatch(
      /refunded 6/,
    );
    const late = await api('POST', `/approvals/${used}/deny`, await approver('human-bob'));
    expect([late.status, late.body.error]).toEqual([409, 'already_decided']);
    await c.close();
  });
});
