// salesforce_update_record: changes allow-listed fields of one record — only those SALESFORCE_UPDATE_FIELDS
// names and the allow-list lets be written at all (never ownership, ids or system fields), each value
// typed (picklists, lengths) and checked before any request; at most once per idempotency key, never
// retried after a 5xx or a timeout; besides the arguments (which core audits, masked), the record id
// and the names of the fields changed are facts of its audit record.
import { ToolError } from '@mcp-fleet/core';
import { z } from 'zod';
import type { VendorApisConfig } from '../../config.js';
import { tool } from '../../tools/tool.js';
import { isIdOf, KEY_PREFIX, type SfObject, salesforceId } from '../ids.js';
import { fieldSpec, type SfFieldSpec } from '../objects.js';
import { isCleanText } from '../text.js';
import { boundsOf, objectArg, salesforceOf, WRITE } from './shared.js';

const bad = (m: string) => new ToolError(m, 'invalid_arguments');

/** The fields of `object` this configuration lets the tool write (configured and writable by the allow-list). */
export function writableFields(
  config: Pick<VendorApisConfig, 'salesforceUpdateFields'>,
  object: SfObject,
): string[] {
  return config.salesforceUpdateFields
    .filter((of) => of.startsWith(`${object}.`))
    .map((of) => of.slice(object.length + 1))
    .filter((f) => fieldSpec(object, f)?.writable === true);
}

/** Checks one value against its field: picklist values, text length, clean text. */
function checkValue(field: string, spec: SfFieldSpec, v: string | null): string | null {
  if (v === null) return null;
  if (spec.picklist && !spec.picklist.includes(v))
    throw bad(`${field} must be one of ${spec.picklist.join(', ')}`);
  if (spec.maxLength !== undefined && v.length > spec.maxLength)
    throw bad(`${field} is at most ${spec.maxLength} characters`);
  if (!isCleanText(v, spec.type === 'text'))
    throw bad(`${field} must be plain text${spec.type === 'text' ? '' : ' on one line'}`);
  return v;
}

export const salesforceUpdateRecord = tool({
  name: 'salesforce_update_record',
  title: 'Update a Salesforce record',
  description:
    'Changes fields of one Account, Contact or Opportunity of your org by id. Only the fields the server allows ' +
    'may be changed (by default Account.Description, Account.Rating (Hot, Warm or Cold), Contact.Title, ' +
    'Contact.Description, Opportunity.NextStep, Opportunity.Description); anything else is refused before ' +
    'Salesforce is called. Pass null to clear a field. Send an idempotency key: retrying with the same key ' +
    'changes the record once.',
  input: z
    .object({
      object: objectArg,
      id: salesforceId,
      fields: z
        .record(z.string().min(1).max(80), z.union([z.string().max(32_000), z.null()]))
        .describe('Field name → new value (text; null clears it)'),
    })
    .strict(),
  output: z.object({ object: z.string(), id: z.string(), updated: z.array(z.string()) }),
  annotations: { readOnlyHint: false, destructiveHint: false, openWorldHint: true },
  governance: WRITE,
  toText: (d) => `Updated ${d.updated.join(', ')} on ${d.object} ${d.id}.`,
  handler: async (args, ctx) => {
    const bounds = boundsOf(ctx);
    if (!isIdOf(args.id, [args.object]))
      throw bad(
        `${args.id} is not an ${args.object} id (${args.object} ids start with ${KEY_PREFIX[args.object]})`,
      );
    const names = Object.keys(args.fields);
    if (names.length === 0 || names.length > 10) throw bad('give 1 to 10 fields to change');
    const allowed = writableFields(ctx.connectors.config, args.object);
    const body: Record<string, string | null> = {};
    for (const name of names) {
      const spec = fieldSpec(args.object, name);
      if (!spec || !allowed.includes(name))
        throw bad(
          allowed.length
            ? `${args.object}.${name} may not be changed; fields you may change on ${args.object}: ${allowed.join(', ')}`
            : `no field of ${args.object} may be changed on this server`,
        );
      body[name] = checkValue(name, spec, args.fields[name] as string | null);
    }
    ctx.detail('recordId', args.id);
    ctx.detail('fieldsChanged', names);
    await salesforceOf(ctx.connectors).update(ctx.identity, args.object, args.id, body, bounds, () =>
      ctx.commit(),
    );
    return { data: { object: args.object, id: args.id, updated: names } };
  },
});
