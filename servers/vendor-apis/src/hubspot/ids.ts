// HubSpot record ids as the tools accept them: HubSpot's numeric object ids (no leading zero, at most
// 19 digits, within a 64-bit long), so nothing but digits ever reaches a URL path (V6: `contacts/../owners`,
// `?`, `#`, `%2F`, whitespace are all refused by the schema, before any request).
import { z } from 'zod';

/** HubSpot's record id format: digits, no leading zero, 1–19 digits. */
export const HUBSPOT_ID = /^[1-9][0-9]{0,18}$/;

const MAX_LONG = 9_223_372_036_854_775_807n;

const numericId = (what: string) =>
  z
    .string()
    .max(19)
    .regex(HUBSPOT_ID, `${what} is HubSpot's numeric id (1–19 digits, no leading zero), e.g. 51000000001`)
    // zod runs every check: the range check must not parse what the format already refused.
    .refine((v) => !HUBSPOT_ID.test(v) || BigInt(v) <= MAX_LONG, `${what} is out of HubSpot's id range`);

/** A contact id (hs_object_id of a contact). */
export const contactId = numericId('contact_id');
/** A company id. */
export const companyId = numericId('company_id');
/** An owner id (a HubSpot user who owns records). */
export const ownerId = numericId('owner_id');

/** True when `v` is a HubSpot id (for ids read back from HubSpot before reuse). */
export const isHubSpotId = (v: unknown): v is string =>
  typeof v === 'string' && HUBSPOT_ID.test(v) && BigInt(v) <= MAX_LONG;
