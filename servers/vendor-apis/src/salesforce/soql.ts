// The typed SOQL builder: the only way a query reaches Salesforce. Objects and fields come from the
// allow-list; conditions are {field, op, value} checked against the field's type and joined with AND;
// values are rendered as SOQL literals (strings escaped backslash first, then quotes and control
// characters; LIKE wildcards escaped for starts_with/contains; ids, dates and numbers validated by
// format). No text from the caller is ever pasted into the query as SOQL (threats V8, V9; no SOSL: V10).
import { ToolError } from '@mcp-fleet/core';
import type { SfObject } from './ids.js';
import { isIdOf } from './ids.js';
import { fieldSpec, filterable, SF_FIELDS, type SfFieldSpec } from './objects.js';
import { isCleanText } from './text.js';

/** Condition operators. */
export const OPS = [
  'eq',
  'ne',
  'lt',
  'lte',
  'gt',
  'gte',
  'starts_with',
  'contains',
  'in',
  'is_null',
  'not_null',
] as const;
export type Op = (typeof OPS)[number];

/** One typed condition. */
export interface Condition {
  field: string;
  op: Op;
  value?: unknown;
}

/** What a query asks for. */
export interface QuerySpec {
  object: SfObject;
  fields: readonly string[];
  where?: readonly Condition[];
  orderBy?: { field: string; direction?: 'asc' | 'desc' };
  limit?: number;
}

/** A query made by {@link buildQuery} (the connector takes nothing else). */
export interface BuiltQuery {
  readonly soql: string;
  readonly object: SfObject;
  readonly fields: readonly string[];
  readonly limit: number;
  readonly __built: unique symbol;
}

export const MAX_CONDITIONS = 10;
export const MAX_IN_VALUES = 100;
export const MAX_LIMIT = 2000;
/** Longest string value of a condition. */
export const MAX_VALUE_LENGTH = 1000;
/**
 * Longest SOQL statement built (characters, and bytes once percent-encoded into the GET URL).
 * Salesforce documents 100,000 characters per statement and 16,384 bytes for a REST call's URI and
 * headers together; 10,000 keeps every query we send well inside both (attack D-4).
 */
export const MAX_SOQL_CHARS = 10_000;

const bad = (message: string) => new ToolError(message, 'invalid_arguments');

/** Clamps a LIMIT to 1..2000 (silently: the description says so). */
export const clampLimit = (n: number | undefined) =>
  Math.min(MAX_LIMIT, Math.max(1, Math.trunc(Number.isFinite(n) ? (n as number) : 100)));

const SOQL_ESCAPES: Record<string, string> = {
  '\\': '\\\\',
  "'": "\\'",
  '"': '\\"',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\f': '\\f',
  '\b': '\\b',
};

/** A string as a SOQL literal body: backslash first, then the quote and the characters SOQL escapes. */
export function escapeSoqlString(s: string): string {
  let out = '';
  for (const ch of s) out += SOQL_ESCAPES[ch] ?? ch;
  return out;
}

/** An escaped string body with LIKE's wildcards made literal too. */
export const escapeLike = (s: string) => escapeSoqlString(s).replace(/[%_]/g, '\\$&');

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATETIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,3})?(Z|[+-]\d{2}:\d{2})$/;

function validDate(y: string, m: string, d: string): boolean {
  const t = new Date(Date.UTC(Number(y), Number(m) - 1, Number(d)));
  return (
    t.getUTCFullYear() === Number(y) && t.getUTCMonth() === Number(m) - 1 && t.getUTCDate() === Number(d)
  );
}

function stringValue(field: string, v: unknown): string {
  if (typeof v !== 'string') throw bad(`${field} takes a text value`);
  if (v.length > MAX_VALUE_LENGTH)
    throw bad(`a value for ${field} is longer than ${MAX_VALUE_LENGTH} characters`);
  if (!isCleanText(v, true))
    throw bad(`a value for ${field} is not plain text (control characters or broken Unicode)`);
  return v;
}

/** One value as a SOQL literal of the field's type; throws invalid_arguments for a value of another type. */
export function literal(field: string, spec: SfFieldSpec, v: unknown): string {
  switch (spec.type) {
    case 'id': {
      if (typeof v !== 'string' || !isIdOf(v, spec.refersTo ?? []))
        throw bad(
          `${field} takes a Salesforce id of ${(spec.refersTo ?? []).join(' or ')} (15 or 18 characters)`,
        );
      return `'${v}'`;
    }
    case 'string':
    case 'text':
    case 'picklist':
      return `'${escapeSoqlString(stringValue(field, v))}'`;
    case 'number': {
      if (typeof v !== 'number' || !Number.isFinite(v)) throw bad(`${field} takes a finite number`);
      const s = String(v);
      if (!/^-?\d+(?:\.\d+)?$/.test(s) || Math.abs(v) > 1e15)
        throw bad(`${field} takes a number between -1e15 and 1e15 written without an exponent`);
      return s;
    }
    case 'boolean':
      if (typeof v !== 'boolean') throw bad(`${field} takes true or false`);
      return v ? 'TRUE' : 'FALSE';
    case 'date': {
      const m = typeof v === 'string' ? DATE.exec(v) : null;
      if (!m || !validDate(m[1] as string, m[2] as string, m[3] as string))
        throw bad(`${field} takes a date written YYYY-MM-DD`);
      return v as string;
    }
    case 'datetime': {
      const m = typeof v === 'string' ? DATETIME.exec(v) : null;
      if (
        !m ||
        !validDate(m[1] as string, m[2] as string, m[3] as string) ||
        Number(m[4]) > 23 ||
        Number(m[5]) > 59 ||
        Number(m[6]) > 59 ||
        !validOffset(m[8] as string)
      )
        throw bad(`${field} takes a date-time written YYYY-MM-DDThh:mm:ssZ (or with an offset)`);
      return v as string;
    }
  }
}

