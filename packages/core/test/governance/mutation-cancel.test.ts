// A mutation that a cancel or a timeout cannot stop (no ctx.commit() point declared) is answered and
// recorded as what really happened: the pipeline aborts its signal, then waits for the handler. If the
// handler has not settled within the grace period the outcome is `unknown`, and the idempotency key
// stays claimed as "outcome unknown": a retry never replays a lie and never runs the mutation twice.
import { once } from 'node:events';
import { createTestDatabase } from '@mcp-fleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rpc } from '../helpers.js';
import { Fleet, slowTransfers, upstream } from './harness.js';

let fleet: Fleet;
let db: { url: string; drop: () => Promise<void> };
beforeAll(async () => {
  db = await createTestDatabase('fleet_gov_mutation_cancel');
  fleet = await Fleet.start({ count: 1, databaseUrl: db.url });
  await fleet.add({}, { sdkOnly: true });
});
afterAll(async () => {
  await fleet?.close();
  await db?.drop();
});

const paths = [
  ['fast path', 0],
  ['SDK path', 1],
] as const;

const call = (name: string, args: Record<string, unknown>, id: number) => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: { name, arguments: args },
});

async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((r) => setImmediate(r));
}

const auditOf = (agent: string, tool: string) =>
  fleet.audit.filter((a) => a.agentId === agent && a.tool === tool && a.method === 'tools/call');

describe.each(paths)('a mutation cancelled after it started (%s)', (_label, replica) => {
  it('is answered and recorded as done, and the same key replays the truth without running again', async () => {
    const s = fleet.replicas[replica]!;
    const agent = `agent-cancel-${replica}`;
    const account = `acc-cancel-${replica}`;
    const token = await fleet.token({ sub: agent, roles: ['operator'], tenant: 'acme', user: 'ann' });
    const auth = { authorization: `Bearer ${token}` };
    const args = { account, amount: 5, idempotency_key: `k-cancel-${replica}` };
    const first = rpc(s.url, call('transfer_funds', args, 55), auth);
    // The transfer has reached the upstream; now the client cancels.
    await until(() => upstream.transfers.some((t) => t.account === account));
    const cancel = await rpc(
      s.url,
      {
        jsonrpc: '2.0',
        method: 'notifications/cancelled',
        params: { requestId: 55, reason: 'changed my mind' },
      },
      auth,
    );
    expect(cancel.status).toBe(202);
    const r = await first;
    expect(r.body.result.isError).toBeFalsy();
    expect(r.body.result.content[0].text).toMatch(/^transferred 5 to acc-cancel/);
    const rec = auditOf(agent, 'transfer_funds').at(-1)!;
    expect(rec.outcome).toBe('ok');
    expect(rec.details).toMatchObject({ cancelRequested: true, cancelledBy: 'notification' });

    const again = await rpc(s.url, call('transfer_funds', args, 56), auth);
    expect(again.body.result.isError).toBeFalsy();
    expect(again.body.result.content[0].text).toMatch(/^transferred 5 to acc-cancel/);
    expect(again.body.result._meta['io.mcp-fleet/replayed']).toBe(true);
    expect(upstream.transfers.filter((t) => t.account === account)).toHaveLength(1);
  });

  it('records a timed-out mutation that then finished within the grace period as ok, timedOut', async () => {
    const s = fleet.replicas[replica]!;
    const agent = `agent-late-${replica}`;
    const account = `acc-late-${replica}`;
    const token = await fleet.token({ sub: agent, roles: ['operator'], tenant: 'acme' });
    // Times out at 50 ms; finishes at 70 ms, inside the grace period (the tool's timeout again).
    const r = await rpc(s.url, call('slow_transfer', { account, holdMs: 70 }, 1), {
      authorization: `Bearer ${token}`,
    });
    expect(r.body.result.isError).toBeFalsy();
    expect(r.body.result.content[0].text).toBe(`transferred to ${account}`);
    const rec = auditOf(agent, 'slow_transfer').at(-1)!;
    expect(rec.outcome).toBe('ok');
    expect(rec.details).toMatchObject({ timedOut: true });
  });

  it('says the outcome is unknown when the handler outlives the grace period; the key stays "unknown"', async () => {
    const s = fleet.replicas[replica]!;
    const agent = `agent-unknown-${replica}`;
    const account = `acc-unknown-${replica}`;
    const token = await fleet.token({ sub: agent, roles: ['operator'], tenant: 'acme' });
    const auth = { authorization: `Bearer ${token}` };
    const args = { account, holdMs: 600, idempotency_key: `k-unknown-${replica}` };
    const settled = once(slowTransfers.settled, account);
    const r = await rpc(s.url, call('slow_transfer', args, 1), auth);
    expect(r.body.result.isError).toBe(true);
    expect(r.body.result.content[0].text).toMatch(/unknown/i);
    expect(r.body.result.content[0].text).not.toMatch(/was cancelled|did not run|was not performed/);
    const rec = auditOf(agent, 'slow_transfer').at(-1)!;
    expect(rec.outcome).toBe('unknown');
    expect(rec.details).toMatchObject({ handlerStillRunning: true, timedOut: true });

    // While the first call is still running, and after it finished: never a replay, never a second run.
    for (const when of ['running', 'finished']) {
      if (when === 'finished') await settled;
      const again = await rpc(s.url, call('slow_transfer', args, 2), auth);
      expect(again.body.result.isError, when).toBe(true);
      expect(again.body.result.content[0].text, when).toMatch(/outcome is unknown/);
      expect(again.body.result._meta?.['io.mcp-fleet/replayed'], when).toBeUndefined();
      expect(
        slowTransfers.started.filter((a) => a === account),
        when,
      ).toHaveLength(1);
    }
  });
});
