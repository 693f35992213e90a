// salesforce_create_task: one Task on an Account or Opportunity (what_id) and/or a Contact (who_id),
// every id checked by format and key prefix; at most once per idempotency key, never retried after a
// 5xx or a timeout; the audit records the new Task's id.
import { z } from 'zod';
import { tool } from '../../tools/tool.js';
import { idOf } from '../ids.js';
import { PRIORITIES } from '../objects.js';
import { literal } from '../soql.js';
import { isCleanText } from '../text.js';
import { boundsOf, salesforceOf, WRITE } from './shared.js';

const line = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .refine((s) => s.trim() !== '' && isCleanText(s, false), 'one line of text');

export const salesforceCreateTask = tool({
  name: 'salesforce_create_task',
  title: 'Create a Salesforce task',
  description:
    'Creates an open Task in your org: a subject, optionally on an Account or Opportunity (what_id, 001…/006…) ' +
    'and for a Contact (who_id, 003…), with a due date, priority (High, Normal, Low) and description. ' +
    'Send an idempotency key: retrying with the same key creates one Task.',
  input: z
    .object({
      subject: line(255).describe('What to do, one line'),
      what_id: idOf(['Account', 'Opportunity'], 'an Account or Opportunity').optional(),
      who_id: idOf(['Contact'], 'a Contact').optional(),
      due_date: z
        .string()
        .regex(/^\d{4}-\d{2}-\d{2}$/)
        .refine((d) => {
          try {
            literal('due_date', { type: 'date' }, d);
            return true;
          } catch {
            return false;
          }
        }, 'a date YYYY-MM-DD')
        .optional(),
      priority: z.enum(PRIORITIES).default('Normal'),
      description: z
        .string()
        .max(32_000)
        .refine((s) => isCleanText(s, true), 'plain text')
        .optional(),
    })
    .strict(),
  output: z.object({ id: z.string().describe('The new Task id (00T…)') }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  governance: WRITE,
  toText: (d) => `Created Task ${d.id}.`,
  handler: async (args, ctx) => {
    const bounds = boundsOf(ctx);
    const fields: Record<string, string> = {
      Subject: args.subject,
      Status: 'Not Started',
      Priority: args.priority,
    };
    if (args.what_id) fields.WhatId = args.what_id;
    if (args.who_id) fields.WhoId = args.who_id;
    if (args.due_date) fields.ActivityDate = args.due_date;
    if (args.description) fields.Description = args.description;
    ctx.detail('taskOn', [args.what_id, args.who_id].filter(Boolean));
    const id = await salesforceOf(ctx.connectors).createTask(ctx.identity, fields, bounds, () =>
      ctx.commit(),
    );
    ctx.detail('taskId', id);
    return { data: { id } };
  },
});
