// The audit record: one per call, its own schema (not a log line), with secrets redacted from arguments.

import { randomUUID } from 'node:crypto';
import { currentClientTraceId, currentTraceId } from '../observability/tracing.js';

/** How a call ended. Bounded set: also a metric label. */
export type { AuditOutcome } from '../kernel/call.js';

import type { AuditOutcome } from '../kernel/call.js';

/** One audited call. Field names match the `audit_records` table. */
export interface AuditRecord {
  id: string;
  ts: string;
  server: string;
  requestId: string;
  method: string;
  tool: string | null;
  agentId: string | null;
  agentSession: string | null;
  userInvoker: string | null;
  tenant: string | null;
  roles: string[];
  arguments: unknown;
  decision: 'allow' | 'deny';
  decisionReason: string;
  outcome: AuditOutcome;
  resultSummary: string | null;
  durationMs: number | null;
  policyVersion: string | null;
  protocolVersion: string | null;
  /** Extra facts some outcomes carry (approval id, idempotency key hash, cache scope...). */
  details: Record<string, unknown> | null;
  /**
   * SHA-256 of the canonical JSON of the exact arguments the client sent (THREATS A15), reserved
   * keys included: the stored `arguments` are redacted and cut, this identifies them whole. Null when
   * they could not be hashed (nested too deep) or for records that are not tool calls.
   */
  argsHash?: string | null;
  /**
   * The OpenTelemetry trace id (32 lowercase hex) of the request the record was written in: the same id
   * is on that request's log lines (`trace_id`) and spans. Null for records written outside a request.
   */
  traceId?: string | null;
}

const SECRET_KEY =
  /pass(word|phrase)?|secret|token|api[-_]?key|authori[sz]ation|cookie|credential|private[-_]?key|session[-_]?key/i;
const MAX_STRING = 2_000;
const MAX_DEPTH = 6;
const MAX_KEY = 200;
/** Items of an array and keys of an object kept; the rest is named by a marker, never dropped silently. */
const MAX_WIDTH = 100;
/** The stored arguments as JSON text, at most (a record stays small whatever the client sends). */
export const MAX_ARGUMENTS_CHARS = 32_000;
/** The key under which an object's cut is marked (`"…": "N more keys"`). */
export const MORE_KEY = '…';

/**
 * Copies tool arguments with secret-looking keys redacted, long strings cut, and wide arrays and
 * objects cut to {@link MAX_WIDTH} entries with an explicit marker (`"…N more items"`, or a `"…"` key
 * saying `"N more keys"`); if the copy is still larger than {@link MAX_ARGUMENTS_CHARS} as JSON, it
 * is replaced by a note saying so (the record's argsHash still identifies the exact arguments).
 */
export function redactArguments(value: unknown): unknown {
  const out = redactValue(value, 0);
  if (out === null || typeof out !== 'object') return out;
  const size = JSON.stringify(out).length;
  return size > MAX_ARGUMENTS_CHARS
    ? { [MORE_KEY]: `arguments too large to store (${size} characters after redaction and cuts)` }
    : out;
}

function redactValue(value: unknown, depth: number): unknown {
  if (typeof value === 'string') {
    const cut = value.length > MAX_STRING ? `${value.slice(0, MAX_STRING)}…[${value.length} chars]` : value;
    return auditSafe(cut);
  }
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH) return '[nested]';
  if (Array.isArray(value)) {
    const items = value.slice(0, MAX_WIDTH).map((v) => redactValue(v, depth + 1));
    if (value.length > MAX_WIDTH) items.push(`…${value.length - MAX_WIDTH} more items`);
    return items;
  }
  const out: Record<string, unknown> = {};
  let kept = 0;
  let total = 0;
  for (const k in value) {
    if (!Object.hasOwn(value, k)) continue;
    total++;
    if (kept >= MAX_WIDTH) continue;
    kept++;
    const v = (value as Record<string, unknown>)[k];
    // Keys are the client's too: cut like values, so no argument can make a record grow unbounded.
    const key = auditSafe(k.length > MAX_KEY ? `${k.slice(0, MAX_KEY)}…[${k.length} chars]` : k);
    out[key] = SECRET_KEY.test(k) ? '[redacted]' : redactValue(v, depth + 1);
  }
  if (total > kept) out[MORE_KEY] = `${total - kept} more keys`;
  return out;
}

/**
 * PostgreSQL text and jsonb cannot hold U+0000 or lone surrogates, so such characters in an argument
 * would make the record unstorable (and, for a mutation, the call refused as "audit unavailable").
 * Spell NUL out and replace lone surrogates.
 */
