// What the simulated orgs describe: the standard objects Account, Contact, Opportunity, Task and User
// with the fields (and types, lengths, picklists, filterability, writability) Salesforce gives them,
// and Salesforce's record ids (key prefix + 12 characters + the 3-character case checksum).

/** A field's type as describe() names it. */
export type SfFieldType =
  | 'id'
  | 'reference'
  | 'string'
  | 'textarea'
  | 'picklist'
  | 'email'
  | 'url'
  | 'phone'
  | 'currency'
  | 'double'
  | 'int'
  | 'boolean'
  | 'date'
  | 'datetime';

/** One field of an object. */
export interface SfField {
  type: SfFieldType;
  /** Maximum length of a text field. */
  length?: number;
  /** Values of a restricted picklist. */
  picklist?: readonly string[];
  /** Long text areas cannot be filtered or sorted on (Salesforce refuses them in WHERE and ORDER BY). */
  filterable: boolean;
  createable: boolean;
  updateable: boolean;
}

const f = (type: SfFieldType, o: Partial<Omit<SfField, 'type'>> & { ro?: boolean } = {}): SfField => ({
  type,
  length: o.length,
  picklist: o.picklist,
  filterable: o.filterable ?? type !== 'textarea',
  createable: !o.ro && (o.createable ?? true),
  updateable: !o.ro && (o.updateable ?? true),
});
const system = { ro: true } as const;

export const ACCOUNT_RATINGS = ['Hot', 'Warm', 'Cold'] as const;
export const TASK_STATUSES = [
  'Not Started',
  'In Progress',
  'Completed',
  'Waiting on someone else',
  'Deferred',
];
export const TASK_PRIORITIES = ['High', 'Normal', 'Low'];
export const OPPORTUNITY_STAGES = [
  'Prospecting',
  'Qualification',
  'Needs Analysis',
  'Value Proposition',
  'Proposal/Price Quote',
  'Negotiation/Review',
  'Closed Won',
  'Closed Lost',
];
export const INDUSTRIES = [
  'Technology',
  'Manufacturing',
  'Retail',
  'Healthcare',
  'Finance',
  'Education',
  'Media',
  'Transportation',
];
export const ACCOUNT_TYPES = ['Prospect', 'Customer - Direct', 'Customer - Channel', 'Other'];

/** The objects of every simulated org, field by field. */
export const SF_OBJECTS: Record<string, Record<string, SfField>> = {
  Account: {
    Id: f('id', system),
    Name: f('string', { length: 255 }),
    Industry: f('picklist', { picklist: INDUSTRIES }),
    Rating: f('picklist', { picklist: ACCOUNT_RATINGS }),
    Type: f('picklist', { picklist: ACCOUNT_TYPES }),
    BillingCountry: f('string', { length: 80 }),
    Website: f('url', { length: 255 }),
    Phone: f('phone', { length: 40 }),
    AnnualRevenue: f('currency'),
    NumberOfEmployees: f('int'),
    OwnerId: f('reference'),
    Description: f('textarea', { length: 32_000 }),
    CreatedDate: f('datetime', system),
  },
  Contact: {
    Id: f('id', system),
    FirstName: f('string', { length: 40 }),
    LastName: f('string', { length: 80 }),
    Name: f('string', { length: 121, ro: true }),
    Email: f('email', { length: 80 }),
    Title: f('string', { length: 128 }),
    Phone: f('phone', { length: 40 }),
    AccountId: f('reference'),
    OwnerId: f('reference'),
    Description: f('textarea', { length: 32_000 }),
    CreatedDate: f('datetime', system),
  },
  Opportunity: {
    Id: f('id', system),
    Name: f('string', { length: 120 }),
    StageName: f('picklist', { picklist: OPPORTUNITY_STAGES }),
    Amount: f('currency'),
    Probability: f('double'),
    CloseDate: f('date'),
    AccountId: f('reference'),
    OwnerId: f('reference'),
    NextStep: f('string', { length: 255 }),
    IsClosed: f('boolean', system),
    IsWon: f('boolean', system),
    Description: f('textarea', { length: 32_000 }),
    CreatedDate: f('datetime', system),
  },
  Task: {
    Id: f('id', system),
    Subject: f('string', { length: 255 }),
    Status: f('picklist', { picklist: TASK_STATUSES }),
    Priority: f('picklist', { picklist: TASK_PRIORITIES }),
    ActivityDate: f('date'),
    WhatId: f('reference'),
    WhoId: f('reference'),
    OwnerId: f('reference'),
    IsClosed: f('boolean', system),
    Description: f('textarea', { length: 32_000 }),
    CreatedDate: f('datetime', system),
  },
  User: {
    Id: f('id', system),
    Username: f('string', { length: 80 }),
    Name: f('string', { length: 121, ro: true }),
    Email: f('email', { length: 128 }),
    Alias: f('string', { length: 8 }),
    IsActive: f('boolean'),
    CreatedDate: f('datetime', system),
  },
};

/** Key prefix of each object's ids. */
export const KEY_PREFIX: Record<string, string> = {
  Account: '001',
  Contact: '003',
  Opportunity: '006',
  Task: '00T',
  User: '005',
  Organization: '00D',
};

const CHECKSUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345';
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** The 18-character id of a 15-character one (Salesforce's case checksum of three 5-character chunks). */
export function to18(id15: string): string {
  let suffix = '';
  for (let chunk = 0; chunk < 3; chunk++) {
    let bits = 0;
    for (let k = 0; k < 5; k++) {
      const c = id15[chunk * 5 + k] as string;
      if (c >= 'A' && c <= 'Z') bits |= 1 << k;
    }
    suffix += CHECKSUM[bits];
  }
  return id15 + suffix;
}

/** A deterministic 18-character id: the object's prefix, the org's pod letters, a serial number. */
export function makeId(object: string, orgIndex: number, serial: number): string {
  const prefix = KEY_PREFIX[object];
  if (!prefix) throw new Error(`no key prefix for ${object}`);
  let n = serial;
  let s = '';
  for (let i = 0; i < 6; i++) {
    s = BASE62[n % 62] + s;
    n = Math.floor(n / 62);
  }
  return to18(`${prefix}Dn${BASE62[orgIndex]}000${s}`);
}
