// Copy detection counts copied VALUES, not fingerprints (issue 17, F2): one value with an id or an
// e-mail inside it, an amount in cents and dollars, a timestamp and its date, the same value in a
// subject and a body — each is ONE value; k distinct values pasted apart are k. Generated rows as a
// database read returns them (structured, with the id inside the customer's name, a contact written
// as a display name, money in cents, timestamps) and messages naming their values in those forms.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type ContentWindow,
  contentFingerprints,
  contentWindows,
  copiedValues,
  MAX_CONTENT_FINGERPRINTS,
  MAX_CONTENT_WINDOWS,
  resultFingerprints,
} from '../../src/flow/fingerprints.js';
import { displayed, type Row, rowArb } from './fingerprints-gen.js';

const KEY = 'test-fleet-fingerprint-key';

/** A customer record as the fleet's databases return it. */
interface Rec {
  customer_id: number;
  name: string;
  contact: string;
  email: string;
  company: string;
  mrr_cents: number;
  created_at: string;
  invoice: string;
  address: string;
}

function recOf(r: Row, id: number, cents: number, time: string): Rec {
  return {
    customer_id: id,
    name: `${r.company} ${id}`, // "Granite Labs 1342": the id inside the name
    contact: `${r.name} <${r.email}>`, // the e-mail inside a display name
    email: r.email,
    company: r.company,
    mrr_cents: cents,
    created_at: `${r.created}T${time}Z`,
    invoice: r.invoice,
    address: r.address,
  };
}

// Ids and amounts with 4+ significant digits and no year look: values of their own (informative).
const idArb = fc.integer({ min: 2101, max: 99_999 }).filter((n) => n % 10 !== 0);
const centsArb = fc.integer({ min: 100_001, max: 99_999_999 }).filter((n) => n % 10 !== 0);
const timeArb = fc
  .tuple(fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 }), fc.integer({ min: 0, max: 59 }))
  .map(([h, m, s]) => [h, m, s].map((x) => String(x).padStart(2, '0')).join(':'));
const recArb = fc.tuple(rowArb, idArb, centsArb, timeArb).map(([r, id, c, t]) => recOf(r, id, c, t));

/** Every form an agent writes a field of a record in (several forms of ONE value). */
function formsOf(rec: Rec, field: keyof Rec): string[] {
  switch (field) {
    case 'customer_id':
      return [String(rec.customer_id), `#${rec.customer_id}`];
    case 'name':
      return [rec.name];
    case 'contact':
      return [rec.contact, `${rec.contact.replace(/ </, ' (').replace(/>$/, ')')}`];
    case 'mrr_cents':
      return [String(rec.mrr_cents), displayed(rec.mrr_cents / 100, true), String(rec.mrr_cents / 100)];
    case 'created_at':
      return [rec.created_at, rec.created_at.slice(0, 10), rec.created_at.replace('T', ' ')];
    default:
      return [rec[field] as string];
  }
}
const FIELDS = [
  'customer_id',
  'name',
  'contact',
  'email',
  'company',
  'mrr_cents',
  'created_at',
  'invoice',
  'address',
] as const satisfies readonly (keyof Rec)[];

const read = (recs: readonly Rec[]) => new Set(resultFingerprints({ structured: { customers: recs } }, KEY));
const counted = (stored: ReadonlySet<string>, texts: readonly string[]) =>
  copiedValues(contentWindows(texts, KEY), (f) => stored.has(f)).length;
const fingerprintHits = (stored: ReadonlySet<string>, texts: readonly string[]) =>
  contentFingerprints(texts, KEY).filter((f) => stored.has(f)).length;

const FILLER = ['Escalating this for', 'the customer says', 'see', 'please check', 'regarding', 'and also'];

