// The argument bounds every tools/call passes refuse text no tool could store (PostgreSQL refuses
// U+0000; an unpaired surrogate has no UTF-8 form), wherever it hides in the arguments, and accept
// any other JSON text.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { argumentsProblem } from '../src/pipeline/argument-bounds.js';

const BAD = fc.constantFrom('\u0000', '\ud800', '\udbff', '\udc00', '\udfff');
/** Well-formed text without NUL (full Unicode, paired surrogates included). */
const good = fc.string({ unit: 'grapheme', maxLength: 12 }).filter((s) => !s.includes('\u0000'));
const json = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    good,
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(good, tie('value'), { maxKeys: 3 }),
  ),
})).value;
const args = fc.dictionary(good, json, { maxKeys: 4 });

/** `obj` with `bad` put into one string (value or key) chosen by `pick`, or a new member holding it. */
function inject(
  obj: Record<string, unknown>,
  bad: string,
  pick: number,
  asKey: boolean,
): Record<string, unknown> {
  const slots: { get: () => string; set: (s: string) => void }[] = [];
  const walk = (v: unknown, parent: Record<string, unknown> | unknown[], key: string | number) => {
    if (typeof v === 'string')
      slots.push({ get: () => v, set: (s) => ((parent as Record<string | number, unknown>)[key] = s) });
    else if (Array.isArray(v)) for (const [i, c] of v.entries()) walk(c, v, i);
    else if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      for (const k of Object.keys(o)) {
        if (asKey)
          slots.push({
            get: () => k,
            set: (s) => {
              o[s] = o[k];
              delete o[k];
            },
          });
        walk(o[k], o, k);
      }
    }
  };
  const copy = structuredClone(obj);
  walk(copy, [], 0);
  const slot = slots[pick % Math.max(slots.length, 1)];
  if (!slot) return { ...copy, [asKey ? `k${bad}` : 'extra']: asKey ? 1 : `v${bad}` };
  const s = slot.get();
  const at = pick % (s.length + 1);
  slot.set(s.slice(0, at) + bad + s.slice(at));
  return copy;
}

describe('argumentsProblem and unstorable text', () => {
  it('accepts any arguments of well-formed text without NUL', () => {
    fc.assert(
      fc.property(args, (a) => {
        expect(argumentsProblem(a)).toBeUndefined();
      }),
      { numRuns: 500 },
    );
  });

  it('refuses a NUL or an unpaired surrogate in any string value or key, at any depth', () => {
    fc.assert(
      fc.property(args, BAD, fc.nat(), fc.boolean(), (a, bad, pick, asKey) => {
        const problem = argumentsProblem(inject(a, bad, pick, asKey));
        expect(problem).toMatch(/NUL character|unpaired UTF-16 surrogate/);
      }),
      { numRuns: 1000 },
    );
  });
});
