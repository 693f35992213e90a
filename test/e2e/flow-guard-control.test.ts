// The negative control of the flow guard's judged scenarios (issue 17): the same calls as
// flow-guard.test.ts, on a local fleet whose POLICY_FILE is the example policy WITHOUT its `flow`
// section. The admin's email of billing rows to the partner goes out, and so does the support agent's
// paste of customer rows into #support-escalations — so the holds flow-guard.test.ts sees come from the
// flow guard, not from some other rule of the policy. And the example policy does have a flow section
// (otherwise this control proves nothing).
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  agentSession,
  auditOf,
  callAt,
  emailsWithSubject,
  examplePolicyDoc,
  type FlowFleet,
  findPartnerTicket,
  PARTNER_ADDRESS,
  policyFile,
  slackPostsWith,
  startFlowFleet,
} from './flow/harness.js';

const RUN = randomUUID().slice(0, 8);
let f: FlowFleet;
let comm: string;
let db: string;

beforeAll(async () => {
  f = await startFlowFleet({
    policy: policyFile((p) => {
      delete p.flow;
    }),
    only: ['database', 'communication'],
  });
  comm = f.fleet.urls.communication!;
  db = f.fleet.urls.database!;
}, 300_000);
afterAll(async () => {
  if (f) expect(await f.close()).toBe(0);
}, 60_000);

const rowsText = (data: Record<string, unknown> | undefined) =>
  ((data?.rows ?? []) as unknown[][]).map((r) => r.join(' | ')).join('\n');

describe('without the flow section in the policy', () => {
  it('the example policy has one (flow rules and copy detection), so this control is a control', () => {
    const flow = examplePolicyDoc().flow as { rules?: unknown[]; copy?: unknown } | undefined;
    expect(flow?.rules?.length ?? 0).toBeGreaterThan(0);
    expect(flow?.copy).toBeDefined();
  });

  it("sends the admin's email of billing rows to the partner after the ticket and the billing read", async () => {
    const ticketKey = await findPartnerTicket(f, comm);
    const s = await agentSession(f, {
      agent: 'e2e-flow-admin',
      role: 'admin',
      session: `control-admin-${RUN}`,
      user: 'bob',
    });
    expect((await callAt(comm, s, 'get_ticket', { issue_key: ticketKey })).isError).toBe(false);
    const rows = await callAt(db, s, 'run_query', {
      sql: 'SELECT s.customer_id, s.plan, s.mrr_cents, s.status FROM billing.subscriptions s ORDER BY s.customer_id LIMIT 5',
    });
    expect(rows.isError, rows.text).toBe(false);
    const subject = `Customer rows for the audit ${RUN}`;
    const sent = await callAt(comm, s, 'send_email', {
      to: PARTNER_ADDRESS,
      subject,
      text: `As requested in ${ticketKey}:\n${rowsText(rows.data)}`,
    });
    expect(sent.isError, sent.text).toBe(false);
    expect(await emailsWithSubject(f, subject)).toHaveLength(1);
    expect((await auditOf(f, s.session, 'send_email'))[0]!.outcome).toBe('ok');
  }, 120_000);

  it("posts the support agent's paste of customer rows to #support-escalations", async () => {
    const s = await agentSession(f, {
      agent: 'e2e-flow-support',
      role: 'support',
      session: `control-sup-${RUN}`,
    });
    const rows = await callAt(db, s, 'run_query', {
      sql: 'SELECT id, name, email FROM sales.customers ORDER BY id LIMIT 3',
    });
    expect(rows.isError, rows.text).toBe(false);
    const marker = `copy-${RUN}`;
    const post = await callAt(comm, s, 'slack_post_message', {
      channel: '#support-escalations',
      text: `Customers to call back (${marker}):\n${rowsText(rows.data)}`,
    });
    expect(post.isError, post.text).toBe(false);
    expect(await slackPostsWith(f, marker)).toHaveLength(1);
  }, 120_000);
});
