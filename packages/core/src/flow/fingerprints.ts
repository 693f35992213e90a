// Copy detection's fingerprints (issue 17): keyed hashes of the VALUES a read returned, and of every
// candidate fragment of outbound text, so "does this Slack post contain rows this session read?" is a
// set lookup — the store never holds the values themselves. Pure functions: no I/O, no state.
//
// Normalisation (both sides, `tokens`):
//  1. strip invisible characters (INVISIBLE: every \p{Cf} — U+200B..U+200F, U+2060..U+2064, U+FEFF,
//     soft hyphen, bidi controls, tags — and the other default-ignorables: Hangul fillers, variation
//     selectors, U+034F...), fold Cyrillic/Greek look-alikes to Latin (CONFUSABLES, both cases, before
//     case-folding so Greek Ν→n but ν→v; before and after NFKC, which turns some into Greek letters),
//     NFKC, decimal digits of any script → ASCII (٤٢ → 42), Unicode hyphens → "-", "&" → "and",
//     lower-case, drop every combining mark after decomposition (é→e; enclosing U+20DD, spacing U+0903),
//     fold ß→ss and the letters with no combining mark to ASCII (ł ø đ æ œ ı þ…: LETTER_FOLD), an en/em
//     dash joined to a letter → "-" (an e-mail's local part);
//     letter-spacing joined (R2a-7, `unspace`): a run of single characters each one space apart with >= 3
//     letters/digits is one word ("k i t e  m e d i a  6" → "kite media 6"; two spaces stay a break).
//  2. tokens are, in this order of preference: an e-mail address (kept whole, dots included); a number
//     with thousands separators or a decimal part ("$1,200.50" → "1200.5": separators and currency
//     signs go, trailing decimal zeros go, so "$1,200" meets "1200.00"; F2: the thousands separator
//     may also be one space — NBSP and narrow/thin spaces are spaces after NFKC —, "'", "’" or "_"
//     ("1 200,50", "1'200.50", "1_200" → 1200.5 / 1200), or "." when unambiguous: two or more dot
//     groups or a decimal comma ("1.200.000", "1.200,50"); "1.200" alone stays the decimal 1.2
//     (English reading; the tools here print amounts that way). A group never starts right after a
//     digit and a non-space separator, and never ends before another separator and digit, so a
//     phone's groups "+1 415 555 0199" stay separate numbers (see digitRun: a run of whole numbers,
//     a grouped card or phone, also counts as its digits, both sides); a dot between three or more
//     digit groups separates them ("415.555.0199", "15.03.2024"); a run of letters, digits,
//     marks and "_" (so pi_3Nx… and cus_ABC stay one token). Every other character separates tokens:
//     "INV-2024-0001" is the three tokens inv 2024 0001 and is found as "INV 2024/0001" too.
//     An e-mail token needs no dot after its "@" (billing@customer6, an address cut at its domain), and
//     an address with "at"/"dot" spelled out is one ("jane at acme.io", "jane [at] acme [dot] io",
//     "(at)", "{at}", " @ "; the top-level domain must be letters, so "at 10.30" stays a time; never
//     inside a longer address) — on both sides (spelledEmails, linear: atomic look-ahead captures).
//  3. a fingerprint is HMAC-SHA256(key, FINGERPRINT_VERSION + "\0" + canonical), 16 hex chars, where
//     canonical is the tokens joined with "_" and the spaces between them removed, except between two
//     digits (`canonical`): "Kite Media 6", "KiteMedia6", "Kite_Media_6", "kite media6" and
//     "Kite-Media-6" are one fingerprint, "cus gEvZ…" is "cus_gEvZ…", "2024 0001" is not 20240001.
//
// Which token sequences carry information (`informative`; the same test on both sides):
//  - never starts or ends with a function word (the, of, and…): values are trimmed of them;
//  - one token: an e-mail (>= 6 chars); a number with >= 4 significant digits that is not a year
//    (1900–2099) — so 1200 (2 significant digits) is not a value, 1234.5 is; any other token with a
//    digit and >= 6 chars that is not a common word (ids);
//  - several tokens (at most WINDOW = 8): >= 6 chars, and an e-mail, or >= 3 digits in all, or a token
//    that is not a common word ("Acme Corp", "Jane Doe" yes; "Past Due", "30 days" no).
//  - outbound text only (`candidate`) also offers one token without digits of >= 6 characters that is
//    not a common word ("KiteMedia", "jsmith"): a read never stores such a token as a value of its own,
//    only as a variant below, so it matches a joined multi-word value or a local part, nothing else.
//  Field names are never values, nor are booleans or null. Only the tool's own output structure
//  names fields: the top-level keys of structuredContent (or of a JSON text, when it is the only
//  output) and the `columns` of a
//  top-level { columns, rows } result — a value equal to one of these is dropped. Keys of objects
//  nested in the data (a json/jsonb cell, an object in a row, a nested { columns, rows }) are
//  fingerprinted as values, since the agent writes the query (json_object_agg(email, name) makes
//  every value a key; F12); a text's table/CSV header and the key of "key: value" are not values
//  but drop nothing elsewhere. Two
//  variants are added: an integer under a money-like field (…cents, amount, price, total, mrr,
//  balance; by key or by the column of a { columns, rows } result) also counts divided by 100, and
//  an ISO timestamp also counts as its date.
//  - text longer than WINDOW tokens (a ticket body, a document) also gives SHINGLE-token shingles
//    (8 consecutive tokens, not starting/ending with a function word, with >= 3 uncommon tokens), so a
//    pasted sentence is found but common phrasing is not; its e-mails, ids and numbers count on their
//    own (in a short value only its e-mails and ids do, so a pasted address is one match, not two).
//  One value has several fingerprints when it holds an e-mail or id besides itself ("Jane Doe
//  <jane@acme.io>", "Granite Labs 1342"), or an amount/timestamp variant; so copy detection counts
//  copied VALUES, not fingerprints: contentWindows gives each candidate window's place in the outbound
//  text, and copiedValues keeps a maximal set of non-overlapping matched windows, greedily longest
//  first, counting a value repeated elsewhere (another text, its other unit) once.
//
// Variants (F3; `variantsOf`, the same function on both sides): other forms of a value an agent
// pastes, each fingerprinted on the read side only when it passes its floor AND the informative test
// (so it is also a window the outbound side offers):
//  - an e-mail: its local part cut at the domain's first label (billing@customer6; >= 6 chars); its
//    local part alone if >= 6 letters/digits and not a role or common word (billing, info, support,
//    admin, contact, sales, noreply… ROLE_LOCAL); its domain alone if the registrable labels (beyond
//    the top-level domain, or co.uk-like second-level suffixes) are not a mail provider's (gmail,
//    outlook… MAIL_PROVIDERS) and are >= 2 labels (customer6.example.com, eu.acme.io) or one of >= 6
//    chars with a digit (acme42.io) — and only when fewer than MAX_DOMAIN_SHARERS (3) distinct
//    e-mails of the same read share it (a company's own domain names no one);
//  - an id with a letters-only prefix of <= 8 and "_" (cus_…, pi_…): its core, if >= 8 chars with a
//    digit or >= 12; a value starting with a letters-only token of <= 4 chars followed by numbers only
//    (INV-2024-0001): the numbers;
//  - a value of >= 3 tokens ending in a number of <= 4 digits ("Kite Media 6"): the value without it,
//    if what is left has an uncommon word (a date without its day is no value).
//  (Joined or underscored names need no variant: the canonical form above already meets them.)
//  A variant is the SAME value as its original: an outbound window's `alts` carry its variants'
//  fingerprints, an e-mail's or id's variants are also windows at its own place (so "contact at
//  acme42.io" — read as one token contact@acme42.io — still offers acme42.io), and copiedValues takes
//  the longest canonical form first (an e-mail before its domain, an id before its core) and then
//  counts no window whose fingerprint is a variant of one counted.
//
// Bounds: resultFingerprints keeps at most MAX_RESULT_FINGERPRINTS — first every whole value and
// single-token value in reading order, then shingles; when shingles overflow, the ones kept are those
// whose fingerprint ends in the most zero bits that fit (content-defined, so any pasted part of a long
// document keeps a proportional share). contentFingerprints emits every informative window of
// 1..WINDOW tokens, deduplicated, shortest windows first (e-mails, ids, amounts, names before long
// windows), at most MAX_CONTENT_FINGERPRINTS (measured: 1 MB of distinct ids about 0.3 s of CPU,
// a third of it HMACs; 1 MB of prose about 0.2 s, mostly normalisation). A result cut by these
// bounds (whole values past the cap, MAX_RESULT_CHARS, the leaves or depth bound) says so
// (readFingerprints().truncated) and the flow step marks the session capped (R2a-5).
//
// Known evasions (not detected): paraphrase, translation, encodings (base64, hex, rot13), spelling
// numbers as words or reformatting them beyond separators ("1.2k", "1.200" meaning 1200, a phone's
// national trunk prefix "020 123 4567" for +31 20 123 4567, a card grouped with dots), reordering
// a name ("Doe, Jane"), an address spelt out with no dot in its domain ("billing at customer6") or a
// domain spelt out alone ("customer6 dot example dot com"), a local part or domain under its floor,
// two partial forms of one e-mail with no full form (its cut and its domain: counted twice), a
// multi-word value abbreviated or re-ordered ("K. Media 6"), a number dropped from inside a value,
// splitting a value with
// letters/punctuation inside a token ("ja ne@acme.io"), look-alikes outside the table, amounts in
// other units than cents/dollars, and padding an outbound text with more than
// MAX_CONTENT_FINGERPRINTS distinct shorter windows (then longer values' windows are not emitted).
import { createHmac } from 'node:crypto';

