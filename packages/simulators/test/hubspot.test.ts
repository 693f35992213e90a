// The HubSpot simulator driven by the real @hubspot/api-client v14: auth (the token selects the portal),
// search with HubSpot's operators, limits and paging, reads with associations, note creation with
// HUBSPOT_DEFINED associations, owners, error bodies, faults and the request log.
import { Client } from '@hubspot/api-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  HUBSPOT_INJECTION_CONTACT_ID,
  HUBSPOT_INJECTION_TEXT,
  HUBSPOT_TENANTS,
  hubspotCompanyId,
  hubspotContactId,
  type StartedHubSpotSimulator,
  startHubSpotSimulator,
} from '../src/hubspot/index.js';
import { DEMO_CUSTOMERS } from '../src/vendors/demo-customers.js';

let sim: StartedHubSpotSimulator;
const client = (token: string) =>
  new Client({ accessToken: token, basePath: sim.url, numberOfApiCallRetries: 0 });
const acmeCustomer = DEMO_CUSTOMERS.find((c) => c.tenant === 'acme')!;
const globexCustomer = DEMO_CUSTOMERS.find((c) => c.tenant === 'globex')!;

/** What the SDK threw: status and HubSpot's body. */
async function failure(
  p: Promise<unknown>,
): Promise<{ code: number; body: Record<string, unknown>; headers: Record<string, string> }> {
  try {
    await p;
  } catch (e) {
    return e as never;
  }
  throw new Error('expected a failure');
}

beforeAll(async () => {
  sim = await startHubSpotSimulator();
});
afterAll(async () => {
  await sim.close();
});

