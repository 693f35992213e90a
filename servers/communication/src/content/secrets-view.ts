// The normalized view of a text the secrets scan reads besides the text itself: what a reader (or a
// mail client, chat client, browser) shows, with each character mapped back to the span of the text it
// came from, so a secret found in the view is masked in the text as written.
import { foldChar } from './secrets-fold.js';

/** A text as a reader sees it; `starts[i]`/`ends[i]`: the span of the original text char i came from. */
export interface View {
  text: string;
  starts: number[];
  ends: number[];
}

/** Rewrites every match of `re` (global) in the view with `fn(match)`; new chars span the whole match. */
function rewrite(v: View, re: RegExp, fn: (m: RegExpExecArray) => string | undefined): View {
  const out: View = { text: '', starts: [], ends: [] };
  let at = 0;
  re.lastIndex = 0;
  for (let m = re.exec(v.text); m !== null; m = re.exec(v.text)) {
    if (m[0].length === 0) {
      re.lastIndex++;
      continue;
    }
    const r = fn(m);
    if (r === undefined) continue;
    copy(v, out, at, m.index);
    const s = v.starts[m.index]!;
    const e = v.ends[m.index + m[0].length - 1]!;
    out.text += r;
    for (let i = 0; i < r.length; i++) {
      out.starts.push(s);
      out.ends.push(e);
    }
    at = m.index + m[0].length;
  }
  copy(v, out, at, v.text.length);
  return out;
}

function copy(from: View, to: View, a: number, b: number): void {
  to.text += from.text.slice(a, b);
  for (let i = a; i < b; i++) {
    to.starts.push(from.starts[i]!);
    to.ends.push(from.ends[i]!);
  }
}

/** Named HTML entities a secret could be spelled with (others stay as written). */
const ENTITIES: Record<string, string> = {
  nbsp: '\u00a0',
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  lowbar: '_',
  UnderBar: '_',
  hyphen: '-',
  dash: '-',
  ndash: '\u2013',
  mdash: '\u2014',
  minus: '\u2212',
  shy: '\u00ad',
  ZeroWidthSpace: '\u200b',
  zwj: '\u200d',
  zwnj: '\u200c',
  period: '.',
  colon: ':',
  sol: '/',
  equals: '=',
  plus: '+',
  num: '#',
  ensp: ' ',
  emsp: ' ',
  thinsp: ' ',
  NoBreak: '\u2060',
  ast: '*',
  bsol: '\\',
};

