// One vendor having a bad hour: answering 500s, or hanging. After at most `threshold` failed requests
// its breaker opens; its tools then fail fast with a clear upstream_unavailable result and nothing more
// reaches it; the other two vendors keep answering; /readyz is degraded naming it and the metric shows
// it; once it is well again, the half-open trial closes the breaker. And a 429 with Retry-After on a
// read is retried once, no earlier than the vendor asked. (Waits are for events, never durations.)
import type { Fault, VendorHub } from '@mcp-fleet/simulators';
import { eventually, type TestClient } from '@mcp-fleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bootVendor,
  callTool,
  customerOf,
  multiTenantEnv,
  requestsOf,
  sampleArgs,
  startVendors,
  type TestVendor,
  VENDOR_TEST_POLICY,
  VENDORS,
  type VendorServer,
} from './vendor-server.js';

const THRESHOLD = 3;
/** One read per vendor, on acme's first demo customer. */
const READ: Record<TestVendor, string> = {
  stripe: 'stripe_get_customer',
  hubspot: 'hubspot_get_contact',
  salesforce: 'salesforce_get_record',
};
const NAME: Record<TestVendor, string> = { stripe: 'Stripe', hubspot: 'HubSpot', salesforce: 'Salesforce' };

const simOf = (hub: VendorHub, v: TestVendor) => hub[v] as NonNullable<VendorHub[TestVendor]>;

async function boot(
  prefix: string,
): Promise<{ hub: VendorHub; f: VendorServer; c: TestClient; args: ReturnType<typeof sampleArgs> }> {
  const hub = await startVendors();
  const f = await bootVendor({
    prefix,
    // No cached answers: every call here must reach the vendor (or its breaker).
    policy: {
      ...VENDOR_TEST_POLICY,
      tools: Object.fromEntries(Object.values(READ).map((t) => [`vendor-apis/${t}`, { cacheTtlSeconds: 0 }])),
    },
    env: multiTenantEnv(hub, {
      extra: {
        VENDOR_APIS_BREAKER_THRESHOLD: String(THRESHOLD),
        VENDOR_APIS_BREAKER_HALF_OPEN_MS: '1000',
        // A hang is a timeout: short, so the test does not wait 10 s per attempt.
        VENDOR_APIS_STRIPE_TIMEOUT_MS: '400',
        VENDOR_APIS_HUBSPOT_TIMEOUT_MS: '400',
        VENDOR_APIS_SALESFORCE_TIMEOUT_MS: '400',
        // Every /readyz probes (no reused answer), so each assertion sees the upstream as it is now.
        VENDOR_APIS_PROBE_TTL_MS: '0',
      },
    }),
    upstreams: [hub],
  });
  const c = await f.clientFor({ role: 'analyst', tenant: 'acme' });
  return { hub, f, c, args: sampleArgs(hub, customerOf('acme')) };
}

const RUNS: [TestVendor, string, Fault][] = [
  ['stripe', 'answering 500', { status: 500 }],
  ['hubspot', 'hanging', { hang: true }],
  ['salesforce', 'answering 503', { status: 503 }],
];

describe.each(RUNS)('%s %s', (vendor, _how, fault) => {
  let t: Awaited<ReturnType<typeof boot>>;
  beforeAll(async () => {
    t = await boot(`vendor_res_${vendor}`);
  });
  afterAll(() => t?.f.close());

  const read = (v: TestVendor) => callTool(t.c, READ[v], t.args[READ[v]] as Record<string, unknown>);
  const count = (v: TestVendor) => requestsOf(t.hub)[v].length;

  it('opens its breaker within the threshold, fails fast while open, and the others keep answering', async () => {
    for (const v of VENDORS) expect((await read(v)).isError, `${v} answers before the fault`).toBe(false);
    const before = count(vendor);
    simOf(t.hub, vendor).setFault('*', fault);

    // Calls until the breaker opens (each call may retry; the breaker counts every failed attempt).
    let opened = false;
    for (let i = 0; i < THRESHOLD && !opened; i++) {
      const r = await read(vendor);
      expect(r.isError).toBe(true);
      expect(r.code).toMatch(/^upstream_(unavailable|timeout)$/);
      opened = (await t.f.readyz()).checks[`breaker_${vendor}`] === 'failing';
    }
    expect(opened).toBe(true);
    expect(count(vendor) - before).toBeLessThanOrEqual(THRESHOLD);

    // Open: a clear result at once, and nothing more reaches the vendor.
    const atOpen = count(vendor);
    for (let i = 0; i < 3; i++) {
      const r = await read(vendor);
      expect(r.isError).toBe(true);
      expect(r.code).toBe('upstream_unavailable');
      expect(r.text).toContain(NAME[vendor]);
    }
    expect(count(vendor)).toBe(atOpen);

    // The other two vendors keep answering.
    for (const v of VENDORS.filter((x) => x !== vendor)) {
      const r = await read(v);
      expect(r.isError, `${v}: ${r.text}`).toBe(false);
    }

    // /readyz degraded naming the vendor; the metric shows it.
    const ready = await t.f.readyz();
    expect(ready.status).toBe('degraded');
    expect(ready.checks[`breaker_${vendor}`]).toBe('failing');
    for (const v of VENDORS.filter((x) => x !== vendor)) expect(ready.checks[`breaker_${v}`]).toBe('ok');
    expect(await t.f.metrics()).toMatch(
      new RegExp(`mcp_readiness_check_ok\\{[^}]*check="breaker_${vendor}"[^}]*\\} 0`),
    );
    expect(t.f.logs().join('\n')).toContain(`breaker_${vendor}`);
  });

  it('closes again after the half-open trial once the vendor is well', async () => {
    simOf(t.hub, vendor).setFault('*', null);
    const closed = await eventually(async () => !(await read(vendor)).isError, 15_000);
    expect(closed).toBe(true);
    const ready = await t.f.readyz();
    expect(ready.checks[`breaker_${vendor}`]).toBe('ok');
    expect(await t.f.metrics()).toMatch(
      new RegExp(`mcp_readiness_check_ok\\{[^}]*check="breaker_${vendor}"[^}]*\\} 1`),
    );
  });
});

