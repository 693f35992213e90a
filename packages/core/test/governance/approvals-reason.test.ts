// Why a call was held reaches the person deciding it wherever they decide (issue 17): the approvals
// API's JSON and `fleet approvals list|show` carry the request's reason — the policy reason and each
// hold reason, here a flow rule naming the session's earlier read — stored on the request when it is
// opened (migration 0034), so it does not wait for the audit record. Requests opened before it show
// their audit record's reason, or say that none is recorded.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { defineTool, type ServerDefinition } from '@mcp-fleet/core';
import { type BootedServer, bootServer, createTestDatabase, DevIssuer } from '@mcp-fleet/testkit';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { runApprovals } from '../../../cli/src/commands/approvals.js';
import { ApprovalStore, storedReason } from '../../src/approvals/approval-store.js';
import { MAX_REASON_CHARS } from '../../src/approvals/approval-view.js';
import { createFleetPool } from '../../src/db/fleet-db.js';
import { createLogger } from '../../src/observability/logger.js';
import type { Step } from '../../src/pipeline/runtime.js';
import { callMsg, rpc } from '../helpers.js';
import { type AuditLine as Line, textOf } from './harness.js';

type AuditLine = Line & { decisionReason: string };

const sent: { to: string; body: string }[] = [];
let deleted = 0;

const runQuery = defineTool({
  name: 'run_query',
  title: 'Run query',
  description: 'Reads the rows of one schema of the warehouse.',
  input: z.object({ schema: z.string() }),
  governance: { readOnly: true },
  handler: async ({ schema }, ctx) => {
    ctx.source('schema', schema);
    return { data: { rows: [{ name: 'Acme Corp', mrr: 1200.5 }] } };
  },
});
const sendEmail = defineTool({
  name: 'send_email',
  title: 'Send email',
  description: 'Sends an email to one address with a body of text.',
  input: z.object({ to: z.string(), body: z.string() }),
  governance: { readOnly: false },
  handler: async ({ to, body }) => {
    sent.push({ to, body });
    return { text: `sent to ${to}` };
  },
});
const deleteThing = defineTool({
  name: 'delete_thing',
  title: 'Delete thing',
  description: 'Deletes one thing by its id, for good.',
  input: z.object({ id: z.string() }),
  governance: { readOnly: false, destructive: true },
  handler: async () => {
    deleted += 1;
    return { text: 'deleted' };
  },
});

/** The server's outbound step: an e-mail address outside example.com is an external destination. */
const outbound: Step = async (c, next) => {
  if (c.tool.name === 'send_email') {
    const { to, body } = c.args as { to: string; body: string };
    c.outbound({
      destinations: [{ id: `email:${to}`, to: to.endsWith('@example.com') ? 'internal' : 'external' }],
      content: [body],
    });
  }
  return next();
};

const reasonServer: ServerDefinition<undefined> = {
  name: 'reasontest',
  version: '0.0.1',
  defaultPort: 7497,
  tools: [runQuery, sendEmail, deleteThing],
  steps: [{ at: 'checks', step: outbound }],
};
const policy = {
  version: 1,
  roles: { operator: { grants: [{ servers: ['reasontest'], tools: ['*'] }] } },
  flow: {
    internal: { emailDomains: ['example.com'] },
    labels: { sources: { 'reasontest.schema': { billing: ['financial'] } } },
    rules: [{ name: 'financial-external', after: ['financial'], to: 'external', action: 'approval' }],
  },
};

let issuer: DevIssuer;
let server: BootedServer;
let db: { url: string; drop: () => Promise<void> };
let pool: pg.Pool;
const audit: AuditLine[] = [];
beforeAll(async () => {
  db = await createTestDatabase('fleet_gov_appr_reason');
  issuer = await DevIssuer.create();
  await issuer.listen();
  server = await bootServer(reasonServer, {
    policy,
    issuer,
    databaseUrl: db.url,
    env: { AUDIT_STDOUT: 'true' },
    serverOptions: { auditWrite: (line) => audit.push(JSON.parse(line) as AuditLine) },
  });
  pool = createFleetPool(db.url, createLogger({ level: 'silent' }), 2);
});
afterAll(async () => {
  await pool?.end();
  await server?.close();
  await issuer?.close();
  await db?.drop();
});

