// The outbound-content check: finds API keys, tokens, private keys, card numbers and password
// assignments in text about to leave the company, also behind evasions (invisible characters, compatibility
// forms, HTML, percent-encoding, markdown, base64: see ./secrets-view.ts), and masks them with a keyed
// fingerprint for the audit.
import { createHmac, randomBytes } from 'node:crypto';
import { base64Runs, normalizedView, squash } from './secrets-view.js';

/** The classes of secret the scan knows. */
export type SecretKind =
  | 'private_key'
  | 'stripe_key'
  | 'slack_token'
  | 'github_token'
  | 'aws_access_key'
  | 'aws_secret_key'
  | 'google_api_key'
  | 'jwt'
  | 'card_number'
  | 'password_assignment';

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

/** A detector: a global regex; `group` names the capture that is the secret (default the match). */
interface Detector {
  kind: SecretKind;
  re: RegExp;
  group?: number;
  valid?: (secret: string) => boolean;
}

// Word boundaries are spelled as look-arounds on the token alphabet, so `x_sk_live_…` inside a longer
// identifier still matches while the alphabet of each token decides where it ends.
const DETECTORS: readonly Detector[] = [
  {
    kind: 'private_key',
    re: /-----BEGIN (?:[A-Z0-9]+ ){0,3}PRIVATE KEY(?: BLOCK)?-----(?:[\s\S]*?-----END (?:[A-Z0-9]+ ){0,3}PRIVATE KEY(?: BLOCK)?-----|[\s\S]{0,4096})/g,
  },
  { kind: 'stripe_key', re: /(?<![A-Za-z0-9])(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{10,}/g },
  { kind: 'slack_token', re: /(?<![A-Za-z0-9])(?:xox[abposr]-[A-Za-z0-9-]{8,}|xapp-\d-[A-Za-z0-9-]{8,})/g },
  {
    kind: 'github_token',
    re: /(?<![A-Za-z0-9])(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,})/g,
  },
  {
    // Also written in lower case (a key id a reader can still use): then it must hold a digit, so an
    // ordinary 20-letter word starting with "asia" is not one.
    kind: 'aws_access_key',
    re: /(?<![A-Za-z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])/gi,
    valid: (s) => /^[A-Z0-9]+$/.test(s) || (/^[a-z0-9]+$/.test(s) && /[0-9]/.test(s.slice(4))),
  },
  {
    // A secret access key: 40 base64 characters next to a key id or its usual label (alone, 40 random
    // characters are too common to call a secret, e.g. a git commit id).
    kind: 'aws_secret_key',
    re: /(?:(?:AKIA|ASIA)[A-Z0-9]{16}|aws_?secret_?(?:access_?)?key|secret_?access_?key)[^A-Za-z0-9/+]{1,40}([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])/gi,
    group: 1,
    valid: (s) => /[^0-9a-f]/i.test(s) && /[A-Z]/.test(s) && /[a-z]/.test(s),
  },
  { kind: 'google_api_key', re: /(?<![A-Za-z0-9])AIza[0-9A-Za-z_-]{35}(?![A-Za-z0-9_-])/g },
  {
    kind: 'jwt',
    re: /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{8,}/g,
    valid: (s) => jsonSegment(s.split('.')[0]!),
  },
  {
    kind: 'password_assignment',
    re: /(?<![A-Za-z0-9])(?:password|passwd|pwd|passphrase|secret|client_?secret|api_?key|access_?token|auth_?token)["']?\s*[:=]\s*["']?([^\s"'`,;&<>]{4,200})/gi,
    group: 1,
    valid: (s) => !PLACEHOLDER.test(s),
  },
];

/** Values of a `password=` that say there is no password in the text. */
const PLACEHOLDER =
  /^(?:\*+|x+|\.+|<[^>]*>|\$\{[^}]*\}|\{\{[^}]*\}\}|%[A-Z_]+%|null|none|redacted|hidden|changeme|example|true|false)$/i;

/** True when a base64url segment decodes to a JSON object (a JWT header). */
function jsonSegment(seg: string): boolean {
  try {
    const v: unknown = JSON.parse(Buffer.from(seg, 'base64url').toString('utf8'));
    return typeof v === 'object' && v !== null;
  } catch {
    return false;
  }
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
 * Card numbers: in each run of digit groups (separated by up to three spaces, dashes, dots or slashes), every span of whole
 * consecutive groups laid out as cards are written, with 13-19 digits, a card network's prefix and a
 * valid Luhn digit. Whole groups, so "1 4111 1111 1111 1111" still finds the card, while a 30-digit id
 * is not scanned for one inside and three 5-digit numbers in a row are not a card.
 */
function findCards(text: string, found: SecretFinding[]): void {
  for (const run of text.matchAll(/(?<![0-9A-Za-z])\d+(?:[ \t./-]{1,3}\d+)*(?![0-9A-Za-z])/g)) {
    const groups = [...run[0].matchAll(/\d+/g)].map((g) => ({ start: run.index + g.index, digits: g[0] }));
    for (let i = 0; i < groups.length; i++) {
      let digits = '';
      const lengths: number[] = [];
      for (let j = i; j < groups.length && digits.length < 19; j++) {
        digits += groups[j]!.digits;
        lengths.push(groups[j]!.digits.length);
        if (digits.length < 13 || digits.length > 19 || !cardLayout(lengths) || !cardNumber(digits)) continue;
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
  for (const run of base64Runs(view.text))
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
