// The requester check compares identifiers by a folding key: however an IdP (or an attacker choosing
// an approver subject) spells the requester's name — letter case including Turkish İ/ı, fullwidth
// forms, accents and other combining marks, invisible characters, stray spaces — the spelling names
// the requester and the approver is refused.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { identifierKey, matchesAny } from '../../src/approvals/identifiers.js';
import { name, spelling } from './spellings.js';

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
