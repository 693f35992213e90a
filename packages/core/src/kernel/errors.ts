// Errors as a contract (the fastify FST_ERR_* model): every code a client, dashboard or program may
// match on is declared here once, with how it reaches the client. Never rename a code.
//
// Two catalogues:
// - FLEET_ERRORS: process and protocol errors, thrown as FleetError. Each has its HTTP status and the
//   JSON-RPC error code it is sent with; a JSON-RPC error carries the code in `error.data.code`.
// - CALL_ERRORS: why a tools/call answered with a refusal or an error result instead of running (or
//   after running): sent in the result's `_meta["io.mcp-fleet/error"].code` and kept in the audit
//   record's `details.errorCode`. A tool's own `ToolError(message, code)` codes travel the same way.

/** Process and protocol errors: HTTP status and JSON-RPC error code of each. */
export const FLEET_ERRORS = {
  /** The server's configuration (environment) is invalid: it does not start. */
  FLEET_ERR_CONFIG: { status: 500, rpc: -32603 },
  /** The policy file is invalid: refused at load (the previous policy stays). */
  FLEET_ERR_POLICY_INVALID: { status: 500, rpc: -32603 },
  /** A tool declaration is invalid: the server does not start. */
  FLEET_ERR_TOOL_DECLARATION: { status: 500, rpc: -32603 },
  /** No bearer token. */
  FLEET_ERR_AUTH_MISSING: { status: 401, rpc: -32001 },
  /** The bearer token is not valid (signature, issuer, audience, expiry...). */
  FLEET_ERR_AUTH_INVALID: { status: 401, rpc: -32001 },
  /** The token lacks a required scope. */
  FLEET_ERR_AUTH_SCOPE: { status: 403, rpc: -32001 },
  /** The Host header names no host this server answers for (DNS rebinding guard). */
  FLEET_ERR_HOST_REJECTED: { status: 403, rpc: -32000 },
  /** The Origin header names an origin this server does not accept. */
  FLEET_ERR_ORIGIN_REJECTED: { status: 403, rpc: -32000 },
  /** The audit store cannot take a record that must be durable. */
  FLEET_ERR_AUDIT_UNAVAILABLE: { status: 503, rpc: -32603 },
  /** The tool is unknown or not granted to this caller (identical answers for both). */
  FLEET_ERR_TOOL_NOT_AVAILABLE: { status: 200, rpc: -32602 },
  /** A call was cancelled (client gone, notifications/cancelled, call finished, parent ended). */
  FLEET_ERR_CANCELLED: { status: 499, rpc: -32800 },
  /** A call ran past its deadline. */
  FLEET_ERR_TIMEOUT: { status: 504, rpc: -32603 },
  /** A JSON-RPC request the host refuses before any tool runs (batch, nesting, a malformed message). */
  FLEET_ERR_INVALID_REQUEST: { status: 400, rpc: -32600 },
  /** The body is not JSON, or not a JSON-RPC message. */
  FLEET_ERR_PARSE_ERROR: { status: 400, rpc: -32700 },
  /** The JSON-RPC method is not one this server answers. */
  FLEET_ERR_METHOD_NOT_FOUND: { status: 200, rpc: -32601 },
  /** The method's params are malformed (a tool name that is no string, an incomplete 2026 envelope...). */
  FLEET_ERR_INVALID_PARAMS: { status: 400, rpc: -32602 },
  /** The routing headers (Mcp-Method, Mcp-Name, MCP-Protocol-Version) disagree with the body or are missing. */
  FLEET_ERR_HEADER_MISMATCH: { status: 400, rpc: -32020 },
  /** The request names a protocol version this server does not serve. */
  FLEET_ERR_UNSUPPORTED_PROTOCOL_VERSION: { status: 400, rpc: -32022 },
  /** The HTTP method is not served on this endpoint (GET/DELETE /mcp: the server is stateless). */
  FLEET_ERR_METHOD_NOT_ALLOWED: { status: 405, rpc: -32000 },
  /** The Accept header does not name both application/json and text/event-stream. */
  FLEET_ERR_NOT_ACCEPTABLE: { status: 406, rpc: -32000 },
  /** The body is larger than the server accepts. */
  FLEET_ERR_BODY_TOO_LARGE: { status: 413, rpc: -32000 },
  /** The Content-Type is not application/json. */
  FLEET_ERR_UNSUPPORTED_MEDIA_TYPE: { status: 415, rpc: -32000 },
  /** Something failed inside the server; the message names a reference to report (never internals). */
  FLEET_ERR_INTERNAL: { status: 500, rpc: -32603 },
} as const satisfies Record<string, { status: number; rpc: number }>;

/** Stable error codes. Clients and dashboards may match on these; never rename one. */
export type FleetErrorCode = keyof typeof FLEET_ERRORS;

/**
 * Why a tools/call answered with an error or refusal: `_meta["io.mcp-fleet/error"].code` and the
 * audit record's `details.errorCode`. `outcome` is the audit outcome the code goes with.
 */
