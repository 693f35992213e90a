// Stripe's errors as the billing tools repeat them: a short safe failure built from the status, a
// documented error code this server knows, and a parameter it sends — never Stripe's message (it may
// quote the key), `raw`, headers, the request id or the request-log URL (THREATS V16).
import { UpstreamFailure } from '@mcp-fleet/core';

/** Stripe's documented error codes a refund, a plan change or their reads can meet. */
export const STRIPE_ERROR_CODES: ReadonlySet<string> = new Set([
  'account_invalid',
  'amount_too_large',
  'amount_too_small',
  'api_key_expired',
  'charge_already_refunded',
  'charge_disputed',
  'idempotency_key_in_use',
  'lock_timeout',
  'parameter_invalid_empty',
  'parameter_invalid_integer',
  'parameter_invalid_string',
  'parameter_missing',
  'parameter_unknown',
  'rate_limit',
  'refund_disputed_payment',
  'resource_missing',
  'secret_key_required',
]);

/** The parameters this server sends (a `param` Stripe names must be one of them to be repeated). */
export const STRIPE_PARAMS: ReadonlySet<string> = new Set([
  'amount',
  'expand',
  'id',
  'items[0][id]',
  'items[0][price]',
  'metadata',
  'payment_intent',
  'proration_behavior',
  'reason',
]);

/** Stripe's error type names whose failure is an answer about the request (nothing was done). */
const knownCode = (code: unknown) =>
  typeof code === 'string' && STRIPE_ERROR_CODES.has(code) ? code : undefined;
const knownParam = (p: unknown) => (typeof p === 'string' && STRIPE_PARAMS.has(p) ? p : undefined);

/** Retry-After of an error's response headers (seconds), in ms. */
function retryAfterOf(headers: unknown): number | undefined {
  if (!headers || typeof headers !== 'object') return undefined;
  for (const [k, v] of Object.entries(headers as Record<string, unknown>)) {
    if (k.toLowerCase() !== 'retry-after') continue;
    const s = Array.isArray(v) ? v[0] : v;
    if (typeof s === 'string' && /^\d{1,5}(\.\d+)?$/.test(s.trim())) return Math.ceil(Number(s) * 1000);
  }
  return undefined;
}

/**
 * Classifies whatever the Stripe SDK threw into an UpstreamFailure (system `stripe`) with a safe
 * message. `subject` names what a not-found was about (`payment intent pi_…`). `read` marks a request
 * that changed nothing.
 */
export function classifyStripeError(err: unknown, read: boolean, subject?: string): UpstreamFailure {
  const e = (err ?? {}) as {
    type?: unknown;
    rawType?: unknown;
    statusCode?: unknown;
    code?: unknown;
    param?: unknown;
    headers?: unknown;
    message?: unknown;
    name?: unknown;
  };
  const type = typeof e.type === 'string' ? e.type : '';
  const status = typeof e.statusCode === 'number' ? e.statusCode : undefined;
  const code = knownCode(e.code);
  const codeText =
    code ?? (e.code !== undefined && e.code !== null ? 'an error code this server does not know' : undefined);
  const param = knownParam(e.param);
  const opts = { status, read };
  if (status === 429 || type === 'StripeRateLimitError' || code === 'rate_limit')
    return new UpstreamFailure('stripe', 'rate_limited', 'Stripe rate-limited the request', {
      ...opts,
      retryAfterMs: retryAfterOf(e.headers),
    });
  if (type === 'StripeIdempotencyError' || e.rawType === 'idempotency_error')
    return new UpstreamFailure(
      'stripe',
      'rejected',
      `Stripe refused the request (HTTP ${status ?? 400}, idempotency_error): its idempotency key was already used for different parameters`,
      opts,
    );
  if (code === 'resource_missing' || status === 404)
    return new UpstreamFailure(
      'stripe',
      'not_found',
      subject && (param === undefined || param === 'id')
        ? `no ${subject} on the company's Stripe account`
        : `Stripe found nothing${param ? ` for ${param}` : ''} on the company's account`,
      opts,
    );
  if (status === 401 || type === 'StripeAuthenticationError')
    return new UpstreamFailure('stripe', 'auth', 'Stripe refused the write key (HTTP 401)', opts);
  if (status === 403 || type === 'StripePermissionError')
    return new UpstreamFailure(
      'stripe',
      'auth',
      `Stripe refused access (HTTP 403${codeText ? `, ${codeText}` : ''}): the write key lacks a permission`,
      opts,
    );
  if (type === 'StripeConnectionError') {
    const m = typeof e.message === 'string' ? e.message : '';
    return /timeout/i.test(m)
      ? new UpstreamFailure('stripe', 'timeout', 'Stripe did not answer in time', opts)
      : new UpstreamFailure('stripe', 'unavailable', 'Stripe could not be reached', opts);
  }
  if ((status !== undefined && status >= 500) || type === 'StripeAPIError')
    return new UpstreamFailure(
      'stripe',
      'unavailable',
      status ? `Stripe failed (HTTP ${status})` : 'Stripe answered something unreadable',
      opts,
    );
  if (status !== undefined && status >= 400)
    return new UpstreamFailure(
      'stripe',
      'rejected',
      `Stripe refused the request (HTTP ${status}${codeText ? `, ${codeText}` : ''}${param ? `, parameter ${param}` : ''})`,
      opts,
    );
  if (e.name === 'TimeoutError')
    return new UpstreamFailure('stripe', 'timeout', 'Stripe did not answer in time', opts);
  return new UpstreamFailure('stripe', 'unavailable', 'Stripe could not be reached', opts);
}
