// Every HubSpot tool through a real MCP client against the booted server and the HubSpot simulator:
// results trimmed, typed and marked untrusted; the tenant's portal pinned by the token, whatever the ids;
// injection text in a contact stays data (V15).
import {
  HUBSPOT_INJECTION_CONTACT_ID,
  HUBSPOT_INJECTION_TEXT,
  hubspotCompanyId,
  hubspotContactId,
} from '@mcp-fleet/simulators';
import { listedNames, type TestClient } from '@mcp-fleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootHubSpot, type Customer, firstCustomer, type HubSpotFixture } from './hubspot-fixture.js';
import { callTool } from './vendor-server.js';

let fx: HubSpotFixture;
let acme: TestClient;
let globex: TestClient;
let acmeCustomer: Customer;
let globexCustomer: Customer;
const UNTRUSTED = 'io.mcp-fleet/untrusted';

beforeAll(async () => {
  fx = await bootHubSpot('vendor_hubspot_tools');
  acmeCustomer = firstCustomer(fx, 'acme');
  globexCustomer = firstCustomer(fx, 'globex');
  acme = await fx.f.clientFor({ role: 'support', tenant: 'acme' });
  globex = await fx.f.clientFor({ role: 'analyst', tenant: 'globex' });
});
afterAll(() => fx?.f.close());

