// Salesforce failures, made safe: jsforce's errors carry the instance URL, the session id and the
// request (and its bodies quote whatever the org answered), so none of them is ever read as text.
// The transport classifies an HTTP error answer from its status, Salesforce's errorCode and field
// names only; anything else jsforce throws is classified from its errorCode or error class. No cause is
// kept (threat V16). An errorCode and field names are vendor-chosen text (attack B-F1: a connected-app
// client secret came back as an "errorCode"), so a message repeats an errorCode only when it is one of
// Salesforce's documented REST error codes listed here, and a field only when it is a field of our
// allow-list (objects.ts); anything else is dropped ("an error code this server does not know").
import { UpstreamFailure } from '@mcp-fleet/core';
import type { HttpRequest, HttpRequestOptions, HttpResponse } from 'jsforce';
import { Transport } from 'jsforce/lib/transport.js';
// Deep import: the package root's CommonJS re-export of StreamPromise is not visible to ESM importers.
import { StreamPromise } from 'jsforce/lib/util/promise.js';
import { SF_FIELDS } from './objects.js';

/** Salesforce's documented REST API / SOAP StatusCode error codes the tools can meet. */
export const SALESFORCE_ERROR_CODES: ReadonlySet<string> = new Set([
  'API_CURRENTLY_DISABLED',
  'API_DISABLED_FOR_ORG',
  'CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY',
  'DUPLICATES_DETECTED',
  'DUPLICATE_VALUE',
  'ENTITY_IS_DELETED',
  'ENTITY_IS_LOCKED',
  'FIELD_CUSTOM_VALIDATION_EXCEPTION',
  'FIELD_FILTER_VALIDATION_EXCEPTION',
  'FIELD_INTEGRITY_EXCEPTION',
  'INSUFFICIENT_ACCESS',
  'INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY',
  'INSUFFICIENT_ACCESS_OR_READONLY',
  'INVALID_AUTH_HEADER',
  'INVALID_CROSS_REFERENCE_KEY',
  'INVALID_FIELD',
  'INVALID_FIELD_FOR_INSERT_UPDATE',
  'INVALID_OPERATION_WITH_EXPIRED_PASSWORD',
  'INVALID_QUERY_FILTER_OPERATOR',
  'INVALID_SESSION_ID',
  'INVALID_TYPE',
  'JSON_PARSER_ERROR',
  'MALFORMED_ID',
  'MALFORMED_QUERY',
  'METHOD_NOT_ALLOWED',
  'NOT_FOUND',
  'QUERY_TIMEOUT',
  'REQUEST_LIMIT_EXCEEDED',
  'REQUEST_RUNNING_TOO_LONG',
  'REQUIRED_FIELD_MISSING',
  'SERVER_UNAVAILABLE',
  'SERVICE_UNAVAILABLE',
  'STRING_TOO_LONG',
  'TXN_SECURITY_NO_ACCESS',
  'UNABLE_TO_LOCK_ROW',
  'UNKNOWN_EXCEPTION',
]);

/** Every field name of our allow-list (a field Salesforce names in an error must be one of them). */
export const SALESFORCE_ERROR_FIELDS: ReadonlySet<string> = new Set(
  Object.values(SF_FIELDS).flatMap((fields) => Object.keys(fields)),
);

/** What a message says for an errorCode that is not on the list. */
const UNKNOWN_CODE = 'an error code this server does not know';

/** The errorCode when documented, or jsforce's own `ERROR_HTTP_<status>`; else undefined. */
function knownCode(code: unknown): string | undefined {
  if (typeof code !== 'string') return undefined;
  return SALESFORCE_ERROR_CODES.has(code) || /^ERROR_HTTP_[1-5]\d\d$/.test(code) ? code : undefined;
}

const AUTH = new Set([
  'INVALID_SESSION_ID',
  'INVALID_AUTH_HEADER',
  'INVALID_OPERATION_WITH_EXPIRED_PASSWORD',
]);
const MISSING = new Set(['NOT_FOUND', 'ENTITY_IS_DELETED', 'INVALID_CROSS_REFERENCE_KEY']);
const DOWN = new Set(['SERVER_UNAVAILABLE', 'UNKNOWN_EXCEPTION', 'SERVICE_UNAVAILABLE']);

/**
 * Salesforce's first errorCode and field names of an error body: the code when documented (`unknown`
 * when another string was sent), the fields of our allow-list only.
 */
function errorOf(body: unknown): { code?: string; unknown?: boolean; fields: string[] } {
  let parsed: unknown = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body);
    } catch {
      return { fields: [] };
    }
  }
  const first = (Array.isArray(parsed) ? parsed[0] : parsed) as
    | { errorCode?: unknown; fields?: unknown }
    | undefined;
  const code = knownCode(first?.errorCode);
  const fields = Array.isArray(first?.fields)
    ? [
        ...new Set(
          first.fields.filter((f): f is string => typeof f === 'string' && SALESFORCE_ERROR_FIELDS.has(f)),
        ),
      ].slice(0, 5)
    : [];
  return { code, unknown: code === undefined && first?.errorCode !== undefined, fields };
}

