// What never reaches HubSpot: unselective or wildcard searches and operator smuggling (V14), ids that
// are not HubSpot's numeric format (V6, a fast-check property), oversized limits (clamped, V7), and
// governance fields (V13: no tool takes them). Each refusal leaves the simulator's request log untouched.

import type { TestClient } from '@mcp-fleet/testkit';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootHubSpot, type HubSpotFixture } from './hubspot-fixture.js';
import { callTool } from './vendor-server.js';

let fx: HubSpotFixture;
let admin: TestClient;

beforeAll(async () => {
  fx = await bootHubSpot('vendor_hubspot_guards');
  admin = await fx.f.clientFor({ role: 'admin', tenant: 'acme' });
});
afterAll(() => fx?.f.close());

/** Calls a tool and returns its outcome and how many requests reached HubSpot meanwhile. */
async function reached(tool: string, args: Record<string, unknown>) {
  const before = fx.sim.simulator.requests.length;
  const out = await callTool(admin, tool, args);
  return { out, requests: fx.sim.simulator.requests.length - before };
}

describe('V14: searches need a selective, literal filter', () => {
  const refused: [string, Record<string, unknown>][] = [
    ['no filter at all', {}],
    ['only a limit', { limit: 100 }],
    ['wildcard email', { email: '*' }],
    ['wildcard local part', { email: '*@customer1.example.com' }],
    ['wildcard name', { name: '*' }],
    ['wildcard inside a name', { name: 'Ava*' }],
    ['wildcard company', { company: '*' }],
    ['empty name', { name: '' }],
    ['blank name', { name: '   ' }],
    ['one-letter name', { name: 'a' }],
    ['punctuation only', { name: '..' }],
    ['quoted injection', { name: 'x" OR "1"="1' }],
    ['JSON in a value', { name: '{"operator":"HAS_PROPERTY"}' }],
    [
      'a filter object',
      { filterGroups: [{ filters: [{ propertyName: 'email', operator: 'HAS_PROPERTY' }] }] },
    ],
    ['an operator argument', { email: 'billing@customer1.example.com', operator: 'CONTAINS_TOKEN' }],
    ['a property argument', { propertyName: 'email', value: '*' }],
    ['a query argument', { query: '*' }],
    ['an email with a newline', { email: 'billing@customer1.example.com\nx' }],
    ['control characters', { name: 'Ava\u0000Jansen' }],
  ];
  for (const [what, args] of refused)
    it(`hubspot_search_contacts refuses ${what} before HubSpot`, async () => {
      const { out, requests } = await reached('hubspot_search_contacts', args);
      expect(out.isError).toBe(true);
      expect(['invalid_arguments', 'rpc_error']).toContain(out.code);
      expect(requests).toBe(0);
    });

  for (const [what, args] of [
    ['no filter', {}],
    ['a wildcard stage', { stage: '*' }],
    ['an unknown stage', { stage: 'closedwon OR 1=1' }],
    ['a wildcard owner', { owner_id: '*' }],
    ['a HAS_PROPERTY owner', { owner_id: 'HAS_PROPERTY' }],
    [
      'a filter object',
      { filterGroups: [{ filters: [{ propertyName: 'dealstage', operator: 'HAS_PROPERTY' }] }] },
    ],
  ] as [string, Record<string, unknown>][])
    it(`hubspot_list_deals refuses ${what} before HubSpot`, async () => {
      const { out, requests } = await reached('hubspot_list_deals', args);
      expect(out.isError).toBe(true);
      expect(requests).toBe(0);
    });

  it('operator words in a name are a value: one EQ filter per property, nothing more', async () => {
    const { out, requests } = await reached('hubspot_search_contacts', {
      name: 'Smith OR lastname HAS PROPERTY',
    });
    expect(out.isError).toBe(false);
    expect(out.data?.total).toBe(0);
    expect(requests).toBe(1);
    const body = fx.sim.simulator.requests.at(-1)!.body as {
      filterGroups: { filters: { propertyName: string; operator: string; value: string }[] }[];
    };
    const filters = body.filterGroups.flatMap((g) => g.filters);
    expect(filters.every((f) => f.operator === 'EQ')).toBe(true);
    expect(filters.every((f) => ['firstname', 'lastname'].includes(f.propertyName))).toBe(true);
    expect(filters.map((f) => f.value)).toContain('Smith OR lastname HAS PROPERTY');
  });

  it('V7: a huge limit is clamped to 100 in the request HubSpot receives', async () => {
    const { out } = await reached('hubspot_list_deals', { stage: 'closedwon', limit: 1_000_000 });
    expect(out.isError).toBe(false);
    expect((fx.sim.simulator.requests.at(-1)!.body as { limit: number }).limit).toBe(100);
    const zero = await reached('hubspot_search_contacts', { name: 'Ava', limit: 0 });
    expect(zero.out.isError).toBe(true);
    expect(zero.requests).toBe(0);
  });
});