/** Bumped whenever normalisation or the informative test changes: old fingerprints then stop matching. */
export const FINGERPRINT_VERSION = 'fp2';
/** Longest value (in tokens) matched whole; longer text is matched by its shingles. */
export const WINDOW = 8;
/** Tokens per shingle of a long text value. */
export const SHINGLE = 8;
/** At most this many fingerprints per read result. */
export const MAX_RESULT_FINGERPRINTS = 20_000;
/** At most this many candidate fingerprints per outbound content. */
export const MAX_CONTENT_FINGERPRINTS = 50_000;
const MAX_LEAVES = 50_000;
/**
 * At most this many characters of a read's values are examined (structured leaves and text together;
 * the rest is not fingerprinted): bounds one result's work (F7 — it runs on the server's event loop).
 */
export const MAX_RESULT_CHARS = 1_000_000;
const MAX_DEPTH = 32;

// Latin look-alikes from Cyrillic and Greek (upper and lower case), folded before lower-casing.
const CONFUSABLES = new Map<string, string>();
{
  const from = 'ϹАВЕКМНОРСТХУЅІЈԀԚԜӀаеорсухѕіјһԁԛԝӏԍькмтнвёїΑΒΕΖΗΙΚΜΝΟΡΤΥΧαορικνυχεγϲϳ';
  const to = 'CABEKMHOPCTXYSIJDQWlaeopcyxsijhdqwlgbkmthbeiABEZHIKMNOPTYXaopikvuxeycj';
  for (let i = 0; i < from.length; i++) CONFUSABLES.set(from[i] as string, to[i] as string);
}
const CONFUSABLE_RE = new RegExp(`[${[...CONFUSABLES.keys()].join('')}]`, 'gu');
const fold = (c: string): string => CONFUSABLES.get(c) ?? c;

// Function words: a value or window never starts or ends with one.
const FUNCTION_WORDS = new Set(
  (
    'a an the of and or but nor to in on at by for from with without into onto over under as is are was ' +
    'were be been being am do does did has have had i me my we us our you your he him his she her it its ' +
    'they them their this that these those there here so if then than not no yes all any some each per ' +
    'via up out off about after before again also just very can could will would shall should may might ' +
    'must s t d ll ve re m o'
  ).split(' '),
);
// Common words: alone (or only with each other) they are never a value.
const COMMON_WORDS = new Set([
  ...FUNCTION_WORDS,
  ...(
    'what which who whom whose when where why how more most other such only own same too now new old ' +
    'good great best better first last next one two three four five six seven eight nine ten hundred ' +
    'thousand million day days week weeks month months year years today tomorrow yesterday time hour ' +
    'hours minute minutes am pm monday tuesday wednesday thursday friday saturday sunday january ' +
    'february march april june july august september october november december hi hello hey thanks ' +
    'thank please sorry dear regards best cheers ok okay sure let know see get got make made go going ' +
    'use used using need needs want like just still well back way people thing things work working ' +
    'team teams company customer customers client clients user users account accounts name names ' +
    'email emails mail phone address city state country zip code id ids number amount total price ' +
    'cost plan plans free basic pro premium enterprise starter business standard plus trial monthly ' +
    'annual yearly active inactive pending open closed paid unpaid due past overdue cancelled canceled ' +
    'status type note notes message reply question issue ticket tickets order orders invoice invoices ' +
    'payment payments refund billing subscription report data value values list item items row rows ' +
    'table record records file files link page update updated reset password login help support ' +
    'service services product products issue issues problem attached attachment details info ' +
    'information call meeting review check sent send received get done true false null none n usd eur ' +
    'gbp mo yr inc corp ltd llc co mr mrs ms dr street st road rd avenue ave suite unit north south ' +
    'east west united states kingdom new york high low medium small large big yes'
  ).split(' '),
]);

/** One normalised token and the facts the informative test needs. */
interface Tok {
  s: string;
  fn: boolean;
  common: boolean;
  num: boolean;
  at: boolean;
  digits: number;
}

