// Slack's failures, classified: WebClient errors (platform, HTTP, rate-limit, request) into the
// UpstreamFailure kinds every tool answers with, with messages safe for a model (no token, URL or body).
import {
  ErrorCode,
  type WebAPIHTTPError,
  type WebAPIPlatformError,
  type WebAPIRateLimitedError,
  type WebAPIRequestError,
} from '@slack/web-api';
import { UpstreamFailure } from '../upstream/failures.js';

/** Platform errors that mean the token is not (or no longer) good. */
const AUTH = new Set([
  'invalid_auth',
  'not_authed',
  'token_revoked',
  'token_expired',
  'account_inactive',
  'missing_scope',
  'no_permission',
  'org_login_required',
  'ekm_access_denied',
  'team_access_not_granted',
  'not_allowed_token_type',
]);
/** Socket errors before a request could be sent. */
const NOT_CONNECTED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
/** Platform errors that mean Slack itself failed. */
const UNAVAILABLE = new Set(['fatal_error', 'internal_error', 'service_unavailable', 'request_timeout']);
/** Platform errors a model can act on, in words. */
const REJECTED: Record<string, string> = {
  channel_not_found: 'the channel was not found',
  not_in_channel: 'the bot is not a member of that channel; ask someone to invite it',
  is_archived: 'the channel is archived',
  msg_too_long: 'the message is too long',
  no_text: 'the message is empty',
  thread_not_found: 'thread_ts names no message of that channel',
  restricted_action: 'the workspace does not let the bot post there',
  user_not_found: 'the user was not found',
  cannot_dm_bot: 'bots cannot be messaged directly',
};

/** Classifies any error of a WebClient call into an UpstreamFailure (safe message, no token, no body). */
export function classifySlackError(err: unknown, timeoutMs: number): UpstreamFailure {
  const code = (err as { code?: string } | undefined)?.code;
  if (code === ErrorCode.PlatformError) {
    const e = (err as WebAPIPlatformError).data.error;
    // Slack answered (HTTP 200, ok:false): it says what it did not do. Only its own failures are unclear.
    if (AUTH.has(e))
      return new UpstreamFailure('slack', 'auth', `Slack refused the bot token (${e})`, {
        cause: err,
        notSent: true,
      });
    if (e === 'ratelimited' || e === 'rate_limited')
      return new UpstreamFailure('slack', 'rate_limited', 'Slack rate-limited the request', {
        cause: err,
        notSent: true,
      });
    if (UNAVAILABLE.has(e))
      return new UpstreamFailure('slack', 'unavailable', `Slack failed (${e})`, { cause: err });
    const what = REJECTED[e] ?? `Slack answered ${/^[a-z_]{1,60}$/.test(e) ? e : 'an error'}`;
    return new UpstreamFailure('slack', 'rejected', what, { cause: err, notSent: true });
  }
  if (code === ErrorCode.RateLimitedError) {
    const s = (err as WebAPIRateLimitedError).retryAfter;
    return new UpstreamFailure('slack', 'rate_limited', 'Slack rate-limited the request', {
      retryAfterMs: Number.isFinite(s) ? s * 1000 : undefined,
      status: 429,
      cause: err,
      // A 429 processed nothing: the idempotency key is given back, so "retry after N s" can post.
      notSent: true,
    });
  }
  if (code === ErrorCode.HTTPError) {
    const status = (err as WebAPIHTTPError).statusCode;
    if (status >= 500)
      return new UpstreamFailure('slack', 'unavailable', `Slack answered HTTP ${status}`, {
        status,
        cause: err,
      });
    if (status === 401 || status === 403)
      return new UpstreamFailure('slack', 'auth', `Slack answered HTTP ${status}`, {
        status,
        cause: err,
        notSent: true,
      });
    return new UpstreamFailure('slack', 'rejected', `Slack answered HTTP ${status}`, {
      status,
      cause: err,
      notSent: status >= 400,
    });
  }
  const original = code === ErrorCode.RequestError ? (err as WebAPIRequestError).original : err;
  // No connection was made (refused, no such host): nothing reached Slack.
  const socketCode = (original as { cause?: { code?: unknown } } | undefined)?.cause?.code;
  if (typeof socketCode === 'string' && NOT_CONNECTED.has(socketCode))
    return new UpstreamFailure('slack', 'unavailable', 'Slack could not be reached', {
      cause: err,
      notSent: true,
    });
  const name = (original as Error | undefined)?.name;
  if (name === 'TimeoutError')
    return new UpstreamFailure('slack', 'timeout', `Slack did not answer within ${timeoutMs} ms`, {
      cause: err,
    });
  return new UpstreamFailure('slack', 'unavailable', 'Slack could not be reached', { cause: err });
}
