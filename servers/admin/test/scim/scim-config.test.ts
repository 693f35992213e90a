// The SCIM configuration (operator contract): with SCIM_BASE_URL, SCIM_TOKEN, ADMIN_GROUP and
// ADMIN_PROTECTED_USERS are required; URLs are https (http only to this machine), without credentials,
// query or fragment; protected names and the admins group are checked like tool arguments; messages
// never quote the token. Without SCIM_BASE_URL the user tools are not offered.
import { FleetError } from '@mcp-fleet/core';
import { describe, expect, it } from 'vitest';
import { connectScim, scimConfig, scimUnlisted } from '../../src/scim/index.js';

const base = {
  SCIM_BASE_URL: 'https://acme.okta.example/scim/v2/',
  SCIM_TOKEN: 'secret-token-value',
  ADMIN_GROUP: 'fleet-admins',
  ADMIN_PROTECTED_USERS: 'breakglass, Billing-Contact,fleet-service',
};

const refusal = (env: Record<string, string | undefined>): string => {
  try {
    scimConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(FleetError);
    return (err as Error).message;
  }
  throw new Error('accepted');
};

describe('scimConfig', () => {
  it('parses the contract variables (trailing slash trimmed, protected names lower-cased)', () => {
    expect(scimConfig(base)).toMatchObject({
      baseUrl: 'https://acme.okta.example/scim/v2',
      adminGroup: 'fleet-admins',
      protectedUsers: ['breakglass', 'billing-contact', 'fleet-service'],
      timeoutMs: 10_000,
      readRetries: 2,
    });
  });

  it('without SCIM_BASE_URL: no connector, the user tools unlisted', () => {
    const c = scimConfig({});
    expect(connectScim(c, undefined)).toBeUndefined();
    expect(Object.keys(scimUnlisted(c)).sort()).toEqual([
      'delete_user',
      'disable_user',
      'get_user',
      'set_user_groups',
    ]);
    expect(scimUnlisted(scimConfig(base))).toEqual({});
  });

  it.each([
    [{ SCIM_TOKEN: undefined }, 'SCIM_TOKEN is required'],
    [{ ADMIN_GROUP: undefined }, 'ADMIN_GROUP is required'],
    [{ ADMIN_PROTECTED_USERS: undefined }, 'ADMIN_PROTECTED_USERS is required'],
    [{ SCIM_BASE_URL: 'http://directory.example/scim/v2' }, 'must be https'],
    [{ SCIM_BASE_URL: 'https://user:pw@directory.example/scim/v2' }, 'user name or password'],
    [{ SCIM_BASE_URL: 'https://directory.example/scim/v2?x=1' }, 'query'],
    [{ SCIM_BASE_URL: 'ftp://directory.example/' }, 'http(s) URL'],
    [{ SCIM_BASE_URL: undefined }, 'SCIM_BASE_URL is required with SCIM_TOKEN'],
    [{ SCIM_TOKEN: 'two words' }, 'whitespace'],
    [{ ADMIN_PROTECTED_USERS: 'breakglass,*' }, 'ADMIN_PROTECTED_USERS'],
    [{ ADMIN_GROUP: 'fleet-*' }, 'ADMIN_GROUP'],
  ])('refuses %j', (change, why) => {
    const message = refusal({ ...base, ...change });
    expect(message).toContain(why);
    expect(message).not.toContain('secret-token-value');
  });

  it('accepts plain http to this machine (the local simulator)', () => {
    expect(scimConfig({ ...base, SCIM_BASE_URL: 'http://127.0.0.1:7415/scim/v2' }).baseUrl).toBe(
      'http://127.0.0.1:7415/scim/v2',
    );
  });
});