describe('a 429 with Retry-After on a read', () => {
  let t: Awaited<ReturnType<typeof boot>>;
  beforeAll(async () => {
    t = await boot('vendor_res_429');
  });
  afterAll(() => t?.f.close());

  it.each(VENDORS)('%s: retried once, no earlier than Retry-After, and answered', async (vendor) => {
    const sim = simOf(t.hub, vendor);
    const start = sim.requests.length;
    sim.failNext('*', { rateLimit: 1 });
    const r = await callTool(t.c, READ[vendor], t.args[READ[vendor]] as Record<string, unknown>);
    expect(r.isError, r.text).toBe(false);
    const reqs = sim.requests.slice(start);
    expect(reqs).toHaveLength(2);
    const [first, second] = reqs.map((q) => Date.parse(q.at));
    expect((second as number) - (first as number)).toBeGreaterThanOrEqual(1_000);
  });
});

describe('one tenant’s org failing (a breaker per tenant)', () => {
  let t: Awaited<ReturnType<typeof boot>>;
  let globex: TestClient;
  let globexArgs: ReturnType<typeof sampleArgs>;
  beforeAll(async () => {
    t = await boot('vendor_res_tenant');
    globex = await t.f.clientFor({ role: 'analyst', tenant: 'globex' });
    globexArgs = sampleArgs(t.hub, customerOf('globex'));
  });
  afterAll(() => t?.f.close());

  it('pauses only that tenant: the other tenant’s calls to the same vendor keep reaching it (attack F4)', async () => {
    const sim = simOf(t.hub, 'salesforce');
    const tool = READ.salesforce;
    sim.setFault('acme:retrieve', { status: 503 });
    let opened = false;
    for (let i = 0; i < THRESHOLD && !opened; i++) {
      expect((await callTool(t.c, tool, t.args[tool] as Record<string, unknown>)).isError).toBe(true);
      opened = (await t.f.readyz()).checks.breaker_salesforce === 'failing';
    }
    expect(opened).toBe(true);
    const acmePaused = await callTool(t.c, tool, t.args[tool] as Record<string, unknown>);
    expect(acmePaused.code).toBe('upstream_unavailable');

    const before = requestsOf(t.hub).salesforce.length;
    const r = await callTool(globex, tool, globexArgs[tool] as Record<string, unknown>);
    expect(r.isError, r.text).toBe(false);
    expect(requestsOf(t.hub).salesforce.length).toBe(before + 1);

    const ready = await t.f.readyz();
    expect(ready.status).toBe('degraded');
    sim.setFault('acme:retrieve', null);
  });

  it('does not call the probe tenant’s upstream failing because another tenant’s breaker is open (C-4)', async () => {
    // The readiness probe reads acme's org; globex's breaker opening says nothing about acme's.
    const sim = simOf(t.hub, 'salesforce');
    const tool = READ.salesforce;
    const acmeRead = () => callTool(t.c, tool, t.args[tool] as Record<string, unknown>);
    const globexRead = () => callTool(globex, tool, globexArgs[tool] as Record<string, unknown>);
    // acme's breaker (opened by the test above) closes again on its next trial.
    expect(await eventually(async () => !(await acmeRead()).isError, 15_000)).toBe(true);
    sim.setFault('globex:retrieve', { status: 503 });
    expect(await eventually(async () => /paused/.test((await globexRead()).text), 15_000)).toBe(true);
    const ready = await t.f.readyz();
    expect(ready.checks.breaker_salesforce).toBe('failing');
    expect(ready.checks.upstream_salesforce).toBe('ok');
    sim.setFault('globex:retrieve', null);
  });
});