export function auditSafe(text: string): string {
  // Lone UTF-16 surrogates ("\udc00" in a JSON argument) are not valid in jsonb either: make them U+FFFD.
  const wellFormed = text.isWellFormed() ? text : text.toWellFormed();
  return wellFormed.includes('\u0000') ? wellFormed.replaceAll('\u0000', '\\u0000') : wellFormed;
}

/** A one-line summary of a result for the audit record (never the full payload). */
export function summarize(text: string | undefined, maxLength = 200): string | null {
  if (text === undefined) return null;
  const oneLine = auditSafe(text).replace(/\s+/g, ' ').trim();
  return oneLine.length > maxLength ? `${oneLine.slice(0, maxLength)}…` : oneLine;
}

// In JSON.stringify output, U+0000 and lone surrogates are the only `\u0000` / `\udXXX` escapes
// (paired surrogates come out as the characters themselves). An odd run of backslashes starts one.
const UNSTORABLE_ESCAPE = /(\\+)u(0000|[dD][89a-fA-F][0-9a-fA-F]{2})/g;

/**
 * The record as JSON text that PostgreSQL's jsonb accepts whatever any field holds: NUL spelled out
 * as `\u0000` text, lone surrogates as U+FFFD (as {@link auditSafe} does for arguments).
 */
export function auditJson(record: AuditRecord): string {
  const json = JSON.stringify(record);
  if (!json.includes('\\u')) return json;
  return json.replace(UNSTORABLE_ESCAPE, (match, slashes: string, code: string) => {
    if (slashes.length % 2 === 0) return match; // an escaped backslash followed by text "u...."
    const keep = slashes.slice(1);
    return code === '0000' ? `${keep}\\\\u0000` : `${keep}\\ufffd`;
  });
}

/** Who an audit record is about: a call's identity, an approver, or nobody known (null). */
export interface AuditSubject {
  agentId: string | null;
  session?: string | null | undefined;
  user?: string | null | undefined;
  tenant?: string | null | undefined;
  roles?: readonly string[] | undefined;
}

/** What happened, for {@link auditRecord}: the required facts; everything else defaults to null. */
export interface AuditFacts {
  server: string;
  requestId: string;
  method: string;
  decision: AuditRecord['decision'];
  decisionReason: string;
  outcome: AuditOutcome;
  tool?: string | null;
  arguments?: unknown;
  argsHash?: string | null;
  resultSummary?: string | null;
  durationMs?: number | null;
  policyVersion?: string | null;
  protocolVersion?: string | null;
  details?: Record<string, unknown> | null;
}

/**
 * The one way an audit record is built (the call pipeline, the approval desk): a fresh id and
 * timestamp, the subject's identity fields, and the facts given. Arguments are stored as given:
 * callers pass {@link redactArguments} output for anything a client sent.
 */
export function auditRecord(who: AuditSubject | null, facts: AuditFacts): AuditRecord {
  return {
    id: randomUUID(),
    ts: new Date().toISOString(),
    server: facts.server,
    requestId: facts.requestId,
    method: facts.method,
    tool: facts.tool ?? null,
    agentId: who?.agentId ?? null,
    agentSession: who?.session ?? null,
    userInvoker: who?.user ?? null,
    tenant: who?.tenant ?? null,
    roles: who?.roles ? [...who.roles] : [],
    arguments: facts.arguments ?? null,
    ...(facts.argsHash !== undefined ? { argsHash: facts.argsHash } : {}),
    decision: facts.decision,
    decisionReason: facts.decisionReason,
    outcome: facts.outcome,
    resultSummary: facts.resultSummary ?? null,
    durationMs: facts.durationMs ?? null,
    policyVersion: facts.policyVersion ?? null,
    protocolVersion: facts.protocolVersion ?? null,
    details: withClientTrace(facts.details ?? null),
    traceId: currentTraceId() ?? null,
  };
}

/**
 * The details with the client's own trace id (`clientTraceId`: its valid traceparent's, 32 hex) when
 * the record is written in a request that sent one: how an investigation that starts from the client's
 * trace id finds the call, whose `traceId` is the fleet's (issue 16, T-3).
 */
function withClientTrace(details: Record<string, unknown> | null): Record<string, unknown> | null {
  const clientTraceId = currentClientTraceId();
  return clientTraceId === undefined ? details : { ...details, clientTraceId };
}
