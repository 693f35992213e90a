// The result cache: identical calls are served from cache, shared across sessions (and replicas, via
// Redis) only between callers with the same tenant, user, roles and constraints; errors and partial
// results are never cached; redundant calls show up in metrics.
import { connectClient, type TestClient, testRedisUrl } from '@mcp-fleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Fleet, fileState, metric, redisPrefix, textOf, upstream } from './harness.js';

let fleet: Fleet;
const clients: TestClient[] = [];
beforeAll(async () => {
  fleet = await Fleet.start({
    count: 2,
    env: { REDIS_URL: testRedisUrl(), REDIS_KEY_PREFIX: redisPrefix() },
  });
});
afterAll(async () => {
  for (const c of clients) await c.close();
  await fleet?.close();
});

async function client(o: Parameters<Fleet['token']>[0], replica = 0, era: 'modern' | 'legacy' = 'modern') {
  const c = await connectClient(era, fleet.replicas[replica]!.url, await fleet.token(o));
  clients.push(c);
  return c;
}

describe('result cache', () => {
  it('answers an identical call from cache, within a session and across sessions and replicas', async () => {
    const before = upstream.report;
    const a = await client({ sub: 'agent-c1', roles: ['reader'], tenant: 'acme', sid: 's1' }, 0);
    const first = await a.callTool('get_report', { region: 'eu' });
    const again = await a.callTool('get_report', { region: 'eu' });
    expect(first.structuredContent).toEqual({ region: 'eu', tenant: 'acme', run: before + 1 });
    expect(again.structuredContent).toEqual(first.structuredContent);
    // Another session of another agent, same tenant and roles, on the other replica: shared through Redis.
    const b = await client({ sub: 'agent-c2', roles: ['reader'], tenant: 'acme', sid: 's2' }, 1, 'legacy');
    const elsewhere = await b.callTool('get_report', { region: 'eu' });
    expect(elsewhere.structuredContent).toEqual(first.structuredContent);
    expect(upstream.report - before).toBe(1);
    expect(fleet.outcomes('get_report').slice(-3)).toEqual(['ok', 'cached', 'cached']);
    const served = fleet.audit
      .filter((x) => x.tool === 'get_report' && x.outcome === 'cached')
      .map((x) => x.details?.cache);
    expect(served).toContainEqual(expect.objectContaining({ tier: 'redis' }));
    expect(
      await metric(fleet.replicas[0]!, 'mcp_cache_hits_total', { tool: 'get_report' }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      await metric(fleet.replicas[0]!, 'mcp_cache_misses_total', { tool: 'get_report' }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      await metric(fleet.replicas[1]!, 'mcp_cache_hits_total', { tool: 'get_report' }),
    ).toBeGreaterThanOrEqual(1);
  });

  it('never serves one tenant, user or permission set a result computed for another', async () => {
    const before = upstream.report;
    const acme = await client({ sub: 'agent-t', roles: ['reader'], tenant: 'acme-x' });
    const globex = await client({ sub: 'agent-t', roles: ['reader'], tenant: 'globex-x' });
    const r1 = await acme.callTool('get_report', { region: 'apac' });
    const r2 = await globex.callTool('get_report', { region: 'apac' });
    expect(r1.structuredContent).toMatchObject({ tenant: 'acme-x' });
    expect(r2.structuredContent).toMatchObject({ tenant: 'globex-x' });
    expect(upstream.report - before).toBe(2);
    // Same tenant, another on-behalf-of user: its own entry.
    const bob = await client({ sub: 'agent-t', roles: ['reader'], tenant: 'acme-x', user: 'bob' });
    await bob.callTool('get_report', { region: 'apac' });
    expect(upstream.report - before).toBe(3);
    // Same tenant, different roles: its own entry (the role set can change what a tool returns).
    const analyst = await client({ sub: 'agent-t', roles: ['analyst'], tenant: 'acme-x' });
    await analyst.callTool('get_report', { region: 'apac' });
    expect(upstream.report - before).toBe(4);
    // Same tenant and tool, different policy constraint values: separate entries.
    const eu = await client({ sub: 'agent-eu', roles: ['eu_only'], tenant: 'acme-x' });
    const euUs = await client({ sub: 'agent-euus', roles: ['eu_us'], tenant: 'acme-x' });
    await eu.callTool('get_report', { region: 'eu' });
    await euUs.callTool('get_report', { region: 'eu' });
    expect(upstream.report - before).toBe(6);
    // And each is a hit for its own kind of caller.
    await eu.callTool('get_report', { region: 'eu' });
    await acme.callTool('get_report', { region: 'apac' });
    expect(upstream.report - before).toBe(6);
    // A refused region is refused, not served from anyone's cache.
    const refused = await eu.callTool('get_report', { region: 'apac' });
    expect(refused.isError).toBe(true);
    expect(upstream.report - before).toBe(6);
  });

  it('never caches errors, internal failures or partial results', async () => {
    const c = await client({ sub: 'agent-err', roles: ['reader'], tenant: 'acme' });
    const before = upstream.failing;
    const e1 = await c.callTool('find_customer', { id: 'missing-1' });
    const e2 = await c.callTool('find_customer', { id: 'missing-1' });
    expect(e1.isError).toBe(true);
    expect(textOf(e2)).toMatch(/not found; call list_customers/);
    await c.callTool('find_customer', { id: 'crash-1' });
    await c.callTool('find_customer', { id: 'crash-1' });
    expect(upstream.failing - before).toBe(4);
    // A success on the same tool is cached.
    await c.callTool('find_customer', { id: 'c-ok' });
    await c.callTool('find_customer', { id: 'c-ok' });
    expect(upstream.failing - before).toBe(5);
    const p0 = upstream.partial;
    await c.callTool('scan_logs', { pattern: 'x' });
    await c.callTool('scan_logs', { pattern: 'x' });
    expect(upstream.partial - p0).toBe(2);
    expect(fleet.outcomes('find_customer').filter((o) => o === 'cached')).toHaveLength(1);
  });

  it('keeps session-scoped results inside their session', async () => {
    const before = upstream.sessionView;
    const s1 = await client({ sub: 'agent-s', roles: ['reader'], tenant: 'acme', sid: 'sess-1' });
    const s2 = await client({ sub: 'agent-s', roles: ['reader'], tenant: 'acme', sid: 'sess-2' });
    const a = textOf(await s1.callTool('get_session_view', { name: 'v' }));
    expect(textOf(await s1.callTool('get_session_view', { name: 'v' }))).toBe(a);
    const b = textOf(await s2.callTool('get_session_view', { name: 'v' }));
    expect(b).not.toBe(a);
    expect(upstream.sessionView - before).toBe(2);
  });

  it("uses the tool's cacheKey hook: a new file version is a new entry", async () => {
    const c = await client({ sub: 'agent-f', roles: ['reader'], tenant: 'acme' });
    const before = upstream.fileInfo;
    expect(textOf(await c.callTool('get_file_info', { path: '/a.txt' }))).toMatch(/version 1/);
    await c.callTool('get_file_info', { path: '/a.txt' });
    expect(upstream.fileInfo - before).toBe(1);
    fileState.version = 2;
    expect(textOf(await c.callTool('get_file_info', { path: '/a.txt' }))).toMatch(/version 2/);
    expect(upstream.fileInfo - before).toBe(2);
  });

  it('counts redundant calls (same tool and arguments again in one session), cached or not', async () => {
    const s = fleet.replicas[0]!;
    const before = await metric(s, 'mcp_redundant_calls_total', { tool: 'echo_caller' });
    const c = await client({ sub: 'agent-loop', roles: ['reader'], tenant: 'acme', sid: 'loop' });
    for (let i = 0; i < 4; i++) await c.callTool('echo_caller', { text: 'same' });
    await c.callTool('echo_caller', { text: 'different' });
    // Key order does not matter to the fingerprint; a new session starts afresh.
    const other = await client({ sub: 'agent-loop', roles: ['reader'], tenant: 'acme', sid: 'loop-2' });
    await other.callTool('echo_caller', { text: 'same' });
    expect((await metric(s, 'mcp_redundant_calls_total', { tool: 'echo_caller' })) - before).toBe(3);
    const flagged = fleet.audit.filter((a) => a.agentId === 'agent-loop' && a.details?.redundant === true);
    expect(flagged).toHaveLength(3);
  });
});
