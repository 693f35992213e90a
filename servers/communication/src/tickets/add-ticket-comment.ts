// add_ticket_comment: adds one plain-text comment to a ticket of an allowed project, judged both by
// the key's project (before any request) and by the project the ticket is really in; exactly once.
import { ToolError } from '@mcp-fleet/core';
import { z } from 'zod';
import { tickets } from '../dimensions.js';
import type { OutboundPlan, Planner } from '../outbound/plan.js';
import { tool } from '../tools/tool.js';
import { ticketIdempotencyKey } from './idempotency.js';
import { projectOfIssueKey } from './keys.js';
import { allow, checkIssueKey, checkProject } from './policy.js';
import { backendOf, capText, deadlineOf, issueKeyInput, settleableWrite } from './shared.js';

const TIMEOUT_MS = 30_000;

const input = z
  .object({
    issue_key: issueKeyInput,
    body: z
      .string()
      .min(1)
      .max(100_000)
      .refine((s) => s.trim() !== '', 'must not be blank')
      .describe('The comment, plain text; stored exactly as written'),
  })
  .strict();

type Args = z.output<typeof input>;

/** The outbound plan of add_ticket_comment: `jira:<project of the key>` and the comment text. */
export const planAddTicketComment: Planner<Args> = async (args, ctx): Promise<OutboundPlan> => {
  const d = allow(ctx.constraints, (r) => checkIssueKey(r, args.issue_key));
  return {
    system: 'tickets',
    destinations: [`jira:${projectOfIssueKey(args.issue_key)}`],
    content: [{ path: ['body'], text: args.body }],
    onSecrets: d.onSecrets,
  };
};

const output = z.object({
  key: z.string().describe('The ticket the comment is on'),
  commentId: z.string(),
  created: z.boolean().describe('False when an earlier attempt of this same request had already added it'),
});

/** add_ticket_comment tool. */
export const addTicketComment = tool({
  name: 'add_ticket_comment',
  title: 'Comment on a ticket',
  description:
    'Adds a plain-text comment to a Jira ticket in a project your role may use (e.g. SUP-12). The text is stored exactly ' +
    'as written. Retrying the same request does not add a second comment.',
  input,
  output,
  governance: { readOnly: false, timeoutMs: TIMEOUT_MS, commits: true, openWorld: true },
  constraint: { dimension: tickets, check: (args, rule) => checkIssueKey(rule, args.issue_key) },
  toText: (d) =>
    d.created
      ? `Added comment ${d.commentId} to ${d.key}.`
      : `Comment ${d.commentId} on ${d.key} was already added by an earlier attempt of this same request; nothing new was added.`,
  handler: async (args, ctx) => {
    const deadline = deadlineOf(TIMEOUT_MS);
    const backend = backendOf(ctx.connectors);
    await planAddTicketComment(args, ctx);
    capText('body', args.body, ctx.connectors.config.ticketMaxChars);
    const where = await backend.locateTicket(args.issue_key, { signal: ctx.signal });
    if (!where)
      throw new ToolError(
        `Ticket ${args.issue_key} was not found (or the server's account cannot see it). Nothing was written.`,
        'not_found',
      );
    // A moved ticket still answers to its old key: what counts is the project it is in now.
    allow(ctx.constraints, (r) =>
      checkProject(r, where.project) === null
        ? null
        : `Ticket ${args.issue_key} is not in a project your role may use.`,
    );
    ctx.detail('destinations', [`jira:${where.project}`]);
    const idempotencyKey = ticketIdempotencyKey(ctx.identity, ctx.idempotencyKey, 'add_ticket_comment', args);
    const out = await settleableWrite(
      'comment',
      ctx.idempotencyKey !== undefined,
      backend.settleMs,
      () => ctx.commit(),
      (commit) =>
        backend.addComment(where, args.body, idempotencyKey, { signal: ctx.signal, commit, deadline }),
    );
    ctx.detail('upstreamId', `${where.key}/comment/${out.id}`);
    ctx.detail('upstreamCreated', out.created);
    return { data: { key: where.key, commentId: out.id, created: out.created } };
  },
});
