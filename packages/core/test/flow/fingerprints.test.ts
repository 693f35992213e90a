// Copy detection's fingerprints, tested as a class with generated rows and disguises: every value that
// carries information is found again in outbound text however it is re-cased, re-spaced, re-punctuated,
// sprinkled with invisible characters or spelled with look-alikes; unrelated prose almost never matches;
// fingerprints reveal nothing of the values; keys separate fleets; work and output are bounded.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  contentFingerprints,
  contentWindows,
  copiedValues,
  FINGERPRINT_VERSION,
  MAX_CONTENT_FINGERPRINTS,
  MAX_RESULT_FINGERPRINTS,
  resultFingerprints,
  tokens,
} from '../../src/flow/fingerprints.js';
import {
  disguise,
  disguiseArb,
  displayed,
  PROSE_WORDS,
  proseArb,
  type Row,
  rowArb,
} from './fingerprints-gen.js';

const KEY = 'test-fleet-fingerprint-key';
const FIELDS = ['name', 'email', 'company', 'mrr', 'customer_id', 'invoice', 'created', 'address'] as const;

const hits = (result: readonly string[], content: readonly string[]) => {
  const c = new Set(content);
  return result.filter((f) => c.has(f)).length;
};

describe('normalisation', () => {
  it('meets disguised and plain spellings of the same value', () => {
    expect(tokens('Acme Corp — JANE@ACME.IO — $1,200.50/mo')).toEqual([
      'acme',
      'corp',
      'jane@acme.io',
      '1200.5',
      'mo',
    ]);
    expect(tokens('Jа\u200bnе D\u00adoe')).toEqual(['jane', 'doe']);
    expect(tokens('ΑϹΜΕ Ϲorp')).toEqual(tokens('acme corp'));
    expect(tokens('$1,200')).toEqual(tokens('1200.00'));
    expect(tokens('INV-2024-0001')).toEqual(tokens('inv 2024/0001'));
    expect(tokens('pi_3NxAbc')).toEqual(['pi_3nxabc']);
    expect(tokens('１２３４５')).toEqual(['12345']);
    expect(tokens('Kowalczyk & Petrova')).toEqual(tokens('Kowalczyk and Petrova'));
    expect(tokens('Kowalczyk & Petrova\u200b')).toEqual(tokens('Kowalczyk and Petrova'));
    expect(tokens('finance@kp\u2011gmbh.example')).toEqual(['finance@kp-gmbh.example']);
  });
});

