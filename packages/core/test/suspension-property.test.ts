// Whatever a suspended agent sends as a tools/call — any tool name (granted, unknown, odd text), any
// arguments (valid, invalid, not an object), a stored idempotency key, an approved approval id, the
// same in _meta, either protocol era, the fast path or the SDK — nothing reaches a handler, and every
// call the pipeline answers is refused `agent_suspended` with exactly one audit record. The stored key
// replays after the resume; the approval given before the suspension does not come back (withdrawn).
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { APPROVAL_META_KEY, ERROR_META_KEY, IDEMPOTENCY_META_KEY } from '../src/kernel/meta-keys.js';
import { callMsg, modernCall, rpc } from './helpers.js';
import { eventually, ran, SuspFleet } from './suspension-harness.js';

let fleet: SuspFleet;
const agent = `prop-${randomUUID().slice(0, 8)}`;
let token: string;
const storedKey = `stored-${randomUUID()}`;
let approvedId: string;

/** One tools/call as raw JSON-RPC, legacy or modern. */
const send = (replica: number, body: unknown, headers: Record<string, string>, requestId: string) =>
  rpc(fleet.servers[replica]!.url, body, {
    authorization: `Bearer ${token}`,
    'x-request-id': requestId,
    ...headers,
  });

beforeAll(async () => {
  fleet = await SuspFleet.start({ count: 2, sdkOnlyReplicas: true });
  token = await fleet.agentToken(agent, { tenant: 'acme', user: 'dave' });
  // Before the suspension: a write stored under a key, and a destructive call approved by a person.
  const stored = await send(
    0,
    callMsg('write_note', { id: 's', text: 't', idempotency_key: storedKey }),
    {},
    randomUUID(),
  );
  expect(stored.body.result.isError).toBeFalsy();
  const held = await send(0, callMsg('delete_note', { id: 'd' }), {}, randomUUID());
  approvedId = held.body.result._meta['io.mcp-fleet/governance'].approvalId;
  const approved = await fleet.api(
    0,
    'POST',
    `/approvals/${approvedId}/approve`,
    await fleet.approverToken('bob', { tenant: 'acme' }),
    {},
  );
  expect(approved.status).toBe(200);

  const r = await fleet.api(1, 'POST', `/agents/${agent}/suspend`, await fleet.approverToken('alice'), {});
  expect(r.status).toBe(200);
  for (const i of [0, 1])
    await eventually(async () => {
      const probe = await send(i, callMsg('read_note', { id: 'probe' }), {}, randomUUID());
      expect(probe.body.result._meta[ERROR_META_KEY].code).toBe('agent_suspended');
    });
});
afterAll(async () => {
  await fleet?.close();
});

const toolName = fc.oneof(
  fc.constantFrom('read_note', 'write_note', 'delete_note', 'relay_notes'),
  fc.constantFrom('no_such_tool', 'READ_NOTE', 'read_note ', ''),
  fc.string({ maxLength: 24 }),
);
const validArgs = fc.record(
  { id: fc.string({ maxLength: 20 }), text: fc.string({ maxLength: 20 }) },
  {
    requiredKeys: ['id'],
  },
);
const args = fc.oneof(
  validArgs,
  fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 5 }),
);
const reserved = fc.record(
  {
    idempotency_key: fc.oneof(fc.constant(storedKey), fc.uuid(), fc.string({ maxLength: 10 })),
    approval_id: fc.oneof(fc.constant('approved'), fc.uuid(), fc.string({ maxLength: 10 })),
  },
  { requiredKeys: [] },
);
const inMeta = fc.record(
  {
    [IDEMPOTENCY_META_KEY]: fc.constantFrom(storedKey, 'other-key'),
    [APPROVAL_META_KEY]: fc.constant('approved'),
  },
  { requiredKeys: [] },
);

it('no tools/call of a suspended agent reaches a handler, whatever its shape', async () => {
  const before = { ...ran };
  let answered = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.record({
        name: toolName,
        args,
        reserved,
        meta: fc.option(inMeta, { nil: undefined }),
        modern: fc.boolean(),
        replica: fc.constantFrom(0, 1),
        nonObjectArgs: fc.option(fc.jsonValue({ maxDepth: 1 }), { nil: undefined, freq: 8 }),
      }),
      async (c) => {
        const resolve = (v: unknown) => (v === 'approved' ? approvedId : v);
        const a: Record<string, unknown> = { ...c.args };
        for (const [k, v] of Object.entries(c.reserved)) a[k] = resolve(v);
        const sent = c.nonObjectArgs !== undefined ? c.nonObjectArgs : a;
        const requestId = randomUUID();
        let body: { params: Record<string, unknown> } & Record<string, unknown>;
        let headers: Record<string, string> = {};
        if (c.modern) {
          const m = modernCall(c.name, sent as Record<string, unknown>);
          body = m.body as typeof body;
          headers = m.headers;
        } else body = callMsg(c.name, sent as Record<string, unknown>) as typeof body;
        if (c.meta) {
          const meta = Object.fromEntries(Object.entries(c.meta).map(([k, v]) => [k, resolve(v)]));
          body.params._meta = { ...(body.params._meta as object), ...meta };
        }
        const r = await send(c.replica, body, headers, requestId);
        expect(r.status).toBeLessThan(500);
        expect(ran).toEqual(before);
        const records = fleet.audit.filter(
          (l) => l.method === 'tools/call' && l.details?.clientRequestId === requestId,
        );
        expect(records.length).toBeLessThanOrEqual(1);
        if (r.body?.result) {
          answered += 1;
          expect(r.body.result._meta[ERROR_META_KEY].code).toBe('agent_suspended');
          expect(records).toHaveLength(1);
          expect(records[0]).toMatchObject({ outcome: 'denied', decisionReason: 'agent_suspended' });
        } else {
          // Refused by the protocol host before the pipeline (malformed params): no handler either.
          expect(r.body?.error).toBeDefined();
        }
      },
    ),
    { numRuns: 120 },
  );
  // Most shapes reach the pipeline (the property is not vacuously about protocol errors).
  expect(answered).toBeGreaterThan(60);
  // The stored key and the approval were not touched: after a resume, the key replays and the approval runs once.
  const r = await fleet.api(0, 'POST', `/agents/${agent}/resume`, await fleet.approverToken('alice'), {});
  expect(r.status).toBe(200);
  await eventually(async () => {
    const replay = await send(
      1,
      callMsg('write_note', { id: 's', text: 't', idempotency_key: storedKey }),
      {},
      randomUUID(),
    );
    expect(replay.body.result._meta?.['io.mcp-fleet/replayed']).toBeTruthy();
  });
  // The approval given before the suspension was withdrawn by it: a resume does not bring it back.
  const runs = await send(0, callMsg('delete_note', { id: 'd', approval_id: approvedId }), {}, randomUUID());
  expect(runs.body.result._meta[ERROR_META_KEY].code).toBe('approval_refused');
  expect(ran.destroy).toBe(before.destroy);
  expect(ran.write).toBe(before.write);
});
