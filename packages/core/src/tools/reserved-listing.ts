// The arguments core adds to every mutating tool's listed input schema: `idempotency_key` and
// `approval_id`. Added when a tool is registered, so every registry (server or CLI) lists the same
// schemas. Core takes them out of a call's arguments before the tool's own schema sees them
// (pipeline/reserved-args.ts), unless the tool declares one itself.
import type { AnyTool } from './tool.js';

/** Argument name of the idempotency key. */
export const IDEMPOTENCY_ARG = 'idempotency_key';
/** Argument name of the approval id. */
export const APPROVAL_ARG = 'approval_id';

/** Characters an idempotency key may have. */
export const IDEMPOTENCY_KEY_PATTERN = /^[A-Za-z0-9._:/~+=-]{1,200}$/;

const IDEMPOTENCY_SCHEMA = {
  type: 'string',
  minLength: 1,
  maxLength: 200,
  pattern: IDEMPOTENCY_KEY_PATTERN.source,
  description:
    'Optional. A key you generate once per intended action (a UUID works). Calling again with the same key and the same arguments returns the first result instead of doing it twice; use a new key for a new action.',
};
const APPROVAL_SCHEMA = {
  type: 'string',
  format: 'uuid',
  description:
    'Only when resuming: the approval id from an earlier "awaiting approval" result, after a human approved it. Send exactly the same arguments as before plus this id.',
};

/** Which reserved names a tool declares itself. */
export interface OwnedReserved {
  idempotency: boolean;
  approval: boolean;
}
const owned = new WeakMap<AnyTool, OwnedReserved>();

/** Which reserved names the tool declares itself (then they are its own arguments, passed through). */
export function ownedReserved(tool: AnyTool): OwnedReserved {
  let o = owned.get(tool);
  if (!o) {
    const shape = (tool.input as unknown as { shape?: Record<string, unknown> }).shape ?? {};
    o = { idempotency: Object.hasOwn(shape, IDEMPOTENCY_ARG), approval: Object.hasOwn(shape, APPROVAL_ARG) };
    owned.set(tool, o);
  }
  return o;
}

/**
 * The listed input schema of a tool: its own, plus `idempotency_key` and `approval_id` on every
 * mutating tool (policy may put any of them behind approval).
 */
export function withReservedArgs(tool: AnyTool, schema: Record<string, unknown>): Record<string, unknown> {
  if (tool.governance.readOnly) return schema;
  const own = ownedReserved(tool);
  const props = { ...((schema.properties as Record<string, unknown> | undefined) ?? {}) };
  if (!own.idempotency) props[IDEMPOTENCY_ARG] = IDEMPOTENCY_SCHEMA;
  if (!own.approval) props[APPROVAL_ARG] = APPROVAL_SCHEMA;
  return { ...schema, type: 'object', properties: props };
}
