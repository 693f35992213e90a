// R2a-5: a read cut before fingerprinting says so (readFingerprints().truncated), so the flow step can
// mark the session capped — junk first in ONE result no longer hides the real rows after it.
// R2a-7: letter-spaced values ("K i t e  M e d i a  6", "b i l l i n g @ c u s t o m e r 6 . c o m")
// meet their values: a run of single characters separated by one space is one word, both sides.
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  contentWindows,
  copiedValues,
  MAX_RESULT_CHARS,
  MAX_RESULT_FINGERPRINTS,
  readFingerprints,
  resultFingerprints,
  tokens,
} from '../../src/flow/fingerprints.js';
import { rowArb } from './fingerprints-gen.js';

const KEY = 'test-fleet-fingerprint-key';
const md5 = (n: number) => createHash('md5').update(String(n)).digest('hex');
const values = (stored: ReadonlySet<string>, ...texts: string[]) =>
  copiedValues(contentWindows(texts, KEY), (f) => stored.has(f)).length;

describe('readFingerprints: a cut read says so (R2a-5)', () => {
  const rows = [
    ['Juniper Works 1', 'billing@customer1.example.com'],
    ['Kite Media 6', 'billing@customer6.example.com'],
  ];

  it('junk values past MAX_RESULT_FINGERPRINTS first, real rows after: truncated (and the rows are not kept)', () => {
    const junk = Array.from({ length: MAX_RESULT_FINGERPRINTS + 1000 }, (_, i) => md5(i));
    const structured = { columns: [{ name: 'k' }, { name: 'v' }], rows: [['junk', junk], ...rows] };
    const r = readFingerprints({ structured, text: JSON.stringify(structured) }, KEY);
    expect(r.truncated).toBe(true);
    expect(r.fingerprints.length).toBe(MAX_RESULT_FINGERPRINTS);
    // What the step would miss without the mark: the rows' values are not among the fingerprints.
    expect(values(new Set(r.fingerprints), 'Kite Media 6, billing@customer6.example.com')).toBe(0);
  });

  it('a result under the bounds is not truncated, and resultFingerprints is its fingerprints', () => {
    const junk = Array.from({ length: 1000 }, (_, i) => md5(i));
    const structured = { columns: [{ name: 'k' }, { name: 'v' }], rows: [['junk', junk], ...rows] };
    const r = readFingerprints({ structured, text: JSON.stringify(structured) }, KEY);
    expect(r.truncated).toBe(false);
    expect(r.fingerprints).toEqual(resultFingerprints({ structured, text: JSON.stringify(structured) }, KEY));
    expect(values(new Set(r.fingerprints), 'Kite Media 6, billing@customer6.example.com')).toBe(2);
  });

  it('a text past MAX_RESULT_CHARS, or values nested past the depth bound, are cut', () => {
    const long = `${'lorem ipsum dolor sit amet '.repeat(Math.ceil(MAX_RESULT_CHARS / 27) + 10)}\nKite Media 6`;
    expect(readFingerprints({ text: long }, KEY).truncated).toBe(true);
    let deep: unknown = ['Kite Media 6'];
    for (let i = 0; i < 40; i++) deep = [deep];
    expect(readFingerprints({ structured: { v: deep } }, KEY).truncated).toBe(true);
    // A long prose document whose shingles are sampled (content-defined) is not a cut.
    const prose = Array.from(
      { length: 3000 },
      (_, i) => `Paragraph ${i} mentions harbor${i} quartz lumen willow granite cobalt.`,
    );
    expect(readFingerprints({ text: prose.join('\n') }, KEY).truncated).toBe(false);
  });
});

describe('letter-spaced values meet their values (R2a-7)', () => {
  it('the finding’s text: every character spaced, words two spaces apart', () => {
    expect(
      tokens('K i t e  M e d i a  6, b i l l i n g @ c u s t o m e r 6 . e x a m p l e . c o m'),
    ).toEqual(['kite', 'media', '6', 'billing@customer6.example.com']);
    // Fewer than three letters/digits, or multi-letter words, stay as they are.
    expect(tokens('a b')).toEqual(['a', 'b']);
    expect(tokens('x = y')).toEqual(['x', 'y']);
    expect(tokens('J. R. R. Tolkien')).toEqual(['j', 'r', 'r', 'tolkien']);
  });

  /** Every character of the value separated by one space (a space of the value becomes `gap` spaces). */
  const spaced = (v: string, gap: number) =>
    v
      .split(' ')
      .map((w) => [...w].join(' '))
      .join(' '.repeat(gap));

  it('property: any generated row value spaced out letter by letter is found and counted once', () => {
    fc.assert(
      fc.property(
        rowArb,
        fc.constantFrom('name', 'email', 'company', 'customer_id', 'invoice') as fc.Arbitrary<
          'name' | 'email' | 'company' | 'customer_id' | 'invoice'
        >,
        fc.integer({ min: 2, max: 3 }),
        (row, field, gap) => {
          const stored = new Set(resultFingerprints({ structured: { rows: [row] } }, KEY));
          const v = row[field];
          expect(values(stored, `as discussed: ${spaced(v, gap)} — thanks`)).toBe(1);
          // Twice in one message (and in a subject) is still one value.
          expect(values(stored, `${spaced(v, gap)} and again ${spaced(v, gap)}`, spaced(v, gap))).toBe(1);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('linear: long runs of single characters are joined once (runs to completion)', () => {
    for (const unit of ['a ', '1 ', 'a . ', '@ b ', 'x  ']) {
      const text = unit.repeat(Math.ceil(512_000 / unit.length));
      expect(tokens(text).length).toBeGreaterThan(0);
      expect(contentWindows([text], KEY).length).toBeGreaterThanOrEqual(0);
    }
  }, 60_000);
});
