// The patterns of the secrets scan, one per class of secret: run on the text as written and on its
// normalized view (./secrets-view.ts), which already folds look-alikes, so prefixes here only need to
// ignore case.

/** The classes of secret the scan knows. */
export type SecretKind =
  | 'private_key'
  | 'stripe_key'
  | 'slack_token'
  | 'github_token'
  | 'aws_access_key'
  | 'aws_secret_key'
  | 'google_api_key'
  | 'google_oauth_token'
  | 'bearer_token'
  | 'webhook_url'
  | 'jwt'
  | 'card_number'
  | 'password_assignment';

/** A detector: a global regex; `group` names the capture that is the secret (default the match). */
export interface Detector {
  kind: SecretKind;
  re: RegExp;
  group?: number;
  valid?: (secret: string) => boolean;
}

/** Values of a `password=` that say there is no password in the text. */
const PLACEHOLDER =
  /^(?:\*+|x+|\.+|<[^>]*>|\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*|\{\{[^}]*\}\}|%[A-Z_]+%|null|none|nil|undefined|redacted|hidden|changeme|example|true|false)$/i;

/** A value that looks like a password where only words around say so: 8+ characters mixing classes. */
export function strongValue(v: string): boolean {
  const s = v.replace(/[.!?:]+$/, '');
  if (s.length < 8 || PLACEHOLDER.test(s)) return false;
  return (
    (/[0-9]/.test(s) && /[A-Za-z]/.test(s)) || (/[^A-Za-z0-9]/.test(s) && /[a-z]/.test(s) && /[A-Z]/.test(s))
  );
}

/** True when a base64url segment decodes to a JSON object (a JWT header). */
function jsonSegment(seg: string): boolean {
  try {
    const v: unknown = JSON.parse(Buffer.from(seg, 'base64url').toString('utf8'));
    return typeof v === 'object' && v !== null;
  } catch {
    return false;
  }
}

// A private key's armour, loosely: any case, 3+ dashes (spaces between them allowed), up to three words
// before PRIVATE KEY. The key runs to its END line, else 4 KiB.
// A run of dashes starts only at its first dash (else every dash of a long run rescans the rest).
const DASHES = String.raw`(?<!-[ \t]?)(?:-[ \t]?){3,40}[ \t]*`;
const KEY_WORDS = String.raw`(?:[A-Z0-9]+[ \t]+){0,3}PRIVATE[ \t]+KEY(?:[ \t]+BLOCK)?[ \t]*`;
const HEADER = `${DASHES}BEGIN[ \\t]+${KEY_WORDS}(?:-[ \\t]?){2,40}`;
const FOOTER = `${DASHES}END[ \\t]+${KEY_WORDS}(?:-[ \\t]?){2,40}`;

