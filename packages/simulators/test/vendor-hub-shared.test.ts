// localVendorHub: one vendor hub per process and base port, shared by the local set-ups of vendor-apis
// (Stripe reads) and admin (Stripe writes): the second holder gets the same simulators (same state),
// a vendor it needs that is not running yet is started into the hub, and the simulators stop only
// when the last holder closes.
import { afterEach, describe, expect, it } from 'vitest';
import { localVendorHub, STRIPE_SIM, startVendorHub, type VendorHub } from '../src/index.js';

const held: VendorHub[] = [];
afterEach(async () => {
  for (const h of held.splice(0)) await h.close();
});
const hold = async (...args: Parameters<typeof localVendorHub>) => {
  const h = await localVendorHub(...args);
  held.push(h);
  return h;
};
const answers = async (url: string) => {
  try {
    await fetch(`${url}/v1/customers`, { headers: { authorization: `Bearer ${STRIPE_SIM.restrictedKey}` } });
    return true;
  } catch {
    return false;
  }
};

describe('localVendorHub', () => {
  it('hands the second holder the same Stripe simulator, and adds the vendors it lacks', async () => {
    const admin = await hold({ basePort: 0, vendors: ['stripe'] });
    expect(admin.hubspot).toBeUndefined();
    const vendorApis = await hold({ basePort: 0, vendors: ['stripe', 'hubspot', 'salesforce'] });
    expect(vendorApis.stripe).toBe(admin.stripe);
    expect(vendorApis.facts.stripe.url).toBe(admin.facts.stripe.url);
    // The first holder sees what was started for the second: one hub, one state.
    expect(admin.hubspot).toBeDefined();
    expect(admin.hubspot).toBe(vendorApis.hubspot);
    expect(vendorApis.facts.salesforce.orgs.acme.instanceUrl).toMatch(/\/orgs\/acme$/);
    expect(new Set(vendorApis.ports).size).toBe(3);
    // A change through one holder's simulator is the other's state.
    admin.stripe!.clearRequests();
    await fetch(`${vendorApis.facts.stripe.url}/v1/customers`, {
      headers: { authorization: `Bearer ${STRIPE_SIM.restrictedKey}` },
    });
    expect(admin.stripe!.requests.length).toBeGreaterThan(0);
  });

  it('keeps the simulators until the last holder closes', async () => {
    const a = await localVendorHub({ basePort: 0, vendors: ['stripe'] });
    const b = await localVendorHub({ basePort: 0, vendors: ['stripe'] });
    const url = a.facts.stripe.url;
    await a.close();
    await a.close(); // a second close of one holder releases nothing more
    expect(await answers(url)).toBe(true);
    await b.close();
    expect(await answers(url)).toBe(false);
    // The next holder starts a fresh hub.
    const c = await hold({ basePort: 0, vendors: ['stripe'] });
    expect(c.stripe).not.toBe(b.stripe);
  });

  it('startVendorHub still starts a hub of its own', async () => {
    const shared = await hold({ basePort: 0, vendors: ['stripe'] });
    const own = await startVendorHub({ vendors: ['stripe'] });
    try {
      expect(own.stripe).not.toBe(shared.stripe);
    } finally {
      await own.close();
    }
  });
});
