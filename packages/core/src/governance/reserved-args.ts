// The arguments core adds to tools: `idempotency_key` (mutating tools) and `approval_id` (tools that
// may need a human approval), and their `_meta` equivalents for programmatic clients. Core takes them
// out before the tool's own schema sees the arguments, unless the tool declares one itself.

import { ApprovalStore } from '../approvals/approval-store.js';
import type { ToolRegistry } from '../tools/registry.js';
import type { AnyTool } from '../tools/tool.js';

/** `_meta` key carrying an idempotency key. */
export const IDEMPOTENCY_META_KEY = 'io.mcp-fleet/idempotencyKey';
/** `_meta` key carrying an approval id. */
export const APPROVAL_META_KEY = 'io.mcp-fleet/approvalId';
/** Argument name of the idempotency key. */
export const IDEMPOTENCY_ARG = 'idempotency_key';
/** Argument name of the approval id. */
export const APPROVAL_ARG = 'approval_id';

const KEY_PATTERN = /^[A-Za-z0-9._:/~+=-]{1,200}$/;

const IDEMPOTENCY_SCHEMA = {
  type: 'string',
  minLength: 1,
  maxLength: 200,
  pattern: KEY_PATTERN.source,
  description:
    'Optional. A key you generate once per intended action (a UUID works). Calling again with the same key and the same arguments returns the first result instead of doing it twice; use a new key for a new action.',
};
const APPROVAL_SCHEMA = {
  type: 'string',
  format: 'uuid',
  description:
    'Only when resuming: the approval id from an earlier "awaiting approval" result, after a human approved it. Send exactly the same arguments as before plus this id.',
};

interface Owned {
  idempotency: boolean;
  approval: boolean;
}
const owned = new WeakMap<AnyTool, Owned>();

/** Which reserved names the tool declares itself (then they are its own arguments, passed through). */
export function ownedReserved(tool: AnyTool): Owned {
  let o = owned.get(tool);
  if (!o) {
    const shape = (tool.input as unknown as { shape?: Record<string, unknown> }).shape ?? {};
    o = { idempotency: Object.hasOwn(shape, IDEMPOTENCY_ARG), approval: Object.hasOwn(shape, APPROVAL_ARG) };
    owned.set(tool, o);
  }
  return o;
}

/** The reserved values of one call, and the arguments without them. */
export interface ReservedValues {
  args: unknown;
  idempotencyKey: string | undefined;
  approvalId: string | undefined;
  /** A message for the model when a reserved value is malformed or contradictory. */
  problem: string | undefined;
}

function metaString(meta: Record<string, unknown> | undefined, key: string): unknown {
  return meta && Object.hasOwn(meta, key) ? meta[key] : undefined;
}

/** Splits reserved values off the raw arguments and `_meta`. Cheap when none are present. */
export function takeReserved(
  tool: AnyTool,
  raw: unknown,
  meta: Record<string, unknown> | undefined,
): ReservedValues {
  const out: ReservedValues = {
    args: raw,
    idempotencyKey: undefined,
    approvalId: undefined,
    problem: undefined,
  };
  const own = ownedReserved(tool);
  let fromArgsIdem: unknown;
  let fromArgsApproval: unknown;
  if (raw !== null && typeof raw === 'object' && !Array.isArray(raw)) {
    const rec = raw as Record<string, unknown>;
    // A tool that declares `idempotency_key` itself keeps it, and core uses the same value.
    if (own.idempotency && typeof rec[IDEMPOTENCY_ARG] === 'string') fromArgsIdem = rec[IDEMPOTENCY_ARG];
    const hasIdem = !own.idempotency && Object.hasOwn(rec, IDEMPOTENCY_ARG);
    const hasApproval = !own.approval && Object.hasOwn(rec, APPROVAL_ARG);
    if (hasIdem || hasApproval) {
      const copy = { ...rec };
      if (hasIdem) {
        fromArgsIdem = copy[IDEMPOTENCY_ARG];
        delete copy[IDEMPOTENCY_ARG];
      }
      if (hasApproval) {
        fromArgsApproval = copy[APPROVAL_ARG];
        delete copy[APPROVAL_ARG];
      }
      out.args = copy;
    }
  }
  const idem = pick(fromArgsIdem, metaString(meta, IDEMPOTENCY_META_KEY), IDEMPOTENCY_ARG);
  const approval = pick(fromArgsApproval, metaString(meta, APPROVAL_META_KEY), APPROVAL_ARG);
  out.problem = idem.problem ?? approval.problem;
  if (idem.value !== undefined && !KEY_PATTERN.test(idem.value)) {
    out.problem = `\`${IDEMPOTENCY_ARG}\` must be 1-200 characters of letters, digits and . _ : / ~ + = -`;
  }
  // Checked here, before any replay or record: only an approval's id (a UUID) ever goes further.
  if (approval.value !== undefined && !ApprovalStore.isId(approval.value)) {
    out.problem ??= `\`${APPROVAL_ARG}\` must be the id (a UUID) from an earlier "awaiting approval" result`;
  }
  out.idempotencyKey = idem.value;
  out.approvalId = approval.value;
  return out;
}

function pick(
  fromArgs: unknown,
  fromMeta: unknown,
  name: string,
): { value: string | undefined; problem: string | undefined } {
  for (const v of [fromArgs, fromMeta]) {
    if (v !== undefined && v !== null && typeof v !== 'string')
      return { value: undefined, problem: `\`${name}\` must be a string` };
  }
  const a = typeof fromArgs === 'string' && fromArgs !== '' ? fromArgs : undefined;
  const m = typeof fromMeta === 'string' && fromMeta !== '' ? fromMeta : undefined;
  if (a !== undefined && m !== undefined && a !== m) {
    return { value: undefined, problem: `\`${name}\` differs between the arguments and _meta; send it once` };
  }
  return { value: a ?? m, problem: undefined };
}

/**
 * Adds the reserved arguments to the listed input schemas: `idempotency_key` and `approval_id` to
 * every mutating tool (policy may put any of them behind approval). Idempotent.
 */
export function extendListings(registry: ToolRegistry): void {
  for (const reg of registry.all()) {
    if (reg.tool.governance.readOnly) continue;
    const own = ownedReserved(reg.tool);
    const schema = reg.listing.inputSchema;
    const props = { ...((schema.properties as Record<string, unknown> | undefined) ?? {}) };
    if (!own.idempotency) props[IDEMPOTENCY_ARG] = IDEMPOTENCY_SCHEMA;
    if (!own.approval) props[APPROVAL_ARG] = APPROVAL_SCHEMA;
    reg.listing.inputSchema = { ...schema, type: 'object', properties: props };
  }
}