describe('V6: ids are HubSpot numeric ids or nothing is sent', () => {
  const fragment = fc.constantFrom(
    'contacts/../owners',
    '../',
    '/',
    '?',
    '#',
    '%2F',
    '%2e%2e',
    '..',
    '\\',
    '&',
    '=',
    ' ',
    '\t',
    '\n',
    '0',
    '1',
    '9',
    '51000000001',
    '?archived=true',
    '#x',
    '+',
    '-',
    'e',
    '１', // a full-width digit
  );
  const smuggled = fc
    .array(fragment, { minLength: 1, maxLength: 6 })
    .map((parts) => parts.join(''))
    .filter((s) => !/^[1-9][0-9]{0,18}$/.test(s));
  const tooLong = fc.bigInt({ min: 10n ** 19n, max: 10n ** 30n }).map(String);
  const leadingZero = fc.bigInt({ min: 0n, max: 10n ** 17n }).map((n) => `0${n}`);
  const bad = fc.oneof(smuggled, tooLong, leadingZero, fc.constant('9223372036854775808'));

  it('refuses every malformed id in every id argument, with the request log untouched', async () => {
    await fc.assert(
      fc.asyncProperty(
        bad,
        fc.constantFrom(
          ['hubspot_get_contact', 'contact_id'],
          ['hubspot_get_company', 'company_id'],
          ['hubspot_list_deals', 'owner_id'],
          ['hubspot_create_note', 'contact_id'],
          ['hubspot_create_note', 'company_id'],
        ),
        async (id, [tool, arg]) => {
          const args: Record<string, unknown> = { [arg!]: id };
          if (tool === 'hubspot_create_note')
            Object.assign(args, { body: 'x', idempotency_key: `v6-${Math.random()}` });
          const { out, requests } = await reached(tool!, args);
          expect(out.isError).toBe(true);
          expect(['invalid_arguments', 'rpc_error']).toContain(out.code);
          expect(requests).toBe(0);
        },
      ),
      { numRuns: 60 },
    );
    expect(fx.sim.simulator.createdNotes).toHaveLength(0);
  });

  it('a numeric id (not a string) is refused too', async () => {
    const { out, requests } = await reached('hubspot_get_contact', { contact_id: 51000000001 });
    expect(out.isError).toBe(true);
    expect(requests).toBe(0);
  });
});

describe('V13: no governance field, property or schema can be written', () => {
  const extras: Record<string, unknown>[] = [
    { hubspot_owner_id: '81000100' },
    { lifecyclestage: 'customer' },
    { hs_lead_status: 'CONNECTED' },
    { properties: { hubspot_owner_id: '1' } },
    { associations: [{ to: { id: '51000000002' } }] },
    { hs_email_optout: true },
    { contact_id: '51000000001', company_id: '18000000001' },
  ];
  for (const extra of extras)
    it(`hubspot_create_note refuses ${JSON.stringify(extra)}`, async () => {
      const { out, requests } = await reached('hubspot_create_note', {
        contact_id: '51000000001',
        body: 'note',
        ...extra,
        idempotency_key: `v13-${Object.keys(extra).join('-')}`,
      });
      expect(out.isError).toBe(true);
      expect(requests).toBe(0);
    });

  it('no tool takes an owner, stage or property to write', async () => {
    const { tools } = await admin.listTools();
    const note = tools.find((t) => t.name === 'hubspot_create_note') as unknown as {
      inputSchema: { properties: object };
    };
    // Core's reserved arguments (idempotency_key, approval_id) aside, the note's own are all there is.
    const own = Object.keys(note.inputSchema.properties).filter(
      (k) => k !== 'idempotency_key' && k !== 'approval_id',
    );
    expect(own.sort()).toEqual(['body', 'company_id', 'contact_id']);
    expect(
      fx.sim.simulator.requests.filter((r) => r.method !== 'GET' && !r.path.endsWith('/search')),
    ).toHaveLength(0);
  });
});