describe('copy detection counts values, not fingerprints', () => {
  it('the evaluation’s escalation names its customer once: one value (it was 3 fingerprints, held at minMatches 3)', () => {
    const rec = recOf(
      {
        name: 'Jane Doe',
        email: 'jane.doe@granitelabs.example',
        company: 'Granite Labs',
        mrr: 1200.5,
        customer_id: 'cus_x',
        invoice: 'INV-2024-00012',
        created: '2024-03-15',
        address: '12 Main Street, Springfield 12345',
      },
      1342,
      120050,
      '10:22:00',
    );
    const stored = read([rec]);
    const msg = ['Escalating SUP-12 for Granite Labs 1342: the customer cannot log in'];
    expect(fingerprintHits(stored, msg)).toBe(3); // the name, its id, its company "Granite Labs"
    expect(counted(stored, msg)).toBe(1);
    // Its contact as a display name, its e-mail again, its amount in both units, a timestamp and its date.
    expect(counted(stored, ['Contact: Jane Doe <jane.doe@granitelabs.example>'])).toBe(1);
    expect(counted(stored, ['MRR $1,200.50 (120050 cents), i.e. 1200.50 a month'])).toBe(1);
    expect(counted(stored, ['since 2024-03-15T10:22:00Z (2024-03-15)'])).toBe(1);
    // The name in a subject and a body, the contact and its e-mail again: each value once (2).
    expect(
      counted(stored, [
        'Granite Labs 1342 escalation',
        'Hi, Jane Doe <jane.doe@granitelabs.example> of Granite Labs 1342 wrote; reply to jane.doe@granitelabs.example',
      ]),
    ).toBe(2);
    // Two values, apart: two.
    expect(counted(stored, ['Granite Labs 1342 pays $1,200.50 a month'])).toBe(2);
  });

  it('a single value is counted once however many fingerprints and forms it has, in one text or two', () => {
    fc.assert(
      fc.property(
        fc.array(recArb, { minLength: 1, maxLength: 4 }),
        fc.nat(),
        fc.constantFrom(...FIELDS),
        fc.array(fc.nat(), { minLength: 1, maxLength: 4 }),
        fc.boolean(),
        (recs, pick, field, formPicks, split) => {
          const rec = recs[pick % recs.length] as Rec;
          const forms = formsOf(rec, field);
          const used = formPicks.map((i) => forms[i % forms.length] as string);
          const parts = used.map((u, i) => `${FILLER[i % FILLER.length]} ${u}`);
          const texts =
            split && parts.length > 1 ? [parts[0] as string, parts.slice(1).join('. ')] : [parts.join('. ')];
          const stored = read(recs);
          const n = counted(stored, texts);
          expect(n).toBeLessThanOrEqual(1);
          // ...and counted when any of its fingerprints was found.
          expect(n).toBe(fingerprintHits(stored, texts) > 0 ? 1 : 0);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a message naming one record’s fields counts at most the fields it names', () => {
    fc.assert(
      fc.property(
        recArb,
        fc.uniqueArray(fc.constantFrom(...FIELDS), { minLength: 1, maxLength: FIELDS.length }),
        fc.array(fc.nat(), { minLength: 9, maxLength: 9 }),
        (rec, fields, formPicks) => {
          const parts = fields.flatMap((f, i) => {
            const forms = formsOf(rec, f);
            // Every field once, some in two forms (cents and dollars, timestamp and date...).
            const a = forms[(formPicks[i] as number) % forms.length] as string;
            const b = forms[((formPicks[i] as number) + 1) % forms.length] as string;
            return (formPicks[i] as number) % 2 ? [a, b] : [a];
          });
          const text = parts.map((p, i) => `${FILLER[i % FILLER.length]} ${p}`).join('; ');
          expect(counted(read([rec]), [text])).toBeLessThanOrEqual(fields.length);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('k distinct values pasted apart count k', () => {
    fc.assert(
      fc.property(
        fc.array(recArb, { minLength: 1, maxLength: 5 }),
        fc.array(fc.tuple(fc.nat(), fc.constantFrom(...FIELDS), fc.nat()), { minLength: 1, maxLength: 12 }),
        fc.boolean(),
        (recs, picks, split) => {
          const stored = read(recs);
          // Distinct values, each found alone, none a part of another (a value inside another one —
          // the id inside the name — is the same value when both appear: see the test above).
          const values: string[] = [];
          for (const [r, f, form] of picks) {
            const forms = formsOf(recs[r % recs.length] as Rec, f);
            const v = forms[form % forms.length] as string;
            if (counted(stored, [v]) !== 1) continue;
            const norm = (s: string) =>
              ` ${s
                .toLowerCase()
                .replace(/[^a-z0-9@.]+/g, ' ')
                .trim()} `;
            if (values.some((u) => norm(u).includes(norm(v)) || norm(v).includes(norm(u)))) continue;
            if (values.some((u) => counted(stored, [`${u} and also ${v}`]) !== 2)) continue;
            values.push(v);
          }
          fc.pre(values.length > 0);
          const parts = values.map((v, i) => `${FILLER[i % FILLER.length]} ${v}`);
          const texts = split
            ? [parts.filter((_, i) => i % 2 === 0).join('. '), parts.filter((_, i) => i % 2).join('. ')]
            : [parts.join('. ')];
          expect(counted(stored, texts)).toBe(values.length);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('pasted rows count one value per field; a repeated paste counts no more', () => {
    const recs = fc.sample(recArb, { numRuns: 5, seed: 17 });
    const stored = read(recs);
    const rows = recs.map((r) => `${r.email}, ${displayed(r.mrr_cents / 100, true)}, ${r.invoice}`);
    expect(counted(stored, [rows.join('\n')])).toBe(15);
    expect(counted(stored, [rows.join('\n'), rows.join('\n')])).toBe(15);
    expect(counted(stored, [`${rows.join('\n')}\n${rows.join('\n')}`])).toBe(15);
  });
});

describe('contentWindows', () => {
  it('emits the same distinct fingerprints as contentFingerprints, each with its token span', () => {
    fc.assert(
      fc.property(
        fc.array(recArb, { minLength: 1, maxLength: 3 }),
        fc.array(fc.constantFrom(...FIELDS), { maxLength: 6 }),
        (recs, fields) => {
          const texts = [
            fields
              .map((f, i) => `${FILLER[i % FILLER.length]} ${formsOf(recs[i % recs.length] as Rec, f)[0]}`)
              .join(' '),
            'nothing to see here',
          ];
          const ws = contentWindows(texts, KEY);
          expect(new Set(ws.map((w) => w.fp))).toEqual(new Set(contentFingerprints(texts, KEY)));
          for (const w of ws) {
            expect(w.end - w.start).toBeGreaterThanOrEqual(1);
            expect(w.end - w.start).toBeLessThanOrEqual(8);
            expect(w.text === 0 || w.text === 1).toBe(true);
          }
        },
      ),
      { numRuns: 100 },
    );
  });

  it('a single number carries its other unit’s fingerprint', () => {
    const ws = contentWindows(['120050 and 1200.50'], KEY);
    const cents = ws.find((w) => w.start === 0 && w.end === 1) as ContentWindow;
    const dollars = ws.find((w) => w.start === 2 && w.end === 3) as ContentWindow;
    expect(cents.alts).toContain(dollars.fp);
    expect(dollars.alts).toContain(cents.fp);
  });

  it('is bounded: distinct fingerprints and windows', () => {
    const ids = Array.from({ length: MAX_CONTENT_FINGERPRINTS + 100 }, (_, i) => `id${100_000 + i}x`).join(
      ' ',
    );
    const ws = contentWindows([ids], KEY);
    expect(new Set(ws.map((w) => w.fp)).size).toBe(MAX_CONTENT_FINGERPRINTS);
    const repeated = 'acme1234 '.repeat(MAX_CONTENT_WINDOWS);
    expect(contentWindows([repeated], KEY).length).toBeLessThanOrEqual(MAX_CONTENT_WINDOWS);
  });
});
