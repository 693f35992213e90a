// The flow guard across replicas (issue 17): `pnpm start --replicas 2` with REDIS_URL runs each server
// as two processes sharing Redis; an agent session's reads made on one process hold its send on
// another. Each call is addressed to one replica directly (its internal port, as `fleet start` prints
// it), and each replica's own /metrics proves which process ran it: the read on one, the send on the
// other — across servers (database → communication) and on two replicas of the SAME server (a
// communication read labelled by this test's policy, then a send on the other communication replica).
import { randomUUID } from 'node:crypto';
import { eventually, testRedisUrl } from '@mcp-fleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AgentSession,
  agentSession,
  auditOf,
  callAt,
  emailsWithSubject,
  type FlowFleet,
  PARTNER_ADDRESS,
  policyFile,
  type Replica,
  redisKeys,
  replicaCount,
  smtpRequests,
  startFlowFleet,
} from './flow/harness.js';

const RUN = randomUUID().slice(0, 8);
/** This test's own rule: a session that read `confidential` data may not send outside without approval. */
const RULE = 'e2e-confidential-external';
/** The communication read whose results this test's policy labels `confidential`. */
const READ = 'slack_read_channel';

/** The example policy plus a label on communication's channel reads and a rule on it. */
function replicaPolicy(): string {
  return policyFile((p) => {
    p.flow ??= {};
    p.flow.labels ??= {};
    p.flow.labels.tools ??= {};
    const key = `communication/${READ}`;
    p.flow.labels.tools[key] = [...new Set([...(p.flow.labels.tools[key] ?? []), 'confidential'])];
    p.flow.rules ??= [];
    p.flow.rules.push({
      name: RULE,
      description: 'e2e: a session that read a confidential channel sends nothing outside without approval',
      after: ['confidential'],
      to: 'external',
      action: 'approval',
    });
  });
}

let f: FlowFleet;
let dbReplicas: Replica[];
let commReplicas: Replica[];

beforeAll(async () => {
  f = await startFlowFleet({
    policy: replicaPolicy(),
    only: ['database', 'communication'],
    replicas: 2,
    redisUrl: testRedisUrl(),
  });
  dbReplicas = f.replicas.database ?? [];
  commReplicas = f.replicas.communication ?? [];
}, 300_000);
afterAll(async () => {
  if (f) expect(await f.close()).toBe(0);
}, 60_000);

const session = (name: string) =>
  agentSession(f, { agent: 'e2e-flow-replicas', role: 'admin', session: `${name}-${RUN}`, user: 'bob' });

/** Calls `tool` on replica `r` and proves that process ran it: its own counter of the tool grew by one, the other replica's did not. */
async function onReplica(
  replicas: Replica[],
  i: number,
  s: AgentSession,
  tool: string,
  args: Record<string, unknown>,
) {
  const match = `tool="${tool}"`;
  const before = await Promise.all(replicas.map((r) => replicaCount(r, 'mcp_tool_calls_total', match)));
  const out = await callAt(replicas[i]!.mcp, s, tool, args);
  const expected = replicas.map((_, k) => (k === i ? 1 : 0));
  const delta = async () =>
    (await Promise.all(replicas.map((r) => replicaCount(r, 'mcp_tool_calls_total', match)))).map(
      (n, k) => n - before[k]!,
    );
  // The counter is bumped as the answer goes out: wait for the one count, then check the other stayed.
  await eventually(async () => (await delta())[i] === 1, 10_000);
  expect(await delta(), `${tool} ran on replica ${replicas[i]!.index} only`).toEqual(expected);
  return out;
}

