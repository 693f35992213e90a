// The typed SOQL builder against the simulator's real SOQL parser: for every allow-listed field and
// every operator, arbitrary values (quotes, backslashes, wildcards, injection attempts, any Unicode)
// come back as exactly the conditions given with exactly the values given (V8); objects and fields off
// the allow-list are refused (V9); ids of every shape but the real one are refused (V6).
import { type LikePart, parseSoql, type SoqlCondition, type SoqlValue } from '@mcp-fleet/simulators';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KEY_PREFIX, type SfIdObject, type SfObject, salesforceId } from '../src/salesforce/ids.js';
import { SF_FIELDS, type SfFieldSpec } from '../src/salesforce/objects.js';
import { buildQuery, type Condition, type Op } from '../src/salesforce/soql.js';
import { isCleanText } from '../src/salesforce/text.js';

const HOSTILE = [
  "Acme' OR Name != '",
  "x' OR Id != null LIMIT 50000 --",
  "\\' OR 1=1",
  '%',
  '_',
  '\\',
  '\\%',
  "'",
  '"',
  ') OR (Name != null',
  '\n',
  '\t',
  '} IN ALL FIELDS RETURNING User(Id, Email, Username) //',
  ' AND Id IN (SELECT Id FROM User)',
];

const text = fc
  .oneof(
    fc.string({ unit: 'binary', maxLength: 30 }),
    fc
      .array(fc.oneof(fc.constantFrom(...HOSTILE), fc.string({ maxLength: 5 })), { maxLength: 5 })
      .map((a) => a.join('')),
  )
  .filter((s) => isCleanText(s, true));

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const idOfObjects = (objects: readonly SfIdObject[]) =>
  fc
    .tuple(
      fc.constantFrom(...objects),
      fc.string({ unit: fc.constantFrom(...BASE62), minLength: 12, maxLength: 12 }),
      fc.boolean(),
      fc.string({ unit: fc.constantFrom(...BASE62), minLength: 3, maxLength: 3 }),
    )
    .map(([o, body, long, tail]) => `${KEY_PREFIX[o]}${body}${long ? tail : ''}`);

const isoDateTime = fc
  .date({ min: new Date('1900-01-01T00:00:00Z'), max: new Date('2199-12-31T23:59:59Z'), noInvalidDate: true })
  .map((d) => d.toISOString());
const number = fc.oneof(
  fc.integer({ min: -1e9, max: 1e9 }),
  fc.double({ min: -1e15, max: 1e15, noNaN: true }).filter((n) => /^-?\d+(?:\.\d+)?$/.test(String(n))),
);

/** A value of the field's type. */
function valueArb(spec: SfFieldSpec): fc.Arbitrary<unknown> {
  switch (spec.type) {
    case 'id':
      return idOfObjects(spec.refersTo ?? []);
    case 'number':
      return number;
    case 'boolean':
      return fc.boolean();
    case 'date':
      return isoDateTime.map((s) => s.slice(0, 10));
    case 'datetime':
      return isoDateTime;
    default:
      return text;
  }
}

/** The operators that apply to a field's type. */
function opsOf(spec: SfFieldSpec): Op[] {
  switch (spec.type) {
    case 'id':
      return ['eq', 'ne', 'in', 'is_null', 'not_null'];
    case 'boolean':
      return ['eq', 'ne', 'is_null', 'not_null'];
    case 'string':
    case 'picklist':
      return ['eq', 'ne', 'lt', 'lte', 'gt', 'gte', 'starts_with', 'contains', 'in', 'is_null', 'not_null'];
    default:
      return ['eq', 'ne', 'lt', 'lte', 'gt', 'gte', 'in', 'is_null', 'not_null'];
  }
}

/** Every filterable allow-listed field, generated from the allow-list. */
const FILTERABLE = Object.entries(SF_FIELDS).flatMap(([object, fields]) =>
  Object.entries(fields)
    .filter(([, spec]) => spec.type !== 'text')
    .map(([field, spec]) => ({ object: object as SfObject, field, spec })),
);

const conditionOf = (field: string, spec: SfFieldSpec): fc.Arbitrary<Condition> =>
  fc.constantFrom(...opsOf(spec)).chain((op): fc.Arbitrary<Condition> => {
    if (op === 'is_null' || op === 'not_null') return fc.constant({ field, op });
    if (op === 'in')
      return fc.array(valueArb(spec), { minLength: 1, maxLength: 4 }).map((value) => ({ field, op, value }));
    const values = op === 'starts_with' || op === 'contains' ? text.filter((v) => v !== '') : valueArb(spec);
    return values.map((value) => ({ field, op, value }));
  });

