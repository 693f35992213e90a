// The one error type of the fleet: a stable string code, an HTTP status, an optional cause.

/** Stable error codes. Clients and dashboards may match on these; never rename one. */
export type FleetErrorCode =
  | 'FLEET_ERR_CONFIG'
  | 'FLEET_ERR_POLICY_INVALID'
  | 'FLEET_ERR_TOOL_DECLARATION'
  | 'FLEET_ERR_AUTH_MISSING'
  | 'FLEET_ERR_AUTH_INVALID'
  | 'FLEET_ERR_AUTH_SCOPE'
  | 'FLEET_ERR_HOST_REJECTED'
  | 'FLEET_ERR_ORIGIN_REJECTED'
  | 'FLEET_ERR_PROTOCOL_VERSION'
  | 'FLEET_ERR_AUDIT_UNAVAILABLE'
  | 'FLEET_ERR_TOOL'
  | 'FLEET_ERR_TIMEOUT'
  | 'FLEET_ERR_INTERNAL';

/** An error with a stable `code` and the HTTP status it maps to. */
export class FleetError extends Error {
  readonly code: FleetErrorCode;
  readonly statusCode: number;

  constructor(code: FleetErrorCode, message: string, options: { statusCode?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'FleetError';
    this.code = code;
    this.statusCode = options.statusCode ?? 500;
  }
}

/**
 * A failure inside a tool that the model can act on. Its message is shown to the model verbatim,
 * so write it as advice ("table `x` not found; call list_tables"), never with secrets.
 */
export class ToolError extends Error {
  readonly code: string;

  constructor(message: string, code = 'tool_error') {
    super(message);
    this.name = 'ToolError';
    this.code = code;
  }
}
