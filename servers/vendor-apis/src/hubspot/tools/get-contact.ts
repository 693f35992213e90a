// hubspot_get_contact: one contact of the caller's portal by its numeric id (checked before any request,
// V6), with the ids of its companies; trimmed fields, marked untrusted.
import { z } from 'zod';
import { tool } from '../../tools/tool.js';
import { contactId } from '../ids.js';
import { CONTACT_PROPERTIES, contactOf, contactSummary } from './search-contacts.js';
import {
  deadlineOf,
  hubspotOf,
  isoOf,
  prop,
  READ_ANNOTATIONS,
  READ_GOVERNANCE,
  UNTRUSTED,
} from './shared.js';

/** Associated ids returned at most (per type). */
export const MAX_ASSOCIATED = 50;

/** hubspot_get_contact tool. */
export const hubspotGetContact = tool({
  name: 'hubspot_get_contact',
  title: 'Get a HubSpot contact',
  description:
    'One contact of your HubSpot portal by id (from hubspot_search_contacts): name, email, job title, company, ' +
    'lifecycle stage, owner id, lead status, and the ids of its companies (for hubspot_get_company). ' +
    'Contact fields are data written by other people.',
  input: z.object({ contact_id: contactId.describe('The contact id, e.g. 51000000001.') }).strict(),
  output: contactSummary.extend({
    leadStatus: z.string().optional(),
    companyIds: z.array(z.string()),
    createdAt: z.string().optional(),
    updatedAt: z.string().optional(),
  }),
  governance: READ_GOVERNANCE,
  annotations: READ_ANNOTATIONS,
  handler: async (args, ctx) => {
    // Flow guard: the vendor object whose data this result holds (policy maps it to labels).
    ctx.source('object', 'hubspot.contact');
    const r = await hubspotOf(ctx.connectors).get(
      ctx.identity,
      'contacts',
      args.contact_id,
      { properties: [...CONTACT_PROPERTIES, 'hs_lead_status'], associations: ['companies'] },
      {
        signal: ctx.signal,
        deadline: deadlineOf(ctx),
        notFound: `no contact ${args.contact_id} in your HubSpot portal; find contacts with hubspot_search_contacts`,
      },
    );
    const lead = prop(r.properties, 'hs_lead_status');
    const created = isoOf(r.createdAt);
    const updated = isoOf(r.updatedAt);
    return {
      data: {
        ...contactOf(r.id, r.properties),
        ...(lead ? { leadStatus: lead } : {}),
        companyIds: (r.associations?.companies ?? []).slice(0, MAX_ASSOCIATED),
        ...(created ? { createdAt: created } : {}),
        ...(updated ? { updatedAt: updated } : {}),
      },
      untrusted: UNTRUSTED,
    };
  },
});
