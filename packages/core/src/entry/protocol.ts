// `@mcp-fleet/core/protocol`: the wire contract a client programs against — protocol revisions, the
// reserved arguments and `_meta` keys, and the error catalogue (codes in `_meta` and `error.data`).
export type { AuditOutcome, CallToolResult, ToolCallRequest } from '../kernel/call.js';
export {
  CALL_ERRORS,
  type CallErrorCode,
  FLEET_ERRORS,
  type FleetErrorCode,
} from '../kernel/errors.js';
export {
  APPROVAL_META_KEY,
  CACHE_META_KEY,
  ERROR_META_KEY,
  GOVERNANCE_META_KEY,
  IDEMPOTENCY_META_KEY,
  REPLAYED_META_KEY,
  RETRY_AFTER_META_KEY,
  UNTRUSTED_META_KEY,
} from '../kernel/meta-keys.js';
export {
  LEGACY_PROTOCOL_VERSIONS,
  MODERN_PROTOCOL_VERSION,
  SERVED_PROTOCOL_VERSIONS,
} from '../protocol/mcp-host.js';
export { APPROVAL_ARG, IDEMPOTENCY_ARG } from '../tools/reserved-listing.js';
