// Canonical JSON: the same text as sorted JSON.stringify for any JSON value, and no depth of input
// overflows the stack (the fingerprint of a call's arguments runs before its audit record is final).
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { canonicalJson } from '../../src/kernel/fingerprint.js';

/** The reference: the recursive definition (fine for the shallow values generated here). */
function reference(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(reference).join(',')}]`;
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  const keys = Object.keys(v).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${reference((v as Record<string, unknown>)[k])}`).join(',')}}`;
}

it('writes JSON with keys sorted at every depth', () => {
  fc.assert(
    fc.property(fc.jsonValue(), (v) => {
      expect(canonicalJson(v)).toBe(reference(v));
    }),
  );
});

it('drops undefined members and writes undefined array items as null, as JSON does', () => {
  expect(canonicalJson({ b: 1, a: undefined, c: [undefined, 2] })).toBe('{"b":1,"c":[null,2]}');
});

it('handles 100,000 levels of nesting without overflowing the stack', () => {
  const deep = JSON.parse(`${'['.repeat(100_000)}1${']'.repeat(100_000)}`);
  const text = canonicalJson(deep);
  expect(text.length).toBe(200_001);
  expect(text.startsWith('[[[') && text.endsWith(']]]')).toBe(true);
});
