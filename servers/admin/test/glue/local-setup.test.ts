// `pnpm start`'s local set-up of the admin server: with nothing configured it starts the SCIM simulator
// and takes the vendor hub's Stripe simulator (the one vendor-apis reads) with the admin write key, and
// the resulting environment lists every admin tool; a variable that is set passes through untouched.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localVendorHub, STRIPE_SIM } from '@mcp-fleet/simulators';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import definition from '../../src/definition.js';
import { closeLocal, LOCAL_ADMIN_DEFAULTS, prepareLocal } from '../../src/local-setup.js';

const lines: string[] = [];
const ctx = () => ({
  adminUrl: '',
  fleetDir: mkdtempSync(join(tmpdir(), 'fleet-admin-local-')),
  log: (m: string) => lines.push(m),
});
const BASE = { FLEET_SCIM_SIM_PORT: '0', FLEET_VENDOR_SIM_PORT: '0' };

afterEach(async () => {
  lines.length = 0;
  await closeLocal();
});

describe('admin local set-up', () => {
  it('simulates the directory and Stripe, and every admin tool is listed with what it sets', async () => {
    const env = await prepareLocal(ctx(), { ...BASE });
    expect(env).toMatchObject({
      ...LOCAL_ADMIN_DEFAULTS,
      SCIM_TOKEN: expect.any(String),
      STRIPE_WRITE_KEY: STRIPE_SIM.writeKey,
    });
    expect(env.SCIM_BASE_URL).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/scim\/v2$/);
    expect(lines.join('\n')).toMatch(/SIMULATED SCIM directory/);
    expect(lines.join('\n')).toMatch(/SIMULATED Stripe/);
    // The directory answers with the token it was given.
    const res = await fetch(
      `${env.SCIM_BASE_URL}/Users?filter=${encodeURIComponent('userName eq "alice"')}`,
      {
        headers: { authorization: `Bearer ${env.SCIM_TOKEN}` },
      },
    );
    expect(res.status).toBe(200);
    expect(JSON.stringify(await res.json())).toContain('alice');
    // Nothing unlisted: the SCIM and billing configuration parse and offer every tool.
    expect(definition.unlisted?.(loadConfig(env))).toEqual({});
  });

  it('takes the Stripe simulator vendor-apis holds in this process (one simulator, one state)', async () => {
    const vendorApis = await localVendorHub({ basePort: 0, vendors: ['stripe', 'hubspot', 'salesforce'] });
    try {
      const env = await prepareLocal(ctx(), { ...BASE });
      expect(env.STRIPE_API_URL).toBe(vendorApis.facts.stripe.url);
    } finally {
      await vendorApis.close();
    }
  });

  it('passes configured upstreams and settings through', async () => {
    const env = await prepareLocal(ctx(), {
      ...BASE,
      SCIM_BASE_URL: 'https://directory.example.com/scim/v2',
      STRIPE_WRITE_KEY: 'rk_live_operatorsOwnKey0001',
      ADMIN_GROUP: 'it-admins',
      ADMIN_PROTECTED_USERS: 'root',
    });
    for (const v of ['SCIM_BASE_URL', 'SCIM_TOKEN', 'STRIPE_WRITE_KEY', 'STRIPE_API_URL', 'ADMIN_GROUP'])
      expect(env[v], v).toBeUndefined();
    expect(env.ADMIN_PROTECTED_USERS).toBeUndefined();
    expect(env.APPROVER_GROUP).toBe('fleet-approvers');
    expect(lines.join('\n')).toMatch(/not simulated\): SCIM directory, Stripe/);
    // STRIPE_API_URL alone (a Stripe of your own, e.g. stripe-mock) also counts as configured.
    expect(
      await prepareLocal(ctx(), { ...BASE, STRIPE_API_URL: 'http://127.0.0.1:12111' }),
    ).not.toHaveProperty('STRIPE_WRITE_KEY');
  });

  it('starts nothing with FLEET_SIMULATORS=off, and every admin tool is then unlisted with a reason', async () => {
    const env = await prepareLocal(ctx(), { ...BASE, FLEET_SIMULATORS: 'off' });
    expect(env).toEqual(LOCAL_ADMIN_DEFAULTS);
    const unlisted = definition.unlisted?.(loadConfig(env)) ?? {};
    expect(Object.keys(unlisted).sort()).toEqual([
      'change_subscription_plan',
      'delete_user',
      'disable_user',
      'get_user',
      'issue_refund',
      'set_user_groups',
    ]);
    expect(unlisted.get_user).toMatch(/SCIM_BASE_URL/);
    expect(unlisted.issue_refund).toMatch(/STRIPE_WRITE_KEY/);
  });

  it('refuses a port variable that is not a port', async () => {
    await expect(prepareLocal(ctx(), { ...BASE, FLEET_SCIM_SIM_PORT: '7415x' })).rejects.toThrow(
      /FLEET_SCIM_SIM_PORT/,
    );
  });
});
