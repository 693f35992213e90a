// What never stays in an audit record or a log line of the admin server (core's auditRedact, applied
// to every string of every record, and to the logger): the configured SCIM token, Stripe write key and
// console client secret as literals, and whatever looks like a Stripe key or a bearer credential (an
// upstream's error may echo a header). Literals first (a key is masked whole), then linear patterns.
// Idempotent: a mask never matches again.
import type { Env } from '@mcp-fleet/core';

/** The masks. */
export const MASK = { secret: '[credential]', stripeKey: '[stripe-key]', bearer: 'Bearer [token]' } as const;

/** The variables whose values are masked wherever they appear. */
export const SECRET_VARIABLES = ['SCIM_TOKEN', 'STRIPE_WRITE_KEY', 'CONSOLE_OIDC_CLIENT_SECRET'] as const;

const PATTERNS: readonly [RegExp, string][] = [
  [/\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9_]{6,}/g, MASK.stripeKey],
  [/\bwhsec_[A-Za-z0-9]{6,}/g, MASK.stripeKey],
  [/\bBearer[ \t]+[A-Za-z0-9._~+/=!-]+/gi, MASK.bearer],
];

/** The configured secrets, longest first (one containing another is masked whole). */
let literals: string[] = [];

/** Remembers the secrets of `vars` (SECRET_VARIABLES; values shorter than 8 characters are not secrets worth the noise). */
export function registerAdminSecrets(vars: Env): void {
  const found = new Set(literals);
  for (const name of SECRET_VARIABLES) {
    const v = vars[name]?.trim();
    if (v && v.length >= 8) found.add(v);
  }
  literals = [...found].sort((a, b) => b.length - a.length);
}

/** Masks the configured secrets and anything shaped like a Stripe key or a bearer token. */
export function redactAdminSecrets(text: string): string {
  let out = text;
  for (const secret of literals) if (out.includes(secret)) out = out.split(secret).join(MASK.secret);
  for (const [re, mask] of PATTERNS) out = out.replace(re, mask);
  return out;
}
