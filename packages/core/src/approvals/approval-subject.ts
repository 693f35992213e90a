// What an approval binds (pipeline/steps/approval.ts): the canonical JSON of the validated arguments,
// plus `"idempotency_key": "<as sent>"` when the call carried a caller key core uses. This is the way
// back, for readers that look for the same operation asked before (the console's earlier identical
// calls): the fingerprint of the arguments alone, which core records as `details.argumentsHash` on
// every call through the approval gate, whatever key or approval id came with it.
import { fingerprint } from '../kernel/fingerprint.js';
import { IDEMPOTENCY_ARG } from '../tools/reserved-listing.js';

/**
 * The fingerprints the arguments of an approval request (its `argsHash` and `argumentsJson`) may have
 * as `details.argumentsHash` on an audit record: the bound hash itself (no caller key, or a tool that
 * declares `idempotency_key` as its own argument) and, when the text carries a top-level
 * `idempotency_key`, the fingerprint without it. Unparseable text gives just the bound hash.
 */
export function argumentsHashesOf(argsHash: string, argumentsJson: string | null): string[] {
  if (argumentsJson === null) return [argsHash];
  let value: unknown;
  try {
    value = JSON.parse(argumentsJson);
  } catch {
    return [argsHash];
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return [argsHash];
  if (!Object.hasOwn(value, IDEMPOTENCY_ARG)) return [argsHash];
  const bare = { ...(value as Record<string, unknown>) };
  delete bare[IDEMPOTENCY_ARG];
  return [argsHash, fingerprint(bare)];
}
