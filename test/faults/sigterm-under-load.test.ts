// Fault under load: SIGTERM to one server process (as Kubernetes stops a pod) while mixed traffic runs
// across all five servers, with calls in flight on it (Slack posts the simulator holds for a while
// after committing them), one of them answered as an SSE stream (a tools/call with a progress token:
// the MCP SDK path answers it as text/event-stream). The calls in flight finish and are answered,
// the streamed one included, its stream closed with its answer; new calls are refused, the audit is
// flushed and the process exits 0 (a stop past the grace period exits 1: a stream that held the
// server open would show as exit 1). The other servers keep answering. The verdict, from
// audit_records and the Slack simulator: nothing lost or doubled.
// No server serves a standalone SSE stream (GET /mcp): they are stateless and answer it 405; the
// test checks that refusal, and makes no claim about how a served standalone stream would stop.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CallResult, codesOf, createCaller, originOf, runTraffic } from '../load/traffic.js';
import { auditRows, settledVerdict, verdictText } from '../load/verdict.js';
import {
  clearSimulatorFaults,
  doubleSends,
  type LoadFleet,
  serverPids,
  simulatorFault,
  startLoadFleet,
  until,
  upstreamCount,
} from './lib/fleet.js';

/** How long Slack holds each post's answer after committing it: the calls in flight at the SIGTERM. */
const SLACK_HOLD_MS = 2_000;
const IN_FLIGHT = 4;

let lf: LoadFleet;

beforeAll(async () => {
  lf = await startLoadFleet({ env: { SHUTDOWN_GRACE_MS: '15000' } });
}, 180_000);

afterAll(async () => {
  await lf?.fleet.stop();
});

