// The outbound-content check: finds API keys, tokens, private keys, card numbers and password
// assignments in text about to leave the company, also behind evasions (invisible characters, compatibility
// forms, HTML, percent-encoding, markdown, base64: see ./secrets-view.ts), and masks them with a keyed
// fingerprint for the audit.
import { createHmac, randomBytes } from 'node:crypto';
import { DETECTORS, type SecretKind } from './secrets-detectors.js';
import { decodedRuns, normalizedView, squash } from './secrets-view.js';

export type { SecretKind } from './secrets-detectors.js';

/**
 * One secret found in a text: its class, where it is in the text (the span to mask), the secret as the
 * scan read it (normalized: what a reader sees) and its keyed fingerprint.
 */
export interface SecretFinding {
  kind: SecretKind;
  start: number;
  end: number;
  fingerprint: string;
  /** The secret as read (after normalization); never stored, used to verify masking. */
  secret: string;
}

/** A card network's number: length and prefix (Visa, Mastercard, Amex, Discover, JCB, Diners, UnionPay) and Luhn. */
export function cardNumber(digits: string): boolean {
  const n = digits.length;
  const p2 = Number(digits.slice(0, 2));
  const p3 = Number(digits.slice(0, 3));
  const p4 = Number(digits.slice(0, 4));
  const network =
    (digits[0] === '4' && (n === 13 || n === 16 || n === 19)) ||
    (((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) && n === 16) ||
    ((p2 === 34 || p2 === 37) && n === 15) ||
    ((p4 === 6011 || p2 === 65 || (p3 >= 644 && p3 <= 649)) && n >= 16 && n <= 19) ||
    (p4 >= 3528 && p4 <= 3589 && n >= 16 && n <= 19) ||
    ((p2 === 36 || p2 === 38 || p2 === 39 || (p3 >= 300 && p3 <= 305)) && n >= 14 && n <= 19) ||
    (p2 === 62 && n >= 16 && n <= 19);
  return network && luhn(digits);
}

/** The Luhn check of a digit string. */
export function luhn(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/** The key of the fingerprints: COMMUNICATION_FINGERPRINT_KEY, else random per process. */
let fingerprintKey: Buffer = randomBytes(32);

/**
 * Sets the key of {@link secretFingerprint} (COMMUNICATION_FINGERPRINT_KEY, the same on every replica so
 * fingerprints correlate). Without it the key is random per process: fingerprints then correlate only
 * within one process.
 */
export function setFingerprintKey(key: string): void {
  fingerprintKey = Buffer.from(key, 'utf8');
}

/**
 * The first 8 hex characters of the secret's HMAC-SHA256 under the server's key: names it in an audit
 * record without revealing it, and without letting a reader of the audit brute-force a low-entropy
 * secret (a card with a known BIN, a weak password) offline.
 */
export const secretFingerprint = (secret: string): string =>
  createHmac('sha256', fingerprintKey).update(secret, 'utf8').digest('hex').slice(0, 8);

/** How card numbers are written in groups: 4-4-4-4(-3), 4-4-4-1, Amex/Diners 4-6-5 / 4-6-4, digit by digit. */
function cardLayout(lengths: readonly number[]): boolean {
  if (lengths.length === 1 || lengths.every((n) => n === 1)) return true;
  const k = lengths.join('-');
  if (k === '4-6-5' || k === '4-6-4') return true;
  const last = lengths[lengths.length - 1]!;
  return lengths.slice(0, -1).every((n) => n === 4) && last >= 1 && last <= 4;
}

/**
 * Card numbers: in each run of digit groups (separated by up to three spaces, dashes, dots, slashes,
 * underscores, commas, colons, bars or newlines, or an `x`), every span of whole consecutive groups with
 * 13-19 digits, a card network's prefix and a valid Luhn digit, laid out as cards are written, or in
 * groups of 2-4 digits with one separator throughout. Whole groups, so "1 4111 1111 1111 1111" still
 * finds the card, while a 30-digit id is not scanned for one inside and three 5-digit numbers in a row
 * are not a card.
 */
function findCards(text: string, found: SecretFinding[]): void {
  const SEP = String.raw`(?:[ \t./_,:|\r\n-]{1,3}|[ \t]?[xX][ \t]?)`;
  for (const run of text.matchAll(new RegExp(`(?<![0-9A-Za-z])\\d+(?:${SEP}\\d+)*(?![0-9A-Za-z])`, 'g'))) {
    const groups = [...run[0].matchAll(/\d+/g)].map((g) => ({ start: run.index + g.index, digits: g[0] }));
    for (let i = 0; i < groups.length; i++) {
      let digits = '';
      const lengths: number[] = [];
      const seps = new Set<string>();
      for (let j = i; j < groups.length && digits.length < 19; j++) {
        digits += groups[j]!.digits;
        lengths.push(groups[j]!.digits.length);
        if (j > i)
          seps.add(text.slice(groups[j - 1]!.start + groups[j - 1]!.digits.length, groups[j]!.start));
        if (digits.length < 13 || digits.length > 19 || !cardNumber(digits)) continue;
        // Separators other than spaces, dashes, dots and slashes (`_ , : | x`, newline) must be one
        // throughout, and a comma stands alone: "1234, 5678, 9012" is a list of numbers, not a card.
        const sep = [...seps][0] ?? '';
        const uniform = seps.size <= 1 && !(sep.includes(',') && sep !== ',');
        const loose = [...seps].some((x) => /[_,:|\r\nxX]/.test(x));
        if (loose && !uniform) continue;
        const evenly = uniform && lengths.every((n, k) => n <= 4 && (n >= 2 || k === lengths.length - 1));
        if (!evenly && !cardLayout(lengths)) continue;
        const start = groups[i]!.start;
        const end = groups[j]!.start + groups[j]!.digits.length;
        found.push({
          kind: 'card_number',
          start,
          end,
          fingerprint: secretFingerprint(digits),
          secret: digits,
        });
      }
    }
  }
}

/** Every secret in `text` as written (no normalization), possibly overlapping. */
function scanRaw(text: string): SecretFinding[] {
  const found: SecretFinding[] = [];
  findCards(text, found);
  for (const d of DETECTORS) {
    d.re.lastIndex = 0;
    for (const m of text.matchAll(d.re)) {
      const secret = d.group === undefined ? m[0] : m[d.group];
      if (secret === undefined || (d.valid && !d.valid(secret))) continue;
      const start = d.group === undefined ? m.index : m.index + m[0].lastIndexOf(secret);
      found.push({
        kind: d.kind,
        start,
        end: start + secret.length,
        fingerprint: secretFingerprint(secret),
        secret,
      });
    }
  }
  return found;
}

/**
 * Every secret in `text`, in order, without overlaps (an earlier or longer finding wins): in the text as
 * written, in its normalized view (positions mapped back to the text), and in base64 runs that decode to
 * text (the whole run is the finding).
 */
export function findSecrets(text: string): SecretFinding[] {
  const found = scanRaw(text);
  const view = normalizedView(text);
  if (view.text !== text)
    for (const f of scanRaw(view.text))
      found.push({ ...f, start: view.starts[f.start]!, end: view.ends[f.end - 1]! });
  for (const run of decodedRuns(view.text))
    for (const f of scanRaw(run.decoded))
      found.push({ ...f, start: view.starts[run.start]!, end: view.ends[run.end - 1]! });
  // A mask left by an earlier scan names a secret; it is not one (`[secret:google_api_key:…]` is no `api_key:`).
  const masks = [...text.matchAll(MASK)].map((m) => [m.index, m.index + m[0].length] as const);
  const inMask = (f: SecretFinding) => masks.some(([s, e]) => f.start < e && f.end > s);
  found.sort((a, b) => a.start - b.start || b.end - a.end);
  const out: SecretFinding[] = [];
  for (const f of found) {
    const last = out[out.length - 1];
    if ((last && f.start < last.end) || inMask(f)) continue;
    out.push(f);
  }
  return out;
}

/** A mask as {@link secretMask} writes it. */
const MASK = /\[secret:[a-z_]+:[0-9a-f]{8}\]/g;

/** The mask that replaces one secret: `[secret:<kind>:<fingerprint>]`. */
export const secretMask = (f: Pick<SecretFinding, 'kind' | 'fingerprint'>): string =>
  `[secret:${f.kind}:${f.fingerprint}]`;

/** `text` with each finding replaced by its mask (findings from {@link findSecrets} on the same text). */
export function maskSecrets(text: string, findings: readonly SecretFinding[] = findSecrets(text)): string {
  let out = '';
  let at = 0;
  for (const f of findings) {
    out += text.slice(at, f.start) + secretMask(f);
    at = f.end;
  }
  out += text.slice(at);
  // Verified: no finding's secret is left in any normalized form; else the whole text is masked.
  return findings.some((f) => stillHolds(out, f.secret)) ? secretMask(findings[0]!) : out;
}

/** True when `text`, normalized and squashed to letters and digits, still holds `secret` (same form). */
export function stillHolds(text: string, secret: string): boolean {
  const s = squash(secret);
  if (s.length < 8) return text.includes(secret);
  const t = text.replace(MASK, ' ');
  return squash(t).includes(s) || squash(normalizedView(t).text).includes(s);
}

/**
 * The audit masking of one string (core's `auditRedact`): every secret the scan finds replaced by its
 * mask. Idempotent: a mask is never flagged or masked again.
 */
export const redactSecrets = (text: string): string => (text.length < 8 ? text : maskSecrets(text));
