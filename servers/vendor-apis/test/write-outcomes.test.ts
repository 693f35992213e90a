// What a failed write tells its caller and the audit (attack round 2, C-1 and C-3), through the real
// server and the HubSpot simulator: a change that was sent and got no clear answer (the connection
// dropped after HubSpot created the note) is `upstream_uncertain` and audited `unknown`, never
// "unavailable, try again later" (a retry with a new key would make a second note); a write nothing
// was sent for (a paused breaker) or that HubSpot refused (a 429 that does not fit) gives its key back,
// so the advised retry with the same key can succeed.
import type { VendorHub } from '@mcp-fleet/simulators';
import { eventually, type TestClient } from '@mcp-fleet/testkit';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { bootHubSpot, type HubSpotFixture } from './hubspot-fixture.js';
import { bootVendor, callTool, multiTenantEnv, startVendors, type VendorServer } from './vendor-server.js';

let fx: HubSpotFixture;
let support: TestClient;
const CONTACT = '51000000001';

beforeAll(async () => {
  fx = await bootHubSpot('vendor_write_outcomes', {
    VENDOR_APIS_BREAKER_THRESHOLD: '2',
    VENDOR_APIS_BREAKER_HALF_OPEN_MS: '1000',
  });
  support = await fx.f.clientFor({ role: 'support', tenant: 'acme' });
});
afterAll(() => fx?.f.close());
beforeEach(() => fx.sim.simulator.clearFaults());

const notesWith = (body: string) =>
  fx.sim.simulator.createdNotes.filter((n) => n.properties.hs_note_body === body);
const posts = () => fx.sim.simulator.requests.filter((r) => r.operation === 'notes.create');

it('a note that landed but whose answer was lost is uncertain, audited unknown, and not sent again', async () => {
  fx.sim.simulator.failNext('notes.create', { dropAfterCommit: true });
  const args = { contact_id: CONTACT, body: 'dropped answer', idempotency_key: 'wo-drop' };
  const first = await callTool(support, 'hubspot_create_note', args);
  expect(first).toMatchObject({ isError: true, code: 'upstream_uncertain' });
  expect(first.text).toMatch(/whether it took effect is unknown/);
  expect(first.text).not.toMatch(/try again later|unavailable right now/);
  expect(notesWith('dropped answer')).toHaveLength(1);
  const [record] = await fx.f.auditOf('hubspot_create_note');
  expect(record?.outcome).toBe('unknown');
  expect(record?.details?.errorCode).toBe('upstream_uncertain');

  const before = posts().length;
  const again = await callTool(support, 'hubspot_create_note', args);
  expect(again.isError).toBe(true);
  expect(posts().length).toBe(before);
  expect(notesWith('dropped answer')).toHaveLength(1);
});

it('a write refused by the paused breaker gives its key back: the same key works once HubSpot is back', async () => {
  // Two failing reads open the breaker (threshold 2).
  fx.sim.simulator.setFault('*', { status: 503 });
  for (let i = 0; i < 2; i++)
    await callTool(support, 'hubspot_get_contact', { contact_id: String(51000000002 + i) });
  expect((await fx.f.readyz()).checks.breaker_hubspot).toBe('failing');
  fx.sim.simulator.setFault('*', null);

  const args = { contact_id: CONTACT, body: 'after the pause', idempotency_key: 'wo-paused' };
  const paused = await callTool(support, 'hubspot_create_note', args);
  expect(paused.code).toBe('upstream_unavailable');
  expect(paused.text).toMatch(/paused/);
  expect(notesWith('after the pause')).toHaveLength(0);

  const done = await eventually(
    async () => !(await callTool(support, 'hubspot_create_note', args)).isError,
    15_000,
  );
  expect(done).toBe(true);
  expect(notesWith('after the pause')).toHaveLength(1);
});

it('a 429 that does not fit in the call gives its key back (HubSpot processed nothing)', async () => {
  fx.sim.simulator.failNext('notes.create', { rateLimit: 120 });
  const args = { contact_id: CONTACT, body: 'rate limited', idempotency_key: 'wo-429' };
  const first = await callTool(support, 'hubspot_create_note', args);
  expect(first.code).toBe('upstream_rate_limited');
  expect(notesWith('rate limited')).toHaveLength(0);
  const again = await callTool(support, 'hubspot_create_note', args);
  expect(again.isError, again.text).toBe(false);
  expect(notesWith('rate limited')).toHaveLength(1);
});

