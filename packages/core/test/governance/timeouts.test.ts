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

/** Waits for an event the test can observe (a counter, an audit line); the bound only ends a hung test. */
async function until(check: () => boolean, ms = 15_000): Promise<boolean> {
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
    const r = await c.callTool('wait_slowly', { ms: 10_000 });
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
    ac.abort('user pressed stop');
    await expect(pending).rejects.toThrow();
    // The upstream work saw its abort signal (the counter moves on abort only, never on completion).
    expect(await until(() => upstream.slowAborted > aborted)).toBe(true);
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
    const started = upstream.slowStarted;
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
    expect(await until(() => upstream.slowStarted > started)).toBe(true); // the handler is running
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
    const call = rpc(fleet.replicas[0]!.url, callMsg('run_long_task', { ms: 15_000 }, 'job-77'), {
      authorization: `Bearer ${token}`,
    });
    // A second call of the same caller: its cancellation, sent after the stranger's through the same
    // replica (one ordered channel), tells the test when the stranger's has been delivered too.
    const marker = rpc(fleet.replicas[0]!.url, callMsg('run_long_task', { ms: 15_000 }, 'job-78'), {
      authorization: `Bearer ${token}`,
    });
    expect(await until(() => upstream.slowStarted >= started + 2)).toBe(true);
    const cancel = (t: string, requestId: string) =>
      rpc(
        fleet.replicas[1]!.url,
        {
          jsonrpc: '2.0',
          method: 'notifications/cancelled',
          params: { requestId, reason: 'stop' },
        },
        { authorization: `Bearer ${t}` },
      );
    // Another agent naming the same JSON-RPC id cancels nothing: once the caller's later cancellation
    // of job-78 has stopped job-78, job-77 is still running.
    expect((await cancel(stranger, 'job-77')).status).toBe(202);
    expect((await cancel(token, 'job-78')).status).toBe(202);
    const markerAnswer = await marker;
    expect(markerAnswer.body.result.content[0].text).toMatch(/was cancelled/);
    expect(upstream.slowAborted - aborted).toBe(1);
    // The caller itself, through the other replica: the call stops.
    expect((await cancel(token, 'job-77')).status).toBe(202);
    const answer = await call;
    expect(answer.body.result.isError).toBe(true);
    expect(answer.body.result.content[0].text).toMatch(/was cancelled/);
    expect(upstream.slowAborted - aborted).toBe(2);
    expect(lastAudit('agent-x')).toMatchObject({
      outcome: 'cancelled',
      details: expect.objectContaining({ cancelledBy: 'notification' }),
    });
  });
});
