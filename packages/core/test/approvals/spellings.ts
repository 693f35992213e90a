// Generated spellings of one identifier that name the same person by identifierKey: per character a
// case, width or Turkish-i variant, maybe combining marks and invisible characters, maybe padded.
import fc from 'fast-check';

/** A plain login name. */
export const name = fc.stringMatching(/^[a-z][a-z0-9]{2,9}$/);
const MARKS = ['\u0300', '\u0301', '\u0302', '\u0307', '\u0308', '\u030c', '\u0323', '\u0327', '\u0338'];
const INVISIBLE = ['\u00ad', '\u200b', '\u200d', '\u2060', '\ufeff'];
const fullwidth = (ch: string) => String.fromCodePoint(ch.codePointAt(0)! - 0x21 + 0xff01);

/** One random spelling of `id`: per character a case/width/Turkish-i variant, maybe marks and invisibles. */
export const spelling = (id: string) =>
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
