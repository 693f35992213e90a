// Tokenising and the read-side parsers stay linear in hostile shapes (R2b-1, R2b-2): a quadratic run
// at these sizes takes minutes and fails by the test timeout; nothing here asserts a duration.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  contentFingerprints,
  readFingerprints,
  resultFingerprints,
  tokens,
} from '../../src/flow/fingerprints.js';

const T = 20_000;
const ARABIC_INDIC = (s: string) => s.replace(/[0-9]/g, (d) => String.fromCharCode(0x0660 + Number(d)));
const ZW_SPLIT = (s: string) => s.replace(/[0-9]/g, (d) => `${d}\u200b`);

describe('digit runs followed by a word character (R2b-2)', () => {
  const shapes = (n: number): [string, string][] => [
    ['digits+x', `${'1'.repeat(n)}x`],
    ['digits+_', `${'7'.repeat(n)}_`],
    ['digits+abc', `${'1'.repeat(n)}abc`],
    ['after a decimal', `1.${'2'.repeat(n)}x`],
    ['decimal then digits', `3.5 ${'9'.repeat(n)}.5x`],
  ];

  it(
    'tokens and both fingerprint sides finish on 1M-char runs',
    () => {
      for (const [name, s] of shapes(1_000_000)) {
        expect(tokens(s).length, name).toBeGreaterThan(0);
        expect(contentFingerprints([s], 'k'), name).toBeInstanceOf(Array);
        expect(resultFingerprints({ text: s }, 'k'), name).toBeInstanceOf(Array);
      }
    },
    T,
  );

  it(
    'and in their normalised spellings (Arabic-Indic digits, zero-width-split digits)',
    () => {
      for (const [name, s] of shapes(200_000))
        for (const v of [ARABIC_INDIC(s), ZW_SPLIT(s)]) {
          expect(tokens(v), name).toEqual(tokens(s));
          expect(contentFingerprints([v], 'k').length, name).toBeGreaterThan(0);
          readFingerprints({ text: v }, 'k');
        }
    },
    T,
  );

  it('still reads decimals and version strings as before', () => {
    expect(tokens('1.2.3')).toEqual(['1', '2', '3']);
    expect(tokens('1.2345.6')).toEqual(['1', '2345', '6']);
    expect(tokens('total 12.50 and 3.5x')).toEqual(['total', '12.5', 'and', '3', '5x']);
    expect(tokens('1,234.56 7.8')).toEqual(['1234.56', '7.8']);
  });
});

describe('quotes outside a quoted CSV cell (R2b-1)', () => {
  const shapes = (n: number): [string, string][] => [
    ['a,x"""…', `a,x${'"'.repeat(n)}`],
    ['a," " " …', `a,${'" '.repeat(n / 2)}`],
    ['tab x"""…', `a\tx${'"'.repeat(n)}`],
    ['1,x"""…', `1,x${'"'.repeat(n)}`],
    ['blank then quotes', `a,${' '.repeat(n / 2)}${'"'.repeat(n / 2)}`],
  ];

  it(
    'a read of 1M-char lines in the attack shapes finishes, and a line past the budget is a cut',
    () => {
      for (const [name, s] of shapes(1_000_000)) {
        expect(readFingerprints({ text: s }, 'k').fingerprints, name).toBeInstanceOf(Array);
        expect(readFingerprints({ text: `${s}x` }, 'k').truncated, name).toBe(true);
      }
    },
    T,
  );

  it(
    'and the same lines with invisible characters and full-width quotes between',
    () => {
      for (const [name, s] of shapes(300_000)) {
        readFingerprints({ text: s.replace(/"/g, '"\u200b') }, 'k');
        readFingerprints({ text: s.replace(/"/g, '\uff02') }, 'k');
        expect(contentFingerprints([s], 'k'), name).toBeInstanceOf(Array);
      }
    },
    T,
  );

  it('still parses quoted cells as before', () => {
    const fp = (t: string) => new Set(resultFingerprints({ text: t }, 'k'));
    const a = fp('name,email\n"Doe, Jane",jane.doe@acme.io\n  "Kite ""Media"" Six",x@kite.example');
    const b = contentFingerprints(['please send Doe, Jane at jane.doe@acme.io'], 'k');
    expect(b.some((f) => a.has(f))).toBe(true);
  });
});

describe('letters without a combining mark, and dashes in e-mail local parts (R2b-3)', () => {
  const found = (read: string, sent: string) => {
    const r = new Set(resultFingerprints({ structured: { data: [read] } }, 'k'));
    return contentFingerprints([`please forward ${sent} today`], 'k').some((f) => r.has(f));
  };
  const ASCII: Record<string, string> = {
    ß: 'ss',
    ł: 'l',
    ø: 'o',
    đ: 'd',
    ı: 'i',
    æ: 'ae',
    œ: 'oe',
    þ: 'th',
    Ł: 'L',
    Ø: 'O',
    Đ: 'D',
    Æ: 'AE',
    Œ: 'OE',
    Þ: 'TH',
  };
  const ascii = (s: string) => s.replace(/[ßłøđıæœþŁØĐÆŒÞ]/g, (c) => ASCII[c] as string);
  const word = fc
    .array(fc.constantFrom(...'abcdefghkmnoprstuvwz', ...'ßłøđıæœþŁØĐÆŒÞ'), { minLength: 4, maxLength: 9 })
    .map((cs) => cs.join(''))
    .filter((w) => /[ßłøđıæœþŁØĐÆŒÞ]/.test(w));
  const value = fc
    .tuple(word, word, fc.constantFrom('GmbH', 'Holding', 'Street 12', '2041'))
    .map(([a, b, c]) => `${a[0]?.toUpperCase()}${a.slice(1)} ${b} ${c}`);

  it('a value upper-cased, or with these letters spelled in ASCII, is found', () => {
    fc.assert(
      fc.property(value, (v) => {
        expect(found(v, v.toUpperCase())).toBe(true);
        expect(found(v, ascii(v))).toBe(true);
        expect(found(ascii(v), v)).toBe(true);
        expect(found(v, ascii(v).toUpperCase())).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('an en or em dash inside an e-mail local part reads as "-"', () => {
    for (const d of ['\u2013', '\u2014', '\u2043', '\ufe58'])
      expect(found('mary-jane.w@acme.io', `mary${d}jane.w@acme.io`)).toBe(true);
  });
});