/** Word boundaries are look-arounds on each token's alphabet, so `x_sk_live_…` still matches. */
export const DETECTORS: readonly Detector[] = [
  { kind: 'private_key', re: new RegExp(`${HEADER}(?:[\\s\\S]{0,16384}?${FOOTER}|[\\s\\S]{0,4096})`, 'gi') },
  {
    // The header without dashes but followed by a key body.
    kind: 'private_key',
    re: new RegExp(
      `BEGIN[ \\t]+${KEY_WORDS}[^A-Za-z0-9\\n]{0,12}\\r?\\n\\s*[A-Za-z0-9+/=]{40,}[\\s\\S]{0,4096}`,
      'gi',
    ),
  },
  {
    // A DER key body on its own (PKCS#1/PKCS#8 start `MII`), across lines; not a certificate or public key.
    kind: 'private_key',
    re: /(?<!(?:CERTIFICATE|PUBLIC KEY|CERTIFICATE REQUEST)-+\s{0,4})(?<![A-Za-z0-9+/])MII(?:[A-Za-z0-9+/]|\r?\n|[ \t]){197,8192}={0,2}/g,
    valid: (s) => s.replace(/[^A-Za-z0-9+/]/g, '').length >= 200,
  },
  {
    kind: 'private_key',
    re: /(?<![A-Za-z0-9+/])b3BlbnNzaC1rZXktdjE(?:[A-Za-z0-9+/]|\r?\n|[ \t]){20,8192}={0,2}/g,
  },
  { kind: 'stripe_key', re: /(?<![A-Za-z0-9])(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{10,}/gi },
  {
    kind: 'slack_token',
    re: /(?<![A-Za-z0-9])(?:xox[abposrcde]-[A-Za-z0-9-]{8,}|xoxe\.xox[a-z]-[A-Za-z0-9-]{8,}|xapp-\d-[A-Za-z0-9-]{8,})/gi,
  },
  {
    kind: 'webhook_url',
    re: /https?:\/\/(?:hooks\.slack\.com\/(?:services|workflows|triggers)\/[A-Za-z0-9_/-]{20,}|(?:(?:ptb|canary)\.)?discord(?:app)?\.com\/api\/webhooks\/\d+\/[A-Za-z0-9_-]{20,}|[A-Za-z0-9.-]*\.webhook\.office\.com\/webhookb2\/[^\s"'<>]{20,}|outlook\.office(?:365)?\.com\/webhook\/[^\s"'<>]{20,}|[A-Za-z0-9.-]+\.(?:logic\.azure\.com|api\.powerplatform\.com)(?::\d+)?\/[^\s"'<>]*[?&]sig=[A-Za-z0-9_%-]{20,}[^\s"'<>]*)/gi,
  },
  {
    kind: 'github_token',
    re: /(?<![A-Za-z0-9])(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,})/gi,
  },
  {
    // Also written in lower case (a key id a reader can still use): then it must hold a digit, so an
    // ordinary 20-letter word starting with "asia" is not one.
    kind: 'aws_access_key',
    re: /(?<![A-Za-z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])/gi,
    valid: (s) => /^[A-Z0-9]+$/.test(s) || (/^[a-z0-9]+$/.test(s) && /[0-9]/.test(s.slice(4))),
  },
  {
    // A secret access key: 40 base64 characters next to a key id or its label as AWS and tools write it
    // (`AWS Secret Access Key`, `--aws-secret-access-key`, `aws_secret_access_key`); alone, 40 random
    // characters are too common to call a secret (e.g. a git commit id).
    kind: 'aws_secret_key',
    re: /(?:(?:AKIA|ASIA)[A-Z0-9]{16}|aws[\s_-]*secret[\s_-]*(?:access[\s_-]*)?key|secret[\s_-]*access[\s_-]*key)[^A-Za-z0-9/+]{1,40}([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])/gi,
    group: 1,
    valid: (s) => /[^0-9a-f]/i.test(s) && /[A-Z]/.test(s) && /[a-z]/.test(s),
  },
  { kind: 'google_api_key', re: /(?<![A-Za-z0-9])AIza[0-9A-Za-z_-]{35}(?![A-Za-z0-9_-])/gi },
  { kind: 'google_oauth_token', re: /(?<![A-Za-z0-9])ya29\.[A-Za-z0-9_-]{20,}/g },
  {
    kind: 'jwt',
    re: /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{8,}/g,
    valid: (s) => jsonSegment(s.split('.')[0]!),
  },
  {
    // An opaque token after `Bearer` (a header pasted into a message): 20+ characters with letters and digits.
    kind: 'bearer_token',
    re: /(?<![A-Za-z0-9])Bearer\s+([A-Za-z0-9._~+/-]{20,}=*)/gi,
    group: 1,
    valid: (s) => /[0-9]/.test(s) && /[A-Za-z]/.test(s),
  },
  {
    // `password=…`, `PGPASSWORD=…`, `DB_SECRET: …`, `SECRET_KEY=…`, `GITHUB_TOKEN=…`, `'password' => "…"`.
    kind: 'password_assignment',
    re: /(?<![A-Za-z0-9_])_*(?:[A-Za-z0-9]+_+)*(?:[A-Za-z0-9]*pass(?:word|wd|phrase)|pwd|secret(?:_?key)?|client_?secret|api_?key|access_?token|auth_?token|(?<=_)token)["']?\s*(?:=>|:=|[:=])\s*["']?([^\s"'`,;&<>]{4,200})/gi,
    group: 1,
    valid: (s) => !PLACEHOLDER.test(s),
  },
  {
    // `the password is …`: only a value that looks like one (8+ characters mixing classes).
    kind: 'password_assignment',
    re: /(?<![A-Za-z0-9])(?:password|passphrase|passwd|pwd)\s+(?:is|was|will\s+be)\s*:?\s*["']?([^\s"'`,;<>]{8,200})/gi,
    group: 1,
    valid: strongValue,
  },
];
