// Issue 16 on `pnpm start`'s fleet, as a user runs it: with OTEL_EXPORTER_OTLP_ENDPOINT pointing at a
// collector (a real OTLP/HTTP receiver in this test), an agent's Slack post that carries a W3C
// traceparent is found by that client trace id in its audit record (`fleet audit show --json`:
// details.clientTraceId), whose trace id is the fleet's own (TRACE_INCOMING=link, the default);
// `fleet audit --trace` finds the record by it, and the collector receives the call's spans under it
// from the communication server, down to the Slack Web API call made by the real @slack/web-api client
// against the Slack simulator, linked to the tool's handler; the client's span is the HTTP span's link.
import { randomBytes } from 'node:crypto';
import { type OtlpReceiver, type OtlpSpan, startOtlpReceiver, untilDefined } from '@mcp-fleet/testkit';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type LocalFleet, startLocalFleet } from './local-fleet.js';

let receiver: OtlpReceiver;
let fleet: LocalFleet;
const AGENT = `e2e-tracing-${randomBytes(3).toString('hex')}`;
/** A whole fleet's audit flush and span export: a longer bound, polled less often. */
const FLEET_WAIT = { timeoutMs: 20_000, everyMs: 100 };

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  fleet = await startLocalFleet({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url } });
}, 300_000);

afterAll(async () => {
  await fleet?.stop();
  await receiver?.close();
});

it('follows one Slack post by its trace id: audit record, server spans, the Slack SDK call', async () => {
  const token = (
    await fleet.fleet('token', '--agent', AGENT, '--role', 'support', '--server', 'communication')
  ).trim();
  const traceId = randomBytes(16).toString('hex');
  const clientSpan = randomBytes(8).toString('hex');
  const res = await fetch(fleet.urls.communication!, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2025-11-25',
      traceparent: `00-${traceId}-${clientSpan}-01`,
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: {
        name: 'slack_post_message',
        arguments: { channel: '#support-escalations', text: `traced post ${traceId.slice(0, 8)}` },
      },
    }),
  });
  const text = await res.text();
  expect(res.status, text).toBe(200);
  const answer = JSON.parse(/^data: (.*)$/m.exec(text)?.[1] ?? text);
  expect(answer.result?.isError, text).toBeFalsy();

  // The audit record, as `fleet audit` reads it from the fleet database.
  const record = await untilDefined(
    async () => {
      const rows: { id: string; tool: string; outcome: string }[] = JSON.parse(
        await fleet.fleet('audit', '--agent', AGENT, '--limit', '20', '--json'),
      );
      const row = rows.find((r) => r.tool === 'slack_post_message' && r.outcome !== 'started');
      return row ? JSON.parse(await fleet.fleet('audit', 'show', row.id, '--json')) : undefined;
    },
    'the audit record',
    FLEET_WAIT,
  );
  expect(record).toMatchObject({
    tool: 'slack_post_message',
    outcome: 'ok',
    details: { clientTraceId: traceId },
  });
  // The record's trace id is the fleet's, not the one the client chose; the trail finds the call by it.
  const fleetTrace: string = record.traceId;
  expect(fleetTrace).toMatch(/^[0-9a-f]{32}$/);
  expect(fleetTrace).not.toBe(traceId);
  const traced: { id: string }[] = JSON.parse(await fleet.fleet('audit', '--trace', fleetTrace, '--json'));
  expect(traced.map((r) => r.id)).toContain(record.id);

  // The spans: the communication server's, in the fleet's trace, the Slack call under the handler.
  const mine = await untilDefined(
    () => {
      const found = receiver.spans.filter((s) => s.traceId === fleetTrace);
      return found.some((s) => s.name === 'slack chat.postMessage') &&
        found.some((s) => s.name === 'mcp.handler') &&
        found.some((s) => s.name === 'POST /mcp')
        ? found
        : undefined;
    },
    'the spans of the post',
    FLEET_WAIT,
  );
  expect(new Set(mine.map((s) => s.service))).toEqual(new Set(['mcp-fleet-communication']));
  const byId = new Map(mine.map((s) => [s.spanId, s]));
  const ancestors = (s: OtlpSpan) => {
    const out: string[] = [];
    for (
      let p = s.parentSpanId ? byId.get(s.parentSpanId) : undefined;
      p;
      p = p.parentSpanId ? byId.get(p.parentSpanId) : undefined
    )
      out.push(p.name);
    return out;
  };
  const slack = mine.find((s) => s.name === 'slack chat.postMessage')!;
  expect(ancestors(slack)).toEqual(
    expect.arrayContaining(['mcp.handler', 'mcp.tool slack_post_message', 'POST /mcp']),
  );
  const http = mine.find((s) => s.name === 'POST /mcp')!;
  expect(http.parentSpanId || undefined).toBeUndefined();
  expect(http.links?.map((l) => [l.traceId, l.spanId])).toEqual([[traceId, clientSpan]]);
  expect(receiver.spans.filter((s) => s.traceId === traceId)).toEqual([]); // nothing exported under the client's id
  // The mutation's audit record was stored before it ran: a fleet-database span of the same trace.
  expect(mine.some((s) => s.name === 'pg INSERT')).toBe(true);
}, 120_000);