const queryOf = fc.constantFrom(...(Object.keys(SF_FIELDS) as SfObject[])).chain((object) => {
  const fields = FILTERABLE.filter((f) => f.object === object);
  return fc.record({
    object: fc.constant(object),
    where: fc.array(
      fc.constantFrom(...fields).chain((f) => conditionOf(f.field, f.spec)),
      { minLength: 1, maxLength: 10 },
    ),
    limit: fc.integer({ min: -10, max: 100_000 }),
  });
});

/** A LIKE pattern with adjacent literals merged. */
function merged(p: LikePart[]): LikePart[] {
  const out: LikePart[] = [];
  for (const part of p) {
    const last = out[out.length - 1];
    if (typeof part === 'object' && last && typeof last === 'object') last.lit += part.lit;
    else out.push(typeof part === 'object' ? { lit: part.lit } : part);
  }
  return out.filter((x) => typeof x !== 'object' || x.lit !== '');
}

/** -0 is written 0 in SOQL (the same number); compare it as 0. */
const plusZero = (v: unknown): unknown => (Array.isArray(v) ? v.map(plusZero) : Object.is(v, -0) ? 0 : v);

/** The value a literal of this field type carries, as the tool was given it. */
function read(v: SoqlValue): unknown {
  return v.type === 'null' ? null : v.value;
}

/** The condition the parser read, in the tool's terms. */
function backToCondition(c: SoqlCondition): Condition {
  if (c.kind === 'in') return { field: c.field, op: 'in', value: c.values.map(read) };
  if (c.kind !== 'cmp') throw new Error(`unexpected ${c.kind}: the builder only joins with AND`);
  if (c.value.type === 'null') return { field: c.field, op: c.op === '=' ? 'is_null' : 'not_null' };
  if (c.op === 'LIKE') {
    const p = merged(c.value.type === 'string' ? c.value.pattern : []);
    const lit = (x: LikePart | undefined) => (typeof x === 'object' ? x.lit : undefined);
    if (p[0] === '%') {
      expect(p.at(-1)).toBe('%');
      return {
        field: c.field,
        op: 'contains',
        value: p.length === 3 ? lit(p[1]) : p.length === 1 || p.length === 2 ? '' : NaN,
      };
    }
    expect(p.at(-1)).toBe('%');
    return { field: c.field, op: 'starts_with', value: p.length === 2 ? lit(p[0]) : NaN };
  }
  const ops: Record<string, Op> = { '=': 'eq', '!=': 'ne', '<': 'lt', '<=': 'lte', '>': 'gt', '>=': 'gte' };
  return { field: c.field, op: ops[c.op] as Op, value: read(c.value) };
}

describe('salesforce SOQL builder (V8)', () => {
  it('covers every filterable allow-listed field with the property below', () => {
    expect(FILTERABLE.length).toBeGreaterThan(35);
  });

  it('makes SOQL whose parse has exactly the conditions and values given, for any values', () => {
    fc.assert(
      fc.property(queryOf, (q) => {
        const built = buildQuery({
          object: q.object,
          fields: ['Name' in SF_FIELDS[q.object] ? 'Name' : 'Subject'],
          where: q.where,
          limit: q.limit,
        });
        const parsed = parseSoql(built.soql);
        expect(parsed.object).toBe(q.object);
        expect(parsed.fields).toEqual(built.fields);
        expect(parsed.limit).toBe(Math.min(2000, Math.max(1, q.limit)));
        const items =
          q.where.length === 1
            ? [parsed.where]
            : (parsed.where as { kind: 'and'; items: SoqlCondition[] }).items;
        if (q.where.length > 1) expect(parsed.where?.kind).toBe('and');
        expect(items.map((c) => backToCondition(c as SoqlCondition))).toEqual(
          q.where.map((c) =>
            c.op === 'is_null' || c.op === 'not_null'
              ? { field: c.field, op: c.op }
              : { ...c, value: plusZero(c.value) },
          ),
        );
      }),
      { numRuns: 2000 },
    );
  });

  it('renders the classic injections as one literal each', () => {
    for (const v of HOSTILE) {
      const b = buildQuery({
        object: 'Account',
        fields: ['Name'],
        where: [{ field: 'Name', op: 'eq', value: v }],
      });
      const w = parseSoql(b.soql).where;
      expect(w).toMatchObject({ kind: 'cmp', field: 'Name', op: '=', value: { type: 'string', value: v } });
    }
  });
});

