// Email content: a subject that can never carry a header (no line breaks or control characters),
// and optional "simple HTML" reduced to attribute-less formatting tags (no links, images, styles, forms).
import { ToolError } from '@mcp-fleet/core';

/** Longest subject, in characters. */
export const SUBJECT_MAX_CHARS = 250;

// biome-ignore lint/suspicious/noControlCharactersInRegex: the point is to find control characters
const HEADER_UNSAFE = /[\u0000-\u001f\u007f-\u009f\u0085\u2028\u2029]/;

/**
 * RFC 2047 encoded-word syntax (`=?charset?q|b?…?=`), loosely: anything from `=?` to a later `?=`.
 * Sent raw, a reader's client decodes it, so it could carry line breaks or a secret past every check
 * of the visible text; nodemailer encodes non-ASCII subjects itself, so a caller never needs it.
 */
const ENCODED_WORD = /=\?[\s\S]*\?=/;

/**
 * Refuses a subject that could break out of its header line (CR, LF, any control character) or that
 * holds RFC 2047 encoded-word syntax (decoded by the reader's client into what the checks never saw).
 */
export function checkSubject(subject: string): void {
  if (HEADER_UNSAFE.test(subject)) {
    throw new ToolError(
      'Not sent: the subject contains a line break or control character; write it on one line.',
      'header_injection',
    );
  }
  if (ENCODED_WORD.test(subject)) {
    throw new ToolError(
      'Not sent: the subject contains MIME encoded-word syntax ("=?…?="); write the subject as plain text (any language is fine, it is encoded for you).',
      'header_injection',
    );
  }
  if ([...subject].length > SUBJECT_MAX_CHARS) {
    throw new ToolError(
      `Not sent: the subject is longer than ${SUBJECT_MAX_CHARS} characters.`,
      'invalid_content',
    );
  }
}

/** Formatting tags kept (without any attribute); every other tag is shown as text. */
const TAGS = new Set([
  'p',
  'br',
  'b',
  'strong',
  'i',
  'em',
  'u',
  's',
  'ul',
  'ol',
  'li',
  'h1',
  'h2',
  'h3',
  'h4',
  'blockquote',
  'pre',
  'code',
  'hr',
  'table',
  'thead',
  'tbody',
  'tr',
  'th',
  'td',
]);
const VOID = new Set(['br', 'hr']);
const ENTITY = /^&(amp|lt|gt|quot|apos|nbsp|#39);/;
const TAG = /^<(\/?)([a-zA-Z][a-zA-Z0-9]*)\s*(\/?)>/;
const DECODE: Record<string, string> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  nbsp: '\u00a0',
  '#39': "'",
};

/** The sanitised HTML and the text a reader sees (for the outbound secrets scan). */
export interface SimpleHtml {
  html: string;
  visibleText: string;
}

/**
 * Reduces HTML to a small allow-list of formatting tags WITHOUT attributes: no links, images
 * (remote or inline), styles, scripts, forms, iframes or event handlers can survive, because no
 * attribute and no other tag is ever emitted. Anything else (unknown or attributed tags,
 * comments, numeric entities) is escaped and shows as literal text.
 */
export function sanitizeHtml(input: string): SimpleHtml {
  let html = '';
  let visible = '';
  let i = 0;
  while (i < input.length) {
    const rest = input.slice(i, i + 64);
    const ch = input[i] as string;
    if (ch === '<') {
      const m = TAG.exec(rest);
      const name = m?.[2]?.toLowerCase();
      if (m && name && TAGS.has(name)) {
        html += m[1] ? (VOID.has(name) ? '' : `</${name}>`) : `<${name}>`;
        if (name === 'br' || name === 'p' || name === 'li' || name === 'tr') visible += '\n';
        i += m[0].length;
        continue;
      }
      html += '&lt;';
      visible += '<';
    } else if (ch === '&') {
      const m = ENTITY.exec(rest);
      if (m) {
        html += m[0];
        visible += DECODE[m[1] as string];
        i += m[0].length;
        continue;
      }
      html += '&amp;';
      visible += '&';
    } else if (ch === '>') {
      html += '&gt;';
      visible += '>';
    } else if (ch === '"') {
      html += '&quot;';
      visible += '"';
    } else {
      html += ch;
      visible += ch;
    }
    i += 1;
  }
  return { html, visibleText: visible };
}

/** Refuses a body (text plus sanitised HTML) larger than `maxBytes`. */
export function checkBodySize(text: string, html: string | undefined, maxBytes: number): number {
  const bytes = Buffer.byteLength(text, 'utf8') + (html === undefined ? 0 : Buffer.byteLength(html, 'utf8'));
  if (bytes > maxBytes) {
    throw new ToolError(
      `Not sent: the body is ${bytes} bytes (text and HTML together); the limit is ${maxBytes}. Shorten it.`,
      'content_too_large',
    );
  }
  return bytes;
}
