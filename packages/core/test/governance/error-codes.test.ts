// Errors as a contract: every code of the call-error catalogue (kernel/errors.ts) that a tools/call
// can reach is driven here through a real server, and must appear both in the result's
// `_meta["io.mcp-fleet/error"].code` and in that call's audit record (`details.errorCode`). The cases
// are generated from the catalogue: a code added without a way to reach it fails this test.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { createTestDatabase } from '@mcp-fleet/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CALL_ERRORS, type CallErrorCode, FLEET_ERRORS } from '../../src/kernel/errors.js';
import { ERROR_META_KEY } from '../../src/kernel/meta-keys.js';
import { REFUSAL_CODES } from '../../src/pipeline/refusals.js';
import { SuspensionStore } from '../../src/suspensions/suspension-store.js';
import { callMsg, rpc } from '../helpers.js';
import { type AuditLine, Fleet, govPolicy, metric } from './harness.js';

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let fleet: Fleet; // with the fleet database
let bare: Fleet; // without one: approvals are unavailable
let dead: Fleet; // its fleet database is unreachable: stores and the audit store are down
let flowDb: Awaited<ReturnType<typeof createTestDatabase>>;
let flowed: Fleet; // a policy with a flow section: echo_caller's results are `secret`
let flowDown: Fleet; // the same, its session taint tables unreachable
/** Flow guard (issue 17): a session that read `secret` may not move funds. */
const flowPolicy = {
  ...govPolicy,
  flow: {
    labels: { tools: { echo_caller: ['secret'] } },
    rules: [
      {
        name: 'secret-transfers',
        after: ['secret'],
        to: 'mutating',
        tools: ['transfer_funds'],
        action: 'deny',
      },
    ],
  },
};
beforeAll(async () => {
  db = await createTestDatabase();
  fleet = await Fleet.start({
    databaseUrl: db.url,
    env: {
      TOOL_CANCEL_GRACE_MS: '100',
      APPROVAL_MAX_PENDING_PER_AGENT: '1',
      APPROVAL_MAX_ARGUMENT_BYTES: '1024',
    },
  });
  bare = await Fleet.start();
  dead = await Fleet.start({
    databaseUrl: 'postgres://postgres@127.0.0.1:1/none',
    env: { MIGRATE_ON_START: 'false' },
  });
  flowed = await Fleet.start({ databaseUrl: db.url, policy: flowPolicy });
  flowDb = await createTestDatabase();
  flowDown = await Fleet.start({ databaseUrl: flowDb.url, policy: flowPolicy });
  const pool = new pg.Pool({ connectionString: flowDb.url, max: 1 });
  await pool.query('ALTER TABLE flow_labels RENAME TO flow_labels_away');
  await pool.end();
});
afterAll(async () => {
  await fleet?.close();
  await bare?.close();
  await dead?.close();
  await flowed?.close();
  await flowDown?.close();
  await db?.drop?.();
  await flowDb?.drop?.();
});

interface Call {
  result: { isError?: boolean; _meta?: Record<string, unknown>; content: { text: string }[] } | undefined;
  audit: AuditLine | undefined;
}

/** Calls a tool over HTTP as a fresh agent with `roles`; returns the result and that call's audit line. */
async function call(
  on: Fleet,
  roles: string[],
  name: string,
  args: Record<string, unknown>,
  o: { agent?: string; before?: (agent: string, token: string) => Promise<void> } = {},
): Promise<Call> {
  const agent = o.agent ?? `ec-${randomUUID().slice(0, 8)}`;
  const token = await on.token({ sub: agent, roles });
  await o.before?.(agent, token);
  const r = await rpc(on.replicas[0]!.url, callMsg(name, args, 7), { authorization: `Bearer ${token}` });
  const audit = await lastAudit(on, agent, name);
  return { result: r.body.result, audit };
}

async function lastAudit(on: Fleet, agent: string, tool: string): Promise<AuditLine | undefined> {
  for (let i = 0; i < 200; i++) {
    const line = on.audit.filter((a) => a.agentId === agent && a.tool === tool).at(-1);
    if (line && line.outcome !== 'started') return line;
    await sleep(10);
  }
  return undefined;
}

const as = (agent: string, roles: string[], name: string, args: Record<string, unknown>) =>
  fleet
    .token({ sub: agent, roles })
    .then((token) =>
      rpc(fleet.replicas[0]!.url, callMsg(name, args, 3), { authorization: `Bearer ${token}` }),
    );

