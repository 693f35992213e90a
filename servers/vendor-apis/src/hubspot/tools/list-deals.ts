// hubspot_list_deals: deals of the caller's portal in one pipeline stage and/or of one owner — a
// selective filter is required (no "every deal" listing, V14); at most 100, trimmed, marked untrusted.
import { z } from 'zod';
import { tool } from '../../tools/tool.js';
import type { HubSpotFilter } from '../connector.js';
import { ownerId } from '../ids.js';
import {
  deadlineOf,
  hubspotOf,
  limitArg,
  prop,
  READ_ANNOTATIONS,
  READ_GOVERNANCE,
  UNTRUSTED,
} from './shared.js';

/** The stages of HubSpot's default sales pipeline (internal values). */
export const DEAL_STAGES = [
  'appointmentscheduled',
  'qualifiedtobuy',
  'presentationscheduled',
  'decisionmakerboughtin',
  'contractsent',
  'closedwon',
  'closedlost',
] as const;

const PROPERTIES = ['dealname', 'amount', 'dealstage', 'pipeline', 'closedate', 'hubspot_owner_id'];

const input = z
  .object({
    stage: z.enum(DEAL_STAGES).optional().describe('A stage of the default sales pipeline.'),
    owner_id: ownerId.optional().describe('The owner (HubSpot user) id, as on a contact or company.'),
    limit: limitArg(20),
  })
  .strict()
  .refine((a) => a.stage !== undefined || a.owner_id !== undefined, {
    message: 'give a stage or an owner_id (listing every deal is not offered)',
  });

/** hubspot_list_deals tool. */
export const hubspotListDeals = tool({
  name: 'hubspot_list_deals',
  title: 'List HubSpot deals',
  description:
    'Deals of your HubSpot portal in one stage of the default sales pipeline and/or owned by one owner (give at ' +
    'least one), largest amount first: name, amount, stage, close date, owner id. Up to `limit` (max 100). ' +
    'Deal names are data written by other people.',
  input,
  output: z.object({
    total: z.number().int(),
    deals: z.array(
      z.object({
        id: z.string(),
        name: z.string().optional(),
        amount: z.number().optional(),
        stage: z.string().optional(),
        pipeline: z.string().optional(),
        closeDate: z.string().optional(),
        ownerId: z.string().optional(),
      }),
    ),
  }),
  governance: READ_GOVERNANCE,
  annotations: READ_ANNOTATIONS,
  handler: async (args, ctx) => {
    // Flow guard: the vendor object whose data this result holds (policy maps it to labels).
    ctx.source('object', 'hubspot.deal');
    const filters: HubSpotFilter[] = [];
    if (args.stage) filters.push({ propertyName: 'dealstage', operator: 'EQ', value: args.stage });
    if (args.owner_id)
      filters.push({ propertyName: 'hubspot_owner_id', operator: 'EQ', value: args.owner_id });
    const page = await hubspotOf(ctx.connectors).search(
      ctx.identity,
      'deals',
      {
        groups: [filters],
        properties: PROPERTIES,
        limit: args.limit,
        sort: { propertyName: 'amount', direction: 'DESCENDING' },
      },
      { signal: ctx.signal, deadline: deadlineOf(ctx) },
    );
    return {
      data: {
        total: page.total,
        deals: page.results.map((r) => {
          const p = r.properties;
          const amount = Number(prop(p, 'amount'));
          const out: Record<string, unknown> = { id: r.id };
          const name = prop(p, 'dealname');
          if (name) out.name = name.slice(0, 500);
          if (prop(p, 'amount') !== undefined && Number.isFinite(amount)) out.amount = amount;
          for (const [k, n] of [
            ['stage', 'dealstage'],
            ['pipeline', 'pipeline'],
            ['closeDate', 'closedate'],
            ['ownerId', 'hubspot_owner_id'],
          ] as const) {
            const v = prop(p, n);
            if (v !== undefined) out[k] = v.slice(0, 100);
          }
          return out as { id: string };
        }),
      },
      untrusted: UNTRUSTED,
    };
  },
});
