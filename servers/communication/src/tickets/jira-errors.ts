// Jira failures (jira.js error types, transport timeouts) classified into UpstreamFailure, with
// messages a model can act on: never the vendor's body, a URL or a credential.
import { isApiError, isNetworkError, isRateLimitError } from 'jira.js/core';
import { isUpstreamFailure, UpstreamFailure } from '../upstream/failures.js';
import { JiraTimeout } from './jira-transport.js';

/** Field names Jira may name in a 400's `errors` map, as shown to the model (anything else is dropped). */
const FIELD_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,59}$/;

/** The field names of a Jira 400 body's `errors` map (names only, never the messages). */
export function rejectedFields(body: unknown): string[] {
  const errors = (body as { errors?: unknown } | null)?.errors;
  if (errors === null || typeof errors !== 'object') return [];
  return Object.keys(errors)
    .filter((k) => FIELD_NAME.test(k))
    .slice(0, 10);
}

/**
 * The UpstreamFailure of a failed Jira request. `what` names the thing asked for in the model's
 * terms ("issue SUP-12", "project SUP"). An abort of the caller's own signal is returned as is
 * (the call was cancelled; it is not an upstream failure).
 */
export function classifyJiraError(err: unknown, what: string): unknown {
  if (isUpstreamFailure(err)) return err;
  if (err instanceof JiraTimeout)
    return new UpstreamFailure('tickets', 'timeout', `the request for ${what} timed out`);
  if (isNetworkError(err))
    return new UpstreamFailure('tickets', 'unavailable', 'Jira could not be reached', {
      cause: { code: err.code },
    });
  if (isApiError(err)) {
    const status = err.status;
    const cause = { status };
    if (status === 401 || status === 403)
      return new UpstreamFailure('tickets', 'auth', `Jira refused the server's account (HTTP ${status})`, {
        status,
        cause,
      });
    if (status === 404)
      return new UpstreamFailure(
        'tickets',
        'rejected',
        `${what} was not found (or the server's account cannot see it)`,
        {
          status,
          cause,
        },
      );
    if (isRateLimitError(err) || status === 429)
      return new UpstreamFailure('tickets', 'rate_limited', 'Jira is rate limiting requests', {
        status,
        retryAfterMs: isRateLimitError(err) ? err.retryAfterMs : undefined,
        cause,
      });
    if (status >= 500)
      return new UpstreamFailure('tickets', 'unavailable', `Jira failed (HTTP ${status})`, { status, cause });
    const fields = rejectedFields(err.body);
    return new UpstreamFailure(
      'tickets',
      'rejected',
      fields.length
        ? `Jira refused ${what}: invalid value for ${fields.join(', ')}`
        : `Jira refused ${what} (HTTP ${status})`,
      { status, cause },
    );
  }
  return err;
}