// The third group's "not inside a decimal" look-behind sits at the token's START (R2b-2): after \d+ it
// rescanned the whole digit run at each backtrack ("1111…1x": O(n²)). At the start it is checked once;
// the digits \d+ takes add no "\d." of their own, so it decides the same.
const TOKEN_RE =
  /([\p{L}\p{N}_](?:[\p{L}\p{N}_.%+-]{0,62}[\p{L}\p{N}_])?@[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)*)|((?<!\d,)\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![\p{L}\p{N}\p{M}_])|(?<!\d['’_.,]|(?:^|\D)\d{1,3} )\d{1,3}(?:(?:\.\d{3}){2,}(?:,\d{1,2})?|\.\d{3},\d{1,2})(?![\p{L}\p{N}\p{M}_]|[.,]?\d)|(?<!\d['’_.,]|(?:^|\D)\d{1,3} )\d{1,3}(?:[ '’_]\d{3})+(?:[.,]\d{1,2}|\.\d+)?(?![\p{L}\p{N}\p{M}_]|[ '’_.,-]?\d))|((?:(?<!\d\.\d*)\d+(?:\.\d+(?!\.\d))?|\d+)(?![\p{L}\p{N}\p{M}_]))|([\p{L}\p{N}\p{M}_]+)/gu;

/** The "T" of an ISO timestamp separates its date from its time ("2024-03-15t10:22" → "2024-03-15 10:22"). */
const ISO_T = /(\d{4}-\d{2}-\d{2})t(?=\d{2}:)/g;

/** The normaliser both sides share: text → normalised strings (see the header). */
export function normalise(text: string): string {
  // ASCII has no format characters, compatibility forms, look-alikes or combining marks.
  if (/^\p{ASCII}*$/u.test(text))
    return spelledEmails(unspace(text.replace(/&/g, ' and ').toLowerCase().replace(ISO_T, '$1 ')));
  return spelledEmails(unspace(normaliseUnicode(text)));
}

/**
 * Letter-spacing (R2a-7): a run of single characters each separated by ONE space or tab, with >= 3
 * letters/digits among them ("k i t e", "b i l l i n g @ c u s t o m e r 6 . c o m"), is joined into
 * one word; two or more spaces stay a word break ("k i t e  m e d i a  6" → "kite media 6"). Both sides
 * (normalise), so a read's own runs join the same way. Linear: a run is matched once, greedily, from a
 * start no single character precedes.
 */
const SPACED_RUN = /(?<!\S)(?:\S[ \t]){2,}\S(?!\S)/gu;
const SPACED_HINT = /(?:^|\s)\S[ \t]\S[ \t]\S(?!\S)/u;
function unspace(s: string): string {
  if (!SPACED_HINT.test(s)) return s;
  return s.replace(SPACED_RUN, (m: string) => {
    const joined = m.replace(/[ \t]/g, '');
    let alnum = 0;
    for (const c of joined) if (/[\p{L}\p{N}]/u.test(c) && ++alnum >= 3) return joined;
    return m;
  });
}

/**
 * Invisible characters, stripped first (F1): every format character (\p{Cf}: zero-width and bidi
 * controls, soft hyphen, tag characters U+E0001, U+E0020–E007F...) and the rest of Unicode's
 * Default_Ignorable_Code_Point (no JS regex property): the Hangul fillers U+115F, U+1160, U+3164,
 * U+FFA0 (letters that render blank), the combining grapheme joiner U+034F, Khmer U+17B4–17B5,
 * Mongolian variation selectors U+180B–180F, variation selectors U+FE00–FE0F and U+E0100–E01EF, the
 * unassigned ignorables U+FFF0–FFF8 and U+E0000–E0FFF, U+1BCA0–1BCA3, U+1D173–1D17A. (The braille
 * blank U+2800 renders as a space and is read as one.)
 */
const INVISIBLE =
  // biome-ignore lint/suspicious/noMisleadingCharacterClass: the class lists combining characters one by one, to remove them
  /[\p{Cf}\u034F\u115F\u1160\u17B4\u17B5\u180B-\u180F\u3164\uFE00-\uFE0F\uFFA0\uFFF0-\uFFF8\u{1BCA0}-\u{1BCA3}\u{1D173}-\u{1D17A}\u{E0000}-\u{E0FFF}]/gu;

/** Decimal digits of every script (\p{Nd}) as ASCII (F3); NFKC folds only compatibility forms. */
const NON_ASCII_DIGIT = /(?![0-9])\p{Nd}/gu;
const IS_DIGIT = /^\p{Nd}$/u;
const digitValues = new Map<string, string>();
function asciiDigit(d: string): string {
  let v = digitValues.get(d);
  if (v === undefined) {
    // Unicode encodes every \p{Nd} in runs of 0..9 (some runs hold several sets: mathematical digits):
    // a digit's value is its distance from its run's start, mod 10.
    const cp = d.codePointAt(0) as number;
    let k = 0;
    while (k < 100 && IS_DIGIT.test(String.fromCodePoint(cp - k - 1))) k++;
    v = String(k % 10);
    digitValues.set(d, v);
  }
  return v;
}

function normaliseUnicode(text: string): string {
  return text
    .replace(INVISIBLE, '')
    .replace(/\u2800/g, ' ')
    .replace(CONFUSABLE_RE, fold) // before NFKC too: it turns lunate sigma ϲ into σ
    .normalize('NFKC')
    .replace(NON_ASCII_DIGIT, asciiDigit)
    .replace(CONFUSABLE_RE, fold)
    .replace(/[\u2010-\u2012\u2212]/g, '-') // Unicode hyphens and minus inside e-mail domains, ids
    .replace(DASH_IN_WORD, '-') // "mary–jane.w@acme.io" (R2b-3d): only a dash joined to a letter
    .replace(/&/g, ' and ') // "Kowalczyk & Petrova" meets "Kowalczyk and Petrova"
    .toLowerCase()
    .replace(ISO_T, '$1 ')
    .normalize('NFD')
    .replace(/\p{M}/gu, '') // every mark: accents, and enclosing (U+20DD) and spacing ones (F4)
    .normalize('NFC')
    .replace(LETTER_FOLD_RE, (c) => LETTER_FOLD[c] as string);
}

/**
 * Letters whose diacritic or ligature is not a combining mark (R2b-3a/b), folded after lower-casing,
 * both sides: full case folding ß (and ẞ) → ss, so an upper-cased "GROSSMANN" meets "Großmann"; and
 * the ASCII spelling a keyboard produces: ł→l ø→o đ→d ð→d ħ→h ı→i ŀ→l ŧ→t æ→ae œ→oe þ→th.
 */
const LETTER_FOLD: Record<string, string> = {
  ß: 'ss',
  ł: 'l',
  ø: 'o',
  đ: 'd',
  ð: 'd',
  ħ: 'h',
  ı: 'i',
  ŀ: 'l',
  ŧ: 't',
  æ: 'ae',
  œ: 'oe',
  þ: 'th',
};
const LETTER_FOLD_RE = /[ßłøđðħıŀŧæœþ]/g;
/** An en/em dash, hyphen bullet or small em dash with a letter on one side and a word character on the other. */
const DASH_IN_WORD =
  /(?<=\p{L})[\u2013\u2014\u2043\uFE58](?=[\p{L}\p{N}_])|(?<=[\p{L}\p{N}_])[\u2013\u2014\u2043\uFE58](?=\p{L})/gu;

