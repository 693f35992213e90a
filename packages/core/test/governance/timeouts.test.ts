// Timeouts and cancellation: a slow upstream is cut off at its timeout and really stopped; a client's
// cancellation (notifications/cancelled from a 2025-era client, or a dropped connection) aborts the
// handler, on whichever replica runs it; the audit record says which.
import { setTimeout as sleep } from 'node:timers/promises';
import { connectClient, testRedisUrl } from '@mcp-fleet/testkit';
import { Client as LegacyClient } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callMsg, rpc } from '../helpers.js';
import { Fleet, metric, redisPrefix, textOf, upstream } from './harness.js';

let fleet: Fleet;
beforeAll(async () => {
  fleet = await Fleet.start({
    count: 2,
    env: { REDIS_URL: testRedisUrl(), REDIS_KEY_PREFIX: redisPrefix() },
  });
});
afterAll(async () => fleet?.close());

async function until(check: () => boolean, ms = 3_000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (check()) return true;
    await sleep(20);
  }
  return check();
}

const lastAudit = (agentId: string) => fleet.audit.filter((a) => a.agentId === agentId).at(-1);

describe('timeouts and cancellation', () => {
  it('cuts a slow upstream off at its timeout, really stops it, and audits a timeout', async () => {
    const c = await connectClient(
      'modern',
      fleet.replicas[0]!.url,
      await fleet.token({ sub: 'agent-slow', roles: ['reader'] }),
    );
    const aborted = upstream.slowAborted;
    const t0 = Date.now();
    const r = await c.callTool('wait_slowly', { ms: 10_000 });
    expect(Date.now() - t0).toBeLessThan(3_000);
    expect(r.isError).toBe(true);
    expect(textOf(r)).toMatch(/timed out after 300 ms and was cancelled/);
    expect(upstream.slowAborted - aborted).toBe(1);
    expect(lastAudit('agent-slow')).toMatchObject({
      outcome: 'timeout',
      details: expect.objectContaining({ timeoutMs: 300 }),
    });
    await c.close();
  });

  it('aborts the handler when a 2025-era client sends notifications/cancelled', async () => {
    const token = await fleet.token({ sub: 'agent-cancel', roles: ['reader'] });
    const client = new LegacyClient({ name: 'cancelling-client', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(fleet.replicas[0]!.url), {
        requestInit: { headers: { authorization: `Bearer ${token}` } },
      }),
    );
    const started = upstream.slowStarted;
    const aborted = upstream.slowAborted;
    const ac = new AbortController();
    const pending = client.callTool({ name: 'run_long_task', arguments: { ms: 15_000 } }, undefined, {
      signal: ac.signal,
    });
    expect(await until(() => upstream.slowStarted > started)).toBe(true);
    const t0 = Date.now();
    ac.abort('user pressed stop');
    await expect(pending).rejects.toThrow();
    // The upstream work stops long before its 15 s run or 20 s timeout.
    expect(await until(() => upstream.slowAborted > aborted)).toBe(true);
    expect(Date.now() - t0).toBeLessThan(3_000);
    expect(await until(() => lastAudit('agent-cancel')?.outcome === 'cancelled')).toBe(true);
    expect(lastAudit('agent-cancel')?.details).toMatchObject({ cancelledBy: 'notification' });
    expect(
      await metric(fleet.replicas[0]!, 'mcp_cancellations_total', { source: 'notification' }),
    ).toBeGreaterThanOrEqual(1);
    await client.close();
  });

  it('aborts the handler when the client drops the connection', async () => {
    const token = await fleet.token({ sub: 'agent-drop', roles: ['reader'] });
    const aborted = upstream.slowAborted;
    const ctl = new AbortController();
    const req = fetch(fleet.replicas[1]!.url, {
      method: 'POST',
      signal: ctl.signal,
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': '2025-11-25',
      },
      body: JSON.stringify(callMsg('run_long_task', { ms: 15_000 }, 41)),
    }).catch(() => undefined);
    await sleep(200);
    ctl.abort();
    await req;
    expect(await until(() => upstream.slowAborted > aborted)).toBe(true);
    expect(await until(() => lastAudit('agent-drop')?.outcome === 'cancelled')).toBe(true);
    expect(lastAudit('agent-drop')?.details).toMatchObject({ cancelledBy: 'disconnect' });
  });

  it('delivers a cancellation that reaches another replica, and only for the same caller', async () => {
    const token = await fleet.token({ sub: 'agent-x', roles: ['reader'], sid: 'sx' });
    const stranger = await fleet.token({ sub: 'agent-stranger', roles: ['reader'], sid: 'sx' });
    const aborted = upstream.slowAborted;
    const started = upstream.slowStarted;
    const call = rpc(fleet.replicas[0]!.url, callMsg('run_long_task', { ms: 1_500 }, 'job-77'), {
      authorization: `Bearer ${token}`,
    });
    expect(await until(() => upstream.slowStarted > started)).toBe(true);
    const cancel = (t: string) =>
      rpc(
        fleet.replicas[1]!.url,
        {
          jsonrpc: '2.0',
          method: 'notifications/cancelled',
          params: { requestId: 'job-77', reason: 'stop' },
        },
        { authorization: `Bearer ${t}` },
      );
    // Another agent naming the same JSON-RPC id cancels nothing.
    expect((await cancel(stranger)).status).toBe(202);
    await sleep(300);
    expect(upstream.slowAborted).toBe(aborted);
    // The caller itself, through the other replica: the call stops.
    expect((await cancel(token)).status).toBe(202);
    const answer = await call;
    expect(answer.body.result.isError).toBe(true);
    expect(answer.body.result.content[0].text).toMatch(/was cancelled/);
    expect(upstream.slowAborted - aborted).toBe(1);
    expect(lastAudit('agent-x')).toMatchObject({
      outcome: 'cancelled',
      details: expect.objectContaining({ cancelledBy: 'notification' }),
    });
  });
});