function entity(m: RegExpExecArray): string | undefined {
  const cp = m[1] !== undefined ? Number(m[1]) : m[2] !== undefined ? Number.parseInt(m[2], 16) : undefined;
  if (cp !== undefined)
    return cp > 0 && cp <= 0x10ffff && (cp < 0xd800 || cp > 0xdfff) ? String.fromCodePoint(cp) : undefined;
  return ENTITIES[m[3]!];
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A run of %XX escapes decoded (UTF-8), or its ASCII bytes only when it is no valid UTF-8. */
function percent(m: RegExpExecArray): string | undefined {
  const bytes = Uint8Array.from(m[0].slice(1).split('%'), (h) => Number.parseInt(h, 16));
  try {
    return utf8.decode(bytes);
  } catch {
    return bytes.every((b) => b < 0x80) ? String.fromCharCode(...bytes) : undefined;
  }
}

/** An HTML tag of an element that renders inline or as a cell (so `<redacted>` is no tag), or a comment. */
const TAG =
  /<\/?(?:a|abbr|b|bdi|bdo|big|blockquote|body|br|center|code|del|div|em|font|h[1-6]|head|hr|html|i|img|ins|kbd|label|li|mark|ol|p|pre|q|s|samp|section|small|span|strike|strong|sub|sup|table|tbody|td|tfoot|th|thead|tr|tt|u|ul|var|wbr)(?:\s[^<>]{0,500})?\/?>|<!--[\s\S]{0,2000}?-->/gi;

/**
 * The text as a reader sees it: HTML tags removed and entities decoded, percent-encoding decoded, each
 * character NFKC-folded with format characters (zero-width space, soft hyphen, word joiner…) and combining
 * marks dropped, Unicode spaces and dashes made ASCII, markdown escapes and emphasis inside words removed.
 */
export function normalizedView(text: string): View {
  let v = identity(text);
  if (text.includes('<')) v = rewrite(v, TAG, () => '');
  if (text.includes('&'))
    v = rewrite(v, /&(?:#(\d{1,7})|#[xX]([0-9a-fA-F]{1,6})|([A-Za-z][A-Za-z0-9]{1,31}));?/g, entity);
  if (v.text.includes('%')) v = rewrite(v, /(?:%[0-9A-Fa-f]{2})+/g, percent);
  if (/[^\x20-\x7e\n\r]/.test(v.text)) v = rewrite(v, /[^\x20-\x7e\n\r]/gu, (m) => foldChar(m[0]));
  if (v.text.includes('\\')) v = rewrite(v, /\\([!-/:-@[-`{-~])/g, (m) => m[1]);
  if (/[*~`]/.test(v.text)) v = rewrite(v, /(?<=\S)[*~`]+(?=\S)/g, () => '');
  // `s k _ l i v e _ …`: four or more single characters separated by single spaces read as one word.
  v = rewrite(v, /(?<!\S)(?:[!-~] ){3,}[!-~](?!\S)/g, (m) => m[0].replace(/ /g, ''));
  return v;
}

/** A base64 run of the view that decodes to printable text: where it is and what it says. */
export interface DecodedRun {
  start: number;
  end: number;
  decoded: string;
}

/** `text` as one View of itself (each character its own span). */
function identity(text: string): View {
  const v: View = { text, starts: [], ends: [] };
  for (let i = 0; i < text.length; i++) {
    v.starts.push(i);
    v.ends.push(i + 1);
  }
  return v;
}

/** A line of base64 as a wrapped block writes it (16+ characters, nothing else). */
const B64_LINE = /^[A-Za-z0-9+/_-]{16,}={0,2}$/;

/**
 * What the encodings in the view hide, positions in the view: base64 runs (also wrapped over several
 * lines, also base64 inside base64) and runs of 32+ hex digits that decode to printable text.
 */
export function decodedRuns(text: string): DecodedRun[] {
  const out: DecodedRun[] = [];
  const add = (run: DecodedRun) => {
    out.push(run);
    // One level further: base64 of base64 (the inner run is masked as the whole outer one).
    for (const inner of base64Runs(run.decoded)) out.push({ ...run, decoded: inner.decoded });
  };
  for (const run of base64Runs(text)) add(run);
  // A wrapped block: newlines between base64 lines dropped, positions kept. Its last line may be short
  // (joined), or a short word after it (not joined): both readings are decoded.
  const lines = text.split('\n');
  if (lines.filter((l) => B64_LINE.test(l.trim())).length >= 2)
    for (const next of [B64_LINE, /^[A-Za-z0-9+/_-]+={0,2}$/]) {
      const joins = new Set<number>();
      let at = 0;
      for (let i = 0; i < lines.length - 1; i++) {
        at += lines[i]!.length;
        if (B64_LINE.test(lines[i]!.trim()) && next.test(lines[i + 1]!.trim())) joins.add(at);
        at += 1;
      }
      if (joins.size === 0) continue;
      const joined = rewrite(identity(text), /\n/g, (m) => (joins.has(m.index) ? '' : undefined));
      for (const run of base64Runs(joined.text))
        add({ start: joined.starts[run.start]!, end: joined.ends[run.end - 1]!, decoded: run.decoded });
    }
  for (const m of text.matchAll(/(?<![0-9A-Fa-f])(?:[0-9A-Fa-f]{2}){16,}(?![0-9A-Fa-f])/g)) {
    const decoded = printable(Buffer.from(m[0], 'hex'));
    if (decoded !== undefined) add({ start: m.index, end: m.index + m[0].length, decoded });
  }
  return out;
}

/** The bytes as UTF-8 text when they are that and mostly printable. */
function printable(bytes: Uint8Array): string | undefined {
  let decoded: string;
  try {
    decoded = utf8.decode(bytes);
  } catch {
    return undefined;
  }
  const n = decoded.match(/[\p{L}\p{N}\p{P}\p{S}\p{Zs}\n\r\t]/gu)?.length ?? 0;
  return n < [...decoded].length * 0.95 ? undefined : decoded;
}

/** Runs of 20+ base64 (or base64url) characters that decode to mostly printable UTF-8 text. */
export function base64Runs(text: string): DecodedRun[] {
  const out: DecodedRun[] = [];
  for (const m of text.matchAll(/(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/_-]{20,}={0,2}/g)) {
    const body = m[0].replace(/=+$/, '');
    if (body.length % 4 === 1) continue;
    const decoded = printable(Buffer.from(body.replace(/-/g, '+').replace(/_/g, '/'), 'base64'));
    if (decoded === undefined) continue;
    out.push({ start: m.index, end: m.index + m[0].length, decoded });
  }
  return out;
}

/** Letters and digits only, lower-cased: the form in which masking is verified. */
export const squash = (s: string): string => s.replace(/[^\p{L}\p{N}]/gu, '').toLowerCase();
