// `pnpm start`'s local set-up of vendor-apis: every vendor unset → all three simulated and a tenant map
// with acme and globex (initech left out), tokens in the variables it names; a vendor variable set →
// that vendor passed through, the simulated others single-tenant; VENDOR_TENANTS_FILE set → nothing simulated.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../src/config.js';
import { closeLocal, prepareLocal } from '../src/local-setup.js';

const lines: string[] = [];
const ctx = () => ({
  adminUrl: '',
  fleetDir: mkdtempSync(join(tmpdir(), 'fleet-local-')),
  log: (m: string) => lines.push(m),
});
const BASE = { FLEET_VENDOR_SIM_PORT: '0' };

afterEach(async () => {
  lines.length = 0;
  await closeLocal();
});

describe('vendor-apis local set-up', () => {
  it('simulates all three vendors multi-tenant: acme and globex in the map, initech left out', async () => {
    const c = ctx();
    const env = await prepareLocal(c, { ...BASE });
    expect(lines.join('\n')).toMatch(/SIMULATED stripe, hubspot, salesforce/);
    const map = parse(readFileSync(env.VENDOR_TENANTS_FILE as string, 'utf8')) as {
      tenants: Record<string, unknown>;
    };
    expect(env.VENDOR_TENANTS_FILE).toBe(join(c.fleetDir, 'vendor-tenants.yaml'));
    expect(Object.keys(map.tenants).sort()).toEqual(['acme', 'globex']);
    // The map holds no secret: only the names of the variables that do.
    expect(readFileSync(env.VENDOR_TENANTS_FILE as string, 'utf8')).not.toMatch(/pat-|00D[A-Za-z0-9]+!/);
    const config = loadConfig(env);
    expect(config.tenants.multiTenant).toBe(true);
    for (const v of ['stripe', 'hubspot', 'salesforce'] as const) {
      expect(config.tenants.resolve({ tenant: 'acme' }, v)).toBeDefined();
      expect(() => config.tenants.resolve({ tenant: 'initech' }, v)).toThrow();
    }
    expect(config.tenants.resolve({ tenant: 'acme' }, 'hubspot').token).not.toBe(
      config.tenants.resolve({ tenant: 'globex' }, 'hubspot').token,
    );
  });

  it('passes a configured vendor through; the simulated others serve acme single-tenant', async () => {
    const env = await prepareLocal(ctx(), { ...BASE, STRIPE_API_KEY: 'rk_live_operatorsOwnKey0001' });
    expect(lines.join('\n')).toMatch(/not simulated\): stripe/);
    expect(lines.join('\n')).toMatch(/SIMULATED hubspot, salesforce/);
    expect(env.STRIPE_API_KEY).toBeUndefined();
    expect(env.STRIPE_API_URL).toBeUndefined();
    expect(env.VENDOR_TENANTS_FILE).toBeUndefined();
    expect(env.HUBSPOT_ACCESS_TOKEN).toMatch(/^pat-/);
    expect(env.SALESFORCE_INSTANCE_URL).toMatch(/\/orgs\/acme$/);
  });

  it('simulates nothing when VENDOR_TENANTS_FILE is set, or FLEET_SIMULATORS=off', async () => {
    expect(await prepareLocal(ctx(), { ...BASE, VENDOR_TENANTS_FILE: '/etc/tenants.yaml' })).toEqual({});
    expect(await prepareLocal(ctx(), { ...BASE, FLEET_SIMULATORS: 'off' })).toEqual({});
  });
});
