// Tenant pinning end to end (threat V1/V2): with a tenant map, the caller's Stripe account, HubSpot
// portal and Salesforce org come from the token's tenant only. A tenant missing from the map (initech)
// or a token without tenant is refused on every tool with nothing reaching any simulator; and whatever
// an acme caller passes (globex's ids, unknown extra arguments), no request ever reaches globex.

import type { VendorHub } from '@mcp-fleet/simulators';
import { listedNames } from '@mcp-fleet/testkit';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bootVendor,
  callTool,
  customerOf,
  multiTenantEnv,
  requestCounts,
  requestsOf,
  sampleArgs,
  startVendors,
  type VendorServer,
  withKey,
} from './vendor-server.js';

let hub: VendorHub;
let f: VendorServer;
let tools: string[];

beforeAll(async () => {
  hub = await startVendors();
  f = await bootVendor({ prefix: 'vendor_tenants', env: multiTenantEnv(hub), upstreams: [hub] });
  tools = await listedNames(await f.clientFor({ role: 'admin', tenant: 'acme' }));
});
afterAll(() => f?.close());

describe('a caller the tenant map does not serve', () => {
  it('lists all 14 tools to an admin of a mapped tenant', () => {
    expect(tools).toHaveLength(14);
  });

  for (const who of [
    { label: 'tenant initech (left out of the map)', tenant: 'initech' as const },
    { label: 'a token without tenant', tenant: undefined },
  ])
    it(`${who.label}: every tool refused (tenant_not_configured), nothing reaches any vendor`, async () => {
      const c = await f.clientFor({
        role: 'admin',
        tenant: who.tenant,
        sub: `admin-${who.tenant ?? 'none'}`,
      });
      const before = requestCounts(hub);
      const args = sampleArgs(hub, customerOf(who.tenant ?? 'initech'), 'refused');
      for (const tool of tools) {
        expect(args[tool], `sample arguments of ${tool}`).toBeDefined();
        const r = await callTool(c, tool, withKey(tool, args[tool], `refused-${tool}-${who.tenant}`));
        expect(r.isError, `${tool}: ${r.text}`).toBe(true);
        expect(r.code, `${tool}: ${r.text}`).toBe('tenant_not_configured');
        expect(r.text).not.toMatch(/acme|globex|acct_|pat-|00D/);
      }
      expect(requestCounts(hub)).toEqual(before);
    });
});

describe('an acme caller, whatever the arguments', () => {
  it('sends every request to acme’s Stripe account, HubSpot portal and Salesforce org, never globex’s', async () => {
    const c = await f.clientFor({ role: 'admin', tenant: 'acme', sub: 'acme-prober' });
    const pools = [0, 1, 2].flatMap((n) => [
      sampleArgs(hub, customerOf('globex', n), `g${n}`),
      sampleArgs(hub, customerOf('acme', n), `a${n}`),
    ]);
    const extra = fc.dictionary(
      fc.oneof(
        fc.constantFrom('tenant', 'account', 'stripe_account', 'portal_id', 'instance_url', 'org', 'headers'),
        fc.string({ minLength: 1, maxLength: 12 }),
      ),
      fc.oneof(
        fc.constantFrom(
          'globex',
          hub.facts.stripe.accounts.globex,
          hub.facts.salesforce.orgs.globex.instanceUrl,
        ),
        fc.string({ maxLength: 20 }),
        fc.integer(),
      ),
      { maxKeys: 2 },
    );
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...tools),
        fc.nat({ max: pools.length - 1 }),
        fc.nat({ max: pools.length - 1 }),
        fc.option(extra, { freq: 3 }),
        async (tool, from, mixFrom, more) => {
          run += 1;
          // Arguments of a globex or acme customer, ids possibly mixed from another, maybe extra keys.
          const args: Record<string, unknown> = {
            ...(pools[from]?.[tool] as Record<string, unknown>),
          };
          for (const [k, v] of Object.entries(pools[mixFrom]?.[tool] ?? {}))
            if (/_id$|^id$/.test(k) && run % 2 === 0) args[k] = v;
          if (typeof args.body === 'string') args.body = `${args.body} run ${run}`;
          if (more) Object.assign(args, more);
          await callTool(c, tool, withKey(tool, args, `iso-${run}-${tool}`));
          const reached = requestsOf(hub);
          for (const vendor of ['stripe', 'hubspot', 'salesforce'] as const)
            for (const req of reached[vendor])
              expect(
                req.tenant,
                `${vendor} ${req.method} ${req.path} after ${tool} ${JSON.stringify(args)}`,
              ).toBe('acme');
        },
      ),
      { numRuns: 80 },
    );
    // The property ran against live vendors: some calls did reach them (acme's).
    const reached = requestsOf(hub);
    expect(reached.stripe.length + reached.hubspot.length + reached.salesforce.length).toBeGreaterThan(0);
  });
});