// "jane at acme.io", "jane [at] acme [dot] io", "jane (at) acme.io", "jane @ acme.io" → "jane@acme.io" (on
// lower-cased text). Each part is matched atomically (a look-ahead capture re-matched by reference), so
// the work is linear in the text; a local part starts where no e-mail character precedes it.
const SPELLED_AT_HINT = /\sat\s|[[({<]\s*at\s*[\])}>]|\s@|@\s/;
const DOT = String.raw`(?:\.|\s*[[({<]\s*dot\s*[\])}>]\s*|\s+dot\s+)`;
const LABEL = (n: number) => `${String.raw`(?=([\p{L}\p{N}-]{1,63}))`}\\${n}`;
const SPELLED_AT = new RegExp(
  String.raw`(?<![\p{L}\p{N}_.%+-])(?=([\p{L}\p{N}_][\p{L}\p{N}_.%+-]{0,63}))\1` +
    String.raw`(?:\s*[[({<]\s*at\s*[\])}>]\s*|\s+at\s+|\s+@\s*|\s*@\s+)` +
    `(${LABEL(3)}(?:${DOT}${LABEL(4)}){1,8})` +
    // not inside a longer address ("Jane at j.doe@acme.io" stays as it is)
    String.raw`(?![@\p{L}\p{N}_%+-]|\.[\p{L}\p{N}])`,
  'gu',
);

const DOT_RE = new RegExp(DOT, 'u');

function spelledEmails(s: string): string {
  if (!SPELLED_AT_HINT.test(s)) return s;
  return s.replace(SPELLED_AT, (m: string, local: string, domain: string) => {
    if (/[.%+-]$/.test(local)) return m;
    const labels = domain.split(DOT_RE);
    // A top-level domain is letters ("at 10.30" is a time, not a domain).
    if (!/^\p{L}{2,}$/u.test(labels[labels.length - 1] as string)) return m;
    return `${local}@${labels.join('.')}`;
  });
}

function canonicalNumber(n: string): string {
  let s = n.replace(/[ '’_]/g, ''); // "1 200", "1'200", "1’200", "1_200" (F2)
  // A decimal comma ("1.200,50", "1.200.000,5", "1 200,50" without its spaces): the dots group thousands.
  if (/,\d{1,2}$/.test(s) && !/,\d{3}/.test(s)) s = s.replace(/\./g, '').replace(',', '.');
  // "1.200.000"
  else if (/^\d{1,3}(\.\d{3}){2,}$/.test(s)) s = s.replace(/\./g, '');
  else s = s.replace(/,/g, '');
  if (s.includes('.')) s = s.replace(/0+$/, '').replace(/\.$/, '');
  return s;
}

function tok(s: string, num: boolean): Tok {
  let digits = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) digits++;
  }
  return { s, fn: FUNCTION_WORDS.has(s), common: COMMON_WORDS.has(s), num, at: s.includes('@'), digits };
}

function tokenize(text: string): Tok[] {
  const out: Tok[] = [];
  // Tokens repeat (prose, padding): one Tok per distinct string keeps a 1 MB text cheap.
  const seen = new Map<string, Tok>();
  const re = new RegExp(TOKEN_RE.source, TOKEN_RE.flags);
  const s = normalise(text);
  for (let m = re.exec(s); m !== null; m = re.exec(s)) {
    const num = m[1] === undefined && (m[2] !== undefined || m[3] !== undefined);
    const str = num ? canonicalNumber(m[0]) : m[0];
    let t = seen.get(str);
    if (t === undefined) {
      t = tok(str, num);
      seen.set(str, t);
    }
    out.push(t);
  }
  return out;
}

/** The normalised token sequence of a text (exported for tests and explanations). */
export function tokens(text: string): string[] {
  return tokenize(text).map((t) => t.s);
}

function significantDigits(n: string): number {
  return n.replace('.', '').replace(/^0+/, '').replace(/0+$/, '').length;
}

/** Whether toks[i..j) carries information (see the header); the same test on both sides. */
function informative(toks: readonly Tok[], i: number, j: number): boolean {
  const first = toks[i];
  const last = toks[j - 1];
  if (!first || !last || first.fn || last.fn) return false;
  if (j - i === 1) {
    if (first.at) return first.s.length >= 6;
    if (first.num) return significantDigits(first.s) >= 4 && !/^(19|20)\d\d$/.test(first.s);
    return first.digits > 0 && first.s.length >= 6 && !first.common;
  }
  let len = j - i - 1;
  let digits = 0;
  let uncommon = false;
  for (let k = i; k < j; k++) {
    const t = toks[k] as Tok;
    len += t.s.length;
    digits += t.digits;
    if (t.at) uncommon = true;
    else if (!t.num && !t.common && t.digits === 0 && t.s.length >= 2) uncommon = true;
  }
  return len >= 6 && (uncommon || digits >= 3);
}

function uncommonCount(toks: readonly Tok[], i: number, j: number): number {
  let n = 0;
  for (let k = i; k < j; k++) {
    const t = toks[k] as Tok;
    if (t.at || (!t.common && !t.num && t.s.length >= 2)) n++;
  }
  return n;
}

const join = (toks: readonly Tok[], i: number, j: number): string => {
  let s = (toks[i] as Tok).s;
  for (let k = i + 1; k < j; k++) s += ` ${(toks[k] as Tok).s}`;
  return s;
};

/**
 * What is hashed: the window's tokens with "_" and the spaces between them removed, except a space
 * between two digits ("Kite Media 6", "KiteMedia6", "Kite_Media_6", "kite media6" are all "kitemedia6";
 * "cus gEvZ…" is "cus_gEvZ…"; "2024 0001" stays apart from 20240001).
 */
export function canonical(spaced: string): string {
  return spaced
    .replace(/_+/g, ' ')
    .trim()
    .replace(/(?<!\d) +| +(?!\d)/g, '')
    .replace(/ +/g, ' ');
}

function hmac(key: Uint8Array | string, normalised: string): string {
  return createHmac('sha256', key)
    .update(`${FINGERPRINT_VERSION}\0${canonical(normalised)}`)
    .digest('hex')
    .slice(0, 16);
}

/** A content window also considered when it is one token without digits: a joined name, a local part. */
function candidate(toks: readonly Tok[], i: number, j: number): boolean {
  if (informative(toks, i, j)) return true;
  if (j - i !== 1) return false;
  const t = toks[i] as Tok;
  return !t.num && !t.at && !t.common && t.s.replace(/_/g, '').length >= 6;
}

