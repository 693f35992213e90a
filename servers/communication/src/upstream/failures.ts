// The upstream failures of this server's systems (Slack, SMTP, Teams, Jira): core's UpstreamFailure,
// with the systems' human names in the ToolError the model sees.
import {
  upstreamToolError as coreUpstreamToolError,
  type ToolError,
  type UpstreamFailure,
} from '@mcp-fleet/core';

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
