// stripe_list_payments: one customer's payments (payment intents), newest first, a page at a time.
import { z } from 'zod';
import { tool } from '../../tools/tool.js';
import { customerId, paymentIntentId } from '../ids.js';
import { boundsOf, limitArg, paymentOut, READ, READ_HINTS, stripeOf, trimPayment } from './shared.js';

export const stripeListPayments = tool({
  name: 'stripe_list_payments',
  title: 'List a customer’s Stripe payments',
  description:
    "Lists a customer's payments (payment intents, pi_…) in your company's Stripe account, newest first: " +
    'amount and amount received in minor units (cents) with the currency, status (succeeded, processing, ' +
    'requires_payment_method, canceled…), date and description. Returns up to `limit` (at most 100; ' +
    'larger values are treated as 100); when hasMore is true, call again with starting_after set to ' +
    'nextStartingAfter. Read-only: nothing here refunds or charges.',
  input: z
    .object({
      customer_id: customerId,
      limit: limitArg(10, 'payments'),
      starting_after: paymentIntentId
        .optional()
        .describe('The last payment id of the previous page (nextStartingAfter)'),
    })
    .strict(),
  output: z.object({
    payments: z.array(paymentOut),
    hasMore: z.boolean(),
    nextStartingAfter: z.string().nullable().describe('Pass as starting_after for the next page'),
  }),
  annotations: READ_HINTS,
  governance: READ,
  handler: async (args, ctx) => {
    // Flow guard: the vendor object whose data this result holds (policy maps it to labels).
    ctx.source('object', 'stripe.payment_intent');
    const r = await stripeOf(ctx.connectors).listPaymentIntents(
      ctx.identity,
      { customer: args.customer_id, limit: args.limit, startingAfter: args.starting_after },
      boundsOf(ctx),
    );
    const payments = r.data.slice(0, args.limit).map(trimPayment);
    return {
      data: {
        payments,
        hasMore: r.has_more,
        nextStartingAfter: r.has_more ? (payments.at(-1)?.id ?? null) : null,
      },
      untrusted: { source: 'stripe' },
    };
  },
});
