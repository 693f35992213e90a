// The only Stripe error words a failure message may repeat (attack B-F1, threats V15/V16). Stripe's
// `code` and `param` arrive in an error body that anything on the path can shape, and the old check was
// only their shape (`^[a-z][a-z0-9_]*$`), which a lowercase key or account id passes. A code is repeated
// only when it is one of Stripe's documented error codes listed here (those a read of customers, invoices,
// payments and subscriptions can meet), a param only when it is one this server sends; anything else is
// dropped ("an error code this server does not know").

/** Stripe's documented API error codes (https://docs.stripe.com/error-codes) a read can meet. */
export const STRIPE_ERROR_CODES: ReadonlySet<string> = new Set([
  'account_invalid',
  'api_key_expired',
  'country_unsupported',
  'idempotency_key_in_use',
  'livemode_mismatch',
  'lock_timeout',
  'missing',
  'not_allowed_on_standard_account',
  'parameter_invalid_empty',
  'parameter_invalid_integer',
  'parameter_invalid_string_blank',
  'parameter_invalid_string_empty',
  'parameter_missing',
  'parameter_unknown',
  'parameters_exclusive',
  'platform_account_required',
  'platform_api_key_expired',
  'rate_limit',
  'resource_missing',
  'secret_key_required',
  'testmode_charges_only',
  'tls_version_unsupported',
  'url_invalid',
]);

/** The request parameters the Stripe connector sends (a `param` Stripe names must be one of them). */
export const STRIPE_PARAMS: ReadonlySet<string> = new Set([
  'customer',
  'expand',
  'id',
  'limit',
  'query',
  'starting_after',
  'status',
]);

/** Stripe's code when documented, else undefined. */
export const knownStripeCode = (code: unknown): string | undefined =>
  typeof code === 'string' && STRIPE_ERROR_CODES.has(code) ? code : undefined;

/** Stripe's param when this server sends it, else undefined. */
export const knownStripeParam = (param: unknown): string | undefined =>
  typeof param === 'string' && STRIPE_PARAMS.has(param) ? param : undefined;
