// Copy detection's fingerprints against a hostile reader (attacker A2, issue 17 findings F1–F4, F7,
// F12): the agent writes the query, so it chooses the shape and size of what a read returns and how
// an outbound text spells the values. Fingerprinting must always finish with bounded work, data must
// never be able to declare itself a "field name", and invisible or re-scripted characters must not
// split a value.
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  contentFingerprints,
  contentWindows,
  copiedValues,
  MAX_RESULT_CHARS,
  MAX_RESULT_FINGERPRINTS,
  resultFingerprints,
  tokens,
} from '../../src/flow/fingerprints.js';

const KEY = 'test-fleet-fingerprint-key';
const md5 = (s: string) => createHash('md5').update(s).digest('hex');
const hits = (result: readonly string[], content: readonly string[]) => {
  const c = new Set(content);
  return result.filter((f) => c.has(f)).length;
};

/** A2's F7 query result: 250 rows × 100 distinct 12-hex-digit ids in one cell, as run_query returns it. */
function a2BigResult(salt: string): { text: string; structured: unknown } {
  const rows: unknown[][] = [];
  for (let r = 0; r < 250; r++) {
    const v: string[] = [];
    for (let j = 1; j <= 100; j++) v.push(md5(`${j}${r}${salt}`).slice(0, 12));
    rows.push([r, v.join(' ')]);
  }
  const text = `id | v\n---+---\n${rows.map((r) => `${r[0]} | ${r[1]}`).join('\n')}`;
  return { text, structured: { columns: [{ name: 'id' }, { name: 'v' }], rows } };
}

describe('F7: resultFingerprints always terminates with bounded output', () => {
  it('A2’s 250 × 100 hex-id result (the keys that hung the server, and random keys)', () => {
    const big = a2BigResult('1');
    // k1 and k5 looped forever before the fix (room 0 and shingles ending in hex 0000).
    for (const key of ['k1', 'k5']) {
      const fps = resultFingerprints(big, key);
      expect(fps.length).toBeLessThanOrEqual(MAX_RESULT_FINGERPRINTS);
      expect(new Set(fps).size).toBe(fps.length);
    }
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 32 }), (key) => {
        const fps = resultFingerprints(big, key);
        expect(fps.length).toBeLessThanOrEqual(MAX_RESULT_FINGERPRINTS);
        expect(new Set(fps).size).toBe(fps.length);
      }),
      { numRuns: 12 },
    );
  }, 60_000);

  it('shingles overflowing a little room are sampled, deterministically, within the cap', () => {
    // ~19,990 whole values, then long text whose shingles overflow the little room left.
    const ids = Array.from(
      { length: MAX_RESULT_FINGERPRINTS - 10 },
      (_, i) => `ref${md5(String(i)).slice(0, 10)}`,
    );
    const prose = Array.from({ length: 3000 }, (_, i) => `word${md5(`p${i}`).slice(0, 6)} lorem`).join(' ');
    const result = { structured: { ids, body: prose } };
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 12 }), (key) => {
        const fps = resultFingerprints(result, key);
        expect(fps.length).toBeLessThanOrEqual(MAX_RESULT_FINGERPRINTS);
        expect(resultFingerprints(result, key)).toEqual(fps);
      }),
      { numRuns: 8 },
    );
  }, 60_000);

  it('examines at most MAX_RESULT_CHARS of a huge result (a 4 MB cell and text return)', () => {
    let big = '';
    for (let i = 0; big.length < 4_000_000; i++) big += `${md5(String(i)).slice(0, 12)} `;
    const late = 'late-marker-4242424242 Quentin Zebulon';
    const fps = resultFingerprints({ text: `${big}\n${late}`, structured: { v: big } }, KEY);
    expect(fps.length).toBeLessThanOrEqual(MAX_RESULT_FINGERPRINTS);
    expect(MAX_RESULT_CHARS).toBeLessThan(big.length);
    // Past the bound nothing is fingerprinted (documented).
    expect(hits(fps, contentFingerprints([late], KEY))).toBe(0);
  }, 60_000);
});

/** Distinct copied VALUES (as flow-step counts them) of outbound texts against a read's fingerprints. */
const copied = (fps: readonly string[], texts: readonly string[]) => {
  const set = new Set(fps);
  return copiedValues(contentWindows(texts, KEY), (f) => set.has(f)).length;
};