/** `Z`, or an offset Salesforce accepts: hours -12..+14, minutes 00..59. */
function validOffset(z: string): boolean {
  if (z === 'Z') return true;
  const h = Number(z.slice(1, 3));
  const m = Number(z.slice(4, 6));
  return m <= 59 && (z[0] === '+' ? h <= 14 : h <= 12);
}

const CMP: Partial<Record<Op, string>> = { eq: '=', ne: '!=', lt: '<', lte: '<=', gt: '>', gte: '>=' };
const ORDERED = new Set(['string', 'picklist', 'number', 'date', 'datetime']);

/** The allow-listed spec of a field, or a refusal naming the fields that exist. */
export function requireField(object: SfObject, field: unknown): SfFieldSpec {
  const spec = typeof field === 'string' ? fieldSpec(object, field) : undefined;
  if (!spec)
    throw bad(
      `${object} has no field ${JSON.stringify(String(field).slice(0, 80))} you may use; fields: ${Object.keys(SF_FIELDS[object]).join(', ')}`,
    );
  return spec;
}

/** One condition as SOQL. */
export function conditionSoql(object: SfObject, c: Condition): string {
  const spec = requireField(object, c.field);
  const f = c.field;
  if (!filterable(spec)) throw bad(`${f} is a long text field: Salesforce cannot filter on it`);
  const noValue = c.op === 'is_null' || c.op === 'not_null';
  if (noValue) {
    if (c.value !== undefined && c.value !== null) throw bad(`${c.op} on ${f} takes no value`);
    return `${f} ${c.op === 'is_null' ? '=' : '!='} null`;
  }
  if (c.value === undefined || c.value === null)
    throw bad(`${c.op} on ${f} needs a value (use is_null for empty fields)`);
  const cmp = CMP[c.op];
  if (cmp) {
    if (c.op !== 'eq' && c.op !== 'ne' && !ORDERED.has(spec.type))
      throw bad(`${c.op} does not apply to ${f} (${spec.type}); use eq or ne`);
    return `${f} ${cmp} ${literal(f, spec, c.value)}`;
  }
  if (c.op === 'starts_with' || c.op === 'contains') {
    if (spec.type !== 'string' && spec.type !== 'picklist')
      throw bad(`${c.op} applies to text fields only, not ${f}`);
    const v = stringValue(f, c.value);
    if (v === '')
      throw bad(`${c.op} on ${f} needs at least one character (an empty pattern matches everything)`);
    return `${f} LIKE '${c.op === 'contains' ? '%' : ''}${escapeLike(v)}%'`;
  }
  if (c.op === 'in') {
    if (!Array.isArray(c.value) || c.value.length === 0 || c.value.length > MAX_IN_VALUES)
      throw bad(`in on ${f} takes a list of 1 to ${MAX_IN_VALUES} values`);
    if (spec.type === 'boolean') throw bad(`in does not apply to ${f} (boolean); use eq`);
    return `${f} IN (${c.value.map((v) => literal(f, spec, v)).join(', ')})`;
  }
  throw bad(`unknown operator ${JSON.stringify(String(c.op))}`);
}

/** Builds the query; throws invalid_arguments (before anything is sent) for anything off the allow-list. */
export function buildQuery(q: QuerySpec): BuiltQuery {
  if (!Object.hasOwn(SF_FIELDS, q.object))
    throw bad(`object must be one of ${Object.keys(SF_FIELDS).join(', ')}`);
  const fields = ['Id', ...q.fields.filter((f) => f !== 'Id')].filter((f, i, all) => all.indexOf(f) === i);
  for (const f of fields) requireField(q.object, f);
  const where = q.where ?? [];
  if (where.length > MAX_CONDITIONS) throw bad(`at most ${MAX_CONDITIONS} conditions`);
  let soql = `SELECT ${fields.join(', ')} FROM ${q.object}`;
  if (where.length) soql += ` WHERE ${where.map((c) => conditionSoql(q.object, c)).join(' AND ')}`;
  if (q.orderBy) {
    const spec = requireField(q.object, q.orderBy.field);
    if (!filterable(spec)) throw bad(`${q.orderBy.field} is a long text field: Salesforce cannot sort on it`);
    soql += ` ORDER BY ${q.orderBy.field} ${q.orderBy.direction === 'desc' ? 'DESC' : 'ASC'}`;
  }
  const limit = clampLimit(q.limit);
  soql += ` LIMIT ${limit}`;
  if (soql.length > MAX_SOQL_CHARS || encodeURIComponent(soql).length > MAX_SOQL_CHARS)
    throw bad(
      `the query is too long (at most ${MAX_SOQL_CHARS} characters once built); use fewer or shorter values`,
    );
  return { soql, object: q.object, fields, limit } as unknown as BuiltQuery;
}
