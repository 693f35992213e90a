// Stripe object ids as the billing tools accept them: the object's prefix, then letters and digits
// only, at most 255 characters. Anchored, so no id carries a path (`/`, `..`), a query, a fragment,
// an encoding or whitespace into a request URL (THREATS V6, A14).
import { z } from 'zod';

const MAX = 255;

function stripeId(prefix: string, what: string) {
  const re = new RegExp(`^${prefix}_[A-Za-z0-9]{1,${MAX - prefix.length - 1}}$`);
  return z
    .string()
    .max(MAX)
    .regex(re, `a Stripe ${what} id: ${prefix}_ followed by letters and digits`)
    .describe(`Stripe ${what} id (${prefix}_…)`);
}

export const paymentIntentId = stripeId('pi', 'payment intent');
export const subscriptionId = stripeId('sub', 'subscription');
export const priceId = stripeId('price', 'price');

/** True when `v` is a well-formed id of `schema` (for answers read back from Stripe). */
export const isId = (schema: z.ZodType<string>, v: unknown): v is string => schema.safeParse(v).success;