describe('SIGTERM of a server under load', () => {
  it('finishes the calls in flight (one answered as an SSE stream), refuses new ones, flushes the audit and exits 0; a standalone SSE GET is refused (405)', async () => {
    const fleetOut = () => lf.fleet.output();
    const pid = serverPids(lf.fleet.pid).get('communication')?.[0];
    expect(pid, fleetOut()).toBeDefined();
    const caller = await createCaller(lf.target);
    const support = await caller.agent('support');
    const commUrl = `${lf.target.urls.communication}/mcp`;

    // A standalone SSE stream (GET /mcp): no server serves one (405), checked below.
    const sse = new AbortController();
    const stream = await fetch(commUrl, {
      headers: {
        authorization: `Bearer ${support.token}`,
        accept: 'text/event-stream',
        'mcp-protocol-version': '2025-11-25',
      },
      signal: sse.signal,
    });
    const streamEnded = (async () => {
      if (!stream.body) return 'no body';
      const reader = stream.body.getReader();
      try {
        while (!(await reader.read()).done) {
          // events (none expected) are read and dropped
        }
        return 'ended';
      } catch {
        return 'reset';
      }
    })();

    const results: CallResult[] = [];
    const load = runTraffic({
      target: lf.target,
      ratePerSecond: 20,
      durationMs: 20_000,
      onResult: (r) => results.push(r),
    });
    await until('some load answered', async () => (results.length >= 60 ? true : undefined));

    // Calls in flight: Slack posts the simulator committed and holds the answers of.
    await simulatorFault(`${lf.hubUrl}/slack`, 'chat.postMessage', { delayAfterCommit: SLACK_HOLD_MS });
    const keys = Array.from({ length: IN_FLIGHT }, (_, i) => `sigterm-in-flight-${Date.now()}-${i}`);
    const inFlight = keys.map((key) =>
      caller.call(support, {
        server: 'communication',
        tool: 'slack_post_message',
        kind: 'write',
        arguments: { channel: '#support-escalations', text: `load ${key}` },
        idempotencyKey: key,
      }),
    );
    // One more in flight, answered as an SSE stream: a progress token sends the call down the SDK's
    // path, which streams its answer (text/event-stream) and closes the stream after it.
    const streamKey = `sigterm-streamed-${Date.now()}`;
    const streamMarker = `load-sigterm-stream-${Date.now()}`;
    const streamed = fetch(commUrl, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${support.token}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': '2025-11-25',
        'x-request-id': streamMarker,
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/call',
        params: {
          name: 'slack_post_message',
          arguments: {
            channel: '#support-escalations',
            text: `load ${streamKey}`,
            idempotency_key: streamKey,
          },
          _meta: { progressToken: 'sigterm-stream' },
        },
      }),
    }).then(async (res) => ({ type: res.headers.get('content-type'), body: await res.text() }));
    await until('the in-flight posts reached Slack', async () => {
      const count = await upstreamCount(lf);
      return [...keys, streamKey].every((k) => count.sendsOf(k) === 1) ? true : undefined;
    });

    const exitLine = /\[communication\] exited \((\w+)\)/;
    process.kill(pid!, 'SIGTERM');
    const sigtermAt = Date.now();
    const held = await Promise.all(inFlight);
    const stream2 = await streamed;
    const exit = await until(
      'the communication server to exit',
      async () => exitLine.exec(fleetOut())?.[1],
      30_000,
    );
    const exitedAt = Date.now();
    await clearSimulatorFaults(`${lf.hubUrl}/slack`);
    const all = [...(await load), ...held];
    await caller.close();
    sse.abort();

    // Exit 0: drained and flushed before the grace period (past it, the server exits 1).
    expect(exit, fleetOut().slice(-3000)).toBe('0');
    // The calls in flight finished and were answered: each post sent once.
    expect(
      held.map((r) => r.code),
      held.map((r) => r.text).join('\n'),
    ).toEqual(keys.map(() => 'ok'));
    // The streamed call in flight: an SSE answer carrying its result, the stream closed after it (its
    // body was read to the end), and its one final record says ok. Exit 0 above says it did not hold
    // the server past its call up to the grace period.
    expect(stream2.type, stream2.body).toMatch(/^text\/event-stream/);
    const last = [...stream2.body.matchAll(/^data: (.*)$/gm)].map((m) => m[1]!).pop();
    const answer = JSON.parse(last ?? '{}') as { id?: unknown; result?: { isError?: boolean } };
    expect(answer.id, stream2.body).toBe(1);
    expect(answer.result, stream2.body).toBeDefined();
    expect(answer.result?.isError, stream2.body).not.toBe(true);
    expect(
      (
        await until("the streamed call's record", async () => {
          const rows = (await auditRows(lf.target.fleetDbUrl, [streamMarker])).filter(
            (r) => r.outcome !== 'started',
          );
          return rows.length > 0 ? rows : undefined;
        })
      ).map((r) => r.outcome),
    ).toEqual(['ok']);
    // No server serves a standalone SSE stream: the GET is refused, nothing is left open.
    expect(stream.status).toBe(405);
    expect(await streamEnded).not.toBe('still open');
    // New calls to the stopping server are refused (a margin for calls the server read before the signal).
    const after = all.filter((r) => r.server === 'communication' && r.startedAt > sigtermAt + 500);
    expect(after.length).toBeGreaterThan(0);
    expect(
      after.filter((r) => r.code === 'ok'),
      JSON.stringify(codesOf(after)),
    ).toEqual([]);
    // The other servers kept answering meanwhile.
    const others = all.filter(
      (r) => r.server !== 'communication' && r.startedAt > sigtermAt && r.startedAt < exitedAt,
    );
    expect(others.filter((r) => r.code === 'ok').length, JSON.stringify(codesOf(others))).toBeGreaterThan(0);
    expect(others.filter((r) => r.code === 'transport_error')).toEqual([]);

    // The verdict: every answered call has exactly one durable record, the in-flight ones included.
    const v = await settledVerdict(lf.target.fleetDbUrl, all);
    expect(v.ok, verdictText(v)).toBe(true);
    for (const r of held) expect(v.recordsOf(r.marker)).toBe(1);
    const sends = await doubleSends(lf, all);
    expect(sends.double, 'sent twice upstream').toEqual([]);
    expect(sends.lost, 'accepted but never sent').toEqual([]);
    // Sends without an idempotency key were among them (counted per call, by the marker they carry).
    expect(sends.checkedKeyless).toBeGreaterThan(0);
    // The other direction: everything the upstreams took has its call's final audit record.
    expect(sends.unrecorded, 'sent upstream without a final audit record').toEqual([]);
    // The server is really gone (its port refuses).
    await expect(fetch(`${originOf(commUrl)}/healthz`)).rejects.toThrow();
  }, 120_000);
});
