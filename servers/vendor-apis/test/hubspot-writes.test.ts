// hubspot_create_note as a write: one note per idempotency key; sent once (never retried after a 5xx or a
// timeout, and a retry with the key does not send again); a 429 with Retry-After retried once; the body
// HTML-escaped; the note id audited; and HubSpot errors carrying the token never reach a result, the audit
// or a log line (V16).
import type { TestClient } from '@mcp-fleet/testkit';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { bootHubSpot, type HubSpotFixture } from './hubspot-fixture.js';
import { callTool } from './vendor-server.js';

let fx: HubSpotFixture;
let support: TestClient;
const CONTACT = '51000000001';
const COMPANY = '18000000001';

beforeAll(async () => {
  fx = await bootHubSpot('vendor_hubspot_writes');
  support = await fx.f.clientFor({ role: 'support', tenant: 'acme' });
});
afterAll(() => fx?.f.close());
beforeEach(() => fx.sim.simulator.clearFaults());

const posts = () => fx.sim.simulator.requests.filter((r) => r.operation === 'notes.create');

describe('hubspot_create_note', () => {
  it('creates one note per idempotency key; the replay answers the same note id', async () => {
    const args = {
      contact_id: CONTACT,
      body: 'Customer asked for an invoice copy.',
      idempotency_key: 'hs-note-once',
    };
    const first = await callTool(support, 'hubspot_create_note', args);
    expect(first.isError).toBe(false);
    const noteId = first.data?.noteId as string;
    expect(noteId).toMatch(/^[1-9][0-9]{0,18}$/);
    const again = await callTool(support, 'hubspot_create_note', args);
    expect(again.data?.noteId).toBe(noteId);
    expect(posts()).toHaveLength(1);
    const notes = fx.sim.simulator.createdNotes;
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatchObject({ portal: 'acme', associations: { contacts: [CONTACT] } });
    const [audit] = await fx.f.auditOf('hubspot_create_note', 1);
    expect(audit?.details).toMatchObject({ noteId });
  });

  it('escapes HTML and writes only the note body and timestamp, on a company with typeId 190', async () => {
    const body = '<img src=x onerror=alert(1)> & "quoted"\nsecond line';
    const r = await callTool(support, 'hubspot_create_note', {
      company_id: COMPANY,
      body,
      idempotency_key: 'hs-note-html',
    });
    expect(r.isError).toBe(false);
    const sent = posts().at(-1)!.body as {
      properties: Record<string, string>;
      associations: {
        to: { id: string };
        types: { associationCategory: string; associationTypeId: number }[];
      }[];
    };
    expect(Object.keys(sent.properties).sort()).toEqual(['hs_note_body', 'hs_timestamp']);
    expect(sent.properties.hs_note_body).toBe(
      '&lt;img src=x onerror=alert(1)&gt; &amp; &quot;quoted&quot;<br>second line',
    );
    expect(sent.associations).toEqual([
      { to: { id: COMPANY }, types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 190 }] },
    ]);
  });

  it('a 500 on the POST is not retried; the same key does not send again', async () => {
    const before = posts().length;
    fx.sim.simulator.failNext('notes.create', { status: 500 });
    const args = { contact_id: CONTACT, body: 'after a 500', idempotency_key: 'hs-note-500' };
    const first = await callTool(support, 'hubspot_create_note', args);
    // A 5xx after the POST was sent: whether the note landed is unknown, said and audited as such.
    expect(first).toMatchObject({ isError: true, code: 'upstream_uncertain' });
    expect(first.text).toMatch(/whether it took effect is unknown/);
    expect(posts().length).toBe(before + 1);
    const again = await callTool(support, 'hubspot_create_note', args);
    expect(again.isError).toBe(true);
    expect(posts().length).toBe(before + 1);
    expect(
      fx.sim.simulator.createdNotes.filter((n) => n.properties.hs_note_body === 'after a 500'),
    ).toHaveLength(0);
  });

  it('a timeout on the POST (the note landed) is not retried; the same key never makes a second note', async () => {
    const before = posts().length;
    // HubSpot creates the note but answers after the 1 s request timeout.
    fx.sim.simulator.failNext('notes.create', { delayAfterCommit: 3_000 });
    const args = { contact_id: CONTACT, body: 'slow answer', idempotency_key: 'hs-note-timeout' };
    const first = await callTool(support, 'hubspot_create_note', args);
    expect(first).toMatchObject({ isError: true, code: 'upstream_uncertain' });
    expect(first.text).toMatch(/whether it took effect is unknown/);
    expect(posts().length).toBe(before + 1);
    const again = await callTool(support, 'hubspot_create_note', args);
    expect(again.isError).toBe(true);
    expect(['upstream_uncertain', 'idempotency_unknown', 'idempotency_in_progress']).toContain(again.code);
    expect(posts().length).toBe(before + 1);
    expect(
      fx.sim.simulator.createdNotes.filter((n) => n.properties.hs_note_body === 'slow answer'),
    ).toHaveLength(1);
  });

  it('a hung POST is cut by the timeout and not retried', async () => {
    const before = posts().length;
    fx.sim.simulator.failNext('notes.create', { hang: true });
    const r = await callTool(support, 'hubspot_create_note', {
      contact_id: CONTACT,
      body: 'hung',
      idempotency_key: 'hs-note-hang',
    });
    expect(r).toMatchObject({ isError: true, code: 'upstream_uncertain' });
    expect(posts().length).toBe(before + 1);
  });

  it('a 429 with Retry-After is retried once and makes one note', async () => {
    const before = posts().length;
    fx.sim.simulator.failNext('notes.create', { rateLimit: 1 });
    const r = await callTool(support, 'hubspot_create_note', {
      contact_id: CONTACT,
      body: 'after a 429',
      idempotency_key: 'hs-note-429',
    });
    expect(r.isError).toBe(false);
    expect(posts().length).toBe(before + 2);
    expect(
      fx.sim.simulator.createdNotes.filter((n) => n.properties.hs_note_body === 'after a 429'),
    ).toHaveLength(1);
  });

  it('a read is retried after a 503 and answers', async () => {
    fx.sim.simulator.failNext('contacts.get', { status: 503 });
    const before = fx.sim.simulator.requests.length;
    const r = await callTool(support, 'hubspot_get_contact', { contact_id: CONTACT });
    expect(r.isError).toBe(false);
    expect(fx.sim.simulator.requests.length - before).toBe(2);
  });
});

