// Hand-written linear scanners of the chat content rules: markdown links and images, and the URLs and hosts
// a link label names. No backtracking regex runs on model text here (attack round 2: a link regex was cubic).
import { isIPv6 } from 'node:net';

/** One markdown link `[label](url …)`; `label` runs from the first `[` after the previous link. */
export interface MarkdownLink {
  label: string;
  url: string;
}

const SPACE = /\s/;
const isSpace = (c: string | undefined) => c !== undefined && SPACE.test(c);

/**
 * The markdown links of a text, as the former `/\]\(\s*<?([^)\s>]*)>?[^)]*\)/g` found them: each `](`
 * that has a `)` after it; the URL is what follows (spaces and one `<` skipped) up to `)`, space or `>`.
 * The label is taken from the first `[` after the previous link — a superset of what a renderer shows
 * (nested brackets included), so no label can hide a different address. Linear in the text.
 */
export function markdownLinks(text: string): MarkdownLink[] {
  const out: MarkdownLink[] = [];
  let from = 0;
  for (let at = text.indexOf('](', from); at >= 0; at = text.indexOf('](', from)) {
    let j = at + 2;
    while (isSpace(text[j])) j++;
    if (text[j] === '<') j++;
    const start = j;
    while (j < text.length && text[j] !== ')' && text[j] !== '>' && !isSpace(text[j])) j++;
    const close = text.indexOf(')', j);
    if (close < 0) break; // no `)` after this `](`, so none after any later one either
    const segment = text.slice(from, at);
    const open = segment.indexOf('[');
    out.push({ url: text.slice(start, j), label: open < 0 ? segment : segment.slice(open + 1) });
    from = close + 1;
  }
  return out;
}

/** True when the text holds a markdown image `![…](` (the former `/!\[[^\]]*\]\s*\(/`), in linear time. */
export function hasMarkdownImage(text: string): boolean {
  let open = false;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '!' && text[i + 1] === '[') {
      open = true;
      i++;
    } else if (text[i] === ']') {
      if (open) {
        let j = i + 1;
        while (isSpace(text[j])) j++;
        if (text[j] === '(') return true;
      }
      open = false;
    }
  }
  return false;
}

const SCHEME_CHAR = /[a-z0-9+.-]/i;
const LETTER = /[a-z]/i;
const AUTHORITY_END = /[\s/?#|]/;

/**
 * Every `scheme://authority` in a text (the former `/[a-z][a-z0-9+.-]*:\/\/[^\s/?#|]+/giu`, overlapping
 * ones included): found from each `://`, the scheme scanned backwards, the authority forwards. Linear.
 */
export function urlCandidates(text: string): string[] {
  const out: string[] = [];
  for (let i = text.indexOf('://'); i >= 0; i = text.indexOf('://', i + 1)) {
    let back = i;
    while (back > 0 && SCHEME_CHAR.test(text[back - 1] ?? '')) back--;
    while (back < i && !LETTER.test(text[back] ?? '')) back++;
    let end = i + 3;
    while (end < text.length && !AUTHORITY_END.test(text[end] ?? '')) end++;
    if (back < i && end > i + 3) out.push(text.slice(back, end));
  }
  return out;
}

/** A host a label names: a domain as written, or an IP address in canonical form. */
export interface NamedHost {
  kind: 'domain' | 'ip';
  /** As written (domain) or canonical (`10.0.0.5`, `[fe80::1]`). */
  host: string;
  written: string;
}

const HOST_CHAR = /[\p{L}\p{N}.:-]/u;
const LETTERS = /^\p{L}{2,}$/u;
const NUMERIC = /^(?:0x[0-9a-f]*|\d+)$/i;

/**
 * The hosts a text names, as a reader could take them: domain-looking runs (labels of letters, digits and
 * hyphens ending in a letter-only TLD of 2+ letters), IPv4 addresses in any spelling WHATWG URL accepts
 * (`10.0.0.5`, `010.0.0.5`, `0x0a.0.0.5`, `0xa000005`, and a bare integer followed by `/` or `:port`),
 * and IPv6 literals. Runs are split at characters outside letters/digits/`.-:`. Linear in the text.
 */
export function namedHosts(text: string): NamedHost[] {
  const out: NamedHost[] = [];
  let run = '';
  const flush = (next: string | undefined) => {
    if (run) hostsOfRun(run, next, out);
    run = '';
  };
  for (const ch of text) {
    if (HOST_CHAR.test(ch)) run += ch;
    else flush(ch);
  }
  flush(undefined);
  return out;
}

function hostsOfRun(run: string, next: string | undefined, out: NamedHost[]): void {
  let a = 0;
  let b = run.length;
  while (a < b && '.:-'.includes(run[a] ?? '')) a++;
  while (b > a && '.:-'.includes(run[b - 1] ?? '')) b--;
  const trimmed = run.slice(a, b);
  // The longest IPv6 literal is 45 characters; longer runs are not tried (bounds the parser's work).
  if (trimmed.length <= 45 && trimmed.includes(':') && /[0-9a-f]/i.test(trimmed) && isIPv6(trimmed))
    out.push({ kind: 'ip', host: canonicalIp(`[${trimmed}]`) ?? trimmed, written: trimmed });
  const parts = trimmed.split(':');
  parts.forEach((part, n) => {
    // A port after the part (`10.0.0.5:8080`) or a path (`167772165/x`) makes a bare number read as a host.
    const hostLike = n < parts.length - 1 || next === '/';
    let group: string[] = [];
    for (const label of [...part.split('.'), '']) {
      if (label) group.push(label);
      else {
        if (group.length) hostsOfGroup(group, hostLike, out);
        group = [];
      }
    }
  });
}

function hostsOfGroup(labels: string[], hostLike: boolean, out: NamedHost[]): void {
  const first = (labels[0] ?? '').replace(/^-+/, '');
  const all = [first, ...labels.slice(1)].filter((l) => l !== '');
  if (all.every((l) => NUMERIC.test(l)) && all.length <= 4) {
    const hex = all.some((l) => /^0x/i.test(l));
    if (all.length === 4 || hex || (all.length > 1 && hostLike) || (hostLike && Number(all[0]) >= 2 ** 24)) {
      const written = all.join('.');
      out.push({ kind: 'ip', host: canonicalIp(written) ?? written, written });
    }
    return;
  }
  // The top-level label: the last one of letters only, or the letters before a hyphen that ends them
  // (`evil.example-x` names evil.example, as a linkifier ending the name at the hyphen would read it).
  for (let k = all.length - 1; k >= 1; k--) {
    const label = all[k] ?? '';
    const tld = LETTERS.test(label) ? label : LETTERS_BEFORE_HYPHEN.exec(label)?.[1];
    if (tld === undefined) continue;
    const written = [...all.slice(0, k), tld].join('.');
    out.push({ kind: 'domain', host: written, written });
    return;
  }
}

/** A label's leading letters (2 to 63) when a hyphen ends them. */
const LETTERS_BEFORE_HYPHEN = /^(\p{L}{2,63})-/u;

/** The canonical form of an IP host as a browser parses it, or null when it is none. */
function canonicalIp(written: string): string | null {
  try {
    const h = new URL(`http://${written}/`).hostname;
    return /^[\d.]+$/.test(h) || h.startsWith('[') ? h : null;
  } catch {
    return null;
  }
}
