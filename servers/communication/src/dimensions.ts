// The communication server's policy constraint dimensions, keyed "communication.<name>" in grants:
// where a role may send (Slack channels, email domains, Teams channels, ticket projects) and how.
// A grant that covers a tool declaring a dimension but gives it no value does not cover the tool.
import { defineConstraint } from '@mcp-fleet/core';
import { z } from 'zod';

/** What happens when outbound content holds a secret: refused, or held for a human approval. */
export const onSecrets = z.enum(['refuse', 'approval']).default('refuse');

/** `communication.slack`: the channels a role may list, read and post to. */
export const slack = defineConstraint({
  name: 'slack',
  description:
    'Slack channels the role may list, read and post to ("#name" or channel id; names are resolved to ids before the check): ' +
    '{ channels: ["#support-escalations"], broadcast: false, secrets: refuse|approval, maxChars: 4000 }',
  schema: z
    .object({
      channels: z.array(z.string().regex(/^(#[a-z0-9][a-z0-9._-]{0,79}|[CGD][A-Z0-9]{2,20})$/)).min(1),
      /** Broadcast and user-group mentions go out as written (default: escaped). */
      broadcast: z.boolean().default(false),
      secrets: onSecrets,
      maxChars: z.number().int().positive().optional(),
    })
    .strict(),
});

/** `communication.email`: the recipient domains a role may send email to. */
export const email = defineConstraint({
  name: 'email',
  description:
    'recipient domains the role may email, checked on the parsed address of every recipient (to and cc): ' +
    '{ domains: ["example.com", "*.example.com"], maxRecipients: 20, maxBytes: 100000, secrets: refuse|approval }',
  schema: z
    .object({
      domains: z.array(z.string().regex(/^(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)+$/)).min(1),
      maxRecipients: z.number().int().positive().optional(),
      maxBytes: z.number().int().positive().optional(),
      secrets: onSecrets,
    })
    .strict(),
});

/** `communication.teams`: the configured Teams channel names a role may post to. */
export const teams = defineConstraint({
  name: 'teams',
  description:
    'Teams channel names (as configured in TEAMS_CHANNELS) the role may post to: { channels: ["ops-alerts"] }',
  schema: z
    .object({
      channels: z.array(z.string().regex(/^[a-z0-9][a-z0-9._-]{0,79}$/)).min(1),
      secrets: onSecrets,
      maxBytes: z.number().int().positive().optional(),
    })
    .strict(),
});

/** `communication.tickets`: the ticket projects, issue types and fields a role may use. */
export const tickets = defineConstraint({
  name: 'tickets',
  description:
    'ticket projects the role may read and write, the issue types it may create and the extra fields it may set ' +
    '(summary and description always): { projects: ["SUP"], issueTypes: ["Task", "Bug"], fields: ["priority", "labels"] }',
  schema: z
    .object({
      projects: z.array(z.string().regex(/^[A-Z][A-Z0-9_]{1,19}$/)).min(1),
      issueTypes: z.array(z.string().min(1).max(60)).default([]),
      fields: z.array(z.enum(['priority', 'labels', 'components', 'duedate'])).default([]),
      secrets: onSecrets,
    })
    .strict(),
});

/** Parsed values of each dimension. */
export type SlackRule = z.output<typeof slack.schema>;
/** A parsed `communication.email` value. */
export type EmailRule = z.output<typeof email.schema>;
/** A parsed `communication.teams` value. */
export type TeamsRule = z.output<typeof teams.schema>;
/** A parsed `communication.tickets` value. */
export type TicketsRule = z.output<typeof tickets.schema>;