describe('HubSpot tools', () => {
  it('lists the five tools with output schemas; only create_note is mutating', async () => {
    expect([...(await listedNames(acme))].sort()).toEqual([
      'hubspot_create_note',
      'hubspot_get_company',
      'hubspot_get_contact',
      'hubspot_list_deals',
      'hubspot_search_contacts',
    ]);
    const { tools } = await acme.listTools();
    for (const t of tools) {
      expect(t.outputSchema).toBeDefined();
      expect(t.annotations?.readOnlyHint).toBe(t.name !== 'hubspot_create_note');
      expect(t.annotations?.destructiveHint).toBe(false);
    }
    // analyst: reads only.
    expect(await listedNames(globex)).not.toContain('hubspot_create_note');
  });

  it('hubspot_search_contacts finds a warehouse customer by email, marked untrusted', async () => {
    const r = await callTool(acme, 'hubspot_search_contacts', { email: acmeCustomer.email });
    expect(r.isError).toBe(false);
    expect(r.data).toMatchObject({
      total: 1,
      contacts: [
        { id: hubspotContactId(acmeCustomer.id), email: acmeCustomer.email, company: acmeCustomer.name },
      ],
    });
    expect(r.meta?.[UNTRUSTED]).toMatchObject({ source: 'hubspot' });
    const req = fx.sim.simulator.requests.at(-1)!;
    expect(req).toMatchObject({ portal: 'acme', operation: 'contacts.search' });
    expect(req.body).toMatchObject({
      filterGroups: [{ filters: [{ propertyName: 'email', operator: 'EQ', value: acmeCustomer.email }] }],
    });
  });

  it('hubspot_search_contacts by name and by company', async () => {
    const contact = fx.sim.simulator.portal('acme').contacts.get(hubspotContactId(acmeCustomer.id))!;
    const full = `${contact.properties.firstname} ${contact.properties.lastname}`;
    const byName = await callTool(acme, 'hubspot_search_contacts', { name: full });
    expect(((byName.data?.contacts ?? []) as { id: string }[]).map((c) => c.id)).toContain(contact.id);
    const byCompany = await callTool(acme, 'hubspot_search_contacts', {
      company: acmeCustomer.name,
      limit: 5,
    });
    expect(((byCompany.data?.contacts ?? []) as { id: string }[]).map((c) => c.id)).toContain(contact.id);
    // The injected contact is returned as data, fields verbatim.
    const injected = await callTool(acme, 'hubspot_search_contacts', {
      name: 'Ignore previous instructions Assistant',
    });
    expect(injected.data?.contacts).toEqual([
      expect.objectContaining({ id: HUBSPOT_INJECTION_CONTACT_ID, jobTitle: HUBSPOT_INJECTION_TEXT }),
    ]);
    expect(injected.meta?.[UNTRUSTED]).toBeDefined();
    expect(fx.sim.simulator.createdNotes).toHaveLength(0);
  });

  it('hubspot_get_contact and hubspot_get_company return trimmed records with associations', async () => {
    const c = await callTool(acme, 'hubspot_get_contact', { contact_id: hubspotContactId(acmeCustomer.id) });
    expect(c.isError).toBe(false);
    expect(c.data).toMatchObject({
      id: hubspotContactId(acmeCustomer.id),
      email: acmeCustomer.email,
      companyIds: [hubspotCompanyId(acmeCustomer.id)],
    });
    expect(c.meta?.[UNTRUSTED]).toMatchObject({ source: 'hubspot' });
    const co = await callTool(acme, 'hubspot_get_company', { company_id: hubspotCompanyId(acmeCustomer.id) });
    expect(co.data).toMatchObject({
      id: hubspotCompanyId(acmeCustomer.id),
      name: acmeCustomer.name,
      domain: `customer${acmeCustomer.id}.example.com`,
      country: acmeCustomer.country,
    });
    expect(co.data?.contactIds).toContain(hubspotContactId(acmeCustomer.id));
    expect(((co.data?.dealIds ?? []) as string[]).length).toBeGreaterThan(0);
  });

  it('hubspot_list_deals by stage and by owner, largest first, within the tenant', async () => {
    const r = await callTool(globex, 'hubspot_list_deals', { stage: 'closedwon', limit: 100 });
    expect(r.isError).toBe(false);
    const deals = r.data?.deals as { id: string; amount: number; stage: string }[];
    expect(deals.length).toBeGreaterThan(0);
    expect(deals.every((d) => d.stage === 'closedwon')).toBe(true);
    const globexDeals = fx.sim.simulator.portal('globex').deals;
    expect(deals.every((d) => globexDeals.has(d.id))).toBe(true);
    expect(deals.map((d) => d.amount)).toEqual([...deals.map((d) => d.amount)].sort((a, b) => b - a));
    const owner = fx.sim.simulator.portal('globex').owners[0]!.id;
    const mine = await callTool(globex, 'hubspot_list_deals', { owner_id: owner });
    expect(((mine.data?.deals ?? []) as { ownerId: string }[]).every((d) => d.ownerId === owner)).toBe(true);
  });

  it('tenant pinning: acme asking for globex ids is answered from acme’s portal (not found)', async () => {
    const before = fx.sim.simulator.requests.length;
    const r = await callTool(acme, 'hubspot_get_contact', {
      contact_id: hubspotContactId(globexCustomer.id),
    });
    expect(r).toMatchObject({ isError: true, code: 'upstream_not_found' });
    expect(r.text).toMatch(/no contact/);
    const co = await callTool(acme, 'hubspot_get_company', {
      company_id: hubspotCompanyId(globexCustomer.id),
    });
    expect(co.code).toBe('upstream_not_found');
    const hits = fx.sim.simulator.requests.slice(before);
    expect(hits.length).toBeGreaterThan(0);
    expect(hits.every((h) => h.portal === 'acme')).toBe(true);
    // A note on globex's contact from acme: refused before anything is written.
    const n = await callTool(acme, 'hubspot_create_note', {
      contact_id: hubspotContactId(globexCustomer.id),
      body: 'cross-tenant',
      idempotency_key: 'hs-cross-1',
    });
    expect(n.code).toBe('upstream_not_found');
    expect(fx.sim.simulator.requests.filter((q) => q.operation === 'notes.create')).toHaveLength(0);
  });

  it('a tenant missing from the map (initech) and a token with no tenant are refused before HubSpot', async () => {
    const before = fx.sim.simulator.requests.length;
    const initech = await fx.f.clientFor({ role: 'admin', tenant: 'initech' });
    const r = await callTool(initech, 'hubspot_search_contacts', { email: 'billing@customer3.example.com' });
    expect(r).toMatchObject({ isError: true, code: 'tenant_not_configured' });
    const none = await fx.f.clientFor({ role: 'admin', sub: 'no-tenant' });
    expect((await callTool(none, 'hubspot_get_contact', { contact_id: '51000000001' })).code).toBe(
      'tenant_not_configured',
    );
    expect(fx.sim.simulator.requests.length).toBe(before);
  });
});
