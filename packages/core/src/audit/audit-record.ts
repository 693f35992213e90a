// The audit record: one per call, its own schema (not a log line), with secrets redacted from arguments.

/** How a call ended. Bounded set: also a metric label. */
export type AuditOutcome =
  | 'started'
  | 'ok'
  | 'error'
  | 'denied'
  | 'invalid'
  | 'timeout'
  | 'cancelled'
  /** A mutation still running when the grace period after its cancel/timeout ran out. */
  | 'unknown'
  | 'rate_limited'
  | 'budget_exceeded'
  | 'cached'
  | 'replayed'
  | 'awaiting_approval'
  | 'approval_denied'
  | 'audit_unavailable';

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
}

const SECRET_KEY =
  /pass(word|phrase)?|secret|token|api[-_]?key|authori[sz]ation|cookie|credential|private[-_]?key|session[-_]?key/i;
const MAX_STRING = 2_000;
const MAX_DEPTH = 6;
const MAX_KEY = 200;

/** Copies tool arguments with secret-looking keys redacted and long strings cut. */
export function redactArguments(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') {
    const cut = value.length > MAX_STRING ? `${value.slice(0, MAX_STRING)}…[${value.length} chars]` : value;
    return auditSafe(cut);
  }
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH) return '[nested]';
  if (Array.isArray(value)) return value.slice(0, 100).map((v) => redactArguments(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    // Keys are the client's too: cut like values, so no argument can make a record grow unbounded.
    const key = auditSafe(k.length > MAX_KEY ? `${k.slice(0, MAX_KEY)}…[${k.length} chars]` : k);
    out[key] = SECRET_KEY.test(k) ? '[redacted]' : redactArguments(v, depth + 1);
  }
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