/** run_query's answer for one json column: structuredContent and its aligned text table. */
function queryResult(columns: string[], rows: unknown[][]): { text: string; structured: unknown } {
  const cell = (v: unknown) => (v === null ? 'NULL' : typeof v === 'string' ? v : JSON.stringify(v));
  const text = [
    columns.join(' | '),
    columns.map(() => '---').join('-+-'),
    ...rows.map((r) => r.map(cell).join(' | ')),
    `(${rows.length} rows)`,
  ].join('\n');
  return {
    text,
    structured: {
      columns: columns.map((name) => ({ name, type: 'json' })),
      rows,
      rowCount: rows.length,
      truncatedBy: null,
    },
  };
}

const CUSTOMERS = [
  { name: 'Juniper Works 1', email: 'billing@customer1.example.com', country: 'NL' },
  { name: 'Kite Media 6', email: 'billing@customer6.example.com', country: 'NL' },
  { name: 'Juniper Foods 8', email: 'billing@customer8.example.com', country: 'DE' },
];
const PASTE = `Rows: ${CUSTOMERS.map((c) => `${c.name}, ${c.email}`).join('; ')}`;

describe('F12: data cannot declare its values field names', () => {
  it('A2’s json_object_agg(email, json_build_object(name, country)): every name and e-mail is a value', () => {
    const j = Object.fromEntries(CUSTOMERS.map((c) => [c.email, { [c.name]: c.country }]));
    const fps = resultFingerprints(queryResult(['j'], [[j]]), KEY);
    expect(copied(fps, [PASTE])).toBe(6);
    // The same rows read as plain columns count the same.
    const plain = resultFingerprints(
      queryResult(
        ['name', 'email'],
        CUSTOMERS.map((c) => [c.name, c.email]),
      ),
      KEY,
    );
    expect(copied(plain, [PASTE])).toBe(6);
  });

  it('a json_object_agg(col, 1) column does not drop that column’s values elsewhere in the result', () => {
    const keys = Object.fromEntries(
      CUSTOMERS.flatMap((c) => [
        [c.name, 1],
        [c.email, 1],
      ]),
    );
    const fps = resultFingerprints(
      queryResult(['name', 'email', 'k'], [...CUSTOMERS.map((c) => [c.name, c.email, keys])]),
      KEY,
    );
    expect(copied(fps, [PASTE])).toBe(6);
  });

  it('a nested { columns, rows } built in SQL neither hides its columns nor names anything', () => {
    const nested = { columns: CUSTOMERS.map((c) => c.email), rows: [CUSTOMERS.map((c) => c.name)] };
    const fps = resultFingerprints(queryResult(['j'], [[nested]]), KEY);
    expect(copied(fps, [PASTE])).toBe(6);
  });

  it('property: any generated value nested as a key of a cell object is fingerprinted like the value', () => {
    const valueArb = fc.oneof(
      fc
        .tuple(
          fc.constantFrom('Juniper', 'Kite', 'Nova', 'Granite', 'Wexford'),
          fc.constantFrom('Works', 'Media', 'Labs'),
          fc.integer({ min: 1, max: 9999 }),
        )
        .map(([a, b, n]) => `${a} ${b} ${n}`),
      fc
        .tuple(fc.stringMatching(/^[a-z]{3,8}$/), fc.integer({ min: 1, max: 999 }))
        .map(([l, n]) => `${l}@customer${n}.example.com`),
      fc.integer({ min: 10_000, max: 99_999_999 }).map((n) => `cus_${n.toString(36)}x${n}`),
    );
    fc.assert(
      fc.property(fc.uniqueArray(valueArb, { minLength: 1, maxLength: 6 }), (values) => {
        const asValues = resultFingerprints(
          queryResult(
            ['v'],
            values.map((v) => [v]),
          ),
          KEY,
        );
        const asKeys = resultFingerprints(
          queryResult(['j'], [[Object.fromEntries(values.map((v, i) => [v, { [`x${i}`]: true }]))]]),
          KEY,
        );
        const content = contentFingerprints([values.join(' ; ')], KEY);
        expect(hits(asKeys, content)).toBeGreaterThanOrEqual(values.length);
        for (const f of asValues) if (content.includes(f)) expect(asKeys).toContain(f);
      }),
      { numRuns: 150 },
    );
  });

  it('the tool’s own structure still names fields: top-level keys and columns are not values', () => {
    expect(
      resultFingerprints({ structured: { customer_email_2024: 'Past Due', account_id_7781: true } }, KEY),
    ).toEqual([]);
    expect(resultFingerprints(queryResult(['region_code_77'], [['EU']]), KEY)).toEqual([]);
    // A JSON text beside structuredContent (a file's content, say) is data: its keys are values.
    const file = JSON.stringify(Object.fromEntries(CUSTOMERS.map((c) => [c.email, c.name])));
    const read = resultFingerprints(
      { structured: { path: 'notes.json', size: file.length }, text: file },
      KEY,
    );
    expect(copied(read, [PASTE])).toBe(6);
    // Inside the data the same key is a value.
    expect(resultFingerprints({ structured: { data: [{ account_id_7781: true }] } }, KEY)).toHaveLength(1);
  });
});

