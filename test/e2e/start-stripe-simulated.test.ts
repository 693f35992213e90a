// `pnpm start` decides "Stripe is simulated" once for both servers that use Stripe (issue 16, F-4):
// vendor-apis reads it (STRIPE_API_KEY, STRIPE_API_URL, or per tenant through VENDOR_TENANTS_FILE) and
// admin writes to it (STRIPE_WRITE_KEY, STRIPE_API_URL). With only one of them from the environment,
// one server read real Stripe while the other refunded on the simulator ("shared with vendor-apis",
// which was false), or refunds went to real Stripe for ids read from the simulator. Generated over
// every subset of those variables: both local set-ups run as `pnpm start` runs them, each server's
// configuration is parsed from the environment it would get, and never is one server pointed at the
// simulator while the other is not; a server left without its own Stripe credential has its Stripe
// tools unlisted, and the set-up says so.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { billingConfig, billingUnlisted } from '../../servers/admin/src/billing/config.js';
import * as admin from '../../servers/admin/src/local-setup.js';
import { loadConfig } from '../../servers/vendor-apis/src/config.js';
import { vendorsMissing } from '../../servers/vendor-apis/src/definition.js';
import * as vendorApis from '../../servers/vendor-apis/src/local-setup.js';

const dir = mkdtempSync(join(tmpdir(), 'stripe-simulated-'));
const tenantsFile = join(dir, 'tenants.yaml');
writeFileSync(tenantsFile, 'tenants:\n  acme:\n    stripe:\n      account: acct_1OperatorAcme\n');

/** The operator's values of the variables that make Stripe theirs (recognisable, never the simulator's). */
const OPERATOR: Record<string, string> = {
  STRIPE_API_KEY: 'rk_live_operatorReadKey0001',
  STRIPE_API_URL: 'https://stripe.operator.example',
  STRIPE_WRITE_KEY: 'rk_live_operatorWriteKey001',
  VENDOR_TENANTS_FILE: tenantsFile,
};
const VARIABLES = Object.keys(OPERATOR);

/** Every subset of VARIABLES, the empty one (everything simulated) included. */
const SUBSETS: string[][] = Array.from({ length: 2 ** VARIABLES.length }, (_, mask) =>
  VARIABLES.filter((_, i) => mask & (1 << i)),
);

afterEach(async () => {
  await vendorApis.closeLocal();
  await admin.closeLocal();
});

/** What one server's set-up gives it and says: the environment it is started with, and its lines. */
async function setUp(
  prepare: typeof admin.prepareLocal,
  env: NodeJS.ProcessEnv,
): Promise<{ env: Record<string, string>; simulated: boolean; said: string }> {
  const lines: string[] = [];
  const extra = await prepare({ adminUrl: '', fleetDir: dir, log: (m) => lines.push(m) }, env);
  return {
    // As `fleet start` starts each server: your environment, then what the set-up adds.
    env: { ...(env as Record<string, string>), ...extra },
    // The set-up pointed this server's Stripe at a simulator of its own choosing.
    simulated: extra.STRIPE_API_URL !== undefined && extra.STRIPE_API_URL !== env.STRIPE_API_URL,
    said: lines.join('\n'),
  };
}

describe('pnpm start: Stripe is simulated for both vendor-apis and admin, or for neither', () => {
  it.each(SUBSETS.map((s) => [s.join(' + ') || '(none)', s] as const))('with %s set', async (_, subset) => {
    const env: NodeJS.ProcessEnv = {
      FLEET_VENDOR_SIM_PORT: '0',
      FLEET_SCIM_SIM_PORT: '0',
      ...Object.fromEntries(subset.map((v) => [v, OPERATOR[v]!])),
    };
    // In `pnpm start`'s order: vendor-apis, then admin.
    const reads = await setUp(vendorApis.prepareLocal, env);
    const writes = await setUp(admin.prepareLocal, env);

    expect(reads.simulated, `${reads.said}\n${writes.said}`).toBe(writes.simulated);
    expect(reads.simulated).toBe(subset.length === 0);

    // What each server would do with the environment it gets.
    const vendor = loadConfig(reads.env);
    const readsListed = vendorsMissing(vendor).stripe === undefined;
    const billing = billingConfig(writes.env);
    const writesListed = Object.keys(billingUnlisted(billing)).length === 0;
    if (reads.simulated) {
      // One simulator, the same for both: what admin refunds is what vendor-apis reads back.
      expect(readsListed && writesListed).toBe(true);
      expect(writes.env.STRIPE_API_URL).toBe(reads.env.STRIPE_API_URL);
      expect(reads.said).toMatch(/SIMULATED stripe/);
      expect(writes.said).toMatch(/SIMULATED Stripe.*shared with vendor-apis/);
    } else {
      // Neither server on a simulator: each uses the operator's Stripe (or none), the same for both.
      expect(vendor.stripeApiUrl).toBe(
        subset.includes('STRIPE_API_URL') ? OPERATOR.STRIPE_API_URL : 'https://api.stripe.com',
      );
      expect(billing.stripeApiUrl).toBe(vendor.stripeApiUrl);
      expect(`${reads.said}\n${writes.said}`).not.toMatch(/SIMULATED[^\n]*(stripe|Stripe)/);
      expect(writes.said).toMatch(/from your environment \(not simulated\): [^\n]*Stripe/);
      expect(reads.said).toMatch(
        /vendors from your environment \(not simulated\): [^\n]*stripe|VENDOR_TENANTS_FILE is set: every vendor from your environment/,
      );
      // Its own credential is the operator's, or missing: then its Stripe tools are unlisted, and it says so.
      expect(readsListed).toBe(subset.includes('STRIPE_API_KEY'));
      expect(writesListed).toBe(subset.includes('STRIPE_WRITE_KEY'));
      if (!readsListed)
        expect(reads.said).toMatch(/STRIPE_API_KEY is not set: the Stripe tools are not listed/);
      if (!writesListed)
        expect(writes.said).toMatch(
          /STRIPE_WRITE_KEY is not set: issue_refund and change_subscription_plan are not listed/,
        );
    }
  });
});
