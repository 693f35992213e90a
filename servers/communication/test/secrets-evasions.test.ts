// The secrets scan against evasions (attack round 1): secrets split or disguised by invisible characters,
// compatibility forms, HTML, percent-encoding, markdown or base64 are found and masked; ordinary ids,
// hashes and prose in several scripts are not flagged; masking is idempotent; fingerprints are keyed.
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  findSecrets,
  luhn,
  maskSecrets,
  redactSecrets,
  secretFingerprint,
  setFingerprintKey,
} from '../src/content/secrets.js';

const chars = (alphabet: string, min: number, max: number) =>
  fc.array(fc.constantFrom(...alphabet), { minLength: min, maxLength: max }).map((a) => a.join(''));
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const UPPER_NUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** A Visa-like card number with a valid Luhn digit. */
const card = fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 14, maxLength: 14 }).map((ds) => {
  const s = `4${ds.join('')}`;
  for (let d = 0; d <= 9; d++) if (luhn(s + d)) return s + d;
  throw new Error('unreachable');
});

/** A secret as tokens the evasions may split between (prefix pieces, then the random body). */
const tokenSecret = fc.oneof(
  fc.tuple(fc.constant<string[]>(['sk', '_', 'live', '_']), chars(ALNUM, 24, 40)),
  fc.tuple(fc.constant<string[]>(['xoxb', '-']), chars(ALNUM, 20, 30)),
  fc.tuple(fc.constant<string[]>(['AKIA']), chars(UPPER_NUM, 16, 16)),
  fc.tuple(fc.constant<string[]>(['ghp', '_']), chars(ALNUM, 36, 36)),
);

/** One way to hide a token secret from a naive scan: the evaded text. */
const evade: fc.Arbitrary<(prefix: string[], body: string) => string> = fc.constantFrom(
  (p, b) => `${p.join('')}${b.slice(0, 5)}\u200b${b.slice(5)}`, // zero-width space
  (p, b) => `${p.join('')}${b.slice(0, 5)}\u00ad${b.slice(5)}`, // soft hyphen
  (p, b) => `${p.join('')}${b.slice(0, 5)}\u034f${b.slice(5)}`, // combining grapheme joiner
  (p, b) => `${p.join('\u2060')}${b}`, // word joiner between prefix pieces
  (p, b) => [...`${p.join('')}${b}`].map((ch) => String.fromCodePoint(ch.codePointAt(0)! + 0xfee0)).join(''), // fullwidth
  (p, b) => `${p.join('').replace(/-/g, '\u2011')}${b}`, // non-breaking hyphen
  (p, b) => `${p.join('').replace(/_/g, '%5F').replace(/-/g, '%2D')}${b}`, // percent-encoding
  (p, b) => `${p.join('').replace(/_/g, '&#95;').replace(/-/g, '&#x2d;')}${b}`, // HTML entities
  (p, b) => `${p.join('').replace(/_/g, '\\_').replace(/-/g, '\\-')}${b}`, // markdown escapes
  (p, b) => `${p.join('')}**${b.slice(0, 4)}**${b.slice(4)}`, // markdown emphasis
  (p, b) => `${p.join('')}${b.slice(0, 6)}<b></b>${b.slice(6)}`, // empty HTML tag
  (p, b) => `${p.join('')}${b.slice(0, 6)}</td><td>${b.slice(6)}`, // table cells
  (p, b) => (p[0] === 'AKIA' ? `akia${b.slice(0, 15).toLowerCase()}7` : `${p.join('')}${b}`), // lower-case key id
  (p, b) => Buffer.from(`token ${p.join('')}${b}`).toString('base64'), // base64
);

/** A card number with separators a reader still reads as one. */
const evadedCard = fc
  .tuple(card, fc.constantFrom('\u00a0', '.', '/', '  ', '&nbsp;', '\u2009', ' - '), fc.boolean())
  .map(([n, sep, everyDigit]) => (everyDigit ? [...n].join(' ') : n.replace(/(\d{4})(?=\d)/g, `$1${sep}`)));

