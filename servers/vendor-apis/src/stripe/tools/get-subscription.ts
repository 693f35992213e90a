// stripe_get_subscription: one subscription by id, or a customer's subscriptions (every status).
import { ToolError } from '@mcp-fleet/core';
import { z } from 'zod';
import { tool } from '../../tools/tool.js';
import { customerId, subscriptionId } from '../ids.js';
import { boundsOf, READ, READ_HINTS, stripeOf, subscriptionOut, trimSubscription } from './shared.js';

export const stripeGetSubscription = tool({
  name: 'stripe_get_subscription',
  title: 'Get Stripe subscriptions',
  description:
    "Gets a subscription from your company's Stripe account: pass subscription_id (sub_…) for one, or " +
    'customer_id (cus_…) for all of that customer’s subscriptions, current and ended (give exactly one ' +
    'of the two). Returns status (active, trialing, past_due, canceled…), start, cancellation and ' +
    'current period end dates, and each item’s plan, price and amount in minor units (cents).',
  input: z
    .object({
      subscription_id: subscriptionId.optional(),
      customer_id: customerId.optional(),
    })
    .strict(),
  output: z.object({ subscriptions: z.array(subscriptionOut), hasMore: z.boolean() }),
  annotations: READ_HINTS,
  governance: READ,
  handler: async (args, ctx) => {
    // Flow guard: the vendor object whose data this result holds (policy maps it to labels).
    ctx.source('object', 'stripe.subscription');
    const hasSub = args.subscription_id !== undefined;
    if (hasSub === (args.customer_id !== undefined))
      throw new ToolError('give exactly one of subscription_id and customer_id', 'invalid_arguments');
    const stripe = stripeOf(ctx.connectors);
    if (args.subscription_id !== undefined) {
      const s = await stripe.getSubscription(ctx.identity, args.subscription_id, boundsOf(ctx));
      return {
        data: { subscriptions: [trimSubscription(s)], hasMore: false },
        untrusted: { source: 'stripe' },
      };
    }
    const r = await stripe.listSubscriptions(ctx.identity, args.customer_id as string, 100, boundsOf(ctx));
    return {
      data: { subscriptions: r.data.map(trimSubscription), hasMore: r.has_more },
      untrusted: { source: 'stripe' },
    };
  },
});
