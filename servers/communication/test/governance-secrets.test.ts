// The outbound secrets scan, class by class: generated secrets of each kind embedded in generated text
// are found and masked (fingerprint kept), and generated ordinary text is not flagged.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cardNumber, findSecrets, luhn, maskSecrets, secretFingerprint } from '../src/content/secrets.js';

const chars = (alphabet: string, min: number, max: number) =>
  fc.array(fc.constantFrom(...alphabet), { minLength: min, maxLength: max }).map((a) => a.join(''));
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const UPPER_NUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const B64URL = `${ALNUM}-_`;
const b64url = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

/** A card number of a network: prefix, random digits, the Luhn check digit. */
const card = fc
  .tuple(
    fc.constantFrom(
      ['4', 16],
      ['4', 13],
      ['51', 16],
      ['55', 16],
      ['2221', 16],
      ['34', 15],
      ['37', 15],
      ['6011', 16],
      ['65', 19],
      ['3530', 16],
    ),
    fc.infiniteStream(fc.integer({ min: 0, max: 9 })),
  )
  .map(([[prefix, len], digits]) => {
    let s = prefix as string;
    const it = digits[Symbol.iterator]();
    while (s.length < (len as number) - 1) s += String(it.next().value);
    for (let d = 0; d <= 9; d++) if (luhn(s + d)) return s + d;
    throw new Error('unreachable');
  });

/** Generated secrets of each class, as they would appear in a message. */
const secrets: Record<string, fc.Arbitrary<string>> = {
  stripe_key: fc
    .tuple(fc.constantFrom('sk_live_', 'rk_live_', 'sk_test_'), chars(ALNUM, 24, 99))
    .map(([p, s]) => p + s),
  slack_token: fc.oneof(
    fc
      .tuple(fc.constantFrom('a', 'b', 'p', 'o', 's', 'r'), chars('0123456789', 10, 13), chars(ALNUM, 24, 32))
      .map(([t, n, s]) => `xox${t}-${n}-${s}`),
    fc
      .tuple(chars('0123456789', 1, 1), chars(UPPER_NUM, 11, 11), chars(ALNUM, 30, 40))
      .map(([d, a, s]) => `xapp-${d}-${a}-${s}`),
  ),
  github_token: fc.oneof(
    chars(ALNUM, 36, 36).map((s) => `ghp_${s}`),
    chars(`${ALNUM}_`, 82, 82).map((s) => `github_pat_${s}`),
  ),
  aws_access_key: fc.tuple(fc.constantFrom('AKIA', 'ASIA'), chars(UPPER_NUM, 16, 16)).map(([p, s]) => p + s),
  google_api_key: chars(B64URL, 35, 35).map((s) => `AIza${s}`),
  jwt: fc
    .tuple(
      fc.constantFrom('HS256', 'RS256', 'ES256'),
      fc.string({ minLength: 1, maxLength: 20 }),
      chars(B64URL, 20, 80),
    )
    .map(([alg, sub, sig]) => `${b64url({ alg, typ: 'JWT' })}.${b64url({ sub, iat: 1 })}.${sig}`),
  private_key: fc
    .tuple(
      fc.constantFrom('RSA ', 'EC ', 'OPENSSH ', ''),
      fc.array(chars(`${ALNUM}+/`, 64, 64), { minLength: 1, maxLength: 6 }),
    )
    .map(
      ([k, lines]) => `-----BEGIN ${k}PRIVATE KEY-----\n${lines.join('\n')}\n-----END ${k}PRIVATE KEY-----`,
    ),
  card_number: fc
    .tuple(card, fc.constantFrom('', ' ', '-'))
    .map(([n, sep]) => (sep ? n.replace(/(\d{4})(?=\d)/g, `$1${sep}`) : n)),
  password_assignment: fc
    .tuple(
      fc.constantFrom('password', 'PASSWORD', 'secret', 'api_key', 'passwd'),
      fc.constantFrom('=', ': ', ' = '),
      // Not a value that says there is no password (`%VAR%`, `$VAR`, `********`, `xxxxxxxx`, `changeme`…).
      chars(`${ALNUM}!#$%^*()-_+`, 8, 30).filter(
        (v) => !/^(?:\*+|x+|%[A-Z_]+%|\$[A-Za-z_][A-Za-z0-9_]*|redacted|changeme)$/i.test(v),
      ),
    )
    .map(([k, op, v]) => `${k}${op}${v}`),
};

