// A server's own governance steps at the chain's named slots, and its mapError: a `checks` step runs
// after admission and can refuse before anything is counted or run; a `beforeApproval` step runs before
// a destructive call is put up for approval, and when it refuses no request is opened (no human is
// asked about a call that would fail); a `beforeExecute` step runs after
// the idempotency claim and the approval use, right before the handler, and when it refuses, what the
// chain holds is given back (the key stays usable). mapError turns a driver's error into a coded one.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { ToolError } from '@mcp-fleet/core';
import { type BootedServer, bootServer, createTestDatabase, DevIssuer } from '@mcp-fleet/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_META_KEY } from '../../src/kernel/meta-keys.js';
import { buildChain, SLOT_NAMES } from '../../src/pipeline/call-tool.js';
import type { Step } from '../../src/pipeline/runtime.js';
import { callMsg, rpc } from '../helpers.js';
import { AUDIENCE, type AuditLine, govPolicy, govServer, PUBLIC_URL, upstream } from './harness.js';

const seen: string[] = [];
const checks: Step = async (c, next) => {
  seen.push(`checks:${c.tool.name}`);
  if ((c.args as { text?: string }).text === 'forbidden')
    throw new ToolError('that destination is not allowed for this caller', 'destination_denied');
  return next();
};
const beforeApproval: Step = async (c, next) => {
  seen.push(`beforeApproval:${c.tool.name}:${c.approvalId ?? '-'}`);
  if ((c.args as { amount?: number }).amount === 999)
    throw new ToolError('999 is more than the refundable amount of this payment', 'amount_too_large');
  return next();
};
const beforeExecute: Step = async (c, next) => {
  seen.push(`beforeExecute:${c.tool.name}:${c.record.details?.idempotencyKey ? 'claimed' : '-'}`);
  if ((c.args as { account?: string }).account === 'blocked-once') {
    if (!seen.includes('blocked-once refused')) {
      seen.push('blocked-once refused');
      throw new ToolError('the vendor circuit is open; retry shortly', 'circuit_open');
    }
  }
  return next();
};

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let issuer: DevIssuer;
let server: BootedServer;
const audit: AuditLine[] = [];
beforeAll(async () => {
  db = await createTestDatabase();
  issuer = await DevIssuer.create();
  await issuer.listen();
  server = await bootServer(
    {
      ...govServer,
      steps: [
        { at: 'beforeExecute', step: beforeExecute },
        { at: 'beforeApproval', step: beforeApproval },
        { at: 'checks', step: checks },
      ],
      mapError: (err) =>
        err instanceof Error && err.message === 'upstream exploded'
          ? new ToolError('the customer service is down; retry in a minute', 'upstream_down')
          : undefined,
    },
    {
      policy: govPolicy,
      issuer,
      databaseUrl: db.url,
      env: { PUBLIC_URL, AUDIT_STDOUT: 'true' },
      serverOptions: { auditWrite: (line) => audit.push(JSON.parse(line) as AuditLine) },
    },
  );
});
afterAll(async () => {
  await server?.close();
  await issuer?.close();
  await db?.drop();
});

async function call(agent: string, roles: string[], name: string, args: Record<string, unknown>) {
  const token = await issuer.mint({ sub: agent, roles, aud: AUDIENCE });
  const r = await rpc(server.url, callMsg(name, args), { authorization: `Bearer ${token}` });
  for (let i = 0; i < 200 && !audit.some((a) => a.agentId === agent && a.outcome !== 'started'); i++)
    await sleep(10);
  return { result: r.body.result, audit: audit.filter((a) => a.agentId === agent).at(-1) };
}

