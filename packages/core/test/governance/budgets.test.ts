// Per-session and per-window budgets: calls spend their tool's cost; a spent budget stops the agent
// with a clear result, an audit record and a metric, shared by replicas through Redis.
import { connectClient, testRedisUrl } from '@mcp-fleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Fleet, metric, redisPrefix, textOf } from './harness.js';

let fleet: Fleet;
beforeAll(async () => {
  fleet = await Fleet.start({
    count: 2,
    env: { REDIS_URL: testRedisUrl(), REDIS_KEY_PREFIX: redisPrefix() },
  });
});
afterAll(async () => fleet?.close());

describe('budgets', () => {
  it('stops an agent session that spent its budget, counting tool costs across replicas', async () => {
    const [a, b] = fleet.replicas;
    const token = await fleet.token({ sub: 'agent-b', roles: ['spender'], sid: 'run-1' });
    const ca = await connectClient('modern', a!.url, token);
    const cb = await connectClient('legacy', b!.url, token);
    // Budget 10 per session; run_expensive_query costs 3, echo_caller 1.
    expect((await ca.callTool('run_expensive_query', { q: '1' })).isError).toBeFalsy(); // 3
    expect((await cb.callTool('run_expensive_query', { q: '2' })).isError).toBeFalsy(); // 6
    expect((await ca.callTool('run_expensive_query', { q: '3' })).isError).toBeFalsy(); // 9
    const over = await cb.callTool('run_expensive_query', { q: '4' }); // would be 12
    expect(over.isError).toBe(true);
    expect(textOf(over)).toMatch(/costs 3 and would exceed this agent session's budget of 10 cost units/);
    expect(over.structuredContent).toMatchObject({
      status: 'budget_exceeded',
      budget: 'session',
      limit: 10,
      cost: 3,
    });
    // The refused call did not spend anything: one more unit still fits.
    expect((await ca.callTool('echo_caller', {})).isError).toBeFalsy(); // 10
    expect((await ca.callTool('echo_caller', {})).isError).toBe(true);
    expect(fleet.outcomes('run_expensive_query').at(-1)).toBe('budget_exceeded');
    const counted =
      (await metric(a!, 'mcp_budget_exceeded_total', { budget: 'session' })) +
      (await metric(b!, 'mcp_budget_exceeded_total', { budget: 'session' }));
    expect(counted).toBe(2);
    await ca.close();
    await cb.close();
  });

  it('gives a new session a fresh session budget, until the per-window budget of the caller is spent', async () => {
    const s = fleet.replicas[0]!;
    let spent = 0;
    // 20 units per hour per caller across sessions; 10 per session. Three sessions of 3-unit calls.
    const results: boolean[] = [];
    for (const sid of ['w-1', 'w-2', 'w-3']) {
      const c = await connectClient(
        'modern',
        s.url,
        await fleet.token({ sub: 'agent-w', roles: ['spender'], sid }),
      );
      for (let i = 0; i < 3; i++) {
        const r = await c.callTool('run_expensive_query', { q: `${sid}-${i}` });
        results.push(!r.isError);
        if (!r.isError) spent += 3;
        else if (sid === 'w-3') expect(r.structuredContent).toMatchObject({ budget: 'window', limit: 20 });
      }
      await c.close();
    }
    // w-1: 3 calls (9), w-2: 3 calls (18), w-3: the window budget (20) stops it at once.
    expect(results).toEqual([true, true, true, true, true, true, false, false, false]);
    expect(spent).toBe(18);
    // Another agent is not affected.
    const other = await connectClient(
      'modern',
      s.url,
      await fleet.token({ sub: 'agent-w2', roles: ['spender'], sid: 'w-1' }),
    );
    expect((await other.callTool('run_expensive_query', { q: 'x' })).isError).toBeFalsy();
    await other.close();
  });
});