/** Ordinary prose around a secret: words, numbers, punctuation, unicode (no NUL, no lone surrogates). */
const prose = fc
  .array(
    fc.oneof(
      fc.constantFrom(
        'the',
        'deploy',
        'customer',
        'acme',
        'ticket',
        'SUP-12',
        'order',
        'is',
        'ready',
        'für',
        '日本',
        'é',
      ),
      fc.integer({ min: 0, max: 99999 }).map(String),
      fc.constantFrom('.', ',', '!', '\n', ':'),
    ),
    { maxLength: 30 },
  )
  .map((w) => w.join(' '));

describe('outbound secrets scan', () => {
  for (const [kind, secret] of Object.entries(secrets)) {
    it(`finds and masks a ${kind} anywhere in ordinary text`, () => {
      fc.assert(
        fc.property(prose, secret, prose, (before, s, after) => {
          const text = `${before} ${s} ${after}`;
          const found = findSecrets(text);
          const hit = found.find((f) => f.kind === kind);
          expect(hit, text).toBeDefined();
          const masked = maskSecrets(text, found);
          // The secret itself (the value, for an assignment) is gone; the fingerprint names it.
          const value = kind === 'password_assignment' ? s.replace(/^[a-zA-Z_]+\s*[:=]\s*/, '') : s;
          expect(masked).not.toContain(value);
          expect(masked).toContain(`[secret:${kind}:${hit!.fingerprint}]`);
          expect(hit!.fingerprint).toMatch(/^[0-9a-f]{8}$/);
          // A masked text holds nothing the scan would flag again (the mask is not itself a "secret: x").
          expect(findSecrets(masked)).toEqual([]);
        }),
        { numRuns: 150 },
      );
    });
  }

  it('does not flag ordinary text, ids, hashes, timestamps and numbers', () => {
    const benign = fc.oneof(
      prose,
      chars('0123456789abcdef', 40, 40), // a git commit id
      fc.integer({ min: 1_000_000_000_000, max: 1_999_999_999_999 }).map(String), // epoch ms
      fc.integer({ min: 1_600_000_000, max: 1_999_999_999 }).map((n) => `${n}.123456`), // Slack ts
      fc.uuid(),
      chars(UPPER_NUM, 1, 12).map((s) => `SUP-${s}`),
      fc.constantFrom(
        'password: <redacted>',
        'password=********',
        'set the secret=%VAULT_SECRET% in CI',
        'sk_ is a prefix',
        'xoxb-',
      ),
    );
    fc.assert(
      fc.property(fc.array(benign, { maxLength: 8 }), (parts) => {
        const text = parts.join(' ');
        expect(findSecrets(text), text).toEqual([]);
      }),
      { numRuns: 500 },
    );
  });

  it('finds a card number hidden behind digits or grouped, and not a Luhn-valid number of no network', () => {
    expect(findSecrets('ref 1 4111 1111 1111 1111 thanks').map((f) => f.kind)).toEqual(['card_number']);
    expect(findSecrets('ref 12 4111111111111111').map((f) => f.kind)).toEqual(['card_number']);
    expect(cardNumber('1234567812345670')).toBe(false); // Luhn-valid, no network
    expect(findSecrets('id 1234567812345670')).toEqual([]);
  });

  it('fingerprints name the same secret the same way, and differ between secrets', () => {
    expect(secretFingerprint('sk_live_abc')).toBe(secretFingerprint('sk_live_abc'));
    expect(secretFingerprint('sk_live_abc')).not.toBe(secretFingerprint('sk_live_abd'));
  });
});
