// salesforce_get_record: one record of an allow-listed object by id; the id's format and key prefix
// must be the object's (no path smuggling, no reading a User through an Account path: V6, V9).
import { ToolError } from '@mcp-fleet/core';
import { z } from 'zod';
import { tool } from '../../tools/tool.js';
import { isIdOf, KEY_PREFIX, salesforceId } from '../ids.js';
import { SF_FIELDS } from '../objects.js';
import { requireField } from '../soql.js';
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

export const salesforceGetRecord = tool({
  name: 'salesforce_get_record',
  title: 'Get a Salesforce record',
  description:
    'Gets one Account (001…), Contact (003…), Opportunity (006…) or Task (00T…) of your org by id, with the ' +
    'allow-listed fields (all of them unless `fields` names some; see salesforce_query for the list). Find ids ' +
    'with salesforce_query. A record of another org is reported as not found. ' +
    UNTRUSTED_NOTE,
  input: z
    .object({
      object: objectArg,
      id: salesforceId,
      fields: z
        .array(z.string().min(1).max(80))
        .min(1)
        .max(20)
        .optional()
        .describe('Fields to return (default: all allow-listed)'),
    })
    .strict(),
  output: z.object({ object: z.string(), record: recordOut }),
  annotations: READ_HINTS,
  governance: READ,
  handler: async (args, ctx) => {
    // Flow guard: the vendor object whose data this result holds (policy maps it to labels).
    ctx.source('object', `salesforce.${args.object.toLowerCase()}`);
    if (!isIdOf(args.id, [args.object]))
      throw new ToolError(
        `${args.id} is not an ${args.object} id (${args.object} ids start with ${KEY_PREFIX[args.object]})`,
        'invalid_arguments',
      );
    const fields = args.fields
      ? ['Id', ...args.fields.filter((f) => f !== 'Id')].filter((f, i, a) => a.indexOf(f) === i)
      : Object.keys(SF_FIELDS[args.object]);
    for (const f of fields) requireField(args.object, f);
    const rec = await salesforceOf(ctx.connectors).retrieve(
      ctx.identity,
      args.object,
      args.id,
      fields,
      boundsOf(ctx),
    );
    return {
      data: { object: args.object, record: trimRecord(rec, fields) },
      untrusted: { source: 'salesforce' },
    };
  },
});
