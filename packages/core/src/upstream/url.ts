// The rules for an upstream's base URL taken from the environment (STRIPE_API_URL, HUBSPOT_API_URL,
// SALESFORCE_INSTANCE_URL...), shared by the servers that call out.

/** Hosts plain http may go to: this machine only. */
const LOOPBACK = ['127.0.0.1', '[::1]', '::1', 'localhost'];

/**
 * Why an upstream base URL is refused, or undefined when it is acceptable: an http(s) URL without
 * whitespace; https (plain http only to this machine: 127.0.0.1, ::1, localhost); no user name or
 * password, no query, no fragment; and, when `noPath` is given (the reason to say), no path either (for
 * SDKs that add their own). The reason never quotes the URL (it may hold credentials).
 */
export function upstreamUrlProblem(v: string, o: { noPath?: string } = {}): string | undefined {
  if (!/^https?:\/\/[^\s]+$/i.test(v)) return 'must be an http(s) URL';
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    return 'must be an http(s) URL';
  }
  if (u.username !== '' || u.password !== '') return 'must not carry a user name or password';
  if (u.search !== '' || v.includes('?')) return 'must not carry a query';
  if (u.hash !== '' || v.includes('#')) return 'must not carry a fragment';
  if (o.noPath !== undefined && u.pathname !== '/' && u.pathname !== '') return o.noPath;
  if (u.protocol === 'http:' && !LOOPBACK.includes(u.hostname.toLowerCase()))
    return 'must be https (plain http only to 127.0.0.1, ::1 or localhost)';
  return undefined;
}
