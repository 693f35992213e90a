// Stripe object ids as the tools accept them: the object's prefix, then letters and digits only, at
// most 255 characters in all (Stripe's documented bound). Anchored, so no id can carry a path
// (`/`, `..`), a query (`?`, `&`, `=`), a fragment (`#`), an encoding (`%2F`), whitespace or anything
// beyond ASCII letters and digits into a request URL (THREATS V6).
import { z } from 'zod';

const MAX = 255;

/** The schema of one id type, e.g. `stripeId('cus', 'customer')`. */
function stripeId(prefix: string, what: string) {
  const re = new RegExp(`^${prefix}_[A-Za-z0-9]{1,${MAX - prefix.length - 1}}$`);
  return z
    .string()
    .max(MAX)
    .regex(re, `a Stripe ${what} id: ${prefix}_ followed by letters and digits (at most ${MAX} characters)`)
    .describe(`Stripe ${what} id (${prefix}_…)`);
}

export const customerId = stripeId('cus', 'customer');
export const invoiceId = stripeId('in', 'invoice');
export const paymentIntentId = stripeId('pi', 'payment intent');
export const subscriptionId = stripeId('sub', 'subscription');
export const chargeId = stripeId('ch', 'charge');
export const accountId = stripeId('acct', 'account');

/** True when `v` is a valid id of the given schema (for checks outside zod). */
export const isId = (schema: z.ZodType<string>, v: unknown): v is string => schema.safeParse(v).success;
