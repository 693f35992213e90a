// The Salesforce simulator driven by the real jsforce 3: orgs told apart by instance URL path and
// session id, the SOQL subset (and Salesforce's refusals), retrieve / update / create, faults, paging.
import { Connection } from 'jsforce';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  parseSoql,
  SALESFORCE_INJECTION_TEXT,
  type StartedSalesforceSimulator,
  startSalesforceSimulator,
  to18,
} from '../src/salesforce/index.js';
import { DEMO_CUSTOMERS } from '../src/vendors/demo-customers.js';

let sf: StartedSalesforceSimulator;
const conn = (tenant: 'acme' | 'globex' | 'initech', token?: string) =>
  new Connection({
    instanceUrl: sf.tenants[tenant].instanceUrl,
    accessToken: token ?? sf.tenants[tenant].accessToken,
    version: '62.0',
  });

beforeAll(async () => {
  sf = await startSalesforceSimulator();
});
afterAll(async () => {
  await sf.close();
});

/** The error jsforce threw, with its errorCode. */
async function failure(p: PromiseLike<unknown>): Promise<{ errorCode?: string; message: string }> {
  try {
    await p;
  } catch (e) {
    return e as { errorCode?: string; message: string };
  }
  throw new Error('expected a failure');
}

describe('Salesforce simulator with jsforce 3', () => {
  it('answers a query of an org with its own customers, ids 18 characters with the right prefixes', async () => {
    const res = await conn('acme').query<Record<string, unknown>>(
      "SELECT Id, Name, Website, OwnerId FROM Account WHERE Name LIKE 'Juniper%' ORDER BY Name ASC LIMIT 5",
    );
    expect(res.done).toBe(true);
    const acme = DEMO_CUSTOMERS.filter((c) => c.tenant === 'acme' && c.name.startsWith('Juniper'));
    expect(res.totalSize).toBe(Math.min(5, acme.length));
    for (const r of res.records) {
      expect(r.Id).toMatch(/^001[A-Za-z0-9]{15}$/);
      expect(to18((r.Id as string).slice(0, 15))).toBe(r.Id);
      expect(r.OwnerId).toMatch(/^005/);
      expect((r.attributes as { type: string }).type).toBe('Account');
      expect(acme.map((c) => c.name)).toContain(r.Name);
    }
    const globex = await conn('globex').query<{ Name: string }>('SELECT Name FROM Account');
    const names = new Set(DEMO_CUSTOMERS.filter((c) => c.tenant === 'globex').map((c) => c.name));
    expect(globex.records.every((r) => names.has(r.Name))).toBe(true);
    expect(sf.simulator.calls.at(-1)).toMatchObject({ org: 'globex', soql: 'SELECT Name FROM Account' });
  });

  it("refuses another org's session id, and a bad one, with INVALID_SESSION_ID", async () => {
    const wrong = conn('globex', sf.tenants.acme.accessToken);
    const e = await failure(wrong.query('SELECT Id FROM Account'));
    expect(e.errorCode).toBe('INVALID_SESSION_ID');
    expect((await failure(conn('acme', '00Dbogus!AQxyz').query('SELECT Id FROM Account'))).errorCode).toBe(
      'INVALID_SESSION_ID',
    );
  });

  it('parses literals with escapes, dates, booleans, null and IN, and filters by them', async () => {
    const q = parseSoql(
      "SELECT Id FROM Task WHERE (Subject = 'a\\'b\\\\c\\n' OR Subject LIKE '50\\%\\_%') AND IsClosed = FALSE AND ActivityDate >= 2025-01-01 AND WhoId != null AND Status IN ('Not Started', 'In Progress') ORDER BY ActivityDate DESC NULLS LAST LIMIT 10",
    );
    expect(q.where).toMatchObject({
      kind: 'and',
      items: [
        {
          kind: 'or',
          items: [
            { kind: 'cmp', op: '=', value: { type: 'string', value: "a'b\\c\n" } },
            { kind: 'cmp', op: 'LIKE', value: { pattern: [{ lit: '50%_' }, '%'] } },
          ],
        },
        { kind: 'cmp', field: 'IsClosed', value: { type: 'boolean', value: false } },
        { kind: 'cmp', field: 'ActivityDate', op: '>=', value: { type: 'date', value: '2025-01-01' } },
        { kind: 'cmp', field: 'WhoId', op: '!=', value: { type: 'null' } },
        { kind: 'in', field: 'Status', values: [{ value: 'Not Started' }, { value: 'In Progress' }] },
      ],
    });
    const open = await conn('acme').query<{ IsClosed: boolean; Status: string }>(
      "SELECT Id, Subject, Status, IsClosed FROM Task WHERE IsClosed = FALSE AND Status IN ('Not Started', 'In Progress')",
    );
    expect(open.totalSize).toBeGreaterThan(0);
    expect(open.records.every((r) => !r.IsClosed)).toBe(true);
  });

  it('answers MALFORMED_QUERY, INVALID_FIELD, INVALID_TYPE and filter-type errors as Salesforce does', async () => {
    const c = conn('acme');
    const code = async (soql: string) => (await failure(c.query(soql))).errorCode;
    expect(await code("SELECT Id FROM Account WHERE Name = 'x")).toBe('MALFORMED_QUERY');
    expect(await code('SELECT Id, (SELECT Id FROM Contacts) FROM Account')).toBe('MALFORMED_QUERY');
    expect(await code('SELECT TYPEOF What WHEN Account THEN Name END FROM Task')).toBe('MALFORMED_QUERY');
    expect(await code("SELECT Id FROM Account WHERE Name = 'a\\q'")).toBe('MALFORMED_QUERY');
    expect(await code('SELECT Id FROM Account GROUP BY Name')).toBe('MALFORMED_QUERY');
    expect(await code('SELECT Password__c FROM Account')).toBe('INVALID_FIELD');
    expect(await code('SELECT Id FROM PermissionSetAssignment')).toBe('INVALID_TYPE');
    expect(await code("SELECT Id FROM Account WHERE Description = 'x'")).toBe('INVALID_FIELD');
    expect(await code("SELECT Id FROM Opportunity WHERE CloseDate = '2025-01-01'")).toBe(
      'INVALID_QUERY_FILTER_OPERATOR',
    );
    // The real API also answers User: the server's allow-list is what keeps it out of reach.
    expect((await c.query('SELECT Id, Username FROM User')).totalSize).toBeGreaterThan(0);
  });

  it('retrieves, updates (204) and creates a Task (201), checking fields like Salesforce', async () => {
    const c = conn('acme');
    const acc = (await c.query<{ Id: string }>('SELECT Id FROM Account ORDER BY Name LIMIT 1')).records[0]!;
    const got = await c.sobject('Account').retrieve(acc.Id, { fields: ['Name', 'Rating'] });
    expect(got).toMatchObject({ Name: expect.any(String), attributes: { type: 'Account' } });
    const upd = await c
      .sobject('Account')
      .update({ Id: acc.Id, Rating: 'Hot', Description: 'Renewal at risk' });
    expect(upd).toMatchObject({ id: acc.Id, success: true });
    const after = await c.sobject('Account').retrieve(acc.Id, { fields: ['Rating', 'Description'] });
    expect(after).toMatchObject({ Rating: 'Hot', Description: 'Renewal at risk' });
    expect((await failure(c.sobject('Account').update({ Id: acc.Id, Rating: 'Lukewarm' }))).errorCode).toBe(
      'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST',
    );
    expect(
      (await failure(c.sobject('Account').update({ Id: acc.Id, CreatedDate: '2020-01-01' }))).errorCode,
    ).toBe('INVALID_FIELD_FOR_INSERT_UPDATE');
    const made = await c
      .sobject('Task')
      .create({ Subject: 'Call back', WhatId: acc.Id, ActivityDate: '2026-02-01' });
    expect(made).toMatchObject({ success: true, id: expect.stringMatching(/^00T[A-Za-z0-9]{15}$/) });
    const task = await c.sobject('Task').retrieve((made as { id: string }).id);
    expect(task).toMatchObject({
      Subject: 'Call back',
      Status: 'Not Started',
      IsClosed: false,
      WhatId: acc.Id,
    });
    expect((await failure(c.sobject('Account').retrieve('001000000000000AAA'))).errorCode).toBe('NOT_FOUND');
  });

  it('seeds the injection text in one Account description (V15)', async () => {
    const res = await conn('acme').query<{ Description: string }>('SELECT Description FROM Account');
    expect(res.records.filter((r) => r.Description === SALESFORCE_INJECTION_TEXT)).toHaveLength(1);
  });

  it('applies faults per operation, in the error body shape Salesforce uses', async () => {
    sf.simulator.failNext('query', { error: 'QUERY_TIMEOUT' });
    expect((await failure(conn('acme').query('SELECT Id FROM Account'))).errorCode).toBe('QUERY_TIMEOUT');
    sf.simulator.failNext('acme:update', { error: 'UNABLE_TO_LOCK_ROW' });
    const acc = (await conn('acme').query<{ Id: string }>('SELECT Id FROM Account LIMIT 1')).records[0]!;
    expect(
      (await failure(conn('acme').sobject('Account').update({ Id: acc.Id, Rating: 'Warm' }))).errorCode,
    ).toBe('UNABLE_TO_LOCK_ROW');
    // jsforce never retries a PATCH: one 503 is what the caller sees.
    sf.simulator.failNext('update', { status: 503 });
    expect(
      (await failure(conn('acme').sobject('Account').update({ Id: acc.Id, Rating: 'Warm' }))).errorCode,
    ).toBe('SERVER_UNAVAILABLE');
    // The fault is on one org only.
    sf.simulator.failNext('globex:query', { error: 'QUERY_TIMEOUT' });
    expect((await conn('acme').query('SELECT Id FROM Account LIMIT 1')).totalSize).toBe(1);
    sf.simulator.clearFaults();
  });

  it('logs in with client credentials and answers with the org instance URL', async () => {
    const t = sf.tenants.globex;
    const res = await fetch(`${t.instanceUrl}/services/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: t.clientId,
        client_secret: t.clientSecret,
      }),
    });
    const body = (await res.json()) as { access_token: string; instance_url: string };
    expect(res.headers.get('x-simulator')).toBe('mcp-fleet salesforce simulator');
    expect(body.instance_url).toBe(t.instanceUrl);
    const c = new Connection({
      instanceUrl: body.instance_url,
      accessToken: body.access_token,
      version: '62.0',
    });
    expect((await c.query('SELECT Id FROM Account LIMIT 1')).totalSize).toBe(1);
    const bad = await fetch(`${t.instanceUrl}/services/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: t.clientId,
        client_secret: 'nope',
      }),
    });
    expect(bad.status).toBe(400);
  });
});