const prose = fc
  .array(
    fc.constantFrom('the', 'deploy', 'für', '日本語', 'ока', 'مرحبا', 'é', 'SUP-12', '12', ',', '.', '\n'),
    {
      maxLength: 12,
    },
  )
  .map((w) => w.join(' '));

describe('secrets scan against evasions', () => {
  it('finds token secrets hidden by invisible characters, compatibility forms, encodings and markup; masking removes them', () => {
    fc.assert(
      fc.property(prose, tokenSecret, evade, prose, (before, [prefix, body], hide, after) => {
        const hidden = hide(prefix, body);
        const text = `${before} ${hidden} ${after}`;
        const found = findSecrets(text);
        expect(found.length, JSON.stringify(text)).toBeGreaterThan(0);
        const masked = maskSecrets(text);
        expect(masked).not.toContain(hidden);
        expect(masked).toMatch(/\[secret:[a-z_]+:[0-9a-f]{8}\]/);
        expect(findSecrets(masked), masked).toEqual([]);
        expect(maskSecrets(masked)).toBe(masked);
      }),
      { numRuns: 400 },
    );
  });

  it('finds card numbers with any separators', () => {
    fc.assert(
      fc.property(prose, evadedCard, prose, (before, c, after) => {
        const text = `${before} card ${c} ${after}`;
        expect(
          findSecrets(text).map((f) => f.kind),
          JSON.stringify(text),
        ).toContain('card_number');
        expect(findSecrets(maskSecrets(text))).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  it('does not flag ids, hashes, UUIDs, timestamps, Slack ts, ticket keys, base64 of ordinary text, prose in several scripts', () => {
    const benign = fc.oneof(
      prose,
      chars('0123456789abcdef', 40, 40),
      chars('0123456789abcdef', 64, 64),
      fc.uuid(),
      fc.integer({ min: 1_600_000_000, max: 1_999_999_999 }).map((n) => `${n}.${String(n).slice(0, 6)}`),
      fc.date({ noInvalidDate: true, min: new Date(0), max: new Date(4e12) }).map((d) => d.toISOString()),
      chars(UPPER_NUM, 1, 8).map((s) => `SUP-${s}`),
      fc.ipV4(),
      fc.constantFrom('v1.2.3', '2024/01/15', '10.0.0.1', 'password=********', '**bold** text', 'a\\_b'),
      prose.map((p) => Buffer.from(p).toString('base64')),
      fc.string({ unit: 'grapheme', maxLength: 40 }),
    );
    fc.assert(
      fc.property(fc.array(benign, { maxLength: 6 }), (parts) => {
        const text = parts.join(' ');
        expect(findSecrets(text), JSON.stringify(text)).toEqual([]);
      }),
      { numRuns: 800 },
    );
  });

  it('redactSecrets (the audit masking) is idempotent on generated text with and without secrets', () => {
    fc.assert(
      fc.property(prose, fc.option(tokenSecret), evade, (p, s, hide) => {
        const text = s ? `${p} ${hide(s[0], s[1])} ${p}` : p;
        const once = redactSecrets(text);
        expect(redactSecrets(once)).toBe(once);
      }),
      { numRuns: 300 },
    );
  });
});

describe('fingerprints', () => {
  it('are keyed: not the sha256 prefix of the secret, stable for one key, different under another key', () => {
    fc.assert(
      fc.property(chars(ALNUM, 8, 40), (s) => {
        setFingerprintKey('k'.repeat(32));
        const a = secretFingerprint(s);
        expect(a).not.toBe(createHash('sha256').update(s).digest('hex').slice(0, 8));
        expect(secretFingerprint(s)).toBe(a);
        setFingerprintKey('j'.repeat(32));
        expect(secretFingerprint(s)).not.toBe(a);
      }),
      { numRuns: 50 },
    );
  });
});