/** How to make a call end with each code. Exhaustive over the catalogue (the type says so). */
const REACH: Record<CallErrorCode, () => Promise<Call>> = {
  invalid_arguments: () => call(fleet, ['reader'], 'echo_caller', { text: 5 }),
  agent_suspended: () =>
    call(
      fleet,
      ['reader'],
      'echo_caller',
      {},
      {
        before: async (agent) => {
          const pool = new pg.Pool({ connectionString: db.url });
          await new SuspensionStore(pool).suspend({
            agentId: agent,
            tenant: null,
            reason: 'error catalogue',
            by: { subject: 'ops', issuer: null },
          });
          await pool.end();
          await fleet.replicas[0]!.server.runtime.governance.suspensions!.reload();
        },
      },
    ),
  constraint_denied: () => call(fleet, ['zoner'], 'check_zone', { zone: 'us' }),
  rate_limited: () =>
    call(
      fleet,
      ['throttled'],
      'echo_caller',
      {},
      {
        before: async (agent) => {
          for (let i = 0; i < 3; i++) await as(agent, ['throttled'], 'echo_caller', {});
        },
      },
    ),
  budget_exceeded: () =>
    call(
      fleet,
      ['spender'],
      'run_expensive_query',
      { q: 'x' },
      {
        before: async (agent) => {
          for (let i = 0; i < 3; i++) await as(agent, ['spender'], 'run_expensive_query', { q: 'x' });
        },
      },
    ),
  awaiting_approval: () => call(fleet, ['operator'], 'refund_payment', { payment: 'p-1', amount: 1 }),
  approval_refused: () =>
    call(fleet, ['operator'], 'refund_payment', { payment: 'p-2', amount: 1, approval_id: randomUUID() }),
  too_many_pending: () =>
    call(
      fleet,
      ['operator'],
      'refund_payment',
      { payment: 'p-4', amount: 1 },
      {
        before: async (agent) =>
          void (await as(agent, ['operator'], 'refund_payment', { payment: 'p-3', amount: 1 })),
      },
    ),
  arguments_too_large: () =>
    call(fleet, ['operator'], 'refund_payment', { payment: 'p'.repeat(2_000), amount: 1 }),
  approvals_unavailable: () => call(bare, ['operator'], 'refund_payment', { payment: 'p-5', amount: 1 }),
  idempotency_conflict: () =>
    call(
      fleet,
      ['operator'],
      'transfer_funds',
      { account: 'b', amount: 2, idempotency_key: 'ec-conflict-1' },
      {
        before: async (agent) =>
          void (await as(agent, ['operator'], 'transfer_funds', {
            account: 'a',
            amount: 1,
            idempotency_key: 'ec-conflict-1',
          })),
      },
    ),
  idempotency_in_progress: () =>
    call(
      fleet,
      ['operator'],
      'slow_transfer',
      { account: 'c', holdMs: 0, idempotency_key: 'ec-busy-1' },
      {
        before: async (agent) => {
          await as(agent, ['operator'], 'slow_transfer', {
            account: 'c',
            holdMs: 0,
            idempotency_key: 'ec-busy-1',
          });
          // Its key now held by a call of another replica, still running with a long lease: what a
          // concurrent retry sees (it waits its timeout + 5 s for a result, then answers "in progress").
          const pool = new pg.Pool({ connectionString: db.url, max: 1 });
          await pool.query(
            `UPDATE idempotency_records SET state = 'running', outcome = NULL, result = NULL,
             audit_id = gen_random_uuid(), lease_until = now() + interval '1 hour' WHERE key = 'ec-busy-1'`,
          );
          await pool.end();
        },
      },
    ),
  idempotency_unknown: () =>
    call(
      fleet,
      ['operator'],
      'slow_transfer',
      { account: 'd', holdMs: 1_000, idempotency_key: 'ec-unknown-1' },
      {
        before: async (agent) =>
          void (await as(agent, ['operator'], 'slow_transfer', {
            account: 'd',
            holdMs: 1_000,
            idempotency_key: 'ec-unknown-1',
          })),
      },
    ),
  store_unavailable: () => call(dead, ['operator'], 'refund_payment', { payment: 'p-6', amount: 1 }),
  audit_unavailable: () => call(dead, ['operator'], 'transfer_funds', { account: 'e', amount: 1 }),
  flow_denied: () =>
    call(
      flowed,
      ['operator'],
      'transfer_funds',
      { account: 'g', amount: 1 },
      {
        before: async (_agent, token) =>
          void (await rpc(flowed.replicas[0]!.url, callMsg('echo_caller', {}, 2), {
            authorization: `Bearer ${token}`,
          })),
      },
    ),
  flow_unavailable: () => call(flowDown, ['reader'], 'echo_caller', {}),
  timeout: () => call(fleet, ['reader'], 'wait_slowly', { ms: 10_000 }),
  cancelled: () => cancelledCall(),
  outcome_unknown: () => call(fleet, ['operator'], 'slow_transfer', { account: 'f', holdMs: 1_000 }),
  tool_error: () => call(fleet, ['reader'], 'find_customer', { id: 'missing-1' }),
  internal: () => call(fleet, ['reader'], 'find_customer', { id: 'crash-1' }),
};

