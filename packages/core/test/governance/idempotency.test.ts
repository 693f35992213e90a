// Idempotency keys: concurrent duplicates run the mutation once across replicas; repeats replay the
// stored result, also after a restart; a key reused for other arguments is refused; keys belong to
// their caller; expired keys can be used again.
import { randomUUID } from 'node:crypto';
import { connectClient, createTestDatabase } from '@mcp-fleet/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Fleet, metric, textOf, upstream } from './harness.js';

let fleet: Fleet;
let db: { url: string; drop: () => Promise<void> };
beforeAll(async () => {
  db = await createTestDatabase('fleet_gov_idem');
  fleet = await Fleet.start({ count: 2, databaseUrl: db.url });
});
afterAll(async () => {
  await fleet?.close();
  await db?.drop();
});

const transfersTo = (account: string) => upstream.transfers.filter((t) => t.account === account).length;

describe('idempotency keys', () => {
  it('lists idempotency_key on mutating tools only', async () => {
    const c = await connectClient(
      'modern',
      fleet.replicas[0]!.url,
      await fleet.token({ sub: 'agent-l', roles: ['operator'] }),
    );
    const { tools } = await c.listTools();
    const schema = (name: string) =>
      (
        tools.find((t) => t.name === name) as unknown as {
          inputSchema: { properties: Record<string, unknown> };
        }
      ).inputSchema;
    expect(Object.keys(schema('transfer_funds').properties)).toEqual([
      'account',
      'amount',
      'idempotency_key',
      'approval_id',
    ]);
    expect(Object.keys(schema('get_report').properties)).toEqual(['region']);
    await c.close();
  });

  it('runs concurrent duplicates on two replicas exactly once, and gives every caller the one result', async () => {
    const token = await fleet.token({ sub: 'agent-i', roles: ['operator'], tenant: 'acme' });
    const ca = await connectClient('modern', fleet.replicas[0]!.url, token);
    const cb = await connectClient('legacy', fleet.replicas[1]!.url, token);
    const key = randomUUID();
    const args = { account: 'acc-concurrent', amount: 10, idempotency_key: key };
    const results = await Promise.all([
      ca.callTool('transfer_funds', args),
      cb.callTool('transfer_funds', args),
      ca.callTool('transfer_funds', args),
      cb.callTool('transfer_funds', args),
    ]);
    expect(transfersTo('acc-concurrent')).toBe(1);
    expect(results.every((r) => !r.isError)).toBe(true);
    expect(new Set(results.map(textOf)).size).toBe(1);
    expect(textOf(results[0]!)).toMatch(/transferred 10 to acc-concurrent/);
    const outcomes = fleet.outcomes('transfer_funds').slice(-4).sort();
    expect(outcomes).toEqual(['ok', 'replayed', 'replayed', 'replayed']);
    // A later retry, on either replica, is a replay too.
    const later = await cb.callTool('transfer_funds', args);
    expect(textOf(later)).toBe(textOf(results[0]!));
    expect((later as { _meta?: Record<string, unknown> })._meta?.['io.mcp-fleet/replayed']).toBe(true);
    expect(transfersTo('acc-concurrent')).toBe(1);
    expect(
      (await metric(fleet.replicas[0]!, 'mcp_idempotent_replays_total', { tool: 'transfer_funds' })) +
        (await metric(fleet.replicas[1]!, 'mcp_idempotent_replays_total', { tool: 'transfer_funds' })),
    ).toBe(4);
    await ca.close();
    await cb.close();
  });

  it('takes the key from _meta as well, and refuses a key reused for other arguments', async () => {
    const c = await connectClient(
      'legacy',
      fleet.replicas[0]!.url,
      await fleet.token({ sub: 'agent-m', roles: ['operator'] }),
    );
    const meta = { 'io.mcp-fleet/idempotencyKey': `order-${randomUUID()}` };
    await c.callTool('transfer_funds', { account: 'acc-meta', amount: 5 }, meta);
    await c.callTool('transfer_funds', { amount: 5, account: 'acc-meta' }, meta); // key order does not matter
    expect(transfersTo('acc-meta')).toBe(1);
    const conflict = await c.callTool('transfer_funds', { account: 'acc-meta', amount: 500 }, meta);
    expect(conflict.isError).toBe(true);
    expect(textOf(conflict)).toMatch(/already used for a call with different arguments/);
    expect(transfersTo('acc-meta')).toBe(1);
    expect(fleet.outcomes('transfer_funds').at(-1)).toBe('invalid');
    // The same key in the arguments and a different one in _meta: refused before anything runs.
    const mixed = await c.callTool(
      'transfer_funds',
      { account: 'acc-meta', amount: 5, idempotency_key: 'other' },
      meta,
    );
    expect(textOf(mixed)).toMatch(/differs between the arguments and _meta/);
    expect(transfersTo('acc-meta')).toBe(1);
    await c.close();
  });

  it('scopes keys to the caller', async () => {
    const key = `shared-${randomUUID()}`;
    for (const [sub, tenant] of [
      ['agent-p', 'acme'],
      ['agent-q', 'acme'],
      ['agent-p', 'globex'],
    ] as const) {
      const c = await connectClient(
        'modern',
        fleet.replicas[1]!.url,
        await fleet.token({ sub, roles: ['operator'], tenant }),
      );
      await c.callTool('transfer_funds', { account: 'acc-scoped', amount: 1, idempotency_key: key });
      await c.close();
    }
    expect(transfersTo('acc-scoped')).toBe(3);
  });

  it('replays across a restart, and lets an expired key run again', async () => {
    const token = await fleet.token({ sub: 'agent-r', roles: ['operator'] });
    const key = randomUUID();
    const args = { account: 'acc-restart', amount: 7, idempotency_key: key };
    const first = fleet.replicas[0]!;
    const c1 = await connectClient('modern', first.url, token);
    const original = await c1.callTool('transfer_funds', args);
    await c1.close();
    await fleet.stop(first);
    const fresh = await fleet.add();
    const c2 = await connectClient('modern', fresh.url, token);
    expect(textOf(await c2.callTool('transfer_funds', args))).toBe(textOf(original));
    expect(transfersTo('acc-restart')).toBe(1);

    // Past its retention the key is free again (and a purge removes expired records).
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    await client.query(
      `UPDATE idempotency_records SET expires_at = now() - interval '1 second' WHERE key = $1`,
      [key],
    );
    const again = await c2.callTool('transfer_funds', args);
    expect(textOf(again)).not.toBe(textOf(original));
    expect(transfersTo('acc-restart')).toBe(2);
    await client.query(`UPDATE idempotency_records SET expires_at = now() - interval '1 second'`);
    expect(await fresh.server.runtime.governance.idempotency!.purge()).toBeGreaterThan(0);
    expect((await client.query('SELECT count(*)::int AS n FROM idempotency_records')).rows[0].n).toBe(0);
    await client.end();
    await c2.close();
  });

  it('runs nothing mutating, key or not, on a server without a fleet database', async () => {
    const bare = await Fleet.start({ count: 1 });
    const c = await connectClient(
      'modern',
      bare.replicas[0]!.url,
      await bare.token({ sub: 'agent-n', roles: ['operator'] }),
    );
    const r = await c.callTool('transfer_funds', { account: 'acc-nodb', amount: 1, idempotency_key: 'k1' });
    expect(r.isError).toBe(true);
    expect(transfersTo('acc-nodb')).toBe(0);
    await c.close();
    await bare.close();
  });
});

