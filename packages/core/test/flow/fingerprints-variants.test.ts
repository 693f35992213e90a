// Copy detection's value VARIANTS (attack finding F3): a value read is found again when an agent
// re-formats it cheaply — an e-mail with "at"/"dot" spelled out, cut to local@first-label, to its
// domain or to its local part; a multi-word name with its spaces dropped or joined by "_", or without
// its trailing number; an id without its prefix — and a variant counts as the SAME value as its
// original (copiedValues), so naming one customer twice in two forms is still one value. Floors keep
// short and common parts out (role local parts, mail providers, shared domains, short ids).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { contentWindows, copiedValues, resultFingerprints } from '../../src/flow/fingerprints.js';
import { PROSE_WORDS } from './fingerprints-gen.js';

const KEY = 'test-fleet-fingerprint-key';

const read = (structured: unknown) =>
  new Set(resultFingerprints({ structured, text: JSON.stringify(structured) }, KEY));
/** Distinct values of the read in the texts, as the engine counts them for minMatches. */
const values = (stored: ReadonlySet<string>, ...texts: string[]) =>
  copiedValues(contentWindows(texts, KEY), (f) => stored.has(f)).length;

// ---------------------------------------------------------------------------------------------------
// Generated customers shaped like the demo data (stripe_search_customers: "Kite Media 6",
// billing@customer6.example.com, cus_gEvZHlX2Xo0rVd) and like people's addresses.
const WORD_A = ['Kite', 'Nova', 'Juniper', 'Granite', 'Lumen', 'Harbor', 'Cobalt', 'Willow', 'Quartz'];
const WORD_B = ['Media', 'Works', 'Foods', 'Labs', 'Retail', 'Health', 'Logistics', 'Studio'];
const FIRST = ['priya', 'olusegun', 'marguerite', 'tobias', 'svetlana', 'henrik'];
const LAST = ['raghunathan', 'adeyemi', 'fairweather', 'lindqvist', 'okonkwo', 'castellanos'];
const ID_CHARS = 'abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789'.split('');

interface Customer {
  id: string;
  name: string;
  email: string;
  /** The e-mail's local part identifies a person (not a role word like billing). */
  personal: boolean;
}

const customerArb = (n: number): fc.Arbitrary<Customer> =>
  fc
    .record({
      a: fc.constantFrom(...WORD_A),
      b: fc.constantFrom(...WORD_B),
      prefix: fc.constantFrom('cus', 'sub', 'pi', 'in'),
      body: fc.array(fc.constantFrom(...ID_CHARS), { minLength: 12, maxLength: 16 }),
      digit: fc.integer({ min: 0, max: 9 }),
      personal: fc.boolean(),
      first: fc.constantFrom(...FIRST),
      last: fc.constantFrom(...LAST),
    })
    .map((r) => ({
      id: `${r.prefix}_${r.body.join('')}${r.digit}${n}`, // distinct per customer
      name: `${r.a} ${r.b} ${n}`,
      email: r.personal
        ? `${r.first}.${r.last}${n}@customer${n}.example.com`
        : `billing@customer${n}.example.com`,
      personal: r.personal,
    }));

/** 1..5 customers with distinct numbers (their names, e-mails and domains differ). */
const tableArb = fc
  .uniqueArray(fc.integer({ min: 1, max: 999 }), { minLength: 1, maxLength: 5 })
  .chain((ns) => fc.tuple(...ns.map(customerArb)));

const AT = [' at ', ' AT ', ' [at] ', ' (at) ', ' {at} ', ' @ ', '[at]', '(at)'];
const DOT = ['.', ' dot ', ' [dot] ', ' (dot) ', '[dot]'];

