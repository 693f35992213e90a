// hubspot_get_company: one company of the caller's portal by its numeric id (checked before any request,
// V6), with the ids of its contacts and deals; trimmed fields, marked untrusted.
import { z } from 'zod';
import { tool } from '../../tools/tool.js';
import { companyId } from '../ids.js';
import { MAX_ASSOCIATED } from './get-contact.js';
import {
  deadlineOf,
  hubspotOf,
  isoOf,
  prop,
  READ_ANNOTATIONS,
  READ_GOVERNANCE,
  UNTRUSTED,
} from './shared.js';

const PROPERTIES = ['name', 'domain', 'country', 'industry', 'lifecyclestage', 'hubspot_owner_id'];

/** hubspot_get_company tool. */
export const hubspotGetCompany = tool({
  name: 'hubspot_get_company',
  title: 'Get a HubSpot company',
  description:
    'One company of your HubSpot portal by id (from hubspot_get_contact): name, domain, country, industry, ' +
    'lifecycle stage, owner id, and the ids of its contacts and deals (up to 50 each). Company fields are data ' +
    'written by other people.',
  input: z.object({ company_id: companyId.describe('The company id, e.g. 18000000001.') }).strict(),
  output: z.object({
    id: z.string(),
    name: z.string().optional(),
    domain: z.string().optional(),
    country: z.string().optional(),
    industry: z.string().optional(),
    lifecycleStage: z.string().optional(),
    ownerId: z.string().optional(),
    contactIds: z.array(z.string()),
    dealIds: z.array(z.string()),
    createdAt: z.string().optional(),
  }),
  governance: READ_GOVERNANCE,
  annotations: READ_ANNOTATIONS,
  handler: async (args, ctx) => {
    // Flow guard: the vendor object whose data this result holds (policy maps it to labels).
    ctx.source('object', 'hubspot.company');
    const r = await hubspotOf(ctx.connectors).get(
      ctx.identity,
      'companies',
      args.company_id,
      { properties: PROPERTIES, associations: ['contacts', 'deals'] },
      {
        signal: ctx.signal,
        deadline: deadlineOf(ctx),
        notFound: `no company ${args.company_id} in your HubSpot portal; get its id from hubspot_get_contact`,
      },
    );
    const p = r.properties;
    const fields: Record<string, string> = {};
    for (const [k, name] of [
      ['name', 'name'],
      ['domain', 'domain'],
      ['country', 'country'],
      ['industry', 'industry'],
      ['lifecycleStage', 'lifecyclestage'],
      ['ownerId', 'hubspot_owner_id'],
    ] as const) {
      const v = prop(p, name);
      if (v !== undefined) fields[k] = v.slice(0, 500);
    }
    const created = isoOf(r.createdAt);
    return {
      data: {
        id: r.id,
        ...fields,
        contactIds: (r.associations?.contacts ?? []).slice(0, MAX_ASSOCIATED),
        dealIds: (r.associations?.deals ?? []).slice(0, MAX_ASSOCIATED),
        ...(created ? { createdAt: created } : {}),
      },
      untrusted: UNTRUSTED,
    };
  },
});