// E-mail parts that never identify anyone: role local parts and mail providers' domains.
const ROLE_LOCAL = new Set(
  (
    'billing info support admin administrator contact sales hello hi noreply no-reply donotreply do-not-reply ' +
    'office team accounts accounting finance hr jobs careers marketing press help service services webmaster ' +
    'postmaster hostmaster mail email invoice invoices invoicing orders order payments payment legal privacy ' +
    'security abuse ops it dev devops tech feedback enquiries inquiries customerservice customercare ' +
    'notifications alerts news newsletter reception frontdesk'
  ).split(' '),
);
const MAIL_PROVIDERS = new Set(
  (
    'gmail googlemail yahoo ymail hotmail outlook live msn aol icloud me mac proton protonmail pm gmx web ' +
    'mail yandex qq 163 126 zoho fastmail tutanota hey comcast verizon att orange free laposte t-online'
  ).split(' '),
);
/** A domain shared by this many e-mails of one read is a company's or a provider's: not a value. */
const MAX_DOMAIN_SHARERS = 3;
/** Second-level public suffixes (co.uk…): a domain's labels beyond them count. */
const SECOND_LEVEL = new Set(['co', 'com', 'net', 'org', 'gov', 'edu', 'ac', 'ltd', 'plc', 'or', 'ne', 'go']);

/** Labels of an e-mail domain beyond its public suffix ("customer6.example.com" → customer6, example). */
function registrable(domain: string): string[] {
  const labels = domain.split('.');
  let n = labels.length - 1; // the top-level domain
  if (n >= 2 && SECOND_LEVEL.has(labels[n - 1] as string) && (labels[n] as string).length === 2) n--;
  return labels.slice(0, n);
}

/** Whether an e-mail's domain alone identifies its owner (see the header). */
export function domainQualifies(domain: string): boolean {
  const own = registrable(domain);
  const base = own[own.length - 1];
  if (base === undefined || MAIL_PROVIDERS.has(base)) return false;
  if (own.length >= 2) return true;
  return base.length >= 6 && /\d/.test(base);
}

/** A variant's token string when it is a window the content side emits, else undefined. */
function asWindow(text: string): string | undefined {
  const toks = tokenize(text);
  if (toks.length === 0 || toks.length > WINDOW || !candidate(toks, 0, toks.length)) return undefined;
  return join(toks, 0, toks.length);
}

/**
 * Other forms of the value toks[i..j) an agent pastes (each a space-joined token string): for an e-mail
 * its local part cut at the domain's first label (billing@customer6), its local part alone (if >= 6
 * letters/digits and not a role word) and its domain (if it qualifies, domainQualifies); for an id with
 * a short prefix (cus_…, pi_…) its core (>= 8 characters with a digit, or >= 12); for a value whose first
 * token is a short letters-only prefix followed by numbers (INV-2024-0001) the numbers; for a value of
 * >= 3 tokens ending in a small number (Kite Media 6) the value without it — each only when it is
 * informative itself. The same function on both sides.
 */
function variantsOf(toks: readonly Tok[], i: number, j: number, domains = true): string[] {
  const out: string[] = [];
  const add = (v: string | undefined, strict: boolean) => {
    if (v === undefined) return;
    if (strict) {
      const vt = tokenize(v);
      if (vt.length === 0 || vt.length > WINDOW || !informative(vt, 0, vt.length)) return;
      out.push(join(vt, 0, vt.length));
    } else out.push(v);
  };
  const first = toks[i] as Tok;
  if (j - i === 1 && first.at) {
    const at = first.s.lastIndexOf('@');
    const local = first.s.slice(0, at);
    const domain = first.s.slice(at + 1);
    const labels = domain.split('.');
    if (labels.length >= 2) add(`${local}@${labels[0]}`, true);
    const localCore = local.replace(/[^\p{L}\p{N}]/gu, '');
    const localFirst = local.split(/[^\p{L}\p{N}]/u)[0] ?? '';
    const role = ROLE_LOCAL.has(local) || ROLE_LOCAL.has(localFirst) || COMMON_WORDS.has(localCore);
    if (localCore.length >= 6 && !role) add(asWindow(local), false);
    if (domains && labels.length >= 2 && domainQualifies(domain)) add(asWindow(domain), false);
    return out;
  }
  if (j - i === 1 && !first.num) {
    const m = /^([\p{L}]{1,8})_+(.+)$/u.exec(first.s);
    if (m) {
      const core = (m[2] as string).replace(/_/g, '');
      if ((core.length >= 8 && /\d/.test(core)) || core.length >= 12) out.push(m[2] as string);
    }
    return out;
  }
  if (j - i >= 2 && first.digits === 0 && !first.at && first.s.length <= 4 && !first.common) {
    let rest = true;
    for (let k = i + 1; k < j; k++) if ((toks[k] as Tok).digits === 0) rest = false;
    if (rest && informative(toks, i + 1, j)) out.push(join(toks, i + 1, j));
  }
  const last = toks[j - 1] as Tok;
  // (with a word in what is left: a date without its day, "2020 10", is no value)
  let word = false;
  for (let k = i; k < j - 1 && !word; k++) {
    const t = toks[k] as Tok;
    word = t.digits === 0 && !t.common && !t.at && t.s.length >= 2;
  }
  if (j - i >= 3 && word && last.num && /^\d{1,4}$/.test(last.s) && informative(toks, i, j - 1))
    out.push(join(toks, i, j - 1));
  return out;
}

const isWholeNumber = (t: Tok): boolean => t.num && t.digits === t.s.length;

/**
 * Whole numbers toks[i..j) written in groups — a card "4242 4242 4242 4242" or "4242-4242-…", a phone
 * "+1 415 555 0199", "(415) 555-0199", "415.555.0199" — as one digit string when it has >= 7 digits
 * (F2): a read stores a value's runs so (ValueSink.value), and outbound text gives every run of >= 2
 * whole numbers this extra window (contentWindows), so a card read as 4242424242424242 is found
 * grouped and the reverse. Whatever separates the groups (spaces, dashes, dots, brackets) is ignored.
 */
function digitRun(toks: readonly Tok[], i: number, j: number): string | undefined {
  let s = '';
  for (let k = i; k < j; k++) {
    const t = toks[k] as Tok;
    if (!isWholeNumber(t)) return undefined;
    s += t.s;
  }
  return s.length >= 7 ? s : undefined;
}

/** Collects a read's values: whole/single-token values (tier 1) and long-text shingles (tier 2). */
class ValueSink {
  readonly keys = new Set<string>();
  readonly whole = new Set<string>();
  readonly shingles = new Set<string>();
  /** The e-mails read: a domain is a variant of its e-mails only if fewer than 3 of them share it. */
  readonly emails = new Set<string>();
  leaves = 0;
  chars = 0;
  /** Some of the read was not examined (the leaves, characters or depth bound): R2a-5. */
  cut = false;

  /**
   * A structural field name — a top-level key of the tool's own output (structuredContent, a JSON
   * text) or a column of its { columns, rows } result: never a value, and a value equal to one is
   * dropped. Keys inside the data (a json/jsonb cell, an object in a row) are values (F12: the agent
   * writes the SQL, so json_object_agg(email, name) would otherwise turn every value into a "name").
   */
  key(k: string): void {
    const n = tokens(k).join(' ');
    if (n) this.keys.add(n);
  }

