// create_ticket: opens one ticket in an allowed project with an allowed issue type and only the
// fields policy lets the role set; exactly once per request (a retry returns the first ticket).
import { z } from 'zod';
import { tickets } from '../dimensions.js';
import type { OutboundPlan, Planner } from '../outbound/plan.js';
import { tool } from '../tools/tool.js';
import { ticketIdempotencyKey } from './idempotency.js';
import { PROJECT_KEY } from './keys.js';
import { allow, type CreateAsk, checkCreate, checkProject, type TicketField } from './policy.js';
import { backendOf, capText, deadlineOf, oneLine, settleableWrite } from './shared.js';

const TIMEOUT_MS = 30_000;
/** Most characters of a summary (Jira's own limit). */
export const SUMMARY_MAX = 255;

const input = z
  .object({
    project: z
      .string()
      .regex(PROJECT_KEY, 'a project key such as SUP (uppercase, exactly as in Jira)')
      .describe('Project key, uppercase, e.g. SUP'),
    issue_type: oneLine(60).describe('Issue type name, exactly as allowed for your role, e.g. Task or Bug'),
    summary: oneLine(SUMMARY_MAX).describe('One-line title of the ticket (at most 255 characters)'),
    description: z.string().max(100_000).default('').describe('Plain text; stored exactly as written'),
    priority: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9 _-]{0,39}$/)
      .optional()
      .describe('Priority name, e.g. High (only if your role may set priority)'),
    labels: z
      .array(z.string().regex(/^[^\s,]{1,100}$/u, 'labels have no spaces or commas'))
      .min(1)
      .max(10)
      .optional()
      .describe('Labels (only if your role may set labels)'),
    components: z
      .array(oneLine(100))
      .min(1)
      .max(10)
      .optional()
      .describe('Component names of the project (only if your role may set components)'),
    due_date: z.iso.date().optional().describe('Due date YYYY-MM-DD (only if your role may set it)'),
  })
  .strict();

type Args = z.output<typeof input>;

/** What the call asks of policy. */
function askOf(a: Args): CreateAsk {
  const fields: TicketField[] = [];
  if (a.priority !== undefined) fields.push('priority');
  if (a.labels !== undefined) fields.push('labels');
  if (a.components !== undefined) fields.push('components');
  if (a.due_date !== undefined) fields.push('duedate');
  return { project: a.project, issueType: a.issue_type, fields };
}

/** The outbound plan of create_ticket: project `jira:<KEY>`, every text that leaves. */
export const planCreateTicket: Planner<Args> = async (args, ctx): Promise<OutboundPlan> => {
  const d = allow(ctx.constraints, (r) => checkCreate(r, askOf(args)));
  return {
    system: 'tickets',
    destinations: [`jira:${args.project}`],
    content: [
      { path: ['summary'], text: args.summary },
      { path: ['description'], text: args.description },
      ...(args.labels ?? []).map((text, i) => ({ path: ['labels', i], text })),
      ...(args.components ?? []).map((text, i) => ({ path: ['components', i], text })),
    ],
    onSecrets: d.onSecrets,
  };
};

const output = z.object({
  key: z.string(),
  project: z.string(),
  created: z.boolean().describe('False when an earlier attempt of this same request had already created it'),
});

/** create_ticket tool. */
export const createTicket = tool({
  name: 'create_ticket',
  title: 'Create a ticket',
  description:
    'Opens one Jira ticket in a project your role may use, with an allowed issue type (e.g. project SUP, type Task). ' +
    'Summary and description are plain text and stored exactly as written; priority, labels, components and due_date ' +
    'only if your role may set them. Retrying the same request returns the same ticket instead of a second one. ' +
    'Returns the ticket key (e.g. SUP-42); read it back with get_ticket.',
  input,
  output,
  governance: { readOnly: false, timeoutMs: TIMEOUT_MS, commits: true, openWorld: true },
  constraint: { dimension: tickets, check: (args, rule) => checkCreate(rule, askOf(args)) },
  toText: (d) =>
    d.created
      ? `Created ${d.key} in project ${d.project}.`
      : `${d.key} in project ${d.project} was already created by an earlier attempt of this same request; nothing new was created.`,
  handler: async (args, ctx) => {
    const deadline = deadlineOf(TIMEOUT_MS);
    const backend = backendOf(ctx.connectors);
    // Planned again here (defence in depth): the ticket goes only where the plan says.
    const plan = await planCreateTicket(args, ctx);
    capText('summary', args.summary, SUMMARY_MAX);
    capText('description', args.description, ctx.connectors.config.ticketMaxChars);
    const idempotencyKey = ticketIdempotencyKey(ctx.identity, ctx.idempotencyKey, 'create_ticket', args);
    ctx.detail('destinations', plan.destinations);
    const out = await settleableWrite(
      'ticket',
      ctx.idempotencyKey !== undefined,
      backend.settleMs,
      () => ctx.commit(),
      (commit) =>
        backend.createTicket(
          {
            project: args.project,
            issueType: args.issue_type,
            summary: args.summary,
            description: args.description,
            fields: {
              priority: args.priority,
              labels: args.labels,
              components: args.components,
              duedate: args.due_date,
            },
            idempotencyKey,
          },
          { signal: ctx.signal, commit, deadline },
        ),
    );
    // An earlier attempt's ticket is looked up in every project (it may have been moved since): it is
    // returned only when it is in a project the caller may use now, else refused without naming it.
    if (out.project !== args.project) {
      allow(ctx.constraints, (r) =>
        checkProject(r, out.project) === null
          ? null
          : 'An earlier attempt of this same request created a ticket that has since been moved to a project your role ' +
            'may not use, so it is not shown; nothing new was created.',
      );
      ctx.detail('destinations', [`jira:${out.project}`]);
    }
    ctx.detail('upstreamId', out.id);
    ctx.detail('upstreamCreated', out.created);
    return { data: { key: out.id, project: out.project, created: out.created } };
  },
});