/** A call its client drops while it runs: no result reaches anyone, so only the audit record is checked. */
async function cancelledCall(): Promise<Call> {
  const agent = `ec-${randomUUID().slice(0, 8)}`;
  const token = await fleet.token({ sub: agent, roles: ['reader'] });
  const ctl = new AbortController();
  const req = fetch(fleet.replicas[0]!.url, {
    method: 'POST',
    signal: ctl.signal,
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2025-11-25',
    },
    body: JSON.stringify(callMsg('run_long_task', { ms: 15_000 }, 9)),
  }).catch(() => undefined);
  await sleep(300);
  ctl.abort();
  await req;
  return { result: undefined, audit: await lastAudit(fleet, agent, 'run_long_task') };
}

/** mcp_refusals_total{reason} summed over every server of this file, read from their /metrics. */
async function refusals(reason: string): Promise<number> {
  let n = 0;
  for (const f of [fleet, bare, dead, flowed, flowDown])
    for (const s of f.replicas) n += await metric(s, 'mcp_refusals_total', { reason });
  return n;
}

describe('every call error code reaches the result _meta and the audit record', () => {
  for (const code of Object.keys(CALL_ERRORS) as CallErrorCode[]) {
    it(code, async () => {
      const refusedBefore = await refusals(code);
      const { result, audit } = await REACH[code]();
      // /metrics counts it by reason exactly when the catalogue's classification says it is a refusal.
      const counted = (await refusals(code)) - refusedBefore;
      if (REFUSAL_CODES[code]) expect(counted, 'mcp_refusals_total').toBeGreaterThanOrEqual(1);
      else expect(counted, 'mcp_refusals_total').toBe(0);
      if (code !== 'cancelled') {
        expect(result?._meta?.[ERROR_META_KEY], JSON.stringify(result)).toEqual({ code });
      }
      expect(audit?.details?.errorCode, JSON.stringify(audit)).toBe(code);
      expect(audit?.outcome).toBe(CALL_ERRORS[code].outcome);
    });
  }
});

describe('JSON-RPC errors carry their catalogue code', () => {
  it('a tool that is not available: error.data.code, the catalogue JSON-RPC code, and the audit record', async () => {
    const agent = `ec-${randomUUID().slice(0, 8)}`;
    const token = await fleet.token({ sub: agent, roles: ['reader'] });
    const r = await rpc(fleet.replicas[0]!.url, callMsg('refund_payment', { payment: 'x', amount: 1 }), {
      authorization: `Bearer ${token}`,
    });
    expect(r.body.error).toMatchObject({
      code: FLEET_ERRORS.FLEET_ERR_TOOL_NOT_AVAILABLE.rpc,
      data: { code: 'FLEET_ERR_TOOL_NOT_AVAILABLE' },
    });
    expect((await lastAudit(fleet, agent, 'refund_payment'))?.details?.errorCode).toBe(
      'FLEET_ERR_TOOL_NOT_AVAILABLE',
    );
    expect(
      await metric(fleet.replicas[0]!, 'mcp_refusals_total', {
        tool: 'refund_payment',
        reason: 'FLEET_ERR_TOOL_NOT_AVAILABLE',
      }),
    ).toBeGreaterThanOrEqual(1);
  });

  it('a refused Host header and a missing token name their codes', async () => {
    const host = await rpc(fleet.replicas[0]!.url, callMsg('echo_caller'), { host: 'evil.example' });
    expect(host.status).toBe(FLEET_ERRORS.FLEET_ERR_HOST_REJECTED.status);
    expect(host.body.error.data).toEqual({ code: 'FLEET_ERR_HOST_REJECTED' });
    const anon = await rpc(fleet.replicas[0]!.url, callMsg('echo_caller'));
    expect(anon.status).toBe(401);
    expect(anon.body.code).toBe('FLEET_ERR_AUTH_MISSING');
  });
});