describe('HubSpot simulator through @hubspot/api-client', () => {
  it('answers 401 INVALID_AUTHENTICATION without a valid token, and labels itself', async () => {
    const f = await failure(client('pat-na1-nope').crm.contacts.basicApi.getById(hubspotContactId(1)));
    expect(f.code).toBe(401);
    expect(f.body).toMatchObject({ status: 'error', category: 'INVALID_AUTHENTICATION' });
    expect(typeof f.body.correlationId).toBe('string');
    const r = await fetch(`${sim.url}/crm/v3/owners`);
    expect(r.status).toBe(401);
    expect(r.headers.get('x-simulator')).toBe('mcp-fleet hubspot simulator');
    expect(sim.simulator.requests.at(-1)?.portal).toBeNull();
  });

  it('searches contacts by email in the token’s portal only', async () => {
    const acme = client(HUBSPOT_TENANTS.acme.token);
    const r = await acme.crm.contacts.searchApi.doSearch({
      filterGroups: [
        { filters: [{ propertyName: 'email', operator: 'EQ' as never, value: acmeCustomer.email }] },
      ],
      properties: ['email', 'firstname', 'lastname', 'hubspot_owner_id'],
      limit: 10,
    } as never);
    expect(r.total).toBe(1);
    expect(r.results[0]?.id).toBe(hubspotContactId(acmeCustomer.id));
    expect(r.results[0]?.properties.email).toBe(acmeCustomer.email);
    expect(r.results[0]?.createdAt).toBeInstanceOf(Date);
    expect(sim.simulator.requests.at(-1)).toMatchObject({ portal: 'acme', operation: 'contacts.search' });
    // globex's customer is not in acme's portal.
    const none = await acme.crm.contacts.searchApi.doSearch({
      filterGroups: [
        { filters: [{ propertyName: 'email', operator: 'EQ' as never, value: globexCustomer.email }] },
      ],
    } as never);
    expect(none.total).toBe(0);
  });

  it('implements HubSpot operators, wildcards, limits and paging', async () => {
    const acme = client(HUBSPOT_TENANTS.acme.token);
    const all = await acme.crm.contacts.searchApi.doSearch({
      filterGroups: [
        { filters: [{ propertyName: 'email', operator: 'CONTAINS_TOKEN' as never, value: '*' }] },
      ],
      limit: 5,
    } as never);
    const acmeCount = DEMO_CUSTOMERS.filter((c) => c.tenant === 'acme').length + 1;
    expect(all.total).toBe(acmeCount);
    expect(all.results).toHaveLength(5);
    expect(all.paging?.next?.after).toBe('5');
    const next = await acme.crm.contacts.searchApi.doSearch({
      filterGroups: [{ filters: [{ propertyName: 'email', operator: 'HAS_PROPERTY' as never }] }],
      limit: 5,
      after: '5',
    } as never);
    expect(next.results[0]?.id).not.toBe(all.results[0]?.id);
    const tooMany = await failure(acme.crm.contacts.searchApi.doSearch({ limit: 201 } as never));
    expect(tooMany.code).toBe(400);
    expect(tooMany.body.category).toBe('VALIDATION_ERROR');
    const deals = await acme.crm.deals.searchApi.doSearch({
      filterGroups: [
        { filters: [{ propertyName: 'dealstage', operator: 'EQ' as never, value: 'closedwon' }] },
      ],
      sorts: [{ propertyName: 'amount', direction: 'DESCENDING' }],
      properties: ['dealname', 'amount', 'dealstage'],
      limit: 100,
    } as never);
    expect(deals.total).toBeGreaterThan(0);
    const amounts = deals.results.map((d) => Number(d.properties.amount));
    expect([...amounts].sort((a, b) => b - a)).toEqual(amounts);
    expect(deals.results.every((d) => d.properties.dealstage === 'closedwon')).toBe(true);
  });

  it('reads a contact and a company with associations; 404 OBJECT_NOT_FOUND across portals', async () => {
    const acme = client(HUBSPOT_TENANTS.acme.token);
    const contact = await acme.crm.contacts.basicApi.getById(
      HUBSPOT_INJECTION_CONTACT_ID,
      ['firstname', 'jobtitle'],
      undefined,
      ['companies'],
    );
    expect(contact.properties.jobtitle).toBe(HUBSPOT_INJECTION_TEXT);
    expect(contact.associations?.companies?.results[0]?.id).toBe(hubspotCompanyId(acmeCustomer.id));
    const company = await acme.crm.companies.basicApi.getById(
      hubspotCompanyId(acmeCustomer.id),
      ['name', 'domain', 'country'],
      undefined,
      ['contacts', 'deals'],
    );
    expect(company.properties).toMatchObject({
      name: acmeCustomer.name,
      domain: `customer${acmeCustomer.id}.example.com`,
      country: acmeCustomer.country,
    });
    expect(company.associations?.deals?.results.length).toBeGreaterThan(0);
    const f = await failure(acme.crm.contacts.basicApi.getById(hubspotContactId(globexCustomer.id)));
    expect(f.code).toBe(404);
    expect(f.body.category).toBe('OBJECT_NOT_FOUND');
    expect(sim.simulator.requests.at(-1)?.portal).toBe('acme');
  });

  it('creates a note associated to a contact (typeId 202) and records it', async () => {
    const acme = client(HUBSPOT_TENANTS.acme.token);
    const before = sim.simulator.createdNotes.length;
    const note = await acme.crm.objects.notes.basicApi.create({
      properties: { hs_note_body: 'Called &lt;them&gt;', hs_timestamp: new Date().toISOString() },
      associations: [
        {
          to: { id: hubspotContactId(acmeCustomer.id) },
          types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 202 }],
        },
      ],
    } as never);
    expect(note.id).toMatch(/^[1-9][0-9]{0,18}$/);
    const created = sim.simulator.createdNotes;
    expect(created).toHaveLength(before + 1);
    expect(created.at(-1)).toMatchObject({
      portal: 'acme',
      associations: { contacts: [hubspotContactId(acmeCustomer.id)] },
    });
    // An association to a record of another portal is refused.
    const f = await failure(
      acme.crm.objects.notes.basicApi.create({
        properties: { hs_note_body: 'x', hs_timestamp: new Date().toISOString() },
        associations: [
          {
            to: { id: hubspotCompanyId(globexCustomer.id) },
            types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 190 }],
          },
        ],
      } as never),
    );
    expect(f.code).toBe(400);
    expect(sim.simulator.createdNotes).toHaveLength(before + 1);
  });

  it('lists owners; faults answer in HubSpot’s shape with Retry-After', async () => {
    const globex = client(HUBSPOT_TENANTS.globex.token);
    const owners = await globex.crm.owners.ownersApi.getPage(undefined, undefined, 10);
    expect(owners.results.length).toBe(3);
    sim.simulator.failNext('owners.list', { rateLimit: 2 });
    const rl = await failure(globex.crm.owners.ownersApi.getPage());
    expect(rl.code).toBe(429);
    expect(rl.headers['retry-after']).toBe('2');
    sim.simulator.failNext('owners.list', { status: 502, message: 'upstream broke' });
    const bad = await failure(globex.crm.owners.ownersApi.getPage());
    expect(bad.code).toBe(502);
    expect(bad.body).toMatchObject({
      status: 'error',
      message: 'upstream broke',
      category: 'INTERNAL_ERROR',
    });
  });
});