  /** Whether the work bound (leaves, characters) is reached: nothing more is examined. */
  get full(): boolean {
    return this.leaves > MAX_LEAVES || this.chars >= MAX_RESULT_CHARS;
  }

  value(v: string): void {
    if (++this.leaves > MAX_LEAVES || this.chars >= MAX_RESULT_CHARS) {
      this.cut = true;
      return;
    }
    if (v.length > MAX_RESULT_CHARS - this.chars) this.cut = true;
    const s = v.length > MAX_RESULT_CHARS - this.chars ? v.slice(0, MAX_RESULT_CHARS - this.chars) : v;
    this.chars += s.length;
    const toks = tokenize(s);
    let i = 0;
    let j = toks.length;
    while (i < j && (toks[i] as Tok).fn) i++;
    while (j > i && (toks[j - 1] as Tok).fn) j--;
    if (j - i <= WINDOW && informative(toks, i, j)) {
      this.whole.add(join(toks, i, j));
      if (j - i >= 2) for (const v of variantsOf(toks, i, j)) this.whole.add(v);
    }
    // Its e-mails and ids count on their own ("Jane Doe <jane@acme.io>"), and in long text its numbers
    // too; a short value's numbers do not (a pasted address would count as two values: itself, its zip).
    // An e-mail's or id's variants too; an e-mail's domain only after the whole read (domainCounts).
    const long = j - i > WINDOW;
    for (let k = 0; k < toks.length; k++) {
      const t = toks[k] as Tok;
      if ((long || !t.num) && informative(toks, k, k + 1)) {
        this.whole.add(t.s);
        if (t.num) continue;
        for (const v of variantsOf(toks, k, k + 1, false)) this.whole.add(v);
        if (t.at) this.emails.add(t.s);
      }
    }
    // A grouped card or phone number ("4242 4242 4242 4242", "+1 415 555 0199") also counts as its
    // digits, and a phone without its country code (a group of 1-3 digits first): F2, digitRun.
    for (let k = 0; k < toks.length; k++) {
      let e = k;
      while (e < toks.length && isWholeNumber(toks[e] as Tok)) e++;
      if (e - k >= 2 && e - k <= WINDOW) {
        const run = digitRun(toks, k, e);
        if (run !== undefined) this.whole.add(run);
        const rest = (toks[k] as Tok).s.length <= 3 ? digitRun(toks, k + 1, e) : undefined;
        if (rest !== undefined) this.whole.add(rest);
      }
      k = Math.max(k, e);
    }
    if (toks.length > WINDOW)
      for (let k = 0; k + SHINGLE <= toks.length; k++)
        if (informative(toks, k, k + SHINGLE) && uncommonCount(toks, k, k + SHINGLE) >= 3)
          this.shingles.add(join(toks, k, k + SHINGLE));
  }

  /** A leaf; `field` (its key or column name) says when an integer is an amount in cents. */
  leaf(v: unknown, field: string | undefined, depth: number): void {
    if (typeof v === 'number' && Number.isFinite(v)) {
      this.value(String(v));
      // "mrr_cents: 120050" is pasted as "$1,200.50": the amount counts in both units.
      if (field !== undefined && Number.isInteger(v) && CENTS_FIELD.test(field)) this.value(String(v / 100));
    } else if (typeof v === 'string' && ISO_DATETIME.test(v)) {
      this.value(v);
      this.value(v.slice(0, 10)); // a timestamp is pasted as its date
    } else this.walk(v, depth);
  }

  /** `names`: this object is the tool's own output, whose keys (and `columns`) are field names. */
  walk(v: unknown, depth: number, names = false): void {
    if (depth > MAX_DEPTH || this.full) {
      if (v !== null && v !== undefined && typeof v !== 'boolean') this.cut = true;
      return;
    }
    if (typeof v === 'string') this.value(v);
    else if (typeof v === 'number') this.leaf(v, undefined, depth);
    else if (typeof v === 'bigint') this.value(v.toString());
    else if (Array.isArray(v)) for (const x of v) this.leaf(x, undefined, depth + 1);
    else if (v !== null && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      // A query result ({ columns: [{ name }], rows: [[...]] }): each cell knows its column's name.
      const columns = Array.isArray(o.columns)
        ? o.columns.map((c) => (c && typeof c === 'object' ? (c as { name?: unknown }).name : c))
        : undefined;
      for (const [k, x] of Object.entries(o)) {
        if (names) this.key(k);
        else this.value(k);
        if (k === 'rows' && columns && Array.isArray(x)) {
          if (names) for (const name of columns) if (typeof name === 'string') this.key(name);
          for (const row of x)
            if (Array.isArray(row))
              row.forEach((cell, i) => {
                const name = columns[i];
                this.leaf(cell, typeof name === 'string' ? name : undefined, depth + 2);
              });
            else this.leaf(row, undefined, depth + 1);
        } else if (k === 'columns' && columns && names) continue;
        else this.leaf(x, k, depth + 1);
      }
    }
  }
}

const CENTS_FIELD = /cents|(^|_)(amount|price|total|mrr|arr|balance)(_|$)/i;
const ISO_DATETIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/;

/** A table's rule line: markdown `|---|:--:|` or an aligned text table's `-----+-----`. */
const TABLE_RULE = /^(?=.*---)[\s:|+-]+$/;
const KEY_VALUE = /^(?:[-*•]\s*)?([\p{L}_][\p{L}\p{N}_ .-]{0,40}?)\s*[:=]\s*(.+)$/u;
/** Where a prose line's fields part: ", " (not the comma of 1,200), ; | brackets quotes, spaced dashes. */
const SEGMENT_SPLIT = /,\s|[;|()[\]{}<>"]|\s[-–—]\s/;

/**
 * A CSV/TSV line's cells; a quote opens a quoted part only where the cell so far is blank. Linear
 * (R2b-1): whether the cell is blank is tracked as it grows — `cur.trim()` at every quote copied the
 * cell each time (`a,x"""…`: 320k chars took 42 s).
 */
function csvCells(line: string, sep: string): string[] {
  const cells: string[] = [];
  let cur = '';
  let blank = true; // cur.trim() === '' (\s is trim()'s whitespace)
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cur += '"';
        blank = false;
        i++;
      } else if (c === '"') quoted = false;
      else {
        cur += c;
        if (blank && !/\s/.test(c)) blank = false;
      }
    } else if (c === '"' && blank) quoted = true;
    else if (c === sep) {
      cells.push(cur);
      cur = '';
      blank = true;
    } else {
      cur += c;
      if (blank && !/\s/.test(c)) blank = false;
    }
  }
  cells.push(cur);
  return cells;
}

/**
 * A text block's values: JSON walked like structuredContent, else line by line. A JSON text's top-level
 * keys name fields only when it is the tool's only output (`names`: no structuredContent); beside
 * structuredContent the text may be anything (a file read), and its keys are values.
 */
