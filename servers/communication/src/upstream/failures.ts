// The upstream failures of this server's systems (Slack, SMTP, Teams, Jira): core's UpstreamFailure,
// with the systems' human names in the ToolError the model sees.
import { upstreamToolError as coreUpstreamToolError, ToolError, type UpstreamFailure } from '@mcp-fleet/core';

export {
  isUpstreamFailure,
  parseRetryAfter,
  UpstreamFailure,
  type UpstreamFailureKind as FailureKind,
} from '@mcp-fleet/core';

/** The upstream systems of this server. */
export type System = 'slack' | 'email' | 'teams' | 'tickets';

/** Human names of the systems, for messages. */
const systemName: Record<System, string> = {
  slack: 'Slack',
  email: 'the mail server',
  teams: 'Teams',
  tickets: 'Jira',
};

/** The ToolError for an upstream failure: code `upstream_<kind>`, the safe message, retryAfterMs carried. */
export const upstreamToolError = (f: UpstreamFailure): ToolError => coreUpstreamToolError(f, systemName);

/** What a post whose outcome is unknown tells the model to do, per chat system. */
export interface UncertainPost {
  /** What cannot be asked by idempotency key, e.g. 'Slack' or 'A Teams webhook'. */
  unaskable: string;
  /** How to learn whether the message arrived, e.g. 'Read the channel (slack_read_channel) to see whether it arrived'. */
  check: string;
}

/**
 * The answer to a chat post (Slack, Teams) whose outcome is unknown, or undefined when the system
 * clearly took nothing (it answered a 4xx or 429, the breaker paused the call, or no connection was
 * made). No answer in time, a dropped connection after the request went out, or a 5xx (or Slack's own
 * fatal/internal error): the message may be in the channel. Audited `unknown`; not rerunSafe (neither
 * system has an idempotency key, so a rerun could post twice): the same key replays this answer.
 */
export function uncertainPostError(
  f: UpstreamFailure,
  system: 'slack' | 'teams',
  how: UncertainPost,
): ToolError | undefined {
  if (f.notSent) return undefined;
  const noAnswer =
    f.kind === 'timeout' || (f.kind === 'unavailable' && (f.status === undefined || f.status >= 500));
  if (!noAnswer) return undefined;
  return new ToolError(
    `${systemName[system]}: ${f.message.trim().replace(/\.$/, '')}; the message may or may not have been posted. ` +
      `${how.unaskable} cannot be asked by idempotency key, and retrying with the same idempotency_key only repeats ` +
      `this answer. ${how.check}; post again with a new idempotency_key only if it did not.`,
    `upstream_${f.kind}`,
    { outcomeUnknown: true },
  );
}
