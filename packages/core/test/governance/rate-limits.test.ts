// Rate limits: one limit shared by replicas through Redis; keyed on the verified caller; a global
// ceiling per tool; and limits that keep holding per process when Redis is unreachable or dies.
import { type ChildProcess, spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectClient, freePort, testRedisUrl } from '@mcp-fleet/testkit';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Fleet, govPolicy, metric, redisPrefix, textOf, upstream } from './harness.js';

const REDIS = testRedisUrl();
const fleets: Fleet[] = [];
const started = async (o: Parameters<typeof Fleet.start>[0]) => {
  const f = await Fleet.start(o);
  fleets.push(f);
  return f;
};
afterEach(async () => {
  for (const f of fleets.splice(0)) await f.close();
});

describe('rate limits', () => {
  it('two replicas sharing Redis enforce one per-caller-per-tool limit between them', async () => {
    const fleet = await started({ count: 2, env: { REDIS_URL: REDIS, REDIS_KEY_PREFIX: redisPrefix() } });
    const [a, b] = fleet.replicas;
    const token = await fleet.token({ sub: 'agent-rl', roles: ['limited'], tenant: 'acme' });
    const ca = await connectClient('modern', a!.url, token);
    const cb = await connectClient('legacy', b!.url, token);
    const before = upstream.echo;
    const results = [];
    // Alternate between the replicas: 5 allowed per minute in total, not 5 each.
    for (let i = 0; i < 8; i++)
      results.push(await (i % 2 === 0 ? ca : cb).callTool('echo_caller', { text: `n${i}` }));
    const ok = results.filter((r) => !r.isError);
    const limited = results.filter((r) => r.isError);
    expect(ok).toHaveLength(5);
    expect(limited).toHaveLength(3);
    expect(upstream.echo - before).toBe(5);
    // The refusal says when to retry, in words and machine-readably.
    const refusal = limited[0] as (typeof limited)[0] & { _meta?: Record<string, unknown> };
    expect(textOf(refusal)).toMatch(
      /Rate limit reached for echo_caller: at most 5 calls per minute .* Retry after/,
    );
    const retryAfterMs = refusal._meta?.['io.mcp-fleet/retryAfterMs'] as number;
    expect(retryAfterMs).toBeGreaterThan(0);
    expect(retryAfterMs).toBeLessThanOrEqual(60_000);
    expect(refusal.structuredContent).toMatchObject({
      status: 'rate_limited',
      limit: 'caller_tool',
      perMinute: 5,
    });
    // Audited and counted.
    expect(fleet.outcomes('echo_caller').filter((o) => o === 'rate_limited')).toHaveLength(3);
    const counted =
      (await metric(a!, 'mcp_rate_limited_total', { tool: 'echo_caller' })) +
      (await metric(b!, 'mcp_rate_limited_total', { tool: 'echo_caller' }));
    expect(counted).toBe(3);
    await ca.close();
    await cb.close();
  });

  it('keys limits on the verified agent and tenant, and the most generous role wins', async () => {
    const fleet = await started({ count: 1, env: { REDIS_URL: REDIS, REDIS_KEY_PREFIX: redisPrefix() } });
    const s = fleet.replicas[0]!;
    const callN = async (o: Parameters<Fleet['token']>[0], n: number) => {
      const c = await connectClient('modern', s.url, await fleet.token(o));
      let ok = 0;
      for (let i = 0; i < n; i++) if (!(await c.callTool('echo_caller', {})).isError) ok += 1;
      await c.close();
      return ok;
    };
    expect(await callN({ sub: 'agent-k', roles: ['limited'], tenant: 'acme' }, 7)).toBe(5);
    // Same agent id, another tenant: its own counter. Another agent: its own counter.
    expect(await callN({ sub: 'agent-k', roles: ['limited'], tenant: 'globex' }, 7)).toBe(5);
    expect(await callN({ sub: 'agent-other', roles: ['limited'], tenant: 'acme' }, 7)).toBe(5);
    // A role with a higher limit lifts it (roles add permissions), whatever other roles say.
    expect(await callN({ sub: 'agent-g', roles: ['limited', 'generous'], tenant: 'acme' }, 10)).toBe(8);
    // No limit for plain readers.
    expect(await callN({ sub: 'agent-r', roles: ['reader'], tenant: 'acme' }, 12)).toBe(12);
  });

  it('applies a per-caller limit across all tools, and a global per-tool ceiling across callers', async () => {
    const policy = { ...govPolicy, tools: { echo_caller: { globalPerMinute: 4 } } };
    const fleet = await started({
      count: 2,
      policy,
      env: { REDIS_URL: REDIS, REDIS_KEY_PREFIX: redisPrefix() },
    });
    const [a, b] = fleet.replicas;
    // Global ceiling: four different readers over two replicas share 4 calls.
    let ok = 0;
    for (let i = 0; i < 6; i++) {
      const c = await connectClient(
        'modern',
        (i % 2 ? a : b)!.url,
        await fleet.token({ sub: `agent-${i}`, roles: ['reader'] }),
      );
      const r = await c.callTool('echo_caller', {});
      if (!r.isError) ok += 1;
      else expect(r.structuredContent).toMatchObject({ limit: 'tool_global' });
      await c.close();
    }
    expect(ok).toBe(4);
    // Per-caller limit over all tools: 3 calls per minute whatever the tool.
    const c = await connectClient(
      'legacy',
      a!.url,
      await fleet.token({ sub: 'agent-t', roles: ['throttled'] }),
    );
    const outcomes = [
      await c.callTool('get_session_view', { name: 'x' }),
      await c.callTool('run_expensive_query', { q: 'a' }),
      await c.callTool('find_customer', { id: 'c1' }),
      await c.callTool('run_expensive_query', { q: 'b' }),
    ];
    expect(outcomes.map((r) => Boolean(r.isError))).toEqual([false, false, false, true]);
    expect(textOf(outcomes[3]!)).toMatch(/at most 3 calls per minute by this caller on this server/);
    await c.close();
  });

  it('keeps enforcing limits in process, and keeps answering, when Redis is unreachable', async () => {
    const closed = await freePort(); // nothing listens here
    const fleet = await started({
      count: 2,
      env: { REDIS_URL: `redis://127.0.0.1:${closed}`, REDIS_KEY_PREFIX: redisPrefix() },
    });
    const [a, b] = fleet.replicas;
    const token = await fleet.token({ sub: 'agent-down', roles: ['limited'] });
    const ca = await connectClient('modern', a!.url, token);
    const cb = await connectClient('modern', b!.url, token);
    const okA = [];
    for (let i = 0; i < 7; i++) okA.push(!(await ca.callTool('echo_caller', {})).isError);
    const okB = [];
    for (let i = 0; i < 7; i++) okB.push(!(await cb.callTool('echo_caller', {})).isError);
    // Each process enforces the limit on its own: 5 each, then refusals (not failures of every call, not fail-open).
    expect(okA).toEqual([true, true, true, true, true, false, false]);
    expect(okB).toEqual([true, true, true, true, true, false, false]);
    // Unlimited tools keep working.
    expect((await ca.callTool('get_session_view', { name: 'still-up' })).isError).toBeFalsy();
    expect(await metric(a!, 'mcp_redis_up')).toBe(0);
    const ready = (await (await fetch(`${a!.baseUrl}/readyz`)).json()) as {
      status: string;
      checks: Record<string, string>;
    };
    expect(ready.status).toBe('degraded');
    // Up or down only: /readyz is unauthenticated, so no error text (hosts, ports) goes out.
    expect(ready.checks.redis).toBe('failing');
    expect(JSON.stringify(ready)).not.toContain(String(closed));
    expect(JSON.stringify(ready)).not.toMatch(/ECONNREFUSED|127\.0\.0\.1/);
    await ca.close();
    await cb.close();
  });

  describe('with a Redis that dies mid-run', () => {
    let redis: ChildProcess | undefined;
    afterAll(() => {
      redis?.kill('SIGKILL');
    });

    it('shares the limit while Redis is up, then falls back to per-process limits without failing calls', async () => {
      const port = await freePort();
      redis = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no'], {
        stdio: 'ignore',
      });
      const fleet = await started({
        count: 2,
        env: { REDIS_URL: `redis://127.0.0.1:${port}`, REDIS_KEY_PREFIX: redisPrefix() },
      });
      const [a, b] = fleet.replicas;
      // Both replicas must share the count before the first call: one still connecting would count
      // its calls in its own memory, and the shared limit below would not be reached.
      for (const r of [a!, b!]) {
        for (let i = 0; i < 100 && (await metric(r, 'mcp_redis_up')) !== 1; i++) await sleep(100);
        expect(await metric(r, 'mcp_redis_up')).toBe(1);
      }
      const token = await fleet.token({ sub: 'agent-dies', roles: ['limited'] });
      const ca = await connectClient('modern', a!.url, token);
      const cb = await connectClient('modern', b!.url, token);
      // Shared: 3 on A + 2 on B use up the 5.
      for (let i = 0; i < 3; i++) expect((await ca.callTool('echo_caller', {})).isError).toBeFalsy();
      for (let i = 0; i < 2; i++) expect((await cb.callTool('echo_caller', {})).isError).toBeFalsy();
      expect((await ca.callTool('echo_caller', {})).isError).toBe(true);
      expect((await cb.callTool('echo_caller', {})).isError).toBe(true);

      redis.kill('SIGKILL');
      redis = undefined;
      for (let i = 0; i < 50 && (await metric(a!, 'mcp_redis_up')) !== 0; i++) await sleep(100);
      // Redis gone. A caller that was already over the limit stays refused (the replica remembers the
      // block until the window ends); no call fails for lack of Redis.
      expect(textOf(await ca.callTool('echo_caller', {}))).toMatch(/Rate limit reached/);
      // A fresh caller is counted in each process's memory, and still stops at 5 per process.
      const fresh = await fleet.token({ sub: 'agent-fresh', roles: ['limited'] });
      const fa = await connectClient('modern', a!.url, fresh);
      const fb = await connectClient('legacy', b!.url, fresh);
      const onA = [];
      for (let i = 0; i < 7; i++) onA.push(await fa.callTool('echo_caller', {}));
      const onB = [];
      for (let i = 0; i < 6; i++) onB.push(await fb.callTool('echo_caller', {}));
      expect(onA.map((r) => Boolean(r.isError))).toEqual([false, false, false, false, false, true, true]);
      expect(onB.map((r) => Boolean(r.isError))).toEqual([false, false, false, false, false, true]);
      expect(onA.filter((r) => !r.isError).every((r) => /from agent-fresh/.test(textOf(r)))).toBe(true);
      // No call waited on the dead Redis and failed: each was answered or refused by the local limiter.
      const fresh13 = fleet.audit.filter((l) => l.agentId === 'agent-fresh').map((l) => l.outcome);
      expect(fresh13).toHaveLength(13);
      expect(fresh13.filter((o) => o === 'ok')).toHaveLength(10);
      expect(fresh13.filter((o) => o === 'rate_limited')).toHaveLength(3);
      await fa.close();
      await fb.close();
      await ca.close();
      await cb.close();
    });
  });
});
