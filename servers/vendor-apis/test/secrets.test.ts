// No vendor secret anywhere (threat V16): for EVERY tool of the server (taken from its tool list), with
// each simulator answering errors whose body carries its credential, the instance URL and a session
// id, none of those strings appears in any tool result, audit record (fleet database), audit line or
// log line.
import type { Fault, VendorHub } from '@mcp-fleet/simulators';
import { listedNames } from '@mcp-fleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bootVendor,
  callTool,
  customerOf,
  multiTenantEnv,
  sampleArgs,
  startVendors,
  type VendorServer,
  withKey,
} from './vendor-server.js';

let hub: VendorHub;
let f: VendorServer;
let secrets: string[];

beforeAll(async () => {
  hub = await startVendors();
  f = await bootVendor({
    prefix: 'vendor_secrets',
    env: multiTenantEnv(hub, {
      extra: {
        VENDOR_APIS_READ_RETRIES: '0',
        VENDOR_APIS_BREAKER_THRESHOLD: '10',
        VENDOR_APIS_BREAKER_HALF_OPEN_MS: '1000',
      },
    }),
    upstreams: [hub],
  });
  const sf = hub.facts.salesforce.orgs;
  secrets = [
    hub.facts.stripe.apiKey,
    hub.facts.stripe.secretKey,
    hub.facts.hubspot.tokens.acme,
    hub.facts.hubspot.tokens.globex,
    sf.acme.accessToken,
    sf.globex.accessToken,
    sf.acme.instanceUrl,
    sf.globex.instanceUrl,
    // The session part alone (after the org id and "!"), as an error may quote it.
    sf.acme.accessToken.split('!')[1] as string,
  ];
});
afterAll(() => f?.close());

/** The error text each vendor's simulator puts in its error body: every secret of this test. */
const leakText = () =>
  `Session ${hub.facts.salesforce.orgs.acme.accessToken} at ${hub.facts.salesforce.orgs.acme.instanceUrl}/services/data ` +
  `with Authorization: Bearer ${hub.facts.hubspot.tokens.acme} key ${hub.facts.stripe.apiKey} ` +
  `(${hub.facts.stripe.secretKey}, ${hub.facts.hubspot.tokens.globex}, ${hub.facts.salesforce.orgs.globex.accessToken} ` +
  `${hub.facts.salesforce.orgs.globex.instanceUrl})`;

const STATUSES = [400, 401, 403, 404, 409, 500];

describe('every tool, every vendor answering errors that carry secrets', () => {
  it('keeps every credential, instance URL and session id out of results, audit records and logs', async () => {
    const c = await f.clientFor({ role: 'admin', tenant: 'acme' });
    const tools = await listedNames(c);
    expect(tools).toHaveLength(14);
    const args = sampleArgs(hub, customerOf('acme'));
    const results: string[] = [];
    let n = 0;
    for (const status of STATUSES) {
      const fault: Fault = { status, message: leakText() };
      for (const sim of [hub.stripe, hub.hubspot, hub.salesforce]) sim?.setFault('*', fault);
      for (const tool of tools) {
        expect(args[tool], `sample arguments of ${tool}`).toBeDefined();
        n += 1;
        const r = await callTool(c, tool, withKey(tool, args[tool], `secrets-${n}`));
        expect(r.isError, `${tool} with a ${status}`).toBe(true);
        results.push(JSON.stringify(r));
      }
    }
    for (const sim of [hub.stripe, hub.hubspot, hub.salesforce]) sim?.setFault('*', null);
    // Something did reach the vendors (the errors came from them, not from a refusal before).
    expect((hub.stripe?.requests.length ?? 0) + (hub.hubspot?.requests.length ?? 0)).toBeGreaterThan(0);
    expect(hub.salesforce?.requests.length ?? 0).toBeGreaterThan(0);

    const audit = JSON.stringify(await f.auditOf('salesforce_create_task', STATUSES.length));
    const everything = {
      results: results.join('\n'),
      audit: JSON.stringify(await f.audit()) + audit,
      auditLines: f.auditLines().join('\n'),
      logs: f.logs().join('\n'),
    };
    for (const [where, text] of Object.entries(everything))
      for (const s of secrets) expect(text.includes(s), `${where} holds ${s.slice(0, 12)}…`).toBe(false);
    // The results still say what went wrong, by vendor.
    expect(everything.results).toMatch(/Stripe/);
    expect(everything.results).toMatch(/HubSpot/);
    expect(everything.results).toMatch(/Salesforce/);
  });
});
