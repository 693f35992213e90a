// The allow-list: the only objects and fields the Salesforce tools name, each field with its type,
// whether it may be filtered and sorted on (long text areas may not), the objects its ids belong to,
// its picklist values and length, and whether salesforce_update_record may ever write it (ownership,
// system and formula fields never). SALESFORCE_UPDATE_FIELDS narrows writes further.
import type { SfIdObject, SfObject } from './ids.js';

/** A field's type as the query builder checks values against it. */
export type SfFieldType = 'id' | 'string' | 'text' | 'picklist' | 'number' | 'boolean' | 'date' | 'datetime';

/** One allow-listed field. */
export interface SfFieldSpec {
  type: SfFieldType;
  /** For ids: the objects whose ids the field holds. */
  refersTo?: readonly SfIdObject[];
  picklist?: readonly string[];
  /** Longest text value written (Salesforce's field length, or a tighter cap). */
  maxLength?: number;
  /** May be written by salesforce_update_record when SALESFORCE_UPDATE_FIELDS also names it. */
  writable?: boolean;
}

/** Account ratings (a restricted picklist). */
export const RATINGS = ['Hot', 'Warm', 'Cold'] as const;
/** Task priorities. */
export const PRIORITIES = ['High', 'Normal', 'Low'] as const;

const id = (...refersTo: SfIdObject[]): SfFieldSpec => ({ type: 'id', refersTo });
const str = (maxLength: number, writable = false): SfFieldSpec => ({ type: 'string', maxLength, writable });
const text = (maxLength = 32_000): SfFieldSpec => ({ type: 'text', maxLength, writable: true });
const pick = (picklist?: readonly string[], writable = false): SfFieldSpec => ({
  type: 'picklist',
  picklist,
  writable,
});
const num: SfFieldSpec = { type: 'number' };
const bool: SfFieldSpec = { type: 'boolean' };
const date: SfFieldSpec = { type: 'date' };
const datetime: SfFieldSpec = { type: 'datetime' };

/** Every object and field the tools may name. Nothing else (User, PermissionSetAssignment…) is reachable. */
export const SF_FIELDS: Record<SfObject, Record<string, SfFieldSpec>> = {
  Account: {
    Id: id('Account'),
    Name: str(255),
    Industry: pick(),
    Rating: pick(RATINGS, true),
    Type: pick(),
    BillingCountry: str(80),
    Website: str(255),
    AnnualRevenue: num,
    OwnerId: id('User'),
    Description: text(),
    CreatedDate: datetime,
  },
  Contact: {
    Id: id('Contact'),
    FirstName: str(40),
    LastName: str(80),
    Name: str(121),
    Email: str(80),
    Title: str(128, true),
    AccountId: id('Account'),
    OwnerId: id('User'),
    Description: text(),
    CreatedDate: datetime,
  },
  Opportunity: {
    Id: id('Opportunity'),
    Name: str(120),
    StageName: pick(),
    Amount: num,
    CloseDate: date,
    AccountId: id('Account'),
    OwnerId: id('User'),
    NextStep: str(255, true),
    IsClosed: bool,
    IsWon: bool,
    Description: text(),
    CreatedDate: datetime,
  },
  Task: {
    Id: id('Task'),
    Subject: str(255),
    Status: pick(),
    Priority: pick(PRIORITIES),
    ActivityDate: date,
    WhatId: id('Account', 'Opportunity'),
    WhoId: id('Contact'),
    OwnerId: id('User'),
    IsClosed: bool,
    Description: text(),
    CreatedDate: datetime,
  },
};

/** The allow-listed objects, in the order descriptions list them. */
export const SF_OBJECTS = Object.keys(SF_FIELDS) as SfObject[];

/** The spec of `object.field`, or undefined when it is not allow-listed (exact names only). */
export function fieldSpec(object: SfObject, field: string): SfFieldSpec | undefined {
  const fields = SF_FIELDS[object];
  return Object.hasOwn(fields, field) ? fields[field] : undefined;
}

/** Long text areas: returned, but never filtered or sorted on (Salesforce refuses them there). */
export const filterable = (spec: SfFieldSpec) => spec.type !== 'text';