describe('fleet start --replicas 2 with REDIS_URL: reads and sends on different processes', () => {
  it('starts two processes of each server, each addressable on its own port', () => {
    expect(
      dbReplicas.map((r) => r.index),
      f.fleet.output(),
    ).toEqual([1, 2]);
    expect(commReplicas.map((r) => r.index)).toEqual([1, 2]);
    for (const rs of [dbReplicas, commReplicas]) expect(rs[0]!.pid).not.toBe(rs[1]!.pid);
  });

  it('holds a send on communication replica 2 after a billing read on database replica 1; nothing reaches SMTP', async () => {
    const s = await session('cross-server');
    const read = await onReplica(dbReplicas, 0, s, 'run_query', {
      sql: 'SELECT customer_id, plan, mrr_cents FROM billing.subscriptions ORDER BY customer_id LIMIT 3',
    });
    expect(read.isError, read.text).toBe(false);
    const subject = `billing rows ${RUN} cross-server`;
    const smtpBefore = await smtpRequests(f);
    const held = await onReplica(commReplicas, 1, s, 'send_email', {
      to: PARTNER_ADDRESS,
      subject,
      text: JSON.stringify(read.data?.rows ?? []),
    });
    expect(held.code, held.text).toBe('awaiting_approval');
    const [rec] = await auditOf(f, s.session, 'send_email');
    expect(rec!.outcome).toBe('awaiting_approval');
    expect(rec!.decision_reason ?? '').toContain('database/run_query');
    expect(rec!.decision_reason ?? '').toContain('schema billing');
    expect(await smtpRequests(f)).toBe(smtpBefore);
    expect(await emailsWithSubject(f, subject)).toHaveLength(0);
  }, 120_000);

  for (const [readOn, sendOn] of [
    [0, 1],
    [1, 0],
  ] as const) {
    it(`holds a send on communication replica ${sendOn + 1} after a labelled read on communication replica ${readOn + 1} (the same server)`, async () => {
      const s = await session(`same-server-${readOn + 1}-${sendOn + 1}`);
      const read = await onReplica(commReplicas, readOn, s, READ, {
        channel: '#support-escalations',
        limit: 5,
      });
      expect(read.isError, read.text).toBe(false);
      const subject = `channel summary ${RUN} ${readOn + 1}->${sendOn + 1}`;
      const smtpBefore = await smtpRequests(f);
      const held = await onReplica(commReplicas, sendOn, s, 'send_email', {
        to: PARTNER_ADDRESS,
        subject,
        text: 'A summary of what #support-escalations discussed this week.',
      });
      expect(held.code, held.text).toBe('awaiting_approval');
      const [rec] = await auditOf(f, s.session, 'send_email');
      expect(rec!.outcome).toBe('awaiting_approval');
      const reason = rec!.decision_reason ?? '';
      expect(reason).toContain(`flow rule "${RULE}"`);
      expect(reason).toContain(`communication/${READ}`);
      expect(reason).toContain('confidential');
      expect(await smtpRequests(f)).toBe(smtpBefore);
      expect(await emailsWithSubject(f, subject)).toHaveLength(0);
    }, 120_000);
  }

  it("keeps the sessions' reads in the shared Redis (under this fleet's key prefix)", async () => {
    const prefix = f.fleet.env.REDIS_KEY_PREFIX!;
    const keys = await redisKeys(f.fleet.env.REDIS_URL!, `${prefix}*flow:*:reads`);
    // One per session that read something: the cross-server one and the two same-server ones.
    expect(keys.length, keys.join(', ')).toBeGreaterThanOrEqual(3);
  });

  it('sends the same email from a session that read nothing, on either replica', async () => {
    for (const i of [0, 1]) {
      const s = await session(`fresh-${i + 1}`);
      const subject = `channel summary ${RUN} fresh ${i + 1}`;
      const sent = await onReplica(commReplicas, i, s, 'send_email', {
        to: PARTNER_ADDRESS,
        subject,
        text: 'A summary of what #support-escalations discussed this week.',
      });
      expect(sent.isError, sent.text).toBe(false);
      expect(await emailsWithSubject(f, subject)).toHaveLength(1);
    }
  }, 120_000);
});
