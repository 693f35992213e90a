// The arguments core adds to tools: `idempotency_key` (mutating tools) and `approval_id` (tools that
// may need a human approval), and their `_meta` equivalents for programmatic clients. Core takes them
// out before the tool's own schema sees the arguments, unless the tool declares one itself.

import { ApprovalStore } from '../approvals/approval-store.js';
import { APPROVAL_META_KEY, IDEMPOTENCY_META_KEY } from '../kernel/meta-keys.js';
import {
  APPROVAL_ARG,
  IDEMPOTENCY_ARG,
  IDEMPOTENCY_KEY_PATTERN as KEY_PATTERN,
  ownedReserved,
} from '../tools/reserved-listing.js';
import type { AnyTool } from '../tools/tool.js';

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
