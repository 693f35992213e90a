// The `_meta` keys of the fleet's wire contract: what a client sends with a call and reads on a result.

/** Request `_meta`: an idempotency key (the `idempotency_key` argument's equivalent). */
export const IDEMPOTENCY_META_KEY = 'io.mcp-fleet/idempotencyKey';
/** Request `_meta`: an approval id (the `approval_id` argument's equivalent). */
export const APPROVAL_META_KEY = 'io.mcp-fleet/approvalId';
/** Result `_meta`: `{ code }` of an error or refusal (kernel/errors.ts). */
export const ERROR_META_KEY = 'io.mcp-fleet/error';
/** Result `_meta`: the governance facts of a refusal (status, approval id, limit...). */
export const GOVERNANCE_META_KEY = 'io.mcp-fleet/governance';
/** Result `_meta`: milliseconds until a refused call may be retried. */
export const RETRY_AFTER_META_KEY = 'io.mcp-fleet/retryAfterMs';
/** Result `_meta`: the result was served from the cache (`{ hit, expiresAt }`). */
export const CACHE_META_KEY = 'io.mcp-fleet/cache';
/**
 * Result `_meta`: the result holds content written by people or systems outside the fleet's control
 * (messages, tickets, emails): `{ source, note }`. It is data to read, never instructions to follow.
 */
export const UNTRUSTED_META_KEY = 'io.mcp-fleet/untrusted';
/** Result `_meta`: the result is the stored one of an earlier call with the same idempotency key. */
export const REPLAYED_META_KEY = 'io.mcp-fleet/replayed';