/** A2's billing read (norm.ts): one row as run_query returns it. */
const BILLING = {
  structured: {
    columns: [
      { name: 'name' },
      { name: 'email' },
      { name: 'card' },
      { name: 'mrr_cents' },
      { name: 'phone' },
    ],
    rows: [['Jane Doe', 'jane.doe@acme.io', '4242424242424242', 120050, '+1 415 555 0199']],
  },
};
const BILLING_PASTE = 'Jane Doe jane.doe@acme.io 4242424242424242 $1,200.50';

/** Invisible characters (F1): Hangul fillers and other default-ignorables, format characters. */
const INVISIBLES = [
  '\u3164',
  '\uFFA0',
  '\u115F',
  '\u1160',
  '\u034F',
  '\u17B4',
  '\u180B',
  '\u180E',
  '\uFE0F',
  '\u{E0100}',
  '\u{E0041}',
  '\u200B',
  '\u2060',
  '\u00AD',
];
/** Combining marks of every kind (F4): enclosing, spacing, non-spacing. */
const MARKS = ['\u20DD', '\u20E3', '\u0903', '\u0BBE', '\u0301', '\u0489'];
/** The zero of some decimal-digit scripts (F3): Arabic-Indic, Persian, Devanagari, Bengali, Thai, Tibetan, Myanmar, fullwidth, mathematical. */
const ZEROS = [0x660, 0x6f0, 0x966, 0x9e6, 0xe50, 0xf20, 0x1040, 0xff10, 0x1d7ce, 0x1d7f6, 0x1e950];

/** Inserts `c` after every `every`-th non-space character (a value split by invisible/decorative characters). */
const sprinkle = (s: string, c: string, every: number) =>
  [...s].map((ch, i) => (ch !== ' ' && i % every === every - 1 ? ch + c : ch)).join('');
const digitsIn = (s: string, zero: number) =>
  s.replace(/[0-9]/g, (d) => String.fromCodePoint(zero + Number(d)));

describe('F1, F3, F4: invisible letters, other scripts’ digits and combining marks do not split a value', () => {
  const fps = resultFingerprints(BILLING, KEY);
  const baseline = copied(fps, [BILLING_PASTE]);

  it('the plain paste is held (>= 3 values) — the control', () => {
    expect(baseline).toBeGreaterThanOrEqual(3);
  });

  it('A2’s exact disguises count as many values as the plain paste', () => {
    for (const text of [
      'Ja\u3164ne Doe ja\u3164ne.doe@acme.io 4242\u31644242\u31644242\u31644242 $1,200.50',
      'J\u20DDane Doe jane.doe\u20DD@acme.io 4242\u20DD424242424242 $1,200.50',
      'Jane Doe jane.doe@acme.io \u0664\u0662\u0664\u0662\u0664\u0662\u0664\u0662\u0664\u0662\u0664\u0662\u0664\u0662\u0664\u0662 $١,٢٠٠.٥٠',
      'Jane Doe jane.doe@acme.io ४२४२४२४२४२४२४२४२ $1,200.50',
      'Ja\u0903ne Doe ja\u0903ne.doe@acme.io 4242\u0903424242424242 $1,200.50',
      'Ja\uFFA0ne Doe ja\uFFA0ne.doe@acme.io 4242\u115F424242424242 $1,200.50',
    ])
      expect(copied(fps, [text])).toBe(baseline);
  });

  it('property: any mix of invisibles, marks and digit scripts inside every value counts the same', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...INVISIBLES),
        fc.constantFrom(...MARKS),
        fc.constantFrom(...ZEROS),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 4 }),
        (inv, mark, zero, a, b) => {
          const text = digitsIn(sprinkle(sprinkle(BILLING_PASTE, inv, a), mark, b), zero);
          expect(tokens(text)).toEqual(tokens(BILLING_PASTE));
          expect(copied(fps, [text])).toBe(baseline);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('every \\p{Nd} digit becomes its ASCII value', () => {
    for (const zero of ZEROS)
      expect(tokens(digitsIn('4242 0123456789', zero))).toEqual(['4242', '0123456789']);
  });
});

