// An exception anywhere in the governed pipeline (here: a tool's constraint check that throws) still
// ends the call with exactly one audit record (outcome `error`) and an answer naming the request,
// never an HTTP 500 that leaves no trace.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { callMsg, rpc } from '../helpers.js';
import { Fleet } from './harness.js';

let fleet: Fleet;
beforeAll(async () => {
  fleet = await Fleet.start({ count: 1 });
});
afterAll(async () => fleet?.close());

it('answers a call whose pipeline throws with an error result and exactly one error record', async () => {
  const token = await fleet.token({ sub: 'agent-boom', roles: ['zoner'] });
  const res = await rpc(fleet.replicas[0]!.url, callMsg('check_zone', { zone: 'boom' }, 5), {
    authorization: `Bearer ${token}`,
    'x-request-id': 'pipeline-boom-1',
    host: 'govtest.local',
  });
  expect(res.status).toBe(200);
  expect(res.body.result.isError).toBe(true);
  // The reference is the server's own request id (sent back as x-request-id), not the client's.
  const reference = res.headers.get('x-request-id');
  expect(reference).toMatch(/^[0-9a-f-]{36}$/);
  expect(res.body.result.content[0].text).toBe(
    `check_zone failed with an internal error (reference ${reference}). Retrying may help; if not, report the reference.`,
  );
  const records = fleet.audit.filter((a) => a.agentId === 'agent-boom');
  expect(records.map((r) => r.outcome)).toEqual(['error']);
  // The same tool still works for a value the check handles.
  const ok = await rpc(fleet.replicas[0]!.url, callMsg('check_zone', { zone: 'eu' }, 6), {
    authorization: `Bearer ${token}`,
    host: 'govtest.local',
  });
  expect(ok.body.result.content[0].text).toBe('zone eu');
});