describe('V16: HubSpot errors never carry secrets out', () => {
  it('an error body holding the token, a URL and a session id is reduced to the status and a documented category', async () => {
    const token = fx.sim.tenants.acme.token;
    const leak = `token ${token} rejected at ${fx.sim.url}/crm/v3/objects/contacts?hapikey=${token} session 00D5g000004Sxyz!AQ4AQ.secretsession`;
    fx.sim.simulator.failNext('companies.get', { status: 400, message: leak });
    fx.sim.simulator.failNext('notes.create', { status: 401, message: leak });
    // (a record no earlier test read: a cached answer would not reach HubSpot)
    const r = await callTool(support, 'hubspot_get_company', { company_id: COMPANY });
    expect(r).toMatchObject({ isError: true, code: 'upstream_rejected' });
    expect(r.text).toMatch(/HubSpot/);
    const w = await callTool(support, 'hubspot_create_note', {
      contact_id: CONTACT,
      body: 'leak check',
      idempotency_key: 'hs-leak',
    });
    expect(w).toMatchObject({ isError: true, code: 'upstream_auth' });
    const audit = JSON.stringify(await fx.f.audit());
    const everything = [
      r.text,
      JSON.stringify(r),
      w.text,
      JSON.stringify(w),
      audit,
      ...fx.f.logs(),
      ...fx.f.auditLines(),
    ];
    for (const text of everything) {
      expect(text).not.toContain(token);
      expect(text).not.toContain('secretsession');
      expect(text).not.toContain(fx.sim.url);
      expect(text).not.toContain('hapikey');
    }
  });
});