it.each([
  [408, 'a 408 (a proxy may have forwarded it)'],
  [303, 'a 303 (a redirect after a POST means it was done)'],
  [502, 'a 502'],
])(
  'a write answered %s is uncertain and never sent again with its key (attack E-1, E-2): %s',
  async (status) => {
    const body = `answered ${status}`;
    fx.sim.simulator.failNext('notes.create', { status });
    const args = { contact_id: CONTACT, body, idempotency_key: `wo-${status}` };
    const first = await callTool(support, 'hubspot_create_note', args);
    expect(first).toMatchObject({ isError: true, code: 'upstream_uncertain' });
    const before = posts().length;
    const again = await callTool(support, 'hubspot_create_note', args);
    expect(again.isError).toBe(true);
    expect(posts().length).toBe(before);
  },
);

it('a failing write endpoint opens its own breaker even though the lookups before it succeed (attack E-3)', async () => {
  // The writes above may have left the write breaker open: wait until a note goes through.
  let n = 0;
  const ok = async () =>
    !(
      await callTool(support, 'hubspot_create_note', {
        contact_id: CONTACT,
        body: `warm-up ${n}`,
        idempotency_key: `wo-e3-warm-${n++}`,
      })
    ).isError;
  expect(await eventually(ok, 15_000)).toBe(true);
  // Threshold 2: two notes fail with a 503 while their contact lookups succeed; the third fails fast.
  fx.sim.simulator.setFault('notes.create', { status: 503 });
  for (let i = 0; i < 2; i++) {
    const r = await callTool(support, 'hubspot_create_note', {
      contact_id: CONTACT,
      body: `failing ${i}`,
      idempotency_key: `wo-e3-${i}`,
    });
    expect(r.code).toBe('upstream_uncertain');
  }
  const before = posts().length;
  const paused = await callTool(support, 'hubspot_create_note', {
    contact_id: CONTACT,
    body: 'fails fast',
    idempotency_key: 'wo-e3-fast',
  });
  expect(paused.code).toBe('upstream_unavailable');
  expect(paused.text).toMatch(/paused/);
  expect(posts().length).toBe(before);
  expect((await fx.f.readyz()).checks.breaker_hubspot).toBe('failing');
  // Reads of the same tenant still answer: only its writes are paused.
  expect((await callTool(support, 'hubspot_get_contact', { contact_id: CONTACT })).isError).toBe(false);
  fx.sim.simulator.setFault('notes.create', null);
});

describe('salesforce_create_task (committed before the request: the breaker refuses after the point of no return)', () => {
  let hub: VendorHub;
  let f: VendorServer;
  let admin: TestClient;
  beforeAll(async () => {
    hub = await startVendors();
    f = await bootVendor({
      prefix: 'vendor_write_outcomes_sf',
      env: multiTenantEnv(hub, {
        vendors: ['salesforce'],
        extra: { VENDOR_APIS_BREAKER_THRESHOLD: '2', VENDOR_APIS_BREAKER_HALF_OPEN_MS: '1000' },
      }),
      upstreams: [hub],
    });
    admin = await f.clientFor({ role: 'admin', tenant: 'acme' });
  }, 60_000);
  afterAll(() => f?.close());

  it('gives the key back when the paused breaker refused it: the same key creates the Task later (C-3)', async () => {
    const sf = hub.salesforce!;
    // Two creates answered 503 (uncertain) open the write breaker (threshold 2).
    sf.setFault('create', { status: 503 });
    for (let i = 0; i < 2; i++)
      expect(
        (
          await callTool(admin, 'salesforce_create_task', {
            subject: `fails ${i}`,
            idempotency_key: `wo-sf-${i}`,
          })
        ).code,
      ).toBe('upstream_uncertain');
    expect((await f.readyz()).checks.breaker_salesforce).toBe('failing');
    sf.setFault('create', null);
    const creates = () =>
      sf.calls.filter(
        (c) =>
          c.operation === 'create' &&
          (c.body as { Subject?: string } | undefined)?.Subject === 'after the pause',
      );
    const args = { subject: 'after the pause', idempotency_key: 'wo-sf-paused' };
    const paused = await callTool(admin, 'salesforce_create_task', args);
    expect(paused.code).toBe('upstream_unavailable');
    expect(creates()).toHaveLength(0);
    const done = await eventually(
      async () => !(await callTool(admin, 'salesforce_create_task', args)).isError,
      15_000,
    );
    expect(done).toBe(true);
    expect(creates()).toHaveLength(1);
  });
});