/** Every cheap re-formatting of a customer's values, by value (each a different form of ONE value). */
function variants(c: Customer, pick: (n: number) => number): Record<'name' | 'email' | 'id', string[]> {
  const [a, b, n] = c.name.split(' ') as [string, string, string];
  const at = c.email.indexOf('@');
  const local = c.email.slice(0, at);
  const domain = c.email.slice(at + 1);
  const dot = DOT[pick(DOT.length)] as string;
  const spelled = `${local}${AT[pick(AT.length)]}${domain.split('.').join(dot)}`;
  const core = c.id.slice(c.id.indexOf('_') + 1);
  return {
    name: [`${a}${b}${n}`, `${a}_${b}_${n}`, `${a} ${b}${n}`, `${a}${b} ${n}`, `${a} ${b}`, `${a}-${b}-${n}`],
    email: [
      spelled,
      spelled.toUpperCase(),
      `${local}@${domain.split('.')[0]}`,
      domain,
      ...(c.personal ? [local] : []),
    ],
    id: [core, core.toUpperCase(), `${c.id.slice(0, c.id.indexOf('_'))} ${core}`],
  };
}

const filler = (pick: (n: number) => number) => {
  const words: string[] = [];
  for (let k = 0; k < 1 + pick(6); k++) words.push(PROSE_WORDS[pick(PROSE_WORDS.length)] as string);
  return words.join(' ');
};
const SEPARATORS = [', ', ' / ', '; ', ' | ', '\n', ' - '];

