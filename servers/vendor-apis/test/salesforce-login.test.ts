// The Salesforce client-credentials login (SALESFORCE_CLIENT_ID / SECRET instead of an access token):
// the server logs in on the configured instance, uses the session, and after the org expires it answers
// upstream_auth once and logs in again on the next call; the secret never shows in results or logs.
import type { VendorHub } from '@mcp-fleet/simulators';
import type { TestClient } from '@mcp-fleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootVendor, callTool, customerOf, startVendors, type VendorServer } from './vendor-server.js';

let hub: VendorHub;
let f: VendorServer;
let analyst: TestClient;

beforeAll(async () => {
  hub = await startVendors();
  const org = hub.salesforce!.tenants.globex;
  f = await bootVendor({
    prefix: 'vendor_salesforce_login',
    env: {
      SALESFORCE_INSTANCE_URL: org.instanceUrl,
      SALESFORCE_CLIENT_ID: org.clientId,
      SALESFORCE_CLIENT_SECRET: org.clientSecret,
    },
    upstreams: [hub],
  });
  analyst = await f.clientFor({ role: 'analyst' });
}, 60_000);
afterAll(() => f?.close());

const byName = (n: number) => ({
  object: 'Account',
  fields: ['Name'],
  where: [{ field: 'Name', op: 'eq', value: customerOf('globex', n).name }],
});

describe('salesforce client-credentials login', () => {
  it('logs in on the configured org, and again after the session expires', async () => {
    const sim = hub.salesforce!;
    const first = await callTool(analyst, 'salesforce_query', byName(0));
    expect(first.isError).toBe(false);
    expect(first.data?.records).toHaveLength(1);
    expect(sim.calls.filter((c) => c.operation !== 'limits').map((c) => `${c.operation}:${c.org}`)).toEqual([
      'token:globex',
      'query:globex',
    ]);
    sim.expireSession('globex');
    const refused = await callTool(analyst, 'salesforce_query', byName(1));
    expect(refused.code).toBe('upstream_auth');
    const again = await callTool(analyst, 'salesforce_query', byName(2));
    expect(again.isError).toBe(false);
    expect(sim.calls.filter((c) => c.operation === 'token')).toHaveLength(2);
    const secret = sim.tenants.globex.clientSecret;
    const all = [first.text, refused.text, again.text, ...f.logs(), ...f.auditLines()].join('\n');
    expect(all).not.toContain(secret);
    expect(all).not.toContain(sim.tenants.globex.accessToken);
  });
});