function textValues(text: string, sink: ValueSink, names: boolean): void {
  const t = text.trim();
  if (t.startsWith('{') || t.startsWith('[')) {
    try {
      sink.walk(JSON.parse(t), 0, names);
      return;
    } catch {
      // not JSON: read it as lines
    }
  }
  const lines = text.split(/\r?\n/);
  let inDelimited = false;
  for (let i = 0; i < lines.length; i++) {
    if (sink.full) {
      if (lines.slice(i).some((l) => l.trim() !== '')) sink.cut = true;
      break;
    }
    let s = (lines[i] as string).trim();
    if (!s) {
      inDelimited = false;
      continue;
    }
    // The character budget is charged BEFORE a line is parsed (R2b-1): a line longer than what is left
    // is cut first, so no parser below ever sees more than MAX_RESULT_CHARS.
    if (s.length > MAX_RESULT_CHARS - sink.chars) {
      sink.cut = true;
      s = s.slice(0, MAX_RESULT_CHARS - sink.chars);
    }
    // Markdown tables and aligned text tables (a query tool's `a | b` rows): cells; the header is
    // the row above the rule line.
    if (TABLE_RULE.test(s)) continue;
    if (s.startsWith('|') || s.includes(' | ')) {
      const cells = s.replace(/^\||\|$/g, '').split('|');
      const header = TABLE_RULE.test((lines[i + 1] ?? '').trim());
      if (!header) for (const c of cells) sink.value(c);
      continue;
    }
    const sep = s.includes('\t') ? '\t' : s.includes(',') ? ',' : undefined;
    if (sep) {
      const cells = csvCells(s, sep);
      const header = !inDelimited && cells.every((c) => !/[\d@]/.test(c));
      inDelimited = true;
      if (!header) for (const c of cells) sink.value(c);
      // A comma may be CSV or prose ("balance $12,345.67, since 2021"): a comma line is read both ways.
      if (header || sep === '\t') continue;
    } else inDelimited = false;
    const kv = KEY_VALUE.exec(s);
    const line = kv ? (kv[2] as string) : s;
    // A prose line: itself (whole if short, else shingles), and its short punctuated segments, the
    // fields of a record written out ("Acme Corp (jane@acme.io) - $1,200"); longer segments are prose.
    sink.value(line);
    if (sink.full) sink.cut = true;
    else for (const seg of line.split(SEGMENT_SPLIT)) if (tokenize(seg).length <= 5) sink.value(seg);
  }
}

/**
 * Fingerprints of the VALUES a read returned (never the values): from structuredContent leaves
 * (strings, numbers) and from the text block (JSON, CSV/TSV, markdown tables, "key: value" lines,
 * prose). Deterministic for one key; at most MAX_RESULT_FINGERPRINTS (see the header for which).
 */
export function resultFingerprints(
  result: { text?: string; structured?: unknown },
  key: Uint8Array | string,
): string[] {
  return readFingerprints(result, key).fingerprints;
}

/**
 * {@link resultFingerprints}, and whether the read was CUT (R2a-5): some of its values were not
 * fingerprinted — its whole values passed MAX_RESULT_FINGERPRINTS, or its text or leaves passed
 * MAX_RESULT_CHARS / the leaves or depth bound. Junk first in one result would otherwise leave the
 * real rows after it invisible to copy detection; the flow step marks such a session capped (its
 * copy-checked sends are held, as when the session's own cap is reached). Shingles sampled to fit
 * (content-defined, see the header) are not a cut.
 */
export function readFingerprints(
  result: { text?: string; structured?: unknown },
  key: Uint8Array | string,
): { fingerprints: string[]; truncated: boolean } {
  const sink = new ValueSink();
  if (result.structured !== undefined) sink.walk(result.structured, 0, true);
  if (typeof result.text === 'string' && result.text.length > 0) {
    if (sink.full || result.text.length > MAX_RESULT_CHARS) sink.cut = true;
    if (!sink.full) textValues(result.text.slice(0, MAX_RESULT_CHARS), sink, result.structured === undefined);
  }
  const byDomain = new Map<string, number>();
  for (const e of sink.emails) {
    const d = e.slice(e.lastIndexOf('@') + 1);
    byDomain.set(d, (byDomain.get(d) ?? 0) + 1);
  }
  for (const [d, n] of byDomain)
    if (n < MAX_DOMAIN_SHARERS && d.includes('.') && domainQualifies(d)) {
      const w = asWindow(d);
      if (w !== undefined) sink.whole.add(w);
    }
  const out = new Set<string>();
  for (const v of sink.whole) {
    if (sink.keys.has(v)) continue;
    if (out.size >= MAX_RESULT_FINGERPRINTS) {
      sink.cut = true;
      break;
    }
    out.add(hmac(key, v));
  }
  const room = MAX_RESULT_FINGERPRINTS - out.size;
  // No room (the whole values filled the cap): the shingles are not even hashed.
  const shingles =
    room > 0 ? [...sink.shingles].filter((s) => !sink.keys.has(s)).map((s) => hmac(key, s)) : [];
  if (shingles.length <= room) for (const f of shingles) out.add(f);
  else if (room > 0) {
    // Content-defined sample: keep fingerprints whose low bits are zero, doubling the filter until they
    // fit — at most 16 rounds (the mask covers the fingerprint's last 4 hex digits, never more: past
    // 0xFFFF it filters nothing and the loop never ended, F7), each over the previous round's survivors;
    // if still too many (many end in 0000), the first `room` in fingerprint order (content-defined too).
    let kept = shingles;
    for (let mask = 1; mask <= 0xffff && kept.length > room; mask = mask * 2 + 1) {
      const m = mask;
      kept = kept.filter((f) => (Number.parseInt(f.slice(-4), 16) & m) === 0);
    }
    if (kept.length > room) kept = [...kept].sort().slice(0, room);
    for (const f of kept) out.add(f);
  }
  return { fingerprints: [...out], truncated: sink.cut };
}

/**
 * Every candidate fingerprint of outbound texts: each informative window of 1..WINDOW tokens (which
 * includes every SHINGLE-token shingle), deduplicated, shortest first, at most MAX_CONTENT_FINGERPRINTS.
 */
export function contentFingerprints(texts: readonly string[], key: Uint8Array | string): string[] {
  return [...new Set(contentWindows(texts, key).map((w) => w.fp))];
}

/** One informative window of outbound text: its fingerprint and where it is. */
export interface ContentWindow {
  fp: string;
  /** Which of the texts given (index). */
  text: number;
  /** Token indexes in that text: [start, end). */
  start: number;
  end: number;
  /**
   * Fingerprints of other forms of the same value: for a window that is one number the same amount in
   * the other unit (n/100 and n×100 of an integer, n×100 of a decimal with at most 2 places), so
   * "$1,200.50" and "120050" in one message are one value (a read stores a cents column in both units);
   * else its variants (variantsOf: an e-mail's parts, an id's core, a name without its number).
   */
  alts?: string[];
  /** Length of what is hashed (canonical): copiedValues takes the longest matched windows first. */
  size?: number;
}

