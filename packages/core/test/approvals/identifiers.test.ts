// The requester check compares identifiers by a folding key: however an IdP (or an attacker choosing
// an approver subject) spells the requester's name — letter case including Turkish İ/ı, fullwidth
// forms, accents and other combining marks, invisible characters, stray spaces — the spelling names
// the requester and the approver is refused.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { identifierKey, matchesAny } from '../../src/approvals/identifiers.js';

const name = fc.stringMatching(/^[a-z][a-z0-9]{2,9}$/);
const MARKS = ['\u0300', '\u0301', '\u0302', '\u0307', '\u0308', '\u030c', '\u0323', '\u0327', '\u0338'];
const INVISIBLE = ['\u00ad', '\u200b', '\u200d', '\u2060', '\ufeff'];
const fullwidth = (ch: string) => String.fromCodePoint(ch.codePointAt(0)! - 0x21 + 0xff01);

/** One random spelling of `id`: per character a case/width/Turkish-i variant, maybe marks and invisibles. */
const spelling = (id: string) =>
  fc
    .tuple(
      ...[...id].map(() =>
        fc.record({
          form: fc.constantFrom('lower', 'upper', 'fullwidth', 'fullwidth-upper', 'turkish'),
          marks: fc.array(fc.constantFrom(...MARKS), { maxLength: 2 }),
          invisible: fc.option(fc.constantFrom(...INVISIBLE), { nil: '' }),
        }),
      ),
      fc.constantFrom('', ' ', '\t'),
    )
    .map(([...parts]) => {
      const pad = parts.pop() as string;
      const chars = parts as { form: string; marks: string[]; invisible: string }[];
      const body = chars
        .map(({ form, marks, invisible }, i) => {
          const ch = id[i]!;
          let out = ch;
          if (form === 'upper') out = ch.toUpperCase();
          else if (form === 'fullwidth') out = fullwidth(ch);
          else if (form === 'fullwidth-upper') out = fullwidth(ch.toUpperCase());
          else if (form === 'turkish' && ch === 'i')
            out = '\u0130'; // İ, capital I with dot above
          else if (form === 'turkish') out = ch.toUpperCase();
          return out + marks.join('') + invisible;
        })
        .join('');
      return `${pad}${body}${pad}`;
    });

describe('identifierKey', () => {
  it('folds the dotted capital I (U+0130) and the dotless i (U+0131) to i', () => {
    for (const v of ['ALİCE', 'Alİce', 'alıce', 'ALICE', 'ａｌｉｃｅ', 'al\u00adice', 'álíçé'])
      expect(identifierKey(v)).toBe('alice');
  });

  it('every case/diacritic/width/invisible spelling of the requester names the requester (always refused)', () => {
    fc.assert(
      fc.property(
        name.chain((id) => fc.tuple(fc.constant(id), spelling(id))),
        ([id, variant]) => {
          expect(matchesAny(variant, [id])).toBe(true);
          expect(matchesAny(id, [variant])).toBe(true);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('still tells different names apart', () => {
    expect(matchesAny('alice', ['bob'])).toBe(false);
    expect(matchesAny('', [''])).toBe(false);
  });
});