describe('F2: grouped numbers — cards, phones and thousands separators other than the comma', () => {
  it('a digit run with single thousands separators is one number token; "1.200" alone is a decimal', () => {
    const cases: [string, string][] = [
      ['$1,200.50', '1200.5'],
      ['1 200.50', '1200.5'],
      ['1\u00a0200,50', '1200.5'],
      ['1\u202f200,50', '1200.5'],
      ["1'200.50", '1200.5'],
      ['1’200', '1200'],
      ['1_200', '1200'],
      ['1.200,50', '1200.5'],
      ['1.200.000', '1200000'],
      ['1.234.567,8', '1234567.8'],
      ['12 345 678', '12345678'],
      // Documented choice: one dot group and no decimal comma is a decimal point (English), not thousands.
      ['1.200', '1.2'],
    ];
    for (const [text, want] of cases) expect(tokens(`total ${text} due`)).toEqual(['total', want, 'due']);
    // Not thousands: a phone's groups (a 4-digit group follows), ids with underscores, a card's groups.
    expect(tokens('+1 415 555 0199')).toEqual(['1', '415', '555', '0199']);
    expect(tokens('cus_1_200 1_200abc')).toEqual(['cus_1_200', '1_200abc']);
    expect(tokens('4242 4242 4242 4242')).toEqual(['4242', '4242', '4242', '4242']);
  });

  it('an amount read in cents is found with any thousands separator', () => {
    const fps = resultFingerprints(
      { structured: { columns: [{ name: 'mrr_cents' }], rows: [[120050]] } },
      KEY,
    );
    for (const a of [
      '1 200.50',
      '1\u00a0200,50',
      '1\u202f200,50',
      "1'200.50",
      '1’200.50',
      '1_200.50',
      '1.200,50',
    ])
      expect(copied(fps, [`MRR is EUR ${a} per month`])).toBe(1);
  });

  it('property: a card or phone number read in one form is found in any grouping, counted once', () => {
    const sepArb = fc.constantFrom(' ', '-', '.', '\u00a0', '\u202f', '\u2009');
    const cardArb = fc.array(fc.integer({ min: 1000, max: 9999 }), { minLength: 4, maxLength: 4 });
    fc.assert(
      fc.property(cardArb, sepArb, sepArb, fc.boolean(), (groups, s1, s2, groupedRead) => {
        const plain = groups.join('');
        const read = groupedRead ? groups.join(s1) : plain;
        const fps = resultFingerprints(queryResult(['card'], [[read]]), KEY);
        for (const pasted of [plain, groups.join(s2), `${groups.join(s2)} and again ${plain}`])
          expect(copied(fps, [`card on file: ${pasted}, thanks`])).toBe(1);
      }),
      { numRuns: 200 },
    );
    const phone = resultFingerprints(queryResult(['phone'], [['+1 415 555 0199']]), KEY);
    for (const pasted of [
      '(415) 555-0199',
      '415-555-0199',
      '415.555.0199',
      '4155550199',
      '+14155550199',
      '+1 415 555 0199 or (415) 555-0199',
    ])
      expect(copied(phone, [`call ${pasted} today`])).toBe(1);
    const nl = resultFingerprints(queryResult(['phone'], [['+31201234567']]), KEY);
    expect(copied(nl, ['ring +31 20 123 4567'])).toBe(1);
  });

  it('A2’s grouped billing paste is held like the plain one', () => {
    const fps = resultFingerprints(BILLING, KEY);
    const plain = copied(fps, [BILLING_PASTE]);
    for (const text of [
      'Jane Doe jane.doe@acme.io 4242 4242 4242 4242 $1 200.50',
      "Jane Doe jane.doe@acme.io 4242-4242-4242-4242 CHF 1'200.50",
      'Jane Doe jane.doe@acme.io 4242\u00a04242\u00a04242\u00a04242 1\u202f200,50 €',
    ])
      expect(copied(fps, [text])).toBe(plain);
  });
});

describe('tokenising is linear in the text (a 1 MB outbound text or read of digit groups)', () => {
  // Each shape made the tokenizer rescan the rest of a run from every token (quadratic: minutes for
  // 1 MB); a regression fails by the test timeout. No timing is asserted.
  it('digit groups with spaces, apostrophes, dots, commas; dotted runs without an "@"', () => {
    const n = 200_000;
    for (const s of [
      `${'123 '.repeat(n)}1234`,
      `1234 ${'123 '.repeat(n)}1234`,
      `1${"'123".repeat(n)}'1234`,
      `1${'.123'.repeat(n)}.1234`,
      `1${',123'.repeat(n)},1234`,
      '1.2'.repeat(n),
      'a.'.repeat(n),
      "1 123'123_123.123,123 ".repeat(n / 5),
    ]) {
      const toks = tokens(s);
      expect(toks.length).toBeGreaterThan(0);
      expect(contentFingerprints([s.slice(0, 200_000)], KEY).length).toBeGreaterThanOrEqual(0);
    }
  }, 60_000);
});