/** At most this many windows per outbound content (besides MAX_CONTENT_FINGERPRINTS distinct ones). */
export const MAX_CONTENT_WINDOWS = 200_000;
/** Windows kept per fingerprint and text: a repeated value needs only a few places to be counted once. */
const MAX_OCCURRENCES = 8;

function amountAlts(s: string): string[] {
  if (!/^\d+(\.\d+)?$/.test(s)) return [];
  const n = Number(s);
  if (!Number.isFinite(n)) return [];
  const out: string[] = [];
  const dot = s.indexOf('.');
  if (dot < 0) {
    out.push(canonicalNumber(String(n / 100)));
    if (Number.isSafeInteger(n * 100)) out.push(String(n * 100));
  } else if (s.length - dot - 1 <= 2) out.push(String(Math.round(n * 100)));
  return out.filter((a) => a !== s);
}

/**
 * Every informative window of outbound texts with its place (token indexes per text), in the order
 * contentFingerprints emits them (shortest first); the same distinct fingerprints up to
 * MAX_CONTENT_FINGERPRINTS, each at most MAX_OCCURRENCES times per text, at most MAX_CONTENT_WINDOWS
 * in all. Copy detection looks the distinct fingerprints up, then counts the copied VALUES with
 * {@link copiedValues}, not the fingerprints.
 */
export function contentWindows(texts: readonly string[], key: Uint8Array | string): ContentWindow[] {
  const docs = texts.map(tokenize);
  const fps = new Map<string, { fp: string; size: number }>();
  const variants = new Map<string, string[]>();
  const seen = new Map<string, number>(); // `${text}\0${fp}` → occurrences
  const out: ContentWindow[] = [];
  let full = false;
  const hashed = (w: string) => {
    let h = fps.get(w);
    if (h === undefined) {
      if (fps.size >= MAX_CONTENT_FINGERPRINTS) {
        full = true;
        return undefined;
      }
      h = { fp: hmac(key, w), size: canonical(w).length };
      fps.set(w, h);
    }
    return h;
  };
  const push = (win: ContentWindow): boolean => {
    const occ = `${win.text}\0${win.fp}`;
    const n = seen.get(occ) ?? 0;
    if (n >= MAX_OCCURRENCES) return false;
    seen.set(occ, n + 1);
    out.push(win);
    return true;
  };
  for (let len = 1; len <= WINDOW; len++)
    for (const [d, toks] of docs.entries())
      for (let i = 0; i + len <= toks.length; i++) {
        if (!candidate(toks, i, i + len)) continue;
        const w = join(toks, i, i + len);
        const h = hashed(w);
        if (h === undefined) return out;
        const win: ContentWindow = { fp: h.fp, text: d, start: i, end: i + len, size: h.size };
        const t = toks[i] as Tok;
        const last = toks[i + len - 1] as Tok;
        let vs: string[] | undefined;
        if (len === 1 && t.num) {
          const alts = amountAlts(t.s).map((a) => hmac(key, a));
          if (alts.length) win.alts = alts;
        } else if (
          len === 1
            ? t.at || t.s.includes('_')
            : (t.digits === 0 && t.s.length <= 4) || (len >= 3 && last.num && last.s.length <= 4)
        ) {
          vs = variants.get(w);
          if (vs === undefined) {
            vs = variantsOf(toks, i, i + len);
            variants.set(w, vs);
          }
          const alts: string[] = [];
          for (const v of vs) {
            const hv = hashed(v);
            if (hv === undefined) return out;
            alts.push(hv.fp);
          }
          if (alts.length) win.alts = alts;
        }
        if (!push(win)) continue;
        // A grouped card or phone number is a window of its digits too (digitRun).
        const run = len >= 2 && isWholeNumber(t) ? digitRun(toks, i, i + len) : undefined;
        if (run !== undefined) {
          const hr = hashed(run);
          if (hr === undefined) return out;
          push({ fp: hr.fp, text: d, start: i, end: i + len, size: hr.size });
        }
        // An e-mail's or id's variants are windows at its place too: "contact at acme42.io" reads as one
        // token, contact@acme42.io, whose domain a read may have returned.
        if (len === 1 && vs)
          for (const v of vs) {
            const hv = fps.get(v) as { fp: string; size: number };
            push({ fp: hv.fp, text: d, start: i, end: i + 1, size: hv.size });
          }
        if (out.length >= MAX_CONTENT_WINDOWS || full) return out;
      }
  return out;
}

/**
 * The distinct VALUES copied into outbound text, given its windows and which fingerprints a read of
 * this session returned: a maximal set of NON-OVERLAPPING matched windows chosen greedily longest
 * first (then by text, then position), so a value is one match however many of its parts are values
 * too ("Granite Labs 1342" with its id 1342, "Jane Doe <jane@acme.io>" with its e-mail, a timestamp
 * with its date). A chosen window repeats a value already counted — in any of the texts (a subject
 * and a body) — when its fingerprint is the fingerprint of a matched window inside a counted one, or
 * of the same amount in the other unit (cents/dollars): it is not counted again. Returns the counted
 * windows, one per value. A pasted long text counts one per SHINGLE tokens matched.
 */
export function copiedValues(
  windows: readonly ContentWindow[],
  matched: (fp: string) => boolean,
): ContentWindow[] {
  const hits = windows.filter((w) => matched(w.fp));
  // Longest first by what was hashed (a whole e-mail before its domain, an id before its core), then
  // by tokens, text, position.
  hits.sort(
    (a, b) =>
      (b.size ?? 0) - (a.size ?? 0) ||
      b.end - b.start - (a.end - a.start) ||
      a.text - b.text ||
      a.start - b.start,
  );
  // Per text: which tokens a counted or repeated value took, and the matched windows by start.
  const texts = new Map<number, { taken: Uint8Array; at: Map<number, ContentWindow[]> }>();
  const size = new Map<number, number>();
  for (const w of hits) size.set(w.text, Math.max(size.get(w.text) ?? 0, w.end));
  for (const [t, n] of size) texts.set(t, { taken: new Uint8Array(n), at: new Map() });
  for (const w of hits) {
    const at = (texts.get(w.text) as { at: Map<number, ContentWindow[]> }).at;
    const l = at.get(w.start);
    if (l) l.push(w);
    else at.set(w.start, [w]);
  }
  const counted = new Set<string>();
  const kept: ContentWindow[] = [];
  for (const w of hits) {
    const { taken, at } = texts.get(w.text) as { taken: Uint8Array; at: Map<number, ContentWindow[]> };
    let free = true;
    for (let k = w.start; k < w.end && free; k++) if (taken[k]) free = false;
    if (!free) continue;
    taken.fill(1, w.start, w.end);
    if (counted.has(w.fp)) continue;
    kept.push(w);
    for (let s = w.start; s < w.end; s++)
      for (const x of at.get(s) ?? [])
        if (x.end <= w.end) {
          counted.add(x.fp);
          for (const a of x.alts ?? []) counted.add(a);
        }
  }
  return kept;
}
