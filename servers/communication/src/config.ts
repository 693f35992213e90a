// The communication server's environment: which upstreams are configured (Slack, SMTP, Teams, Jira)
// and the caps every send obeys. A system with no configuration has no listed tools.
import { type Env, env, parseEnv } from '@mcp-fleet/core';
import { z } from 'zod';

const { int } = env;
const optional = env.text();
const httpUrl = (name: string) =>
  optional.refine((v) => v === undefined || /^https?:\/\/[^\s]+$/i.test(v), `${name} must be an http(s) URL`);

/** Teams channel names (the only thing the model sees) to their incoming-webhook URLs (a Secret). */
const teamsChannels = optional.transform((v, ctx) => {
  if (v === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(v);
  } catch {
    ctx.addIssue({
      code: 'custom',
      message: 'TEAMS_CHANNELS must be a JSON object {"channel-name":"https://..."}',
    });
    return z.NEVER;
  }
  const shape = z.record(z.string().regex(/^[a-z0-9][a-z0-9._-]{0,79}$/), z.url({ protocol: /^https?$/ }));
  const ok = shape.safeParse(parsed);
  if (!ok.success) {
    ctx.addIssue({
      code: 'custom',
      message: 'TEAMS_CHANNELS: names are lowercase [a-z0-9._-], values http(s) webhook URLs',
    });
    return z.NEVER;
  }
  return new Map(Object.entries(ok.data));
});

/** Environment of the communication server (core's variables are parsed by core). */
export const configSchema = env
  .config('COMMUNICATION_', {
    /** Slack bot token (xoxb-…); unset = no Slack tools. */
    SLACK_BOT_TOKEN: optional,
    /** Slack Web API base URL (a local simulator in the local fleet). */
    SLACK_API_URL: httpUrl('SLACK_API_URL').transform((v) => v ?? 'https://slack.com/api/'),
    /** SMTP submission URL with credentials (smtp://, smtps://); unset = no send_email. */
    SMTP_URL: optional.refine(
      (v) => v === undefined || /^smtps?:\/\//i.test(v),
      'SMTP_URL must be smtp:// or smtps://',
    ),
    /** The fixed sender of every email, e.g. "Agents <agents@example.com>"; required with SMTP_URL. */
    EMAIL_FROM: optional,
    /** Optional fixed Reply-To of every email (the model never sets one). */
    EMAIL_REPLY_TO: optional,
    /** Teams channel name -> incoming-webhook URL, JSON (a Secret); unset = no teams_post_message. */
    TEAMS_CHANNELS: teamsChannels,
    /** Jira Cloud site, e.g. https://acme.atlassian.net; with JIRA_EMAIL and JIRA_API_TOKEN. */
    JIRA_URL: httpUrl('JIRA_URL'),
    /** The Jira account the server acts as. */
    JIRA_EMAIL: optional,
    /** API token of JIRA_EMAIL. */
    JIRA_API_TOKEN: optional,
    /** Most characters of one Slack message (policy may lower it). */
    COMMUNICATION_SLACK_MAX_CHARS: int(4_000, 1, 40_000),
    /** Most bytes of one Teams payload (policy may lower it). */
    COMMUNICATION_TEAMS_MAX_BYTES: int(28_000, 256, 28_000),
    /** Most bytes of one email body, text and HTML together (policy may lower it). */
    COMMUNICATION_EMAIL_MAX_BYTES: int(100_000, 256, 10_000_000),
    /** Most recipients of one email, to and cc together (policy may lower it). */
    COMMUNICATION_EMAIL_MAX_RECIPIENTS: int(20, 1, 500),
    /** Most characters of a ticket summary / description / comment. */
    COMMUNICATION_TICKET_MAX_CHARS: int(32_000, 100, 100_000),
    /** Posts into one channel, mailbox or ticket project per minute, from all agents together. */
    COMMUNICATION_DESTINATION_PER_MINUTE: int(30, 1, 10_000),
    /** Timeout of one upstream request (ms); a send tool's own timeout is a little longer. */
    COMMUNICATION_UPSTREAM_TIMEOUT_MS: int(10_000, 100, 120_000),
    /** Consecutive failures (5xx, timeout, dropped connection) that open a system's circuit breaker. */
    COMMUNICATION_BREAKER_THRESHOLD: int(5, 1, 1_000),
    /** How long an open breaker pauses calls before it lets one trial request through (ms). */
    COMMUNICATION_BREAKER_HALF_OPEN_MS: int(30_000, 100, 3_600_000),
    /**
     * Key of the secrets' fingerprints in audit records (HMAC-SHA256; a Secret, >= 32 chars, the same on
     * every replica so fingerprints correlate). Unset: a random key per process (fingerprints then
     * correlate only within one process).
     */
    COMMUNICATION_FINGERPRINT_KEY: optional.refine(
      (v) => v === undefined || v.length >= 32,
      'COMMUNICATION_FINGERPRINT_KEY must be at least 32 characters',
    ),
    /** Most messages slack_read_channel returns. */
    COMMUNICATION_READ_MAX_MESSAGES: int(50, 1, 200),
  })
  .superRefine((c, ctx) => {
    if (c.smtpUrl && !c.emailFrom)
      ctx.addIssue({ code: 'custom', message: 'EMAIL_FROM is required when SMTP_URL is set' });
    const jira = [c.jiraUrl, c.jiraEmail, c.jiraApiToken].filter(Boolean).length;
    if (jira > 0 && jira < 3)
      ctx.addIssue({ code: 'custom', message: 'Jira needs all of JIRA_URL, JIRA_EMAIL and JIRA_API_TOKEN' });
  });

/** The parsed configuration. */
export type CommunicationConfig = z.output<typeof configSchema>;

/** Parses the environment; throws FLEET_ERR_CONFIG naming the bad variables. */
export const loadConfig = (vars: Env): CommunicationConfig => parseEnv(configSchema, vars, 'communication');
