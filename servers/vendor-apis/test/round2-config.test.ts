// Round 2 (D-1, D-2, D-3): start-up refuses vendor URLs that carry credentials, a query or a fragment,
// or plain http to a host other than this machine; a tenant named `__proto__` is refused, not dropped;
// a secret pasted as a variable NAME is never echoed.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadConfig } from '../src/config.js';

function writeTenantMap(map: unknown): string {
  const file = join(mkdtempSync(join(tmpdir(), 'vendor-tenants-')), 'tenants.yaml');
  writeFileSync(file, typeof map === 'string' ? map : stringify(map));
  return file;
}

function configError(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (e) {
    expect((e as { code?: string }).code).toBe('FLEET_ERR_CONFIG');
    return (e as Error).message;
  }
  throw new Error('the configuration was accepted');
}

const BAD_URLS = [
  'http://evil.example.com',
  'http://10.0.0.5:8443',
  'https://admin:hunter2pass@acme.my.salesforce.com',
  'https://hunter2pass@acme.my.salesforce.com',
  'https://acme.my.salesforce.com/?x=hunter2pass',
  'https://acme.my.salesforce.com/#hunter2pass',
  'ftp://acme.my.salesforce.com',
];
const GOOD_URLS = [
  'https://acme.my.salesforce.com',
  'http://127.0.0.1:7414',
  'http://localhost:7414/',
  'http://[::1]:7414',
];

describe('vendor URLs in the environment (D-1)', () => {
  const base = { SALESFORCE_ACCESS_TOKEN: 'tok', HUBSPOT_ACCESS_TOKEN: 'pat', STRIPE_API_KEY: 'rk_test_x' };
  for (const name of ['SALESFORCE_INSTANCE_URL', 'STRIPE_API_URL', 'HUBSPOT_API_URL'])
    for (const url of BAD_URLS)
      it(`${name}=${url.replace('hunter2pass', '…')} is refused, naming the variable, not echoing secrets`, () => {
        const msg = configError({ ...base, [name]: url });
        expect(msg).toContain(name);
        expect(msg).not.toContain('hunter2pass');
      });
  for (const url of GOOD_URLS)
    it(`${url} is accepted`, () => {
      expect(() =>
        loadConfig({ ...base, SALESFORCE_INSTANCE_URL: url, STRIPE_API_URL: url, HUBSPOT_API_URL: url }),
      ).not.toThrow();
    });
});

describe('instance URLs in the tenant map (D-1)', () => {
  for (const url of BAD_URLS)
    it(`tenant acme's instanceUrl ${url.replace('hunter2pass', '…')} is refused, naming the tenant`, () => {
      const msg = configError({
        VENDOR_TENANTS_FILE: writeTenantMap({
          tenants: { acme: { salesforce: { instanceUrl: url, tokenEnv: 'SF_ACME' } } },
        }),
        SF_ACME: 'tok',
      });
      expect(msg).toContain('acme');
      expect(msg).not.toContain('hunter2pass');
    });
  for (const url of GOOD_URLS)
    it(`tenant instanceUrl ${url} is accepted`, () => {
      const c = loadConfig({
        VENDOR_TENANTS_FILE: writeTenantMap({
          tenants: { acme: { salesforce: { instanceUrl: url, tokenEnv: 'SF_ACME' } } },
        }),
        SF_ACME: 'tok',
      });
      expect(c.tenants.resolve({ tenant: 'acme' }, 'salesforce').instanceUrl).toBe(url);
    });
});

describe('tenant names (D-2)', () => {
  for (const name of ['__proto__', 'acmé'])
    it(`a tenant named ${name} is refused at start-up`, () => {
      const file = writeTenantMap(
        `tenants:\n  ${name}:\n    hubspot:\n      tokenEnv: HS_X\n  acme:\n    hubspot:\n      tokenEnv: HS_X\n`,
      );
      const msg = configError({ VENDOR_TENANTS_FILE: file, HS_X: 'pat' });
      expect(msg).toMatch(/tenant/);
    });
  it('a map with only valid names still loads', () => {
    const c = loadConfig({
      VENDOR_TENANTS_FILE: writeTenantMap('tenants:\n  acme:\n    hubspot:\n      tokenEnv: HS_X\n'),
      HS_X: 'pat',
    });
    expect(c.tenants.tenants).toEqual(['acme']);
  });
});

describe('a secret pasted as a variable name (D-3)', () => {
  const SECRET = 'PATNA1SUPERSECRETTOKEN0123456789';
  it('names the field, never the value', () => {
    const msg = configError({
      VENDOR_TENANTS_FILE: writeTenantMap({ tenants: { acme: { hubspot: { tokenEnv: SECRET } } } }),
    });
    expect(msg).toContain('acme');
    expect(msg).toContain('hubspot.tokenEnv');
    expect(msg).not.toContain(SECRET);
    expect(msg).not.toContain('SUPERSECRET');
  });
  it('likewise for salesforce variables', () => {
    const msg = configError({
      VENDOR_TENANTS_FILE: writeTenantMap({
        tenants: {
          acme: {
            salesforce: {
              instanceUrl: 'https://a.my.salesforce.com',
              clientIdEnv: SECRET,
              clientSecretEnv: 'X',
            },
          },
        },
      }),
      X: 'y',
    });
    expect(msg).toContain('salesforce.clientIdEnv');
    expect(msg).not.toContain('SUPERSECRET');
  });
});
