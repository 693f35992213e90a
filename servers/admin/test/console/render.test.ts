// The console's rendering of hostile text: every character of an agent-written value reaches the
// page escaped, and the exact arguments are shown whole with every non-printable-ASCII character made
// visible — generated, so the property holds for text nobody thought of.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { escapeHtml, html, visible } from '../../src/console/html.js';

/** Reads back what `visible` rendered: tags removed, entities decoded, our \uXXXX marks decoded. */
function readBack(rendered: string): string {
  return rendered
    .replace(/<span class="esc" title="[^"]*">((?:\\u[0-9A-F]{4})+)<\/span>/g, (_, units: string) =>
      String.fromCharCode(...units.match(/[0-9A-F]{4}/g)!.map((h) => Number.parseInt(h, 16))),
    )
    .replace(/<span class="spaces" title="\d+ spaces">( +)<\/span>/g, '$1')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&#96;/g, '`')
    .replace(/&amp;/g, '&');
}

/** Text with what hides things: bidi controls, zero-width characters, controls, astral and lone surrogates. */
const hostile = fc.string({
  unit: fc.oneof(
    fc.constantFrom(
      '\u202E',
      '\u202D',
      '\u2066',
      '\u2069',
      '\u200B',
      '\u200D',
      '\uFEFF',
      '\u00A0',
      '\u0000',
      '\u001B',
      '\n',
      '\r',
      '\t',
      '\u2028',
      '<',
      '>',
      '&',
      '"',
      "'",
      '`',
      ' ',
      '\\',
      'u',
      '\uD800',
      '\uDC00',
      '😀',
      'а', // Cyrillic a
    ),
    fc.string({ unit: 'grapheme-ascii', maxLength: 3 }),
    fc.string({ unit: 'binary', maxLength: 2 }),
  ),
  maxLength: 60,
});

describe('visible()', () => {
  it('shows every character: the page reads back exactly the original text', () => {
    fc.assert(
      fc.property(hostile, (s) => {
        expect(readBack(visible(s).text)).toBe(s);
      }),
      { numRuns: 2000 },
    );
  });

  it('puts nothing but printable ASCII on the page (no invisible, bidi, control or non-ASCII character survives)', () => {
    fc.assert(
      fc.property(hostile, (s) => {
        expect(visible(s).text).toMatch(/^[\x20-\x7e]*$/);
      }),
      { numRuns: 2000 },
    );
  });

  it('marks each escaped character, so a literal backslash-u in the text is told apart from a hidden character', () => {
    expect(visible('\\u202E').text).toBe('\\u202E');
    expect(visible('\u202E').text).toBe('<span class="esc" title="U+202E">\\u202E</span>');
    expect(visible('😀').text).toBe('<span class="esc" title="U+1F600">\\uD83D\\uDE00</span>');
  });
});

describe('html``', () => {
  it('escapes every interpolated value: no tag, attribute or entity of the value survives', () => {
    fc.assert(
      fc.property(hostile, (s) => {
        const escaped = escapeHtml(s);
        expect(escaped).not.toMatch(/[<>"'`]/);
        expect(html`<td title="${s}">${s}</td>`.text).toBe(`<td title="${escaped}">${escaped}</td>`);
        expect(html`<ul>${[s, s]}</ul>`.text).toBe(`<ul>${escaped}${escaped}</ul>`);
      }),
      { numRuns: 1000 },
    );
  });
});
