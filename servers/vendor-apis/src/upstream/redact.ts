// What never stays in an audit record of this server (core's auditRedact, applied to every string of
// every record): Stripe keys, bearer tokens, HubSpot private-app tokens, Salesforce session ids, every
// credential the configuration holds (whatever its format), and the hosts of the configured vendor
// URLs (a Salesforce instance host names the customer's org). Every pattern is linear (no nested or
// overlapping quantifiers): the redactor reads every audit string, so it must never backtrack.
import type { VendorApisConfig } from '../config.js';

/** The masks (fixed text, never matched again: the redaction is idempotent). */
export const MASK = {
  stripeKey: '[stripe-key]',
  bearer: 'Bearer [token]',
  hubspotToken: '[hubspot-token]',
  salesforceSession: '[salesforce-session]',
  secret: '[credential]',
  host: '[vendor-host]',
} as const;

const PATTERNS: readonly [RegExp, string][] = [
  // Stripe secret, restricted and publishable keys, live or test; webhook secrets.
  [/\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{6,}/g, MASK.stripeKey],
  [/\bwhsec_[A-Za-z0-9]{6,}/g, MASK.stripeKey],
  // Any bearer credential (Authorization headers echoed in an error).
  [/\bBearer[ \t]+[A-Za-z0-9._~+/=!-]+/gi, MASK.bearer],
  // HubSpot private-app tokens: pat-<region>-<uuid>.
  [/\bpat-[A-Za-z0-9]{2,6}-[A-Za-z0-9-]{8,}/g, MASK.hubspotToken],
  // Salesforce session ids / access tokens: the org id (00D…), "!", then the session part.
  [/\b00D[A-Za-z0-9]{12,15}![A-Za-z0-9._-]{8,}/g, MASK.salesforceSession],
];

/** Literal strings to mask: configured credentials and vendor hosts (of every server in this process). */
const literals = new Map<string, string>();
/**
 * The same, longest first (a token containing a host, or another token, is masked whole): sorted once
 * per registration, not on every audit string and log line.
 */
let longestFirst: [string, string][] = [];

/** Remembers the configuration's credentials and vendor hosts so every audit string is masked of them. */
export function registerVendorSecrets(config: VendorApisConfig): void {
  const secret = (v: string | undefined) => {
    if (v && v.length >= 8) literals.set(v, MASK.secret);
  };
  const host = (url: string | undefined) => {
    if (!url) return;
    try {
      const u = new URL(url);
      // The instance URL itself (origin and path: a simulator's org is a path of a loopback origin)...
      const whole = `${u.origin}${u.pathname.replace(/\/+$/, '')}`.toLowerCase();
      if (u.pathname.replace(/\/+$/, '') !== '') literals.set(whole, MASK.host);
      // ...and its host, unless a loopback simulator's (a real org's host names the customer).
      const h = u.hostname.toLowerCase();
      if (h && h !== 'localhost' && h !== '127.0.0.1' && h !== '[::1]') literals.set(h, MASK.host);
    } catch {
      // not a URL: nothing to mask
    }
  };
  secret(config.stripeApiKey);
  secret(config.hubspotAccessToken);
  secret(config.salesforceAccessToken);
  secret(config.salesforceClientSecret);
  host(config.salesforceInstanceUrl);
  for (const t of config.tenants.all()) {
    secret(t.hubspot?.token);
    secret(t.salesforce?.accessToken);
    secret(t.salesforce?.clientSecret);
    host(t.salesforce?.instanceUrl);
  }
  longestFirst = [...literals].sort((a, b) => b[0].length - a[0].length);
}

/** Replaces every occurrence of `needle` (case-insensitive for hosts) without a regex built from it. */
function replaceLiteral(text: string, needle: string, mask: string, fold: boolean): string {
  const hay = fold ? text.toLowerCase() : text;
  let at = hay.indexOf(needle);
  if (at < 0) return text;
  let out = '';
  let from = 0;
  while (at >= 0) {
    out += text.slice(from, at) + mask;
    from = at + needle.length;
    at = hay.indexOf(needle, from);
  }
  return out + text.slice(from);
}

/** The audit masking of one string (core's auditRedact). Idempotent. */
export function redactVendorSecrets(text: string): string {
  if (text.length < 8) return text;
  let out = text;
  for (const [needle, mask] of longestFirst) out = replaceLiteral(out, needle, mask, mask === MASK.host);
  for (const [re, mask] of PATTERNS) out = out.replace(re, mask);
  return out;
}
