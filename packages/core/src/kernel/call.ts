// The shapes every layer of a call shares: the request, the MCP result, the outcome a call is audited
// with and what a governance step answers. A leaf: it imports nothing but kernel types, so stores and
// steps can name a result without depending on the pipeline that produces it.
import type { CallCancellation } from './cancellation.js';
import type { Identity } from './identity.js';

/** How a tools/call ended, as its audit record says. */
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

/** A tools/call as the pipeline sees it. */
export interface ToolCallRequest {
  identity: Identity;
  name: string;
  arguments: unknown;
  /** Per-HTTP-request id, the server's own (unique), also in the audit record. */
  requestId: string;
  /** The client's `x-request-id`, if it sent one: audit detail only (clients choose it, so it collides). */
  clientRequestId?: string | undefined;
  /** The JSON-RPC id the client used (audit detail only). */
  rpcId: string | number | null;
  protocolVersion: string | null;
  /** Cancelled when the client goes away or cancels (the host's; the pipeline makes one otherwise). */
  cancellation?: CallCancellation;
  /** The request's `_meta` (may carry `io.mcp-fleet/idempotencyKey`, `io.mcp-fleet/approvalId`). */
  meta?: Record<string, unknown> | undefined;
  /** Set on a call a tool handler made through `ctx.callTool`: its parent, and where its outcome goes. */
  nested?: { parentCallId: string; outcome?: AuditOutcome };
}

/** An MCP CallToolResult. */
export interface CallToolResult {
  content: { type: 'text'; text: string }[];
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
  [key: string]: unknown;
}

/** How the handler's run ended, when it ran (what the steps around it need to finish their half). */
export interface HandlerRun {
  /** The handler said its result is incomplete (or it failed): never cached. */
  partial: boolean;
  /** The handler passed its point of no return (`ctx.commit()`). */
  committed: boolean;
  /** Still running when the grace period after its cancel/timeout ran out (outcome `unknown`). */
  stillRunning: boolean;
  /** It failed with a ToolError saying a rerun with the same idempotency key is safe (`rerunSafe`). */
  rerunSafe?: boolean;
}

/** What a governance step (or the handler) answers: the call ends with this outcome and result. */
export interface StepAnswer {
  outcome: AuditOutcome;
  result: CallToolResult;
  /** Set when the handler ran. Absent: a step answered the call and nothing ran. */
  ran?: HandlerRun;
}

/** A dependency /readyz reports on. A failing critical check makes the server not ready (503). */
export interface ReadinessCheck {
  name: string;
  critical: boolean;
  check: () => Promise<void>;
  /**
   * Cheap and local (no network: e.g. a circuit breaker's state): also evaluated on every /metrics
   * scrape and exported as `mcp_readiness_check_ok{check}` (1 ok, 0 failing), so alerts see it.
   */
  onScrape?: boolean;
  /**
   * A circuit breaker's state, exported on every /metrics scrape as `mcp_breaker_state{upstream}`
   * (0 closed, 1 half-open or due a trial, 2 open). Set by `breakerCheck`.
   */
  breaker?: { upstream: string; state: () => 0 | 1 | 2 };
}
