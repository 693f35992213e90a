// The admin server's audit/log masking: the configured SCIM token, Stripe write key and console client
// secret never survive, wherever they sit in a string, and the masking is idempotent (core applies it
// to every audit string, possibly twice).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import definition from '../../src/definition.js';
import { redactAdminSecrets, registerAdminSecrets } from '../../src/redact.js';

const SECRETS = {
  SCIM_TOKEN: 'scim-tok-9f8e7d6c5b4a3210',
  STRIPE_WRITE_KEY: 'rk_live_51AdminWriteKey_abcdef0123',
  CONSOLE_OIDC_CLIENT_SECRET: 'console-secret-Zx9Yw8Vu7Ts6',
};
registerAdminSecrets(SECRETS);

describe('admin audit masking', () => {
  it('is the definition’s auditRedact', () => {
    expect(definition.auditRedact).toBe(redactAdminSecrets);
  });

  it('removes every configured secret wherever it appears, idempotently', () => {
    fc.assert(
      fc.property(
        fc.string(),
        fc.constantFrom(...Object.values(SECRETS)),
        fc.string(),
        (before, secret, after) => {
          const once = redactAdminSecrets(`${before}${secret}${after}`);
          expect(once).not.toContain(secret);
          expect(redactAdminSecrets(once)).toBe(once);
        },
      ),
    );
  });

  it('masks other Stripe keys and bearer tokens an upstream error may echo', () => {
    const out = redactAdminSecrets(
      'Stripe said: invalid key sk_test_51Other0000000000 (Authorization: Bearer eyJhbGciOi.x.y)',
    );
    expect(out).not.toMatch(/sk_test_|eyJhbGci/);
  });
});