describe('server steps at named slots', () => {
  it('a checks step refuses with its own code before the tool runs; the refusal is audited', async () => {
    const before = upstream.echo;
    const { result, audit: line } = await call(`st-${randomUUID()}`, ['reader'], 'echo_caller', {
      text: 'forbidden',
    });
    expect(result.isError).toBe(true);
    expect(result.content[0].text).toBe('that destination is not allowed for this caller');
    expect(result._meta[ERROR_META_KEY]).toEqual({ code: 'destination_denied' });
    expect(line).toMatchObject({
      outcome: 'denied',
      details: expect.objectContaining({ errorCode: 'destination_denied' }),
    });
    expect(upstream.echo).toBe(before);
    const ok = await call(`st-${randomUUID()}`, ['reader'], 'echo_caller', { text: 'fine' });
    expect(ok.result.isError).toBeUndefined();
    expect(upstream.echo).toBe(before + 1);
  });

  it('a beforeExecute step runs after the idempotency claim, and its refusal gives the key back', async () => {
    const agent = `st-${randomUUID()}`;
    const args = { account: 'blocked-once', amount: 1, idempotency_key: `k-${randomUUID()}` };
    const refused = await call(agent, ['operator'], 'transfer_funds', args);
    expect(refused.result._meta[ERROR_META_KEY]).toEqual({ code: 'circuit_open' });
    expect(seen).toContain('beforeExecute:transfer_funds:claimed');
    const transfers = upstream.transfers.length;
    // The same key again: not a replay of the refusal, the transfer runs now.
    const retried = await call(agent, ['operator'], 'transfer_funds', args);
    expect(retried.result.isError).toBeUndefined();
    expect(retried.result.content[0].text).toMatch(/^transferred 1 to blocked-once/);
    expect(upstream.transfers.length).toBe(transfers + 1);
  });

  it('a beforeApproval step that refuses opens no approval request; one that passes lets the call be held', async () => {
    const agent = `st-${randomUUID()}`;
    const payment = `pay-${randomUUID()}`;
    const requests = async () => {
      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      try {
        const { rows } = await client.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM approvals WHERE agent_id = $1`,
          [agent],
        );
        return rows[0]!.n;
      } finally {
        await client.end();
      }
    };
    const refunds = upstream.refunds.length;
    const refused = await call(agent, ['operator'], 'refund_payment', { payment, amount: 999 });
    expect(refused.result.isError).toBe(true);
    expect(refused.result._meta[ERROR_META_KEY]).toEqual({ code: 'amount_too_large' });
    expect(refused.audit).toMatchObject({ outcome: 'denied' });
    expect(seen).toContain('beforeApproval:refund_payment:-');
    expect(await requests()).toBe(0);
    const held = await call(agent, ['operator'], 'refund_payment', { payment, amount: 5 });
    expect(held.audit?.outcome).toBe('awaiting_approval');
    expect(await requests()).toBe(1);
    expect(upstream.refunds.length).toBe(refunds);
  });

  it('mapError turns a handler error that is not a ToolError into a coded tool error', async () => {
    const { result, audit: line } = await call(`st-${randomUUID()}`, ['reader'], 'find_customer', {
      id: 'crash-1',
    });
    expect(result.content[0].text).toBe('the customer service is down; retry in a minute');
    expect(result._meta[ERROR_META_KEY]).toEqual({ code: 'upstream_down' });
    expect(line?.details?.errorCode).toBe('upstream_down');
  });
});

describe('the chain, built once per tool', () => {
  const tool = (readOnly: boolean) => govServer.tools.find((t) => t.governance.readOnly === readOnly)!;
  const mark = (name: string): Step =>
    Object.assign(async (_c: unknown, next: () => unknown) => next(), { mark: name }) as never;

  it('puts server steps in their slots, in the declared order, around core steps', () => {
    const a = mark('a');
    const b = mark('b');
    const m = mark('m');
    const chain = buildChain(tool(false), [
      { at: 'beforeExecute', step: b },
      { at: 'beforeApproval', step: m },
      { at: 'checks', step: a },
    ]);
    expect(chain[0]).toBe(a);
    expect(chain.at(-2)).toBe(b);
    // After the flow guard and limits (and the cache, for reads), right before the approval request.
    expect(chain.indexOf(m)).toBe(3);
    expect(SLOT_NAMES).toEqual(['checks', 'beforeApproval', 'beforeExecute']);
  });

  it('gives a read-only tool fewer steps than a mutating one (no idempotency or audit-before-mutation)', () => {
    expect(buildChain(tool(true), []).length).toBeLessThan(buildChain(tool(false), []).length);
  });

  it('refuses a slot that does not exist', () => {
    expect(() => buildChain(tool(true), [{ at: 'afterLunch' as never, step: mark('x') }])).toThrow(
      /no governance slot "afterLunch"/,
    );
  });
});
