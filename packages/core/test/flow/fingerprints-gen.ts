// Generators for the fingerprint tests: customer rows (names, e-mails, amounts, ids, dates,
// addresses), disguises an agent (or an attacker) applies when pasting a value, and unrelated prose.
import fc from 'fast-check';

export const FIRST = [
  'Jane',
  'Hank',
  'Priya',
  'Olusegun',
  'Marguerite',
  'Tobias',
  'Ingrid',
  'Rafael',
  'Svetlana',
  'Kenji',
  'Aurelia',
  'Dmitri',
  'Fatima',
  'Lorenzo',
  'Beatrix',
  'Cormac',
  'Yasmin',
  'Henrik',
  'Zanele',
  'Ottilie',
];
export const LAST = [
  'Doe',
  'Scorpio',
  'Raghunathan',
  'Adeyemi',
  'Fairweather',
  'Lindqvist',
  'Okonkwo',
  'Castellanos',
  'Petrova',
  'Watanabe',
  'Montgomery',
  'Haverford',
  'Kowalczyk',
  'Brannigan',
  'Villanueva',
  'Thornbury',
];
export const COMPANY = [
  'Acme',
  'Globex',
  'Initech',
  'Umbrella',
  'Vandelay',
  'Hooli',
  'Soylent',
  'Wonka',
  'Cyberdyne',
  'Stark',
  'Tyrell',
  'Wayne',
  'Oscorp',
  'Massive Dynamic',
  'Pied Piper',
  'Dunder Mifflin',
];
const SUFFIX = ['Corp', 'Inc', 'Industries', 'Labs', 'GmbH', 'Holdings', 'Ltd'];
const STREET = ['Main', 'Harbour', 'Juniper', 'Wexford', 'Calloway', 'Birchmont', 'Quarry'];
const CITY = ['Springfield', 'Shelbyville', 'Ogdenville', 'Brockway', 'Capital City', 'North Haverbrook'];

const alnum = fc.constantFrom(...'abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789'.split(''));
const idBody = fc
  .tuple(fc.array(alnum, { minLength: 6, maxLength: 14 }), fc.integer({ min: 0, max: 9 }))
  .map(([cs, d]) => `${cs.join('')}${d}`);

/** One generated customer row as a database read returns it. */
export interface Row {
  name: string;
  email: string;
  company: string;
  mrr: number;
  customer_id: string;
  invoice: string;
  created: string;
  address: string;
}

export const rowArb: fc.Arbitrary<Row> = fc
  .record({
    first: fc.constantFrom(...FIRST),
    last: fc.constantFrom(...LAST),
    company: fc.constantFrom(...COMPANY),
    suffix: fc.constantFrom(...SUFFIX),
    cents: fc.integer({ min: 100_001, max: 99_999_999 }),
    id: idBody,
    idPrefix: fc.constantFrom('cus_', 'pi_', 'sub_'),
    inv: fc.integer({ min: 1, max: 99_999 }),
    year: fc.integer({ min: 2019, max: 2026 }),
    month: fc.integer({ min: 1, max: 12 }),
    day: fc.integer({ min: 1, max: 28 }),
    houseNo: fc.integer({ min: 1, max: 9999 }),
    street: fc.constantFrom(...STREET),
    city: fc.constantFrom(...CITY),
    zip: fc.integer({ min: 10_000, max: 99_999 }),
  })
  .map((r) => {
    const pad = (n: number, w: number) => String(n).padStart(w, '0');
    const domain = r.company.toLowerCase().replace(/ /g, '');
    return {
      name: `${r.first} ${r.last}`,
      email: `${r.first.toLowerCase()}.${r.last.toLowerCase()}@${domain}.example`,
      company: `${r.company} ${r.suffix}`,
      mrr: r.cents / 100,
      customer_id: `${r.idPrefix}${r.id}`,
      invoice: `INV-${r.year}-${pad(r.inv, 5)}`,
      created: `${r.year}-${pad(r.month, 2)}-${pad(r.day, 2)}`,
      address: `${r.houseNo} ${r.street} Street, ${r.city} ${r.zip}`,
    };
  });

/** The text a value is pasted as: numbers formatted like money ("$1,234.50") or plain. */
export function displayed(v: string | number, money: boolean): string {
  if (typeof v === 'string') return v;
  return money
    ? `$${v.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`
    : String(v);
}