function retryAfterOf(value: string | undefined): number | undefined {
  return value && /^\d{1,5}$/.test(value.trim()) ? Number(value.trim()) * 1000 : undefined;
}

/** The failure of a Salesforce error answer (status ≥ 400), from its status, errorCode and field names. */
export function failureOfResponse(res: HttpResponse, read: boolean): UpstreamFailure {
  const status = res.statusCode;
  const { code, unknown, fields } = errorOf(res.body);
  const opts = { status, read };
  const detail = [
    `HTTP ${status}`,
    code ?? (unknown ? UNKNOWN_CODE : undefined),
    fields.length ? `field ${fields.join(', ')}` : undefined,
  ]
    .filter(Boolean)
    .join(', ');
  if (status === 429 || code === 'REQUEST_LIMIT_EXCEEDED')
    return new UpstreamFailure('salesforce', 'rate_limited', 'Salesforce API request limit reached', {
      ...opts,
      retryAfterMs: retryAfterOf(res.headers['retry-after']),
    });
  if (status === 401 || (code && AUTH.has(code)))
    return new UpstreamFailure(
      'salesforce',
      'auth',
      "Salesforce refused the org's session (INVALID_SESSION_ID)",
      opts,
    );
  if (status === 403)
    return new UpstreamFailure('salesforce', 'auth', `Salesforce refused access (${detail})`, opts);
  if (status === 404 || (code && MISSING.has(code)))
    return new UpstreamFailure(
      'salesforce',
      'not_found',
      'Salesforce found no such record in your org',
      opts,
    );
  if (status >= 500)
    return new UpstreamFailure('salesforce', 'unavailable', `Salesforce failed (${detail})`, opts);
  return new UpstreamFailure('salesforce', 'rejected', `Salesforce refused the request (${detail})`, opts);
}

/**
 * Classifies whatever jsforce (or the network) threw: a jsforce API error by its errorCode only, a
 * network failure or an abort by its class; never its message, data, URL or request.
 */
export function classifySalesforceError(err: unknown): UpstreamFailure {
  const e = (err ?? {}) as { errorCode?: unknown; name?: unknown; type?: unknown; code?: unknown };
  const code = knownCode(e.errorCode);
  if (code === 'REQUEST_LIMIT_EXCEEDED')
    return new UpstreamFailure('salesforce', 'rate_limited', 'Salesforce API request limit reached');
  if (code && AUTH.has(code))
    return new UpstreamFailure(
      'salesforce',
      'auth',
      "Salesforce refused the org's session (INVALID_SESSION_ID)",
    );
  if (code && MISSING.has(code))
    return new UpstreamFailure('salesforce', 'not_found', 'Salesforce found no such record in your org');
  if (code && (DOWN.has(code) || /^ERROR_HTTP_5\d\d$/.test(code)))
    return new UpstreamFailure('salesforce', 'unavailable', `Salesforce failed (${code})`);
  if (code) return new UpstreamFailure('salesforce', 'rejected', `Salesforce refused the request (${code})`);
  if (
    e.name === 'AbortError' ||
    e.name === 'TimeoutError' ||
    e.type === 'aborted' ||
    e.type === 'request-timeout'
  )
    return new UpstreamFailure('salesforce', 'timeout', 'Salesforce did not answer in time');
  // jsforce's API error of an errorCode not on the list (its name is the errorCode): never repeated.
  if (typeof e.errorCode === 'string')
    return new UpstreamFailure('salesforce', 'rejected', `Salesforce refused the request (${UNKNOWN_CODE})`);
  return new UpstreamFailure('salesforce', 'unavailable', 'Salesforce could not be reached');
}

/**
 * jsforce's HTTP transport, governed: its own retries off (vendorCall decides what is retried, and a
 * write never is after a 5xx), each request bounded by the per-vendor timeout, and every error answer
 * turned into a safe UpstreamFailure before jsforce can build an error around the body and URL.
 */
export class GovernedTransport extends Transport {
  constructor(private readonly timeoutMs: number) {
    super();
  }

  override httpRequest(req: HttpRequest, options: HttpRequestOptions = {}): StreamPromise<HttpResponse> {
    const inner = super.httpRequest(req, {
      ...options,
      timeout: this.timeoutMs,
      retry: { maxRetries: 0, methods: [], statusCodes: [], errorCodes: [] },
      followRedirect: false,
    });
    const read = (req.method ?? 'GET').toUpperCase() === 'GET';
    return StreamPromise.create(() => ({
      stream: inner.stream(),
      promise: Promise.resolve(inner).then(
        (res) => {
          if (res.statusCode >= 300) {
            if (res.statusCode < 400)
              throw new UpstreamFailure(
                'salesforce',
                'rejected',
                `Salesforce redirected the request (HTTP ${res.statusCode})`,
                {
                  status: res.statusCode,
                  read,
                },
              );
            throw failureOfResponse(res, read);
          }
          return res;
        },
        (err: unknown) => {
          throw classifySalesforceError(err);
        },
      ),
    }));
  }
}
