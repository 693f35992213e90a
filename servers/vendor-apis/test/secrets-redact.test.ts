// The server's audit and log masking (auditRedact): Stripe keys, bearer tokens, HubSpot private-app
// tokens, Salesforce session ids, every configured credential whatever its format, and the configured
// instance URLs and hosts — idempotent, and answering adversarial 100 kB inputs (it reads every string).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { MASK, redactVendorSecrets, registerVendorSecrets } from '../src/upstream/redact.js';

const ODD_TOKEN = 'hubspot-legacy-Zq81xYt7Wm3';
registerVendorSecrets(
  loadConfig({
    STRIPE_API_KEY: 'rk_live_configuredKey1234567890',
    HUBSPOT_ACCESS_TOKEN: ODD_TOKEN,
    SALESFORCE_INSTANCE_URL: 'https://initrode-prod.my.salesforce.com',
    SALESFORCE_CLIENT_ID: 'client-id-123456',
    SALESFORCE_CLIENT_SECRET: 'ClientSecretValue987',
  }),
);

describe('redactVendorSecrets', () => {
  it.each([
    ['a Stripe secret key', 'key sk_live_51Habcdefghijklmnop was refused', 'sk_live_51Habcdefghijklmnop'],
    ['a Stripe restricted key', 'rk_test_51Hzzzzzzzzzzzzzz', 'rk_test_51Hzzzzzzzzzzzzzz'],
    ['a publishable key', 'pk_test_abcdefghijk', 'pk_test_abcdefghijk'],
    ['a webhook secret', 'whsec_abcdefghijklmn', 'whsec_abcdefghijklmn'],
    ['a bearer token', 'Authorization: Bearer eyJhbGciOi.J9x-y_z', 'eyJhbGciOi.J9x-y_z'],
    ['a HubSpot token', 'token pat-na1-51a10001-0000-4000-8000-00000000acee', 'pat-na1-51a10001'],
    [
      'a Salesforce session id',
      'INVALID_SESSION_ID 00DDn1000000001!AQu4viHDNs0A9xDGG.vai4iG1',
      '!AQu4viHDNs0A9xDGG',
    ],
    ['a configured token of no known format', `used ${ODD_TOKEN} here`, ODD_TOKEN],
    ['a configured client secret', 'secret=ClientSecretValue987', 'ClientSecretValue987'],
    ['the instance host', 'GET https://INITRODE-prod.my.salesforce.com/services/data', 'initrode'],
  ])('masks %s', (_what, text, secret) => {
    const out = redactVendorSecrets(text);
    expect(out.toLowerCase()).not.toContain(secret.toLowerCase());
    expect(redactVendorSecrets(out)).toBe(out);
  });

  it('leaves ordinary text and ids alone', () => {
    for (const text of [
      'cus_Nffrfeufe1234 has 3 invoices',
      'Account 001Dn1000000abcAAA updated',
      'no customer cus_123 on your account',
      'billing@customer1.example.com',
    ])
      expect(redactVendorSecrets(text)).toBe(text);
  });

  it('is idempotent on any text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (s) => {
        const once = redactVendorSecrets(s);
        expect(redactVendorSecrets(once)).toBe(once);
      }),
    );
  });

  it('answers adversarial 100 kB runs', () => {
    for (const unit of ['sk_live_', 'Bearer ', 'pat-na1-', '00D000000000000!', 'a'.repeat(7), '-', '!', '_'])
      expect(typeof redactVendorSecrets(unit.repeat(Math.ceil(100_000 / unit.length)))).toBe('string');
    expect(redactVendorSecrets(`x ${'a'.repeat(100_000)} sk_live_abcdefgh`)).toContain(MASK.stripeKey);
  });
});