const replayed = (r: object) => (r as { _meta?: Record<string, unknown> })._meta?.['io.mcp-fleet/replayed'];

describe('idempotency keys belong to the user too', () => {
  it("never gives user B the result stored under user A's key, for the same agent and arguments", async () => {
    const key = randomUUID();
    const args = { account: 'acc-alice-private', amount: 42, idempotency_key: key };
    const alice = await connectClient(
      'modern',
      fleet.replicas[0]!.url,
      await fleet.token({ sub: 'agent-x', roles: ['operator'], tenant: 'acme', user: 'alice' }),
    );
    const bob = await connectClient(
      'modern',
      fleet.replicas[1]!.url,
      await fleet.token({ sub: 'agent-x', roles: ['operator'], tenant: 'acme', user: 'bob' }),
    );
    const first = await alice.callTool('transfer_funds', args);
    expect(first.isError).toBeFalsy();
    const forBob = await bob.callTool('transfer_funds', args);
    // Bob's call is his own: it ran (a second transfer), it is not alice's replayed result.
    expect(replayed(forBob)).toBeUndefined();
    expect(textOf(forBob)).not.toBe(textOf(first));
    expect(transfersTo('acc-alice-private')).toBe(2);
    // Alice still gets her own result back.
    const again = await alice.callTool('transfer_funds', args);
    expect(textOf(again)).toBe(textOf(first));
    expect(replayed(again)).toBe(true);
    await alice.close();
    await bob.close();
  });

  it('refuses a malformed approval_id before any replay, and records it small', async () => {
    const token = await fleet.token({ sub: 'agent-big-approval', roles: ['operator'], user: 'carol' });
    const c = await connectClient('legacy', fleet.replicas[0]!.url, token);
    const key = randomUUID();
    const args = { account: 'acc-approval-shape', amount: 1, idempotency_key: key };
    expect((await c.callTool('transfer_funds', args)).isError).toBeFalsy();
    const r = await c.callTool('transfer_funds', { ...args, approval_id: 'a'.repeat(600_000) });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toMatch(/`approval_id` must be the id \(a UUID\)/);
    expect(replayed(r)).toBeUndefined();
    const line = fleet.audit.filter((a) => a.agentId === 'agent-big-approval').at(-1)!;
    expect(line.outcome).toBe('invalid');
    expect(JSON.stringify(line).length).toBeLessThan(10_000);
    await c.close();
  });
});
