// The only HubSpot error words a failure message may repeat (attack B-F1, threats V15/V16). HubSpot's
// `category` / `errorType` arrive in an error body that anything on the path can shape, and the old
// check was only their shape (upper case and `_`), which an upper-case secret passes; its correlationId
// pattern (hex and `-`) let the UUID part of a `pat-…` token through. A category is repeated only when it
// is one of HubSpot's documented error categories listed here; anything else is dropped, and the
// correlationId never reaches a message (a model has no use for it).

/** HubSpot's documented error categories (and the rate limiter's errorType) the CRM v3 APIs answer. */
export const HUBSPOT_CATEGORIES: ReadonlySet<string> = new Set([
  'BAD_REQUEST',
  'CONFLICT',
  'EXPIRED_AUTHENTICATION',
  'INVALID_AUTHENTICATION',
  'INVALID_PARAMS',
  'MISSING_SCOPES',
  'OBJECT_ALREADY_EXISTS',
  'OBJECT_NOT_FOUND',
  'RATE_LIMIT',
  'RATE_LIMITS',
  'VALIDATION_ERROR',
]);

/** The category when documented, else undefined. */
export const knownHubSpotCategory = (category: unknown): string | undefined =>
  typeof category === 'string' && HUBSPOT_CATEGORIES.has(category) ? category : undefined;

/** Network failure codes Node's http and undici set, which a message may name. */
export const NETWORK_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EPIPE',
  'UND_ERR_ABORTED',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_SOCKET',
]);
