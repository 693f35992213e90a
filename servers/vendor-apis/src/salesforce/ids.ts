// Salesforce record ids: 15 or 18 alphanumeric characters, the first three the object's key prefix.
// Every id in an input is checked here (format, length, and the prefix of the object it must be)
// before it reaches a URL path or a query (threat V6): nothing else can smuggle `/`, `?`, `%` or `..`.
import { z } from 'zod';

/** The objects the tools reach (User only as the owner id of a record, never as an object to read). */
export type SfObject = 'Account' | 'Contact' | 'Opportunity' | 'Task';

/** Key prefix of each object's ids (Salesforce's, fixed for standard objects). */
export const KEY_PREFIX = {
  Account: '001',
  Contact: '003',
  Opportunity: '006',
  Task: '00T',
  User: '005',
} as const;

/** Objects whose ids may appear in a value: the readable ones and User (owners). */
export type SfIdObject = keyof typeof KEY_PREFIX;

const ID = /^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$/;

/** True for a well-formed id of one of `objects`. */
export function isIdOf(value: string, objects: readonly SfIdObject[]): boolean {
  return ID.test(value) && objects.some((o) => value.startsWith(KEY_PREFIX[o]));
}

/** A Salesforce id of any object (format and length only; the tool then checks the prefix). */
export const salesforceId = z
  .string()
  .min(15)
  .max(18)
  .regex(ID, 'a Salesforce id: 15 or 18 letters and digits')
  .describe('A Salesforce record id (15 or 18 characters)');

/** An id of one of `objects`: format, length and key prefix. */
export const idOf = (objects: readonly SfIdObject[], what: string) =>
  salesforceId
    .refine(
      (v) => isIdOf(v, objects),
      `must be ${what} id (starting ${objects.map((o) => KEY_PREFIX[o]).join(' or ')})`,
    )
    .describe(`${what[0]?.toUpperCase()}${what.slice(1)} id (Salesforce, 15 or 18 characters)`);
