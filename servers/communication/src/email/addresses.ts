// Email recipients: each value the model gives is parsed (RFC 5322, email-addresses) into exactly one
// bare addr-spec, canonicalised (ASCII/punycode, lowercase domain) and checked against policy's domains.
import { domainToASCII } from 'node:url';
import { ToolError } from '@mcp-fleet/core';
import emailAddresses from 'email-addresses';
import type { EmailRule } from '../dimensions.js';

/** One recipient as it is shown to the caller and sent in the SMTP envelope. */
export interface Recipient {
  /** `local@domain`, domain in lowercase ASCII (punycode for an IDN). */
  address: string;
  /** The ASCII domain (what the allow-list is checked on). */
  domain: string;
  /** The domain needed IDNA conversion (it held non-ASCII letters). */
  idn: boolean;
  field: 'to' | 'cc';
}

/** A recipient the caller gave that cannot be parsed into one plain, allowed address. */
export class RecipientRefusal extends Error {}

// biome-ignore lint/suspicious/noControlCharactersInRegex: the point is to find control characters
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]/;
/**
 * The local parts sent: a dot-atom of letters, digits and `_ + - '` only. The rest of RFC 5322 atext
 * is refused: `%` and `!` are relay routing (`a%evil.example@host`, `evil.example!a@host`) that an MTA
 * may still honour, and `/ = | \` $ { } # & ^ ~ ? *` have routing, pipe or shell meaning in some MTAs
 * and aliases, while no address a company writes to needs them.
 */
const DOT_ATOM = /^[A-Za-z0-9_+'-]+(\.[A-Za-z0-9_+'-]+)*$/;
const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

const show = (s: string) => JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}…` : s);

/** The ASCII form of a domain, or a refusal; non-ASCII input must become punycode labels. */
function asciiDomain(raw: string, value: string): { domain: string; idn: boolean } {
  if (raw.endsWith('.')) throw new RecipientRefusal(`${show(value)}: remove the trailing dot of the domain.`);
  if (raw.startsWith('[')) throw new RecipientRefusal(`${show(value)}: IP-address domains are not allowed.`);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: ASCII range test
  const idn = /[^\u0000-\u007f]/.test(raw);
  const domain = idn ? domainToASCII(raw) : raw.toLowerCase();
  const labels = domain.split('.');
  if (
    domain.length === 0 ||
    domain.length > 253 ||
    labels.length < 2 ||
    !labels.every((l) => LABEL.test(l)) ||
    /^[0-9]+$/.test(labels.at(-1) as string)
  ) {
    throw new RecipientRefusal(`${show(value)}: the domain is not a valid host name.`);
  }
  // IDNA mapping turns full-width letters, invisible characters and the like into plain ASCII; such
  // a domain only looks like what it becomes. A real IDN keeps at least one punycode label.
  if (idn && !labels.some((l) => l.startsWith('xn--'))) {
    throw new RecipientRefusal(`${show(value)}: write the domain in plain ASCII letters.`);
  }
  return { domain, idn: idn || labels.some((l) => l.startsWith('xn--')) };
}

/**
 * Parses one recipient value: it must be exactly one bare address (`name@example.com`). Display
 * names, several addresses in one string (commas, semicolons, groups), quoted local parts,
 * comments, route addresses, IP-literal domains, non-ASCII local parts, whitespace and control
 * characters are refused, never repaired, so what is sent is exactly what the caller wrote.
 */
export function parseRecipient(value: string, field: 'to' | 'cc'): Recipient {
  if (CONTROL.test(value))
    throw new RecipientRefusal(
      `${show(value)}: line breaks and control or invisible characters are not allowed.`,
    );
  if (/\s/.test(value)) throw new RecipientRefusal(`${show(value)}: give only the address, with no spaces.`);
  if (/[,;]/.test(value))
    throw new RecipientRefusal(`${show(value)}: one address per entry; pass several recipients as an array.`);
  if (/[<>"()[\]:\\]/.test(value))
    throw new RecipientRefusal(
      `${show(value)}: give only the plain address (name@example.com), no display name, quotes or comments.`,
    );
  const at = value.lastIndexOf('@');
  if (at <= 0 || value.indexOf('@') !== at)
    throw new RecipientRefusal(`${show(value)}: not an email address (name@example.com).`);
  const local = value.slice(0, at);
  if (local.length > 64 || !DOT_ATOM.test(local))
    throw new RecipientRefusal(
      `${show(value)}: the part before @ must be plain ASCII letters, digits and . _ + - ' (no %, ! or other routing characters).`,
    );
  // The RFC 5322 parser must agree that the whole value is one mailbox with no name or comment.
  const parsed = emailAddresses({ input: value, startAt: 'address-list', rfc6532: true, rejectTLD: true });
  const only = parsed?.addresses.length === 1 ? parsed.addresses[0] : undefined;
  if (
    only?.type !== 'mailbox' ||
    only.name !== null ||
    only.parts.comments.length > 0 ||
    only.local !== local ||
    `${only.local}@${only.domain}` !== value
  ) {
    throw new RecipientRefusal(`${show(value)}: not one plain email address (name@example.com).`);
  }
  const { domain, idn } = asciiDomain(only.domain, value);
  return { address: `${local}@${domain}`, domain, idn, field };
}

/** Whether one granted domain pattern allows an ASCII domain (punycode domains: exact entries only). */
export function domainAllowed(pattern: string, r: Pick<Recipient, 'domain' | 'idn'>): boolean {
  if (pattern === r.domain) return true;
  if (r.idn || !pattern.startsWith('*.')) return false;
  return r.domain.endsWith(pattern.slice(1)) && r.domain.length > pattern.length - 1;
}

/** Arguments that name recipients. */
export interface RecipientArgs {
  to: string | string[];
  cc?: string | string[] | undefined;
}

const list = (v: string | string[] | undefined): string[] =>
  v === undefined ? [] : Array.isArray(v) ? v : [v];

/** Parses every recipient of a call (to, then cc); duplicates (case-insensitive) are refused. */
export function parseRecipients(args: RecipientArgs): Recipient[] {
  const out = [
    ...list(args.to).map((v) => parseRecipient(v, 'to')),
    ...list(args.cc).map((v) => parseRecipient(v, 'cc')),
  ];
  if (out.length === 0) throw new RecipientRefusal('Give at least one recipient in `to`.');
  if (!out.some((r) => r.field === 'to')) throw new RecipientRefusal('Give at least one recipient in `to`.');
  const seen = new Set<string>();
  for (const r of out) {
    const k = r.address.toLowerCase();
    if (seen.has(k)) throw new RecipientRefusal(`${r.address} is listed twice; name each recipient once.`);
    seen.add(k);
  }
  return out;
}

/** Why `rule` does not allow these recipients (domains and count), or null when it does. */
export function ruleProblem(
  recipients: readonly Recipient[],
  rule: EmailRule,
  maxRecipients: number,
): string | null {
  const cap = Math.min(maxRecipients, rule.maxRecipients ?? maxRecipients);
  if (recipients.length > cap)
    return `${recipients.length} recipients (to and cc together); at most ${cap} are allowed.`;
  const outside = recipients.filter((r) => !rule.domains.some((p) => domainAllowed(p, r)));
  if (outside.length > 0)
    return `${outside.map((r) => r.address).join(', ')}: recipient domain not allowed (allowed: ${rule.domains.join(', ')}).`;
  return null;
}

/** A refusal of recipients as the ToolError a send answers with. */
export function destinationDenied(message: string): ToolError {
  return new ToolError(`Not sent: ${message}`, 'destination_denied');
}
