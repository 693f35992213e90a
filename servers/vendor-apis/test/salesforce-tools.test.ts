// The four Salesforce tools through a real MCP client against the booted vendor-apis server and the
// Salesforce simulator (real jsforce): every tool answers; off-list objects/fields, SOSL and bad ids are
// refused with nothing sent (V6, V9, V10, V11); writes are once per idempotency key and never retried after
// a 5xx or a timeout; a tenant only ever reaches its own org (V12); vendor text comes back untrusted (V15);
// errors carrying the instance URL and session id reach no result, audit record or log line (V16).
import { SALESFORCE_INJECTION_TEXT, type VendorHub } from '@mcp-fleet/simulators';
import type { TestClient } from '@mcp-fleet/testkit';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  bootVendor,
  callTool,
  customerOf,
  multiTenantEnv,
  salesforceIdsOf,
  startVendors,
  type VendorServer,
} from './vendor-server.js';

let hub: VendorHub;
let f: VendorServer;
let admin: TestClient;
let analyst: TestClient;
let globexAdmin: TestClient;

const sim = () => hub.salesforce!;
const calls = () => sim().calls;
const acme = () => customerOf('acme', 1);

beforeAll(async () => {
  hub = await startVendors();
  f = await bootVendor({
    prefix: 'vendor_salesforce_tools',
    env: multiTenantEnv(hub, {
      vendors: ['salesforce'],
      extra: { VENDOR_APIS_SALESFORCE_TIMEOUT_MS: '1000' },
    }),
    upstreams: [hub],
  });
  admin = await f.clientFor({ role: 'admin', tenant: 'acme' });
  analyst = await f.clientFor({ role: 'analyst', tenant: 'acme' });
  globexAdmin = await f.clientFor({ role: 'admin', tenant: 'globex' });
}, 60_000);
afterAll(() => f?.close());
beforeEach(() => sim().clearFaults());