describe('salesforce allow-list (V9)', () => {
  const refused = (f: () => unknown) =>
    expect(f).toThrow(expect.objectContaining({ code: 'invalid_arguments' }));

  it('refuses objects and fields off the allow-list, subqueries, TYPEOF and relationship paths', () => {
    for (const object of [
      'User',
      'PermissionSetAssignment',
      'Account WHERE Id != null',
      'account',
      'Account ',
      'Profile',
    ])
      refused(() => buildQuery({ object: object as SfObject, fields: ['Id'] }));
    for (const field of [
      '(SELECT Body FROM Attachments)',
      'Password__c',
      'TYPEOF What WHEN Account THEN Name END',
      'Owner.Name',
      'Owner.Username',
      'Account.Owner.Email',
      'Name, (SELECT Id FROM Contacts)',
      'name',
      'COUNT(Id)',
      'FIELDS(ALL)',
    ]) {
      refused(() => buildQuery({ object: 'Account', fields: [field] }));
      refused(() =>
        buildQuery({ object: 'Account', fields: ['Id'], where: [{ field, op: 'eq', value: 'x' }] }),
      );
      refused(() => buildQuery({ object: 'Account', fields: ['Id'], orderBy: { field } }));
    }
  });

  it('refuses values of the wrong type, long text filters, and oversized lists', () => {
    const q = (c: Condition) => () => buildQuery({ object: 'Opportunity', fields: ['Id'], where: [c] });
    refused(q({ field: 'Amount', op: 'eq', value: '1 OR Amount > 0' }));
    refused(q({ field: 'Amount', op: 'eq', value: 1e300 }));
    refused(q({ field: 'Amount', op: 'eq', value: Number.NaN }));
    refused(q({ field: 'CloseDate', op: 'eq', value: '2025-02-30' }));
    refused(q({ field: 'CloseDate', op: 'eq', value: 'TODAY' }));
    refused(q({ field: 'IsClosed', op: 'eq', value: 'true' }));
    refused(q({ field: 'IsClosed', op: 'lt', value: true }));
    refused(q({ field: 'AccountId', op: 'eq', value: '005000000000001AAA' }));
    refused(q({ field: 'AccountId', op: 'starts_with', value: '001' }));
    refused(q({ field: 'Description', op: 'contains', value: 'x' }));
    refused(q({ field: 'Name', op: 'eq' }));
    refused(q({ field: 'Name', op: 'contains', value: '' }));
    refused(q({ field: 'Name', op: 'starts_with', value: '' }));
    refused(q({ field: 'Name', op: 'is_null', value: 'x' }));
    refused(q({ field: 'Name', op: 'in', value: Array.from({ length: 101 }, (_, i) => `n${i}`) }));
    refused(q({ field: 'Name', op: 'eq', value: 'a\u0000b' }));
    refused(q({ field: 'Name', op: 'eq', value: 'a\uD800b' }));
    refused(q({ field: 'Name', op: 'like' as Op, value: '%' }));
    // Date-times: an offset Salesforce would refuse never reaches it (attack A-4: +99:99 went out).
    const at = (value: string) => () =>
      buildQuery({ object: 'Account', fields: ['Id'], where: [{ field: 'CreatedDate', op: 'gt', value }] });
    for (const bad of [
      '2020-01-01T00:00:00+99:99',
      '2020-01-01T00:00:00+15:00',
      '2020-01-01T00:00:00-13:00',
      '2020-01-01T00:00:00+05:60',
    ])
      refused(at(bad));
    for (const good of [
      '2020-01-01T00:00:00Z',
      '2020-01-01T00:00:00+14:00',
      '2020-01-01T00:00:00-12:00',
      '2020-01-01T00:00:00.5+05:30',
    ])
      expect(at(good)().soql).toContain(`CreatedDate > ${good}`);
    refused(() =>
      buildQuery({
        object: 'Account',
        fields: ['Id'],
        where: Array.from({ length: 11 }, () => ({ field: 'Name', op: 'eq' as const, value: 'x' })),
      }),
    );
  });
});

describe('salesforce ids (V6)', () => {
  it('refuses every string but 15 or 18 letters and digits', () => {
    const smuggle = fc
      .array(
        fc.oneof(
          fc.constantFrom(
            '/',
            '?',
            '#',
            '%',
            '.',
            '\\',
            '&',
            '=',
            '..',
            '%2F',
            '%2e',
            '/../',
            ' ',
            '\u0000',
            '\u202e',
          ),
          fc.string({ unit: fc.constantFrom(...BASE62), maxLength: 18 }),
        ),
        { minLength: 2, maxLength: 6 },
      )
      .map((a) => a.join(''))
      .filter((s) => /[^A-Za-z0-9]/.test(s));
    fc.assert(
      fc.property(smuggle, (s) => {
        expect(salesforceId.safeParse(s).success).toBe(false);
        expect(() =>
          buildQuery({ object: 'Task', fields: ['Id'], where: [{ field: 'WhatId', op: 'eq', value: s }] }),
        ).toThrow();
      }),
      { numRuns: 500 },
    );
    for (const s of ['001000000000001', '001000000000001AAA'])
      expect(salesforceId.safeParse(s).success).toBe(true);
    for (const s of ['00100000000001', '001000000000001AA', '001000000000001AAAA', '001000000000/01AAA'])
      expect(salesforceId.safeParse(s).success).toBe(false);
  });
});