describe('resultFingerprints / contentFingerprints', () => {
  it('finds every informative value of a generated row pasted into prose, however disguised', () => {
    fc.assert(
      fc.property(
        rowArb,
        fc.constantFrom(...FIELDS),
        disguiseArb,
        proseArb,
        proseArb,
        fc.boolean(),
        (row, field, d, before, after, money) => {
          const value = row[field];
          // (Under a neutral key: an integer under a money key also counts in dollars, see the corpus.)
          const fps = resultFingerprints({ structured: { rows: [{ value }] } }, KEY);
          // Every generated field but an amount with fewer than 4 significant digits carries information.
          if (field !== 'mrr') expect(fps.length).toBeGreaterThan(0);
          const pasted = disguise(displayed(value, money), d);
          const content = contentFingerprints([`${before} ${pasted} ${after}`], KEY);
          expect(hits(fps, content)).toBe(fps.length);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('finds a whole row pasted as one line, as a text result or structuredContent, with >= 2 values', () => {
    fc.assert(
      fc.property(rowArb, disguiseArb, fc.boolean(), (row, d, asText) => {
        const result = asText
          ? { text: `${Object.keys(row).join(',')}\n${FIELDS.map((f) => `"${row[f]}"`).join(',')}` }
          : { structured: [row] };
        const fps = resultFingerprints(result, KEY);
        const line = `FYI ${disguise(`${row.name} ${row.email} ${displayed(row.mrr, true)}`, d)} — see you.`;
        expect(hits(fps, contentFingerprints([line], KEY))).toBeGreaterThanOrEqual(2);
      }),
      { numRuns: 200 },
    );
  });

  it('unrelated prose shares (almost) no fingerprint with generated rows — measured rate bounded', () => {
    // Deterministic sample: N prose texts, each against its own table of 10 rows. A larger measurement:
    // FINGERPRINT_RATE_SAMPLES=5000 npx vitest run packages/core/test/flow/fingerprints.test.ts -t prose
    const n = Number(process.env.FINGERPRINT_RATE_SAMPLES ?? 400);
    const proses = fc.sample(proseArb, { seed: 17, numRuns: n });
    const tables = fc.sample(fc.array(rowArb, { minLength: 10, maxLength: 10 }), { seed: 42, numRuns: n });
    let anyHit = 0;
    let twoHits = 0;
    for (let i = 0; i < proses.length; i++) {
      const fps = resultFingerprints({ structured: tables[i] as Row[] }, KEY);
      const n = hits(fps, contentFingerprints([proses[i] as string], KEY));
      if (n > 0) anyHit++;
      if (n >= 2) twoHits++;
    }
    const rate = anyHit / proses.length;
    console.log(
      `fingerprints: unrelated prose vs rows: ${anyHit}/${proses.length} with >= 1 match, ${twoHits} with >= 2`,
    );
    // Expected coincidences: a prose 5-digit number equal to one of ~20 zips/invoice numbers.
    expect(rate).toBeLessThanOrEqual(0.005);
    expect(twoHits / proses.length).toBeLessThanOrEqual(0.001);
  });

  it('never reveals a value: 16 lower-case hex digits, no piece of a value', () => {
    fc.assert(
      fc.property(rowArb, (row) => {
        const fps = [
          ...resultFingerprints({ structured: row, text: JSON.stringify(row) }, KEY),
          ...contentFingerprints([Object.values(row).join(' ')], KEY),
        ];
        expect(fps.length).toBeGreaterThan(0);
        const pieces = new Set<string>();
        for (const f of fps) {
          expect(f).toMatch(/^[0-9a-f]{16}$/);
          for (let i = 0; i + 4 <= f.length; i++) pieces.add(f.slice(i, i + 4));
        }
        for (const v of Object.values(row)) {
          const s = tokens(String(v)).join(' ');
          // Every 4-character piece of a value with a non-hex character is absent (pure-hex pieces
          // can only coincide by chance, 1 in 65,536 per position).
          for (let i = 0; i + 4 <= s.length; i++) {
            const piece = s.slice(i, i + 4);
            if (/[^0-9a-f]/.test(piece)) expect(pieces.has(piece)).toBe(false);
          }
        }
      }),
      { numRuns: 100 },
    );
  });

  it('is deterministic for one key, and another key shares no fingerprint', () => {
    fc.assert(
      fc.property(rowArb, fc.uint8Array({ minLength: 16, maxLength: 32 }), (row, other) => {
        const a = resultFingerprints({ structured: row }, KEY);
        expect(resultFingerprints({ structured: row }, KEY)).toEqual(a);
        const b = new Set(resultFingerprints({ structured: row }, other));
        expect(b.size).toBe(a.length);
        for (const f of a) expect(b.has(f)).toBe(false);
        const text = `${row.name} ${row.email}`;
        const c = new Set(contentFingerprints([text], other));
        for (const f of contentFingerprints([text], KEY)) expect(c.has(f)).toBe(false);
      }),
      { numRuns: 100 },
    );
  });

  it('never fingerprints field names, booleans, null, common words or small numbers', () => {
    expect(
      resultFingerprints(
        {
          structured: {
            customer_email_2024: true,
            billing_account_9931: null,
            status: 'Past Due',
            n: 42,
            plan: 'Pro',
          },
          text: '| customer_email_2024 | account_id_7781 |\n|---|---|\n| yes | no |\nregion_code_77: EU\n',
        },
        KEY,
      ),
    ).toEqual([]);
    expect(
      resultFingerprints({ structured: { total: 1200, year: 2024, words: 'the invoice' } }, KEY),
    ).toEqual([]);
  });

  it('a short value counts once: an address is not also its zip, a contact also its e-mail', () => {
    const address = resultFingerprints(
      { structured: { address: '1234 Harbour Street, Springfield 62704' } },
      KEY,
    );
    expect(address).toHaveLength(1);
    const contact = resultFingerprints({ structured: { contact: 'Jane Doe <jane@acme.io>' } }, KEY);
    const stored = new Set(contact);
    expect(copiedValues(contentWindows(['write to jane@acme.io'], KEY), (f) => stored.has(f))).toHaveLength(
      1,
    );
  });

  it('a long text value gives shingles: a pasted sentence is found, single words never', () => {
    const body =
      'Customer reports that the Wexford warehouse scanner rejects every pallet label printed after the ' +
      'firmware upgrade, and the night shift is rekeying barcodes by hand which delays outbound trucks.';
    const fps = resultFingerprints({ structured: { body } }, KEY);
    const pasted = 'Heads up: THE WEXFORD warehouse scanner rejects every pallet label printed — fun times';
    expect(hits(fps, contentFingerprints([pasted], KEY))).toBeGreaterThan(0);
    const words = 'customer reports warehouse scanner firmware upgrade night shift barcodes trucks';
    expect(hits(fps, contentFingerprints([words.split(' ').join('. ')], KEY))).toBe(0);
  });

  it('bounds a 1 MB outbound text and still finds a value at its end', () => {
    const row = fc.sample(rowArb, { seed: 7, numRuns: 1 })[0] as Row;
    const fps = resultFingerprints({ structured: row }, KEY);
    let prose = '';
    for (let i = 0; prose.length < 1_000_000; i++) prose += `${PROSE_WORDS[(i * 31) % PROSE_WORDS.length]} `;
    const found = contentFingerprints([`${prose} ${row.email}`], KEY);
    expect(found.length).toBeLessThanOrEqual(MAX_CONTENT_FINGERPRINTS);
    expect(hits(fps, found)).toBeGreaterThan(0);
    let ids = '';
    for (let i = 0; ids.length < 1_000_000; i++) ids += `ref${(i * 7919).toString(36)} `;
    expect(contentFingerprints([ids], KEY).length).toBe(MAX_CONTENT_FINGERPRINTS);
  });

  it('bounds a huge result at MAX_RESULT_FINGERPRINTS', () => {
    const rows = fc.sample(rowArb, { seed: 3, numRuns: 5_000 });
    const fps = resultFingerprints({ structured: rows }, KEY);
    expect(fps.length).toBe(MAX_RESULT_FINGERPRINTS);
    expect(new Set(fps).size).toBe(fps.length);
    expect(FINGERPRINT_VERSION).toMatch(/^fp\d+$/);
  });
});
