// Bounds on the shape of a call's arguments, checked without recursion before anything walks them
// (canonical JSON, redaction, the tool's schema): a 10,000-deep body must be a clear refusal, not a
// RangeError that leaves no audit record. And text no tool could store: a NUL character (PostgreSQL
// refuses it in text and jsonb, so a tool passing it on fails as an internal error) or an unpaired
// surrogate (no UTF-8 form: what is stored or approved would differ from what was sent), in any
// string value or key, is refused here for every tool (`invalid_arguments`).

import { UNSTORABLE_TEXT, unstorableText } from '../kernel/storable-text.js';

/** Deepest nesting of objects and arrays accepted in arguments. */
export const MAX_ARGUMENT_DEPTH = 64;
/** Most values (objects, arrays and scalars together) accepted in one call's arguments. */
export const MAX_ARGUMENT_NODES = 100_000;

/**
 * Says why `value` is not acceptable as tool arguments, or `undefined` when it is: a JSON object
 * (or absent), nested at most {@link MAX_ARGUMENT_DEPTH} levels, at most {@link MAX_ARGUMENT_NODES}
 * values. Iterative: its own stack never grows with the input's depth.
 */
export function argumentsProblem(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    const kind = value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
    return `the arguments must be a JSON object (got ${kind})`;
  }
  const stack: [unknown, number][] = [[value, 1]];
  let nodes = 0;
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (++nodes > MAX_ARGUMENT_NODES) return `the arguments hold more than ${MAX_ARGUMENT_NODES} values`;
    if (typeof v === 'string') {
      const bad = unstorableText(v);
      if (bad) return `a string in the arguments contains ${UNSTORABLE_TEXT[bad]}, which no tool accepts`;
      continue;
    }
    if (v === null || typeof v !== 'object') continue;
    if (depth > MAX_ARGUMENT_DEPTH)
      return `the arguments are nested more than ${MAX_ARGUMENT_DEPTH} levels deep`;
    if (!Array.isArray(v)) {
      for (const k of Object.keys(v)) {
        const bad = unstorableText(k);
        if (bad) return `a key in the arguments contains ${UNSTORABLE_TEXT[bad]}, which no tool accepts`;
      }
    }
    const children = Array.isArray(v) ? v : Object.values(v);
    for (const c of children) stack.push([c, depth + 1]);
  }
  return undefined;
}

/**
 * True when `value` nests objects or arrays more than `maxDepth` levels deep, not counting what lies
 * under `except` (a tool call's arguments, which the pipeline bounds and audits itself). Iterative.
 */
export function nestedDeeperThan(value: unknown, maxDepth: number, except?: unknown): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object' || (except !== undefined && v === except)) continue;
    if (depth > maxDepth) return true;
    for (const c of Array.isArray(v) ? v : Object.values(v)) stack.push([c, depth + 1]);
  }
  return false;
}