const approverToken = () => issuer.mintApprover({ sub: 'human-rita', aud: `${server.baseUrl}/approvals` });

/** One agent session (the token's sid is the flow guard's session). */
function session() {
  const sid = randomUUID();
  let n = 0;
  return async (name: string, args: Record<string, unknown>) => {
    const token = await server.token({ sub: 'agent-r', roles: ['operator'], sid });
    n += 1;
    const r = await rpc(server.url, callMsg(name, args, n), { authorization: `Bearer ${token}` });
    if (!r.body?.result) throw new Error(`no result: ${r.status} ${r.text.slice(0, 300)}`);
    return r.body.result as { content: { type: string; text: string }[]; isError?: boolean };
  };
}

/** The audit record of the call that opened request `id` (written after the answer: waited for). */
async function openingRecord(id: string): Promise<AuditLine | undefined> {
  for (let i = 0; i < 300; i++) {
    const found = audit.find((a) => a.method === 'tools/call' && a.details?.approvalId === id);
    if (found) return found;
    await sleep(10);
  }
  return undefined;
}

const approvalIdOf = (result: { content: { type: string; text: string }[] }) =>
  /Approval id: ([0-9a-f-]{36})/.exec(textOf(result))?.[1];

async function api(path: string, method: 'GET' | 'POST' = 'GET') {
  const res = await fetch(`${server.baseUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${await approverToken()}`,
      ...(method === 'POST' ? { 'content-type': 'application/json' } : {}),
    },
    ...(method === 'POST' ? { body: '{}' } : {}),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function cli(argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runApprovals([...argv, '--url', server.url], {
    env: { FLEET_APPROVER_TOKEN: await approverToken() },
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
  });
  return { code, stdout, stderr };
}

const FLOW_REASON =
  /flow rule "financial-external": this session read financial data \(reasontest\/run_query at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ, schema billing\) and send_email sends outside the company \(email:audit@partner\.example\)/;

describe('why a call was held', () => {
  it('a send held by a flow rule: the API and `fleet approvals list|show` name the rule and the earlier read', async () => {
    const call = session();
    expect((await call('run_query', { schema: 'billing' })).isError).toBeUndefined();
    const before = sent.length;
    const held = await call('send_email', { to: 'audit@partner.example', body: 'the summary' });
    const id = approvalIdOf(held);
    expect(id, textOf(held)).toBeDefined();
    expect(sent.length).toBe(before);

    // The API: one request and the list, the rule's reason as the audit record states it.
    const one = await api(`/approvals/${id}`);
    expect(one.status).toBe(200);
    expect(one.body.reason).toMatch(FLOW_REASON);
    expect(one.body.reason).toMatch(/; approval: flow rule "financial-external"/);
    const record = await openingRecord(id!);
    expect(record).toMatchObject({ tool: 'send_email', outcome: 'awaiting_approval' });
    expect(record?.decisionReason).toBe(one.body.reason);
    const listed = (await api('/approvals?status=pending&limit=1000')).body.approvals as {
      id: string;
      reason: string | null;
    }[];
    expect(listed.find((a) => a.id === id)?.reason).toBe(one.body.reason);

    // The CLI: `show` and `list` print it on its own line; --json carries it.
    const shown = await cli(['show', id!]);
    expect(shown.code, shown.stderr).toBe(0);
    const line = shown.stdout.split('\n').find((l) => l.startsWith('    held because: '));
    expect(line).toMatch(FLOW_REASON);
    expect((await cli(['list'])).stdout).toMatch(FLOW_REASON);
    expect(JSON.parse((await cli(['show', id!, '--json'])).stdout).reason).toBe(one.body.reason);

    // Deciding still works as before; the approved send runs once.
    const approved = await api(`/approvals/${id}/approve`, 'POST');
    expect(approved.status).toBe(200);
    expect(approved.body.reason).toBe(one.body.reason);
    const ran = await call('send_email', {
      to: 'audit@partner.example',
      body: 'the summary',
      approval_id: id,
    });
    expect(textOf(ran)).toBe('sent to audit@partner.example');
    expect(sent.length).toBe(before + 1);
  });

  it('a call held by policy alone shows the policy reason; the same call in a fresh session without the read is not held', async () => {
    const gone = deleted;
    const held = await session()('delete_thing', { id: 'x-1' });
    const id = approvalIdOf(held);
    expect(id, textOf(held)).toBeDefined();
    expect(deleted).toBe(gone);
    const one = await api(`/approvals/${id}`);
    expect(one.body.reason).toBe('granted by role operator');
    const record = await openingRecord(id!);
    expect(record?.decisionReason).toBe(one.body.reason);
    const before = sent.length;
    const free = await session()('send_email', { to: 'audit@partner.example', body: 'hello' });
    expect(free.isError).toBeUndefined();
    expect(sent.length).toBe(before + 1);
  });
});

describe('the stored reason', () => {
  const store = () => new ApprovalStore(pool);
  const open = (o: { reason?: string | null; auditId?: string; args?: string }) =>
    store().request({
      server: 'reasontest',
      tool: 'delete_thing',
      argsHash: `h-${o.args ?? randomUUID()}`,
      argumentsJson: `{"id":"${o.args ?? 'x'}"}`,
      caller: { agentId: 'agent-s', tenant: null, user: null },
      session: 's-1',
      roles: ['operator'],
      ttlSeconds: 600,
      auditId: o.auditId ?? randomUUID(),
      ...(o.reason !== undefined ? { reason: o.reason } : {}),
    });
  const idOf = (r: Awaited<ReturnType<typeof open>>) => {
    if ('refused' in r) throw new Error('refused');
    return r;
  };

  it('a retry that finds the open request stores the latest reason; one without a reason keeps it', async () => {
    const first = idOf(await open({ args: 'retry', reason: 'policy; approval: first' }));
    const again = idOf(await open({ args: 'retry', reason: 'policy; approval: second' }));
    expect(again).toMatchObject({ id: first.id, reused: true });
    expect((await store().get(first.id))?.reason).toBe('policy; approval: second');
    idOf(await open({ args: 'retry' }));
    expect((await store().get(first.id))?.reason).toBe('policy; approval: second');
  });

  it('a request opened before reasons were stored shows its audit record reason, or null without one', async () => {
    const auditId = randomUUID();
    await pool.query(
      `INSERT INTO audit_records (id, ts, server, request_id, method, decision, decision_reason, outcome)
       VALUES ($1, now(), 'reasontest', 'r-1', 'tools/call', 'allow', 'from the audit record', 'awaiting_approval')`,
      [auditId],
    );
    const old = idOf(await open({ auditId }));
    expect((await store().get(old.id))?.reason).toBe('from the audit record');
    const listed = await store().list({ server: 'reasontest', status: 'pending' });
    expect(listed.find((a) => a.id === old.id)?.reason).toBe('from the audit record');
    const none = idOf(await open({}));
    expect((await store().get(none.id))?.reason).toBeNull();
    const shown = await cli(['list', '--status', 'pending']);
    expect(shown.stdout).toContain('held because: (not recorded');
  });

  it('is storable text, cut with a mark when longer than the bound', async () => {
    expect(storedReason('a\u0000b')).toBe('a\\u0000b');
    expect(storedReason('')).toBeNull();
    const long = storedReason(`x${'y'.repeat(MAX_REASON_CHARS * 2)}`)!;
    expect(long.length).toBeLessThanOrEqual(MAX_REASON_CHARS);
    expect(long).toMatch(/… \[\d+ chars\]$/);
    const nul = idOf(await open({ reason: 'held: email:\u0000evil@x.example' }));
    expect((await store().get(nul.id))?.reason).toBe('held: email:\\u0000evil@x.example');
  });
});
