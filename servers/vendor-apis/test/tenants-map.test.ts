// The tenant map (VENDOR_TENANTS_FILE): what a valid map gives each tenant, and every way a map is
// refused at start-up (a config error naming what is wrong, never echoing a secret it names).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadConfig } from '../src/config.js';

/** Writes a map to a fresh file (as vendor-server.ts does; this test boots no server). */
function writeTenantMap(map: unknown): string {
  const file = join(mkdtempSync(join(tmpdir(), 'vendor-tenants-')), 'tenants.yaml');
  writeFileSync(file, typeof map === 'string' ? map : stringify(map));
  return file;
}

const HUBSPOT_ACME = 'pat-na1-aaaaaaaa-0000-4000-8000-0000000000aa';
const HUBSPOT_GLOBEX = 'pat-na1-bbbbbbbb-0000-4000-8000-0000000000bb';
const SF_ACME = '00DDn1000000001!AQsessionacmesessionacmesessionacme';

const MAP = {
  tenants: {
    acme: {
      stripe: { account: 'acct_1Acme000000000' },
      hubspot: { tokenEnv: 'HS_ACME' },
      salesforce: { instanceUrl: 'https://acme.my.salesforce.com', tokenEnv: 'SF_ACME' },
    },
    globex: { stripe: { account: 'acct_1Globex00000000' }, hubspot: { tokenEnv: 'HS_GLOBEX' } },
  },
};
const SECRETS = { HS_ACME: HUBSPOT_ACME, HS_GLOBEX: HUBSPOT_GLOBEX, SF_ACME };

/** The FLEET_ERR_CONFIG message loadConfig throws for `env`. */
function configError(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (e) {
    expect((e as { code?: string }).code).toBe('FLEET_ERR_CONFIG');
    return (e as Error).message;
  }
  throw new Error('the configuration was accepted');
}

describe('a valid tenant map', () => {
  const config = loadConfig({
    STRIPE_API_KEY: 'rk_test_0123456789abcdef',
    VENDOR_TENANTS_FILE: writeTenantMap(MAP),
    ...SECRETS,
  });

  it('gives each tenant its own account, portal and org, from the variables it names', () => {
    expect(config.tenants.multiTenant).toBe(true);
    expect(config.tenants.resolve({ tenant: 'acme' }, 'stripe')).toEqual({
      account: 'acct_1Acme000000000',
      tenant: 'acme',
    });
    expect(config.tenants.resolve({ tenant: 'globex' }, 'hubspot').token).toBe(HUBSPOT_GLOBEX);
    expect(config.tenants.resolve({ tenant: 'acme' }, 'salesforce')).toMatchObject({
      instanceUrl: 'https://acme.my.salesforce.com',
      accessToken: SF_ACME,
    });
  });

  it('refuses a tenant missing from the map, a token without tenant and a vendor the tenant lacks', () => {
    for (const identity of [{ tenant: 'initech' }, { tenant: undefined }, { tenant: 'ACME' }])
      for (const v of ['stripe', 'hubspot', 'salesforce'] as const)
        expect(() => config.tenants.resolve(identity, v)).toThrow(
          expect.objectContaining({ code: 'tenant_not_configured' }),
        );
    expect(() => config.tenants.resolve({ tenant: 'globex' }, 'salesforce')).toThrow(
      expect.objectContaining({ code: 'tenant_not_configured' }),
    );
  });

  it('without a Stripe key, no tenant has Stripe', () => {
    const noKey = loadConfig({ VENDOR_TENANTS_FILE: writeTenantMap(MAP), ...SECRETS });
    expect(noKey.tenants.configured('stripe')).toBe(false);
    expect(noKey.tenants.configured('hubspot')).toBe(true);
  });

  it('with a map, the global credentials serve nobody', () => {
    const c = loadConfig({
      HUBSPOT_ACCESS_TOKEN: HUBSPOT_ACME,
      VENDOR_TENANTS_FILE: writeTenantMap({ tenants: { acme: {} } }),
    });
    expect(c.tenants.configured('hubspot')).toBe(false);
    expect(() => c.tenants.resolve({ tenant: 'acme' }, 'hubspot')).toThrow(
      expect.objectContaining({ code: 'tenant_not_configured' }),
    );
  });
});

describe('without a map (single-tenant)', () => {
  it('serves every caller with the global credentials, tenant claim or not', () => {
    const c = loadConfig({ HUBSPOT_ACCESS_TOKEN: HUBSPOT_ACME });
    expect(c.tenants.multiTenant).toBe(false);
    for (const tenant of ['acme', 'initech', undefined])
      expect(c.tenants.resolve({ tenant }, 'hubspot').token).toBe(HUBSPOT_ACME);
  });
});

describe('a map that is refused at start-up', () => {
  it('bad YAML, naming the file', () => {
    const file = writeTenantMap('tenants:\n  acme: [unclosed\n');
    const msg = configError({ VENDOR_TENANTS_FILE: file });
    expect(msg).toContain('VENDOR_TENANTS_FILE');
    expect(msg).toContain(file);
  });

  it('a file that does not exist', () => {
    expect(configError({ VENDOR_TENANTS_FILE: '/nonexistent/vendor-tenants.yaml' })).toContain(
      'VENDOR_TENANTS_FILE',
    );
  });

  it.each([
    ['an unknown top-level key', { tenants: {}, defaults: {} }],
    ['an unknown vendor', { tenants: { acme: { paypal: { account: 'x' } } } }],
    ['an unknown key of a vendor', { tenants: { acme: { hubspot: { tokenEnv: 'HS_ACME', portalId: 1 } } } }],
    ['a Stripe account that is not acct_…', { tenants: { acme: { stripe: { account: 'cus_123' } } } }],
    [
      'a Salesforce entry without credentials',
      { tenants: { acme: { salesforce: { instanceUrl: 'https://a.example' } } } },
    ],
    [
      'a Salesforce instance that is not a URL',
      { tenants: { acme: { salesforce: { instanceUrl: 'acme', tokenEnv: 'SF_ACME' } } } },
    ],
    ['a tenant name with a slash', { tenants: { 'acme/globex': {} } }],
    ['tenants not a mapping', { tenants: ['acme'] }],
  ])('%s', (_what, map) => {
    expect(configError({ VENDOR_TENANTS_FILE: writeTenantMap(map), ...SECRETS })).toContain(
      'VENDOR_TENANTS_FILE',
    );
  });

  it('a secret written into the map instead of the name of its variable, without echoing it', () => {
    const msg = configError({
      VENDOR_TENANTS_FILE: writeTenantMap({ tenants: { acme: { hubspot: { tokenEnv: HUBSPOT_ACME } } } }),
    });
    expect(msg).toContain('tokenEnv');
    expect(msg).not.toContain(HUBSPOT_ACME);
    expect(msg).not.toContain('aaaaaaaa');
  });

  it('a variable the map names that is not set: the field named (never the variable name: D-3), and no secret of another variable echoed', () => {
    const msg = configError({
      VENDOR_TENANTS_FILE: writeTenantMap(MAP),
      HS_ACME: HUBSPOT_ACME,
      SF_ACME,
      HS_GLOBEX: '   ',
    });
    expect(msg).toContain('globex: hubspot.tokenEnv names a variable that is not set');
    expect(msg).not.toContain('HS_GLOBEX');
    expect(msg).toContain('globex');
    for (const secret of [HUBSPOT_ACME, SF_ACME]) expect(msg).not.toContain(secret);
  });
});
