// Canonical JSON and hashes: the same arguments give the same fingerprint whatever their key order.
import * as crypto from 'node:crypto';

/** JSON with object keys sorted at every depth; `undefined` members dropped, as JSON.stringify does. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    return value === undefined ? 'null' : JSON.stringify(value);
  }
  const withJson = value as { toJSON?: () => unknown };
  if (typeof withJson.toJSON === 'function') return canonicalJson(withJson.toJSON());
  if (Array.isArray(value))
    return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  const keys = Object.keys(value).sort();
  const parts: string[] = [];
  for (const k of keys) {
    const v = (value as Record<string, unknown>)[k];
    if (v === undefined || typeof v === 'function') continue;
    parts.push(`${JSON.stringify(k)}:${canonicalJson(v)}`);
  }
  return `{${parts.join(',')}}`;
}

// crypto.hash (Node >= 20.12) hashes in one call without a Hash object; it is per call on the hot path.
const oneShot = (crypto as { hash?: (algorithm: string, data: string, encoding: 'base64url') => string })
  .hash;

/** SHA-256 (base64url) of a string. */
export function sha256(text: string): string {
  return oneShot
    ? oneShot('sha256', text, 'base64url')
    : crypto.createHash('sha256').update(text).digest('base64url');
}

/** Fingerprint of a value: SHA-256 of its canonical JSON. */
export function fingerprint(value: unknown): string {
  return sha256(canonicalJson(value));
}
