// What can go wrong with an upstream (Slack, SMTP, Teams, Jira), classified by each connector, and
// the ToolError the model sees for it: a code it can act on, a safe message, and when to retry.
import { ToolError } from '@mcp-fleet/core';

/** The upstream systems of this server. */
export type System = 'slack' | 'email' | 'teams' | 'tickets';

/** The classes of upstream failure; each becomes the ToolError code `upstream_<kind>`. */
export type FailureKind = 'unavailable' | 'timeout' | 'rate_limited' | 'auth' | 'rejected';

/** Human names of the systems, for messages. */
const systemName: Record<System, string> = {
  slack: 'Slack',
  email: 'the mail server',
  teams: 'Teams',
  tickets: 'Jira',
};

/** What the caller should do next, per kind (appended to the connector's message). */
const nextStep: Record<FailureKind, string> = {
  unavailable: 'it is unavailable right now; try again later',
  timeout: 'it did not answer in time; the send may or may not have happened, check before retrying',
  rate_limited: 'it asked us to slow down',
  auth: "the server's credentials were refused; an operator must fix the configuration, retrying will not help",
  rejected: 'it refused the request; change the arguments as the message says',
};

/**
 * An upstream failure, classified by the connector that saw it. `message` is safe for a model:
 * no URL with credentials, no token, no raw vendor body. `cause` stays in the process (logs), never in results.
 */
export class UpstreamFailure extends Error {
  readonly system: System;
  readonly kind: FailureKind;
  readonly retryAfterMs: number | undefined;
  readonly status: number | undefined;

  constructor(
    system: System,
    kind: FailureKind,
    message: string,
    opts: { retryAfterMs?: number; status?: number; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'UpstreamFailure';
    this.system = system;
    this.kind = kind;
    const ms = opts.retryAfterMs;
    this.retryAfterMs = ms !== undefined && Number.isFinite(ms) && ms >= 0 ? Math.ceil(ms) : undefined;
    this.status = opts.status;
  }
}

/** True when `e` is an UpstreamFailure (also across module copies). */
export const isUpstreamFailure = (e: unknown): e is UpstreamFailure =>
  e instanceof UpstreamFailure ||
  (e instanceof Error && e.name === 'UpstreamFailure' && 'kind' in e && 'system' in e);

/** Parses an HTTP Retry-After header (seconds or HTTP date) into milliseconds; undefined when absent or bad. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (value === null || value === undefined || value.trim() === '') return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.ceil(Number(v) * 1000);
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** The ToolError for an upstream failure: code `upstream_<kind>`, the safe message, retryAfterMs carried. */
export function upstreamToolError(f: UpstreamFailure): ToolError {
  const who = systemName[f.system] ?? 'the upstream';
  let message = `${who}: ${f.message.trim()}`;
  if (!/[.!?]$/.test(message)) message += '.';
  message += ` (${nextStep[f.kind]}`;
  if (f.retryAfterMs !== undefined)
    message += `; retry after ${Math.max(1, Math.ceil(f.retryAfterMs / 1000))} s`;
  message += ')';
  return new ToolError(message, `upstream_${f.kind}`, { retryAfterMs: f.retryAfterMs });
}