export const CALL_ERRORS = {
  /** The arguments are malformed, too large/deep, or do not match the input schema. */
  invalid_arguments: { outcome: 'invalid' },
  /** The agent is suspended (a person's kill switch): every call is refused until it is resumed. */
  agent_suspended: { outcome: 'denied' },
  /** A policy constraint (dimension value) does not allow these arguments. */
  constraint_denied: { outcome: 'denied' },
  /** A rate limit refused the call; retry after `io.mcp-fleet/retryAfterMs`. */
  rate_limited: { outcome: 'rate_limited' },
  /** A budget (per session or window) is spent. */
  budget_exceeded: { outcome: 'budget_exceeded' },
  /** The call needs a human approval and has not run. */
  awaiting_approval: { outcome: 'awaiting_approval' },
  /** The approval id does not allow this call (denied, expired, used, other arguments...). */
  approval_refused: { outcome: 'approval_denied' },
  /** Too many approval requests of this agent are waiting. */
  too_many_pending: { outcome: 'denied' },
  /** The arguments are too large to show an approver in full. */
  arguments_too_large: { outcome: 'denied' },
  /** Approvals need the fleet database, which this server does not have. */
  approvals_unavailable: { outcome: 'error' },
  /** The idempotency key was used with other arguments. */
  idempotency_conflict: { outcome: 'invalid' },
  /** The first call with this idempotency key is still running. */
  idempotency_in_progress: { outcome: 'error' },
  /** The first call with this idempotency key never said how it ended. */
  idempotency_unknown: { outcome: 'error' },
  /** A governance store (the fleet database) failed: nothing was changed. */
  store_unavailable: { outcome: 'audit_unavailable' },
  /** The audit store is unavailable, and no mutation runs unaudited. */
  audit_unavailable: { outcome: 'audit_unavailable' },
  /** The flow policy refuses this call because of what the agent session read before (issue 17). */
  flow_denied: { outcome: 'denied' },
  /** A read ran, but its result is withheld: what the session read could not be recorded (flow store down). */
  flow_unavailable: { outcome: 'error' },
  /** The call ran past its deadline and was cancelled. */
  timeout: { outcome: 'timeout' },
  /** The client cancelled the call. */
  cancelled: { outcome: 'cancelled' },
  /** A mutation was still running when its cancel/timeout grace ran out: whether it took effect is unknown. */
  outcome_unknown: { outcome: 'unknown' },
  /** A tool failed with an error of its own that carried no code (`ToolError` default). */
  tool_error: { outcome: 'error' },
  /** Something failed inside the server; the result names a reference to report. */
  internal: { outcome: 'error' },
} as const satisfies Record<string, { outcome: string }>;

/** A code of {@link CALL_ERRORS}. */
export type CallErrorCode = keyof typeof CALL_ERRORS;

export { ERROR_META_KEY } from './meta-keys.js';

/** An error with a stable `code` and the HTTP status it maps to (the catalogue's, unless given). */
export class FleetError extends Error {
  readonly code: FleetErrorCode;
  readonly statusCode: number;

  constructor(code: FleetErrorCode, message: string, options: { statusCode?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'FleetError';
    this.code = code;
    this.statusCode = options.statusCode ?? FLEET_ERRORS[code].status;
  }
}

/**
 * A failure inside a tool that the model can act on. Its message is shown to the model verbatim,
 * so write it as advice ("table `x` not found; call list_tables"), never with secrets. Its `code`
 * reaches the result's `_meta` and the audit record.
 */
export class ToolError extends Error {
  readonly code: string;
  /** When the caller may retry (e.g. an upstream's Retry-After): sent as `_meta["io.mcp-fleet/retryAfterMs"]`. */
  readonly retryAfterMs: number | undefined;
  /**
   * The change may have reached the upstream, but running the tool again with the same idempotency
   * key is safe: the tool finds what the first attempt did there (an upstream de-duplicating on the
   * key, a lookup by it) instead of doing it twice. Core then gives the key back rather than storing
   * this failure for replay, so a retry with the same key settles the uncertainty.
   */
  readonly rerunSafe: boolean;
  /**
   * The change was sent and whether it took effect is unknown (a dropped connection or no answer after
   * the point of no return): the audit record's outcome is `unknown`, not `error`.
   */
  readonly outcomeUnknown: boolean;

  constructor(
    message: string,
    code: string = 'tool_error',
    opts: { retryAfterMs?: number; rerunSafe?: boolean; outcomeUnknown?: boolean } = {},
  ) {
    super(message);
    this.name = 'ToolError';
    this.code = code;
    this.rerunSafe = opts.rerunSafe === true;
    this.outcomeUnknown = opts.outcomeUnknown === true;
    const ms = opts.retryAfterMs;
    this.retryAfterMs = ms !== undefined && Number.isFinite(ms) && ms >= 0 ? Math.ceil(ms) : undefined;
  }
}
