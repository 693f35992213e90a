// salesforce_query: rows of an allow-listed object, selected by typed conditions (joined with AND);
// the query is built by soql.ts from the allow-list, never written by the model (V8, V9, V10).
import { z } from 'zod';
import { clampedLimit, tool } from '../../tools/tool.js';
import { SF_FIELDS } from '../objects.js';
import { buildQuery, MAX_CONDITIONS, MAX_IN_VALUES, MAX_LIMIT, OPS } from '../soql.js';
import {
  boundsOf,
  objectArg,
  READ,
  READ_HINTS,
  recordOut,
  salesforceOf,
  trimRecord,
  UNTRUSTED_NOTE,
} from './shared.js';

const scalar = z.union([z.string().max(1000), z.number(), z.boolean()]);
const fieldName = z.string().min(1).max(80).describe('A field name of the object, exactly as listed');

const condition = z
  .object({
    field: fieldName,
    op: z
      .enum(OPS)
      .describe(
        'eq, ne, lt, lte, gt, gte (numbers, dates, text), starts_with / contains (text), in (a list), is_null / not_null (no value)',
      ),
    value: z
      .union([scalar, z.array(scalar).max(MAX_IN_VALUES)])
      .optional()
      .describe(
        'Typed like the field: text, a number, true/false, a date YYYY-MM-DD, a date-time YYYY-MM-DDThh:mm:ssZ, an id; a list for `in`',
      ),
  })
  .strict();

const fieldList = Object.entries(SF_FIELDS)
  .map(([o, f]) => `${o}: ${Object.keys(f).join(', ')}`)
  .join('; ');

export const salesforceQuery = tool({
  name: 'salesforce_query',
  title: 'Query Salesforce records',
  description:
    "Finds records of your company's Salesforce org: pick an object, the fields to return and typed conditions " +
    `(all must hold). Objects and fields you may use — ${fieldList}. Long text fields (Description) can be returned ` +
    `but not filtered or sorted on. Returns at most \`limit\` rows (1-${MAX_LIMIT}, default 100; larger values are treated as ` +
    `${MAX_LIMIT}). Example: Account where Name starts_with "Juniper"; open tasks: Task where IsClosed eq false and ` +
    'WhatId eq <account id>. You never write SOQL. ' +
    UNTRUSTED_NOTE,
  input: z
    .object({
      object: objectArg,
      fields: z.array(fieldName).min(1).max(20).describe('Fields to return (Id is always included)'),
      where: z
        .array(condition)
        .max(MAX_CONDITIONS)
        .default([])
        .describe(`Up to ${MAX_CONDITIONS} conditions, all must hold`),
      order_by: z
        .object({ field: fieldName, direction: z.enum(['asc', 'desc']).default('asc') })
        .strict()
        .optional(),
      limit: clampedLimit(
        100,
        MAX_LIMIT,
        `Most rows to return (1-${MAX_LIMIT}, default 100; larger values are treated as ${MAX_LIMIT})`,
      ),
    })
    .strict(),
  output: z.object({
    object: z.string(),
    totalSize: z.number().int().describe('Rows that matched (at most the limit)'),
    records: z.array(recordOut),
  }),
  annotations: READ_HINTS,
  governance: READ,
  handler: async (args, ctx) => {
    // Flow guard: the vendor object whose data this result holds (policy maps it to labels).
    ctx.source('object', `salesforce.${args.object.toLowerCase()}`);
    const q = buildQuery({
      object: args.object,
      fields: args.fields,
      where: args.where,
      orderBy: args.order_by,
      limit: args.limit,
    });
    const res = await salesforceOf(ctx.connectors).query(ctx.identity, q, boundsOf(ctx));
    return {
      data: {
        object: q.object,
        totalSize: res.totalSize,
        records: res.records.map((r) => trimRecord(r, q.fields)),
      },
      untrusted: { source: 'salesforce' },
    };
  },
});
