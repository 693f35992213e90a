// Which tools the server lists: a vendor without credentials has none listed and `fleet policy
// explain` says why (the variables to set); a full Stripe secret key leaves the Stripe tools unlisted
// and /readyz degraded with the reason in the log, unless STRIPE_ALLOW_SECRET_KEY=true.
import { declaredToolsOf } from '@mcp-fleet/core/internal';
import { listedNames } from '@mcp-fleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import definition from '../src/definition.js';
import { toolsByVendor } from '../src/tools/index.js';
import {
  bootVendor,
  callTool,
  singleTenantEnv,
  startVendors,
  type TestVendor,
  VENDORS,
  type VendorServer,
} from './vendor-server.js';

const names = (v: TestVendor) => toolsByVendor[v].map((t) => t.name).sort();

/** The variables each vendor's reason must name. */
const NAMED: Record<TestVendor, string[]> = {
  stripe: ['STRIPE_API_KEY'],
  hubspot: ['HUBSPOT_ACCESS_TOKEN', 'VENDOR_TENANTS_FILE'],
  salesforce: ['SALESFORCE_INSTANCE_URL', 'SALESFORCE_ACCESS_TOKEN', 'SALESFORCE_CLIENT_ID'],
};

describe('a vendor with no credentials', () => {
  it('has its tools declared but unlisted, with a reason naming the variables (what explain prints)', () => {
    const { tools, unlisted } = declaredToolsOf(definition, {});
    expect(tools.map((t) => t.name).sort()).toEqual(VENDORS.flatMap(names).sort());
    for (const v of VENDORS)
      for (const tool of names(v))
        for (const variable of NAMED[v]) expect(unlisted[tool], tool).toContain(variable);
  });

  for (const missing of VENDORS) {
    describe(`${missing} unconfigured, the other two configured`, () => {
      let f: VendorServer;
      beforeAll(async () => {
        const hub = await startVendors();
        f = await bootVendor({
          prefix: `vendor_list_${missing}`,
          env: singleTenantEnv(hub, { vendors: VENDORS.filter((v) => v !== missing) }),
          upstreams: [hub],
        });
      });
      afterAll(() => f?.close());

      it(`lists no ${missing} tool and every tool of the others; calling one is an unknown tool`, async () => {
        const c = await f.clientFor({ role: 'admin', tenant: 'acme' });
        const listed = await listedNames(c);
        for (const t of names(missing)) expect(listed).not.toContain(t);
        for (const v of VENDORS.filter((x) => x !== missing))
          for (const t of names(v)) expect(listed).toContain(t);
        const r = await callTool(c, names(missing)[0] as string, {});
        expect(r.isError).toBe(true);
        const ready = await f.readyz();
        expect(Object.keys(ready.checks)).not.toContain(`breaker_${missing}`);
        for (const v of VENDORS.filter((x) => x !== missing)) expect(ready.checks[`breaker_${v}`]).toBe('ok');
      });
    });
  }
});

describe('a full Stripe secret key (sk_…)', () => {
  let f: VendorServer;
  let allowed: VendorServer;
  beforeAll(async () => {
    const hub = await startVendors();
    const hub2 = await startVendors();
    const sk = { STRIPE_API_KEY: hub.facts.stripe.secretKey };
    f = await bootVendor({
      prefix: 'vendor_list_sk',
      env: singleTenantEnv(hub, { vendors: ['stripe', 'hubspot'], extra: sk }),
      upstreams: [hub],
    });
    allowed = await bootVendor({
      prefix: 'vendor_list_sk_allowed',
      env: singleTenantEnv(hub2, {
        vendors: ['stripe', 'hubspot'],
        extra: { STRIPE_API_KEY: hub2.facts.stripe.secretKey, STRIPE_ALLOW_SECRET_KEY: 'true' },
      }),
      upstreams: [hub2],
    });
  });
  afterAll(async () => {
    await f?.close();
    await allowed?.close();
  });

  it('leaves the Stripe tools unlisted, saying why in explain', async () => {
    const c = await f.clientFor({ role: 'admin', tenant: 'acme' });
    const listed = await listedNames(c);
    for (const t of names('stripe')) expect(listed).not.toContain(t);
    for (const t of names('hubspot')) expect(listed).toContain(t);
    const { unlisted } = declaredToolsOf(definition, { STRIPE_API_KEY: 'sk_test_0123456789abcdefgh' });
    for (const t of names('stripe')) {
      expect(unlisted[t]).toContain('secret key');
      expect(unlisted[t]).toContain('STRIPE_ALLOW_SECRET_KEY');
      expect(unlisted[t]).not.toContain('0123456789abcdefgh');
    }
  });

  it('makes /readyz degraded (stripe_key failing) and logs why, never the key', async () => {
    const ready = await f.readyz();
    expect(ready.status).toBe('degraded');
    expect(ready.checks.stripe_key).toBe('failing');
    const logs = f.logs().join('\n');
    expect(logs).toMatch(/Stripe tools not listed: STRIPE_API_KEY is a full secret key/);
    expect(logs).not.toContain('sk_test_51McpFleetSimSecretKey');
    expect(await f.metrics()).toMatch(/mcp_readiness_check_ok\{[^}]*check="stripe_key"[^}]*\} 0/);
  });

  it('with STRIPE_ALLOW_SECRET_KEY=true: listed and answering, /readyz without stripe_key', async () => {
    const c = await allowed.clientFor({ role: 'admin', tenant: 'acme' });
    const listed = await listedNames(c);
    for (const t of names('stripe')) expect(listed).toContain(t);
    const r = await callTool(c, 'stripe_search_customers', { email: 'billing@customer1.example.com' });
    expect(r.isError, r.text).toBe(false);
    const ready = await allowed.readyz();
    expect(ready.checks.stripe_key).toBeUndefined();
    expect(ready.checks.breaker_stripe).toBe('ok');
  });
});