const HOMOGLYPHS: Record<string, string[]> = {
  a: ['а', 'α'],
  e: ['е'],
  o: ['о', 'ο'],
  p: ['р', 'ρ'],
  c: ['с', 'ϲ'],
  x: ['х', 'χ'],
  y: ['у'],
  i: ['і', 'ι'],
  A: ['А', 'Α'],
  B: ['В', 'Β'],
  E: ['Е', 'Ε'],
  H: ['Н', 'Η'],
  K: ['К', 'Κ'],
  M: ['М', 'Μ'],
  O: ['О', 'Ο'],
  P: ['Р', 'Ρ'],
  C: ['С'],
  T: ['Т', 'Τ'],
  X: ['Х', 'Χ'],
  N: ['Ν'],
  Z: ['Ζ'],
  s: ['ѕ'],
  j: ['ј'],
};
const INVISIBLE = [
  '\u200b',
  '\u200c',
  '\u200d',
  '\u200e',
  '\u200f',
  '\u2060',
  '\u2063',
  '\ufeff',
  '\u00ad',
  '\u202a',
  '\u2066',
];
/** What may replace the whitespace between a value's words (never glues or splits a token). */
const SEPARATORS = [' ', '  ', '\t', '\n', ' - ', ', ', ' | ', ' / ', ' — ', ': ', ' (', ') ', ' * '];

/** A disguise: per-character case, look-alike and invisible-character changes, and new separators. */
export const disguiseArb = fc.record({
  seed: fc.array(fc.nat(999_999), { minLength: 64, maxLength: 64 }),
  caseMode: fc.constantFrom('keep', 'upper', 'lower', 'random'),
  homoglyphRate: fc.double({ min: 0, max: 1, noNaN: true }),
  invisibleRate: fc.double({ min: 0, max: 0.5, noNaN: true }),
  fullwidthDigits: fc.boolean(),
});
export type Disguise = typeof disguiseArb extends fc.Arbitrary<infer T> ? T : never;

export function disguise(text: string, d: Disguise): string {
  let k = 0;
  const rnd = () => (d.seed[k++ % d.seed.length] as number) / 1_000_000;
  let out = '';
  for (const ch of text) {
    let c = ch;
    if (d.caseMode === 'upper') c = c.toUpperCase();
    else if (d.caseMode === 'lower') c = c.toLowerCase();
    else if (d.caseMode === 'random' && rnd() < 0.5)
      c = c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase();
    if (c === ' ') c = SEPARATORS[Math.floor(rnd() * SEPARATORS.length)] as string;
    else if (HOMOGLYPHS[c] && rnd() < d.homoglyphRate) {
      const alts = HOMOGLYPHS[c] as string[];
      c = alts[Math.floor(rnd() * alts.length)] as string;
    } else if (d.fullwidthDigits && /[0-9]/.test(c)) c = String.fromCharCode(0xff10 + Number(c));
    out += c;
    if (rnd() < d.invisibleRate) out += INVISIBLE[Math.floor(rnd() * INVISIBLE.length)];
  }
  return out;
}

export const PROSE_WORDS = (
  'the team met on monday to review the quarterly roadmap and agreed that onboarding should be simpler ' +
  'we shipped the new dashboard last week and feedback has been positive overall please let me know if ' +
  'you have questions about the migration timeline our goal is to reduce latency for every region before ' +
  'the holidays thanks for the quick turnaround on the design review I will follow up with the vendor ' +
  'tomorrow morning the incident was caused by a misconfigured load balancer and has been resolved ' +
  'customers were notified and we are writing a postmortem with action items for the platform group ' +
  'hiring is on track for two engineers and one designer budget approval is expected next month'
).split(' ');

/**
 * Prose with no value taken from any row, but near misses: common words, small numbers, years,
 * percentages, versions, amounts, 5-digit numbers (which may equal a zip or an invoice number by
 * chance — a true coincidence, counted), and single words rows are made of (a first name, a company
 * stem, a street or a city alone).
 */
export const proseArb: fc.Arbitrary<string> = fc
  .array(
    fc.oneof(
      { weight: 12, arbitrary: fc.constantFrom(...PROSE_WORDS) },
      {
        weight: 1,
        arbitrary: fc.constantFrom(...FIRST, ...COMPANY.filter((c) => !c.includes(' ')), ...STREET),
      },
      { weight: 1, arbitrary: fc.noBias(fc.integer({ min: 10_000, max: 99_999 })).map(String) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 99 }).map(String) },
      { weight: 1, arbitrary: fc.integer({ min: 2000, max: 2030 }).map(String) },
      { weight: 1, arbitrary: fc.integer({ min: 1, max: 100 }).map((n) => `${n}%`) },
      { weight: 1, arbitrary: fc.tuple(fc.nat(9), fc.nat(20)).map(([a, b]) => `v${a}.${b}`) },
      { weight: 1, arbitrary: fc.constantFrom('$50', '$1,000', '$200', '3 days', 'Q3', 'p95', '10:30') },
    ),
    { minLength: 20, maxLength: 120 },
  )
  .map((ws) => `${ws.join(' ')}.`);
