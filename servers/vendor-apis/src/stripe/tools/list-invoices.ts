// stripe_list_invoices: one customer's invoices, newest first, a page at a time.
import { z } from 'zod';
import { tool } from '../../tools/tool.js';
import { customerId, invoiceId } from '../ids.js';
import { boundsOf, invoiceOut, limitArg, READ, READ_HINTS, stripeOf, trimInvoice } from './shared.js';

export const stripeListInvoices = tool({
  name: 'stripe_list_invoices',
  title: 'List a customer’s Stripe invoices',
  description:
    "Lists a customer's invoices in your company's Stripe account, newest first: number, status (draft, " +
    'open, paid, uncollectible, void), amounts due/paid/remaining in minor units (cents) with the ' +
    'currency, due and paid dates. Filter by status (e.g. open for unpaid ones). Returns up to `limit` ' +
    '(at most 100; larger values are treated as 100); when hasMore is true, call again with ' +
    'starting_after set to nextStartingAfter. Get the customer id from stripe_search_customers.',
  input: z
    .object({
      customer_id: customerId,
      status: z
        .enum(['draft', 'open', 'paid', 'uncollectible', 'void'])
        .optional()
        .describe('Only invoices with this status'),
      limit: limitArg(10, 'invoices'),
      starting_after: invoiceId
        .optional()
        .describe('The last invoice id of the previous page (nextStartingAfter)'),
    })
    .strict(),
  output: z.object({
    invoices: z.array(invoiceOut),
    hasMore: z.boolean(),
    nextStartingAfter: z.string().nullable().describe('Pass as starting_after for the next page'),
  }),
  annotations: READ_HINTS,
  governance: READ,
  handler: async (args, ctx) => {
    // Flow guard: the vendor object whose data this result holds (policy maps it to labels).
    ctx.source('object', 'stripe.invoice');
    const r = await stripeOf(ctx.connectors).listInvoices(
      ctx.identity,
      {
        customer: args.customer_id,
        status: args.status,
        limit: args.limit,
        startingAfter: args.starting_after,
      },
      boundsOf(ctx),
    );
    const invoices = r.data.slice(0, args.limit).map(trimInvoice);
    return {
      data: {
        invoices,
        hasMore: r.has_more,
        nextStartingAfter: r.has_more ? (invoices.at(-1)?.id ?? null) : null,
      },
      untrusted: { source: 'stripe' },
    };
  },
});
