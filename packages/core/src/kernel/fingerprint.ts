// Canonical JSON and hashes: the same arguments give the same fingerprint whatever their key order.
import * as crypto from 'node:crypto';

/**
 * JSON with object keys sorted at every depth; `undefined` members dropped, as JSON.stringify does.
 * Iterative (an explicit stack), so no depth of input can overflow the call stack.
 */
export function canonicalJson(value: unknown): string {
  let out = '';
  // Each entry is either a value still to write or literal text (punctuation, keys) to append.
  const work: ({ text: string } | { value: unknown })[] = [{ value }];
  while (work.length > 0) {
    const item = work.pop()!;
    if ('text' in item) {
      out += item.text;
      continue;
    }
    let v = item.value;
    if (v !== null && typeof v === 'object' && typeof (v as { toJSON?: unknown }).toJSON === 'function') {
      v = (v as { toJSON: () => unknown }).toJSON();
    }
    if (v === null || typeof v !== 'object') {
      out += (v === undefined ? undefined : JSON.stringify(v)) ?? 'null';
      continue;
    }
    const parts: ({ text: string } | { value: unknown })[] = [];
    if (Array.isArray(v)) {
      parts.push({ text: '[' });
      v.forEach((el, i) => {
        if (i > 0) parts.push({ text: ',' });
        parts.push({ value: el });
      });
      parts.push({ text: ']' });
    } else {
      parts.push({ text: '{' });
      let first = true;
      for (const k of Object.keys(v).sort()) {
        const member = (v as Record<string, unknown>)[k];
        if (member === undefined || typeof member === 'function') continue;
        parts.push({ text: `${first ? '' : ','}${JSON.stringify(k)}:` }, { value: member });
        first = false;
      }
      parts.push({ text: '}' });
    }
    for (let i = parts.length - 1; i >= 0; i--) work.push(parts[i]!);
  }
  return out;
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