describe('salesforce tools', () => {
  it('lists the four tools and no SOSL, raw SOQL, delete, upsert, Apex or bulk tool (V10, V11)', async () => {
    const names = (await admin.listTools()).tools
      .map((t) => t.name)
      .filter((n) => n.startsWith('salesforce'));
    expect(names.sort()).toEqual([
      'salesforce_create_task',
      'salesforce_get_record',
      'salesforce_query',
      'salesforce_update_record',
    ]);
    const schema = JSON.stringify(
      (
        (await admin.listTools()).tools.find((t) => t.name === 'salesforce_query') as
          | { inputSchema?: unknown }
          | undefined
      )?.inputSchema,
    );
    expect(schema).not.toMatch(/"(soql|sosl|q|query|search|searchTerm|whereClause)"/);
  });

  it('finds an account by typed conditions, marked untrusted, and its open tasks', async () => {
    const c = acme();
    const r = await callTool(analyst, 'salesforce_query', {
      object: 'Account',
      fields: ['Name', 'Website', 'Rating', 'OwnerId'],
      where: [{ field: 'Name', op: 'eq', value: c.name }],
    });
    expect(r.isError).toBe(false);
    const recs = r.data?.records as Record<string, unknown>[];
    expect(recs).toHaveLength(1);
    expect(recs[0]).toMatchObject({ Name: c.name, Website: `https://customer${c.id}.example.com` });
    expect(r.meta?.['io.mcp-fleet/untrusted']).toMatchObject({ source: 'salesforce' });
    expect(calls().at(-1)).toMatchObject({
      org: 'acme',
      soql: `SELECT Id, Name, Website, Rating, OwnerId FROM Account WHERE Name = '${c.name}' LIMIT 100`,
    });
    const tasks = await callTool(analyst, 'salesforce_query', {
      object: 'Task',
      fields: ['Subject', 'Status', 'ActivityDate'],
      where: [
        { field: 'WhatId', op: 'eq', value: recs[0]!.Id },
        { field: 'IsClosed', op: 'eq', value: false },
      ],
      order_by: { field: 'ActivityDate', direction: 'asc' },
      limit: 1_000_000,
    });
    expect(tasks.isError).toBe(false);
    expect(calls().at(-1)?.soql).toMatch(/ORDER BY ActivityDate ASC LIMIT 2000$/);
  });

  it('reads a record by id with its fields; the injection text comes back as data (V15)', async () => {
    const ids = salesforceIdsOf(hub, customerOf('acme', 0));
    const r = await callTool(analyst, 'salesforce_get_record', { object: 'Account', id: ids.account });
    expect(r.isError).toBe(false);
    expect((r.data?.record as Record<string, unknown> | undefined)?.Description).toBe(
      SALESFORCE_INJECTION_TEXT,
    );
    expect(r.meta?.['io.mcp-fleet/untrusted']).toMatchObject({ source: 'salesforce' });
    const contact = await callTool(analyst, 'salesforce_get_record', {
      object: 'Contact',
      id: ids.contact,
      fields: ['Email', 'Title'],
    });
    expect(contact.data?.record).toEqual({
      Id: ids.contact,
      Email: customerOf('acme', 0).email,
      Title: expect.any(String),
    });
  });

  it('refuses objects, fields and ids off the allow-list before any request (V6, V9)', async () => {
    const before = calls().length;
    const acc = salesforceIdsOf(hub, acme()).account;
    const attempts: [string, Record<string, unknown>][] = [
      ['salesforce_query', { object: 'User', fields: ['Username'] }],
      ['salesforce_query', { object: 'PermissionSetAssignment', fields: ['Id'] }],
      ['salesforce_query', { object: 'Account WHERE Id != null', fields: ['Id'] }],
      ['salesforce_query', { object: 'Account', fields: ['(SELECT Body FROM Attachments)'] }],
      ['salesforce_query', { object: 'Account', fields: ['Password__c'] }],
      ['salesforce_query', { object: 'Account', fields: ['TYPEOF What WHEN Account THEN Name END'] }],
      ['salesforce_query', { object: 'Account', fields: ['Owner.Username'] }],
      ['salesforce_query', { object: 'Account', fields: ['Id'], whereClause: 'Id != null' }],
      [
        'salesforce_query',
        { object: 'Account', fields: ['Id'], where: [{ field: 'Id', op: 'ne', value: "x' OR Id != null" }] },
      ],
      [
        'salesforce_query',
        { object: 'Account', fields: ['Id'], where: [{ field: 'Name', op: 'like', value: '%' }] },
      ],
      ['salesforce_get_record', { object: 'User', id: '005Dn100000000001AAA'.slice(0, 18) }],
      ['salesforce_get_record', { object: 'Account', id: `${acc.slice(0, 15)}/../../sobjects/User` }],
      ['salesforce_get_record', { object: 'Account', id: '005Dn1000000001AAA' }],
      ['salesforce_get_record', { object: 'Contact', id: acc }],
      ['salesforce_get_record', { object: 'Account', id: `${acc.slice(0, 15)}?fields=Password` }],
      ['salesforce_get_record', { object: 'Account', id: acc, fields: ['Owner.Email'] }],
    ];
    for (const [tool, args] of attempts) {
      const r = await callTool(admin, tool, args);
      expect(r.isError, `${tool} ${JSON.stringify(args)}`).toBe(true);
    }
    expect(calls().length).toBe(before);
    expect(calls().some((c) => /\/(search|queryAll|tooling|composite|apexrest)/.test(c.path))).toBe(false);
  });

  it('updates only configured fields, typed, and refuses others before any request', async () => {
    const { account, contact } = salesforceIdsOf(hub, acme());
    const patches = () => calls().filter((c) => c.operation === 'update');
    const before = patches().length;
    const refusals: Record<string, unknown>[] = [
      { object: 'Account', id: account, fields: { Name: 'Evil Corp' } },
      { object: 'Account', id: account, fields: { OwnerId: '005Dn1000000001AAA' } },
      { object: 'Account', id: account, fields: { Rating: 'Lukewarm' } },
      { object: 'Account', id: account, fields: { Description: 'ok', AnnualRevenue: '1' } },
      { object: 'Contact', id: contact, fields: { Email: 'attacker@evil.example' } },
      { object: 'Contact', id: contact, fields: { Title: 'x'.repeat(129) } },
      { object: 'Contact', id: contact, fields: { Title: 'two\nlines' } },
      { object: 'Task', id: contact, fields: { Subject: 'x' } },
      { object: 'Account', id: contact, fields: { Rating: 'Hot' } },
      { object: 'User', id: '005Dn1000000001AAA', fields: { IsActive: 'false' } },
    ];
    for (const args of refusals) {
      const r = await callTool(admin, 'salesforce_update_record', {
        ...args,
        idempotency_key: `refused-${JSON.stringify(args).length}`,
      });
      expect(r.isError, JSON.stringify(args)).toBe(true);
    }
    expect(patches().length).toBe(before);
    const ok = await callTool(admin, 'salesforce_update_record', {
      object: 'Account',
      id: account,
      fields: { Rating: 'Hot', Description: 'Renewal at risk.\nCall the CFO.' },
      idempotency_key: 'sf-update-ok',
    });
    expect(ok.isError).toBe(false);
    expect(sim().orgs.acme.find('Account', account)).toMatchObject({
      Rating: 'Hot',
      Description: 'Renewal at risk.\nCall the CFO.',
    });
    expect(patches().at(-1)?.body).toEqual({ Rating: 'Hot', Description: 'Renewal at risk.\nCall the CFO.' });
    const [audit] = (await f.auditOf('salesforce_update_record', refusals.length + 1)).filter(
      (a) => a.outcome === 'ok',
    );
    expect(audit?.details).toMatchObject({ recordId: account, fieldsChanged: ['Rating', 'Description'] });
    expect(JSON.stringify(audit?.details)).not.toContain('Call the CFO');
  });

  it('sends a write once per idempotency key (update and create)', async () => {
    const { account, contact } = salesforceIdsOf(hub, customerOf('acme', 2));
    const upd = {
      object: 'Contact',
      id: contact,
      fields: { Title: 'VP Finance' },
      idempotency_key: 'sf-once-upd',
    };
    const n = calls().length;
    expect((await callTool(admin, 'salesforce_update_record', upd)).isError).toBe(false);
    expect((await callTool(admin, 'salesforce_update_record', upd)).isError).toBe(false);
    expect(
      calls()
        .slice(n)
        .filter((c) => c.operation === 'update'),
    ).toHaveLength(1);
    const task = {
      subject: 'Send the invoice copy',
      what_id: account,
      who_id: contact,
      due_date: '2026-01-15',
      idempotency_key: 'sf-once-task',
    };
    const first = await callTool(admin, 'salesforce_create_task', task);
    const again = await callTool(admin, 'salesforce_create_task', task);
    expect(first.isError).toBe(false);
    expect(again.data?.id).toBe(first.data?.id);
    expect(
      calls()
        .slice(n)
        .filter((c) => c.operation === 'create'),
    ).toHaveLength(1);
    expect(sim().orgs.acme.find('Task', first.data?.id as string)).toMatchObject({
      Subject: 'Send the invoice copy',
      WhatId: account,
      WhoId: contact,
      ActivityDate: '2026-01-15',
      Status: 'Not Started',
    });
    const audits = await f.auditOf('salesforce_create_task', 1);
    expect(audits.some((a) => a.details?.taskId === first.data?.id)).toBe(true);
    const bad = await callTool(admin, 'salesforce_create_task', {
      subject: 'x',
      what_id: contact,
      idempotency_key: 'sf-bad-what',
    });
    expect(bad.isError).toBe(true);
    expect(
      calls()
        .slice(n)
        .filter((c) => c.operation === 'create'),
    ).toHaveLength(1);
  });

  it('never retries a write after a 500 or a timeout', async () => {
    const { account } = salesforceIdsOf(hub, customerOf('acme', 3));
    let n = calls().length;
    sim().failNext('update', { status: 500 });
    const r = await callTool(admin, 'salesforce_update_record', {
      object: 'Account',
      id: account,
      fields: { Rating: 'Cold' },
      idempotency_key: 'sf-500',
    });
    expect(r.code).toBe('upstream_uncertain');
    expect(
      calls()
        .slice(n)
        .filter((c) => c.operation === 'update'),
    ).toHaveLength(1);
    n = calls().length;
    sim().failNext('create', { hang: true });
    const t = await callTool(admin, 'salesforce_create_task', {
      subject: 'hangs',
      idempotency_key: 'sf-hang',
    });
    expect(t.isError).toBe(true);
    expect(t.code).toBe('upstream_uncertain');
    expect(
      calls()
        .slice(n)
        .filter((c) => c.operation === 'create'),
    ).toHaveLength(1);
  });

  it("pins each caller to its tenant's org: acme cannot read globex records, whatever the arguments (V12)", async () => {
    const g = salesforceIdsOf(hub, customerOf('globex', 0));
    const r = await callTool(admin, 'salesforce_get_record', { object: 'Account', id: g.account });
    expect(r.code).toBe('upstream_not_found');
    expect(calls().at(-1)).toMatchObject({ org: 'acme', operation: 'retrieve' });
    const q = await callTool(admin, 'salesforce_query', {
      object: 'Account',
      fields: ['Name'],
      where: [{ field: 'Name', op: 'eq', value: customerOf('globex', 0).name }],
    });
    expect(q.data?.totalSize).toBe(0);
    expect(calls().at(-1)?.org).toBe('acme');
    const sneaky = await callTool(admin, 'salesforce_query', {
      object: 'Account',
      fields: ['Name'],
      where: [],
      org: 'globex',
      instance_url: hub.facts.salesforce.orgs.globex.instanceUrl,
    });
    expect(sneaky.isError).toBe(true);
    const own = await callTool(globexAdmin, 'salesforce_get_record', { object: 'Account', id: g.account });
    expect(own.isError).toBe(false);
    expect(calls().at(-1)?.org).toBe('globex');
    const initech = await f.clientFor({ role: 'admin', tenant: 'initech' });
    const n = calls().length;
    const refused = await callTool(initech, 'salesforce_query', { object: 'Account', fields: ['Name'] });
    expect(refused.code).toBe('tenant_not_configured');
    expect(calls().length).toBe(n);
  });

  it('keeps the instance URL and session id out of results, audit records and logs (V16)', async () => {
    const org = hub.facts.salesforce.orgs.acme;
    const host = new URL(org.instanceUrl).host;
    const leak = `Session ${org.accessToken} for ${org.instanceUrl}/services/data/v62.0/query?q=SELECT failed; Authorization: Bearer ${org.accessToken}`;
    const { account } = salesforceIdsOf(hub, acme());
    sim().failNext('query', { status: 500, message: leak });
    sim().failNext('query', { status: 500, message: leak });
    sim().failNext('query', { status: 500, message: leak });
    const q = await callTool(analyst, 'salesforce_query', {
      object: 'Account',
      fields: ['Name'],
      where: [{ field: 'Name', op: 'eq', value: 'leak-test' }],
    });
    sim().failNext('update', { status: 400, message: leak });
    const u = await callTool(admin, 'salesforce_update_record', {
      object: 'Account',
      id: account,
      fields: { Rating: 'Warm' },
      idempotency_key: 'sf-leak',
    });
    sim().failNext('retrieve', { status: 401, message: leak });
    const g = await callTool(analyst, 'salesforce_get_record', { object: 'Account', id: account });
    expect(q.code).toBe('upstream_unavailable');
    expect(u.code).toBe('upstream_rejected');
    expect(g.code).toBe('upstream_auth');
    const audit = JSON.stringify(await f.audit());
    const everything = [
      q.text,
      u.text,
      g.text,
      JSON.stringify([q.meta, u.meta, g.meta]),
      audit,
      ...f.logs(),
      ...f.auditLines(),
    ].join('\n');
    const sessionPart = org.accessToken.split('!')[1] as string;
    for (const secret of [org.accessToken, sessionPart, org.instanceUrl, host, 'Authorization'])
      expect(everything, secret).not.toContain(secret);
    expect(q.text).toMatch(/^Salesforce: Salesforce failed \(HTTP 500, UNKNOWN_EXCEPTION\)/);
  });
});