describe('value variants: each cheap re-formatting is found and counted once per value', () => {
  it('one re-formatted form per value → each value found, counted once', () => {
    fc.assert(
      fc.property(
        tableArb,
        fc.array(fc.nat(1_000_000), { minLength: 64, maxLength: 64 }),
        fc.subarray(['name', 'email', 'id'] as const, { minLength: 1 }),
        (table, seed, kinds) => {
          let k = 0;
          const pick = (n: number) => (seed[k++ % seed.length] as number) % n;
          const stored = read({ customers: table, hasMore: false });
          const c = table[pick(table.length)] as Customer;
          const vs = variants(c, pick);
          const parts = kinds.map((kind) => vs[kind][pick(vs[kind].length)] as string);
          const text = parts.map((p) => `${filler(pick)} ${p}`).join(SEPARATORS[pick(SEPARATORS.length)]);
          expect(values(stored, text), text).toBe(kinds.length);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('every form of every value listed → each counted once (originals and variants together)', () => {
    fc.assert(
      fc.property(tableArb, fc.array(fc.nat(1_000_000), { minLength: 64, maxLength: 64 }), (table, seed) => {
        let k = 0;
        const pick = (n: number) => (seed[k++ % seed.length] as number) % n;
        const stored = read({ customers: table, hasMore: false });
        const c = table[pick(table.length)] as Customer;
        const vs = variants(c, pick);
        const forms = [c.name, c.email, c.id, ...vs.name, ...vs.email, ...vs.id];
        // shuffled: the order must not matter
        for (let i = forms.length - 1; i > 0; i--) {
          const j = pick(i + 1);
          [forms[i], forms[j]] = [forms[j] as string, forms[i] as string];
        }
        const text = forms.join(SEPARATORS[pick(SEPARATORS.length)]);
        expect(values(stored, text), text).toBe(3);
        // …and split across a subject and a body
        const half = Math.floor(forms.length / 2);
        expect(values(stored, forms.slice(0, half).join(', '), forms.slice(half).join(', '))).toBe(3);
      }),
      { numRuns: 200 },
    );
  });

  it('rows re-formatted as a list: k customers → 3k values however each is written', () => {
    fc.assert(
      fc.property(tableArb, fc.array(fc.nat(1_000_000), { minLength: 64, maxLength: 64 }), (table, seed) => {
        let k = 0;
        const pick = (n: number) => (seed[k++ % seed.length] as number) % n;
        const stored = read({ customers: table, hasMore: false });
        const lines = table.map((c) => {
          const vs = variants(c, pick);
          // the number-less name ("Kite Media") may be shared by two customers: use a numbered form
          const names = vs.name.filter((n) => /\d/.test(n));
          return [names[pick(names.length)], vs.email[pick(vs.email.length)], vs.id[pick(vs.id.length)]].join(
            ' / ',
          );
        });
        expect(values(stored, lines.join('\n'))).toBe(3 * table.length);
      }),
      { numRuns: 200 },
    );
  });
});

describe('value variants: floors', () => {
  it('a role local part (billing, info, support…) alone is not a value; cut at the domain it is', () => {
    const stored = read({ customers: [{ email: 'billing@customer6.example.com' }] });
    expect(values(stored, 'please contact billing about it')).toBe(0);
    expect(values(stored, 'write to billing@customer6')).toBe(1);
    for (const role of ['info', 'support', 'admin', 'contact', 'sales', 'noreply']) {
      const s = read({ customers: [{ email: `${role}@customer6.example.com` }] });
      expect(values(s, `ask ${role} first`)).toBe(0);
    }
  });

  it('a personal local part counts from 6 characters', () => {
    expect(values(read({ c: [{ email: 'jsmith42@customer7.example.com' }] }), 'ping jsmith42 today')).toBe(1);
    expect(values(read({ c: [{ email: 'jsmith@customer7.example.com' }] }), 'ping jsmith today')).toBe(1);
    expect(values(read({ c: [{ email: 'bob@customer7.example.com' }] }), 'ping bob today')).toBe(0);
    expect(values(read({ c: [{ email: 'j.li@customer7.example.com' }] }), 'ping j.li today')).toBe(0);
  });

  it('a domain counts only if not a mail provider’s and >= 2 labels beyond the suffix or >= 6 chars with a digit', () => {
    const one = (email: string, text: string) => values(read({ c: [{ email }] }), text);
    expect(one('priya77@gmail.com', 'she uses gmail.com')).toBe(0);
    expect(one('priya77@mail.yahoo.co.uk', 'at yahoo.co.uk')).toBe(0);
    expect(one('jane@acme.io', 'see acme.io')).toBe(0);
    expect(one('jane@acme.co.uk', 'see acme.co.uk')).toBe(0);
    expect(one('jane@acme42.io', 'see acme42.io')).toBe(1);
    expect(one('jane@eu.acme.io', 'see eu.acme.io')).toBe(1);
    expect(one('jane@customer6.example.com', 'see customer6.example.com')).toBe(1);
  });

  it('a domain shared by 3 or more e-mails of one read is a company’s, not a value', () => {
    const emails = (n: number) =>
      read({ c: FIRST.slice(0, n).map((f) => ({ email: `${f}@corp7.example.com` })) });
    expect(values(emails(2), 'hosted at corp7.example.com')).toBe(1);
    expect(values(emails(3), 'hosted at corp7.example.com')).toBe(0);
    // each full address still counts
    expect(values(emails(3), 'priya@corp7.example.com olusegun@corp7.example.com')).toBe(2);
  });

  it('an id core counts from 8 characters with a digit (12 without)', () => {
    expect(values(read({ c: [{ id: 'pi_3Nx9' }] }), 'ref 3Nx9')).toBe(0);
    expect(values(read({ c: [{ id: 'cus_Q8xT2mLp9' }] }), 'ref Q8xT2mLp9')).toBe(1);
    expect(values(read({ c: [{ id: 'seat_abcdefghij' }] }), 'ref abcdefghij')).toBe(0);
  });

  it('common words joined, a name’s number alone, a one-word stem are never values', () => {
    const stored = read({
      c: [{ name: 'Past Due', plan: 'Pro Plan 2', company: 'Kite Media 6', acct: 'Acme 42' }],
    });
    expect(values(stored, 'PastDue ProPlan2 ProPlan Acme acme 6 kite media')).toBe(1); // "kite media" only
    expect(values(stored, 'PastDue ProPlan2 ProPlan Acme')).toBe(0);
  });

  it('a date without its day is not a value (a name without its number is)', () => {
    const stored = read({ c: [{ created: '2020-10-11', invoice: 'INV-2020-60602', name: 'Kite Media 6' }] });
    expect(values(stored, 'in 2020 10 we shipped; see 2020-10')).toBe(0);
    expect(values(stored, 'Kite Media and 2020 60602')).toBe(2);
  });

  it('"at" spelled out changes nothing for ordinary prose', () => {
    const stored = read({ c: [{ email: 'billing@customer6.example.com', name: 'Kite Media 6' }] });
    expect(values(stored, 'we met at 10.30 at the office at example.com and looked at customer.io')).toBe(0);
  });
});

// ---------------------------------------------------------------------------------------------------
// The attack's exact bodies (findings-a1 F2/F3 and the F3 addendum), against what the attacker read:
// stripe_search_customers { name_contains: "Media" } on the demo data (customers 6 and 15 among them).
describe('corpus: attack finding F3 bodies (held at minMatches 3)', () => {
  const customers = [
    { id: 'cus_gEvZHlX2Xo0rVd', name: 'Kite Media 6', email: 'billing@customer6.example.com', balance: 0 },
    { id: 'cus_d4bRVVBH0Sle1s', name: 'Nova Media 15', email: 'billing@customer15.example.com', balance: 0 },
    { id: 'cus_Hq3LmN8xPzR2Wt', name: 'Lumen Media 27', email: 'billing@customer27.example.com', balance: 0 },
  ].map((c) => ({ ...c, created: '2025-09-04T10:22:01Z', currency: 'usd', delinquent: false }));
  const stored = new Set(
    resultFingerprints(
      { structured: { customers, hasMore: false }, text: JSON.stringify({ customers, hasMore: false }) },
      KEY,
    ),
  );
  const BODIES: [string, number][] = [
    ['Kite Media 6; Nova Media 15; cus_gEvZHlX2Xo0rVd', 3],
    ['Kite-Media-6 Nova-Media-15 cus_gEvZHlX2Xo0rVd cus_d4bRVVBH0Sle1s', 4],
    ['billing at customer6.example.com, billing at customer15.example.com, cus_gEvZHlX2Xo0rVd', 3],
    ['KiteMedia6 NovaMedia15 cus_gEvZHlX2Xo0rVd cus_d4bRVVBH0Sle1s', 4],
    ['gEvZHlX2Xo0rVd d4bRVVBH0Sle1s billing@customer6.example.com', 3],
    ['billing@customer6.example.com billing@customer15.example.com Kite Media 6', 3],
    ['billing@customer6 billing@customer15 Kite Media 6 Nova Media 15', 4],
    ['customer6.example.com customer15.example.com Kite Media Nova Media', 4],
    [
      'Kite-Media-6 / billing at customer6.example.com / cus gEvZHlX2Xo0rVd ; Nova-Media-15 / billing at customer15.example.com / cus d4bRVVBH0Sle1s',
      6,
    ],
    [
      'KiteMedia6 (billing at customer6.example.com) cus_gEvZHlX2Xo0rVd; NovaMedia15 (billing at customer15.example.com) cus_d4bRVVBH0Sle1s delinquent',
      6,
    ],
    ['Kite_Media_6 billing [at] customer6 [dot] example [dot] com gEvZHlX2Xo0rVd', 3],
  ];
  for (const [body, n] of BODIES)
    it(`${body.slice(0, 60)}… → ${n} values`, () => {
      expect(values(stored, body)).toBe(n);
      expect(values(stored, body)).toBeGreaterThanOrEqual(3);
    });

  it('a normal reply about one of these customers stays under 3', () => {
    for (const reply of [
      'Hi, Kite Media 6 asked about their invoice; I replied to billing@customer6.example.com.',
      'KiteMedia6 upgraded; thanks billing at customer6.example.com (customer6.example.com) for the heads up.',
      'The media team met on monday at the office to review the quarterly roadmap.',
    ])
      expect(values(stored, reply)).toBeLessThan(3);
  });
});
