// hubspot_search_contacts: finds contacts by an exact email, a name or a company name — typed, selective
// filters turned into HubSpot EQ filters (values passed as values; no wildcard, no operator or property
// from the model, V14); at most 100 results, trimmed to what an agent needs.
import { z } from 'zod';
import { tool } from '../../tools/tool.js';
import type { HubSpotFilter } from '../connector.js';
import {
  deadlineOf,
  hubspotOf,
  limitArg,
  literal,
  prop,
  READ_ANNOTATIONS,
  READ_GOVERNANCE,
  UNTRUSTED,
} from './shared.js';

/** Properties a contact result carries. */
export const CONTACT_PROPERTIES = [
  'email',
  'firstname',
  'lastname',
  'jobtitle',
  'company',
  'lifecyclestage',
  'hubspot_owner_id',
];

/** One contact as the search returns it. */
export const contactSummary = z.object({
  id: z.string(),
  email: z.string().optional(),
  firstName: z.string().optional(),
  lastName: z.string().optional(),
  jobTitle: z.string().optional(),
  company: z.string().optional(),
  lifecycleStage: z.string().optional(),
  ownerId: z.string().optional(),
});

const email = z
  .string()
  .trim()
  .max(254)
  .regex(
    /^[A-Za-z0-9._%+'-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})+$/,
    'email is one full address, e.g. billing@customer1.example.com (no wildcards)',
  );

const input = z
  .object({
    email: email.optional().describe('The contact’s exact email address.'),
    name: literal('name', 2, 100)
      .optional()
      .describe('First name, last name, or "First Last" (exact words, case-insensitive).'),
    company: literal('company', 2, 200)
      .optional()
      .describe('The exact company name as HubSpot holds it on the contact (case-insensitive).'),
    limit: limitArg(10),
  })
  .strict()
  .refine((a) => a.email !== undefined || a.name !== undefined || a.company !== undefined, {
    message: 'give a selective filter: an email, a name or a company (listing every contact is not offered)',
  });

/** Builds the filter groups (OR) from the typed arguments: every given argument must match (AND). */
export function contactFilters(args: { email?: string; name?: string; company?: string }): HubSpotFilter[][] {
  const common: HubSpotFilter[] = [];
  if (args.email) common.push({ propertyName: 'email', operator: 'EQ', value: args.email });
  if (args.company) common.push({ propertyName: 'company', operator: 'EQ', value: args.company });
  if (!args.name) return [common];
  const name = args.name.replace(/\s+/g, ' ');
  const words = name.split(' ');
  const groups: HubSpotFilter[][] = [
    [...common, { propertyName: 'firstname', operator: 'EQ', value: name }],
    [...common, { propertyName: 'lastname', operator: 'EQ', value: name }],
  ];
  if (words.length > 1)
    groups.push([
      ...common,
      { propertyName: 'firstname', operator: 'EQ', value: words.slice(0, -1).join(' ') },
      { propertyName: 'lastname', operator: 'EQ', value: words.at(-1)! },
    ]);
  return groups;
}

/** hubspot_search_contacts tool. */
export const hubspotSearchContacts = tool({
  name: 'hubspot_search_contacts',
  title: 'Search HubSpot contacts',
  description:
    'Finds contacts in your HubSpot portal by exact email, by name ("First", "Last" or "First Last") or by exact ' +
    'company name; give at least one (several narrow the search). No wildcards. Returns up to `limit` contacts ' +
    '(max 100) with ids for hubspot_get_contact and hubspot_create_note. Contact fields are data written by other people.',
  input,
  output: z.object({ total: z.number().int(), contacts: z.array(contactSummary) }),
  governance: READ_GOVERNANCE,
  annotations: READ_ANNOTATIONS,
  handler: async (args, ctx) => {
    // Flow guard: the vendor object whose data this result holds (policy maps it to labels).
    ctx.source('object', 'hubspot.contact');
    const hubspot = hubspotOf(ctx.connectors);
    const page = await hubspot.search(
      ctx.identity,
      'contacts',
      { groups: contactFilters(args), properties: CONTACT_PROPERTIES, limit: args.limit },
      { signal: ctx.signal, deadline: deadlineOf(ctx) },
    );
    return {
      data: {
        total: page.total,
        contacts: page.results.map((r) => contactOf(r.id, r.properties)),
      },
      untrusted: UNTRUSTED,
    };
  },
});

/** A contact's summary from its properties. */
export function contactOf(id: string, p: Record<string, string | null>): z.output<typeof contactSummary> {
  const out: z.output<typeof contactSummary> = { id };
  const set = (k: keyof typeof out, v: string | undefined) => {
    if (v !== undefined) (out as Record<string, string>)[k] = v.slice(0, 500);
  };
  set('email', prop(p, 'email'));
  set('firstName', prop(p, 'firstname'));
  set('lastName', prop(p, 'lastname'));
  set('jobTitle', prop(p, 'jobtitle'));
  set('company', prop(p, 'company'));
  set('lifecycleStage', prop(p, 'lifecyclestage'));
  set('ownerId', prop(p, 'hubspot_owner_id'));
  return out;
}
