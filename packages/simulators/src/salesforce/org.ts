// One simulated org: its records and what the REST API does with them — queries (checked against the
// objects' describe like Salesforce checks them: unknown objects and fields, literal types, filterable
// fields), retrieve, update and create, answering Salesforce's error codes.
import { makeId, SF_OBJECTS, type SfField } from './schema.js';
import { type SalesforceTenantName, type SfRecord, seedOrg } from './seed.js';
import {
  type LikePart,
  parseSoql,
  type SoqlCondition,
  SoqlError,
  type SoqlQuery,
  type SoqlValue,
} from './soql.js';

/** Rows per page of a query answer (Salesforce's default batch size). */
export const QUERY_BATCH = 2000;

/** A query's answer before paging. */
export interface QueryAnswer {
  object: string;
  fields: string[];
  records: SfRecord[];
}

/** A Salesforce API error (status, errorCode, message, optional fields). */
export class SfApiError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: string,
    message: string,
    readonly fields?: string[],
  ) {
    super(message);
  }
}

const describe = (object: string): Record<string, SfField> => {
  const d = Object.hasOwn(SF_OBJECTS, object) ? SF_OBJECTS[object] : undefined;
  if (!d) throw new SoqlError('INVALID_TYPE', `sObject type '${object}' is not supported.`);
  return d;
};

const fieldOf = (d: Record<string, SfField>, object: string, name: string): [string, SfField] => {
  const key = Object.keys(d).find((k) => k.toLowerCase() === name.toLowerCase());
  if (!key) throw new SoqlError('INVALID_FIELD', `No such column '${name}' on entity '${object}'.`);
  return [key, d[key] as SfField];
};

const TEXTUAL = new Set(['string', 'textarea', 'picklist', 'email', 'url', 'phone']);
const NUMERIC = new Set(['currency', 'double', 'int']);

function checkValue(name: string, field: SfField, v: SoqlValue, op: string): void {
  const bad = (why: string) => new SoqlError('INVALID_QUERY_FILTER_OPERATOR', why);
  if (v.type === 'null') {
    if (op !== '=' && op !== '!=') throw bad(`null can only be compared with = or != (field ${name})`);
    return;
  }
  if (op === 'LIKE' && !TEXTUAL.has(field.type)) throw bad(`invalid operator on field ${name}: LIKE`);
  switch (field.type) {
    case 'id':
    case 'reference':
      if (v.type !== 'string' || !/^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$/.test(v.value))
        throw bad(`invalid ID field: ${v.type === 'string' ? v.value : v.type}`);
      return;
    case 'boolean':
      if (v.type !== 'boolean' || (op !== '=' && op !== '!='))
        throw bad(`value of filter criterion for field '${name}' must be of type boolean`);
      return;
    case 'date':
    case 'datetime':
      if (v.type !== field.type)
        throw bad(
          `value of filter criterion for field '${name}' must be of type ${field.type} and should not be enclosed in quotes`,
        );
      return;
    default:
      if (NUMERIC.has(field.type)) {
        if (v.type !== 'number')
          throw bad(
            `value of filter criterion for field '${name}' must be of type double and should not be enclosed in quotes`,
          );
      } else if (v.type !== 'string')
        throw bad(
          `value of filter criterion for field '${name}' must be of type string and should be enclosed in quotes`,
        );
  }
}

function likeRegex(pattern: LikePart[]): RegExp {
  const body = pattern
    .map((p) => (p === '%' ? '.*' : p === '_' ? '.' : p.lit.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&')))
    .join('');
  return new RegExp(`^${body}$`, 'isu');
}

function compare(a: unknown, b: unknown, type: string): number {
  if (type === 'datetime') return Date.parse(String(a)) - Date.parse(String(b));
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const x = String(a).toLowerCase();
  const y = String(b).toLowerCase();
  return x < y ? -1 : x > y ? 1 : 0;
}

const literal = (v: SoqlValue) => (v.type === 'null' ? null : v.value);

/** One tenant's org. */
export class SalesforceOrg {
  readonly records: Record<string, Map<string, SfRecord>> = {};
  #serial = 0;

  constructor(
    readonly tenant: SalesforceTenantName,
    readonly orgIndex: number,
  ) {
    for (const [object, rows] of Object.entries(seedOrg(tenant)))
      this.records[object] = new Map(rows.map((r) => [r.Id as string, r]));
  }

  /** Runs a query (all rows; the caller pages them). */
  query(soql: string): QueryAnswer {
    const q: SoqlQuery = parseSoql(soql);
    const d = describe(q.object);
    const object = Object.keys(SF_OBJECTS).find((o) => o.toLowerCase() === q.object.toLowerCase()) as string;
    const fields = q.fields.map((n) => fieldOf(d, object, n)[0]);
    const test = q.where ? this.#compile(q.where, d, object) : () => true;
    let rows = [...(this.records[object]?.values() ?? [])].filter(test);
    for (const o of [...q.orderBy].reverse()) {
      const [key, field] = fieldOf(d, object, o.field);
      if (!field.filterable)
        throw new SoqlError('INVALID_FIELD', `field '${key}' can not be sorted in a query call`);
      rows = [...rows].sort((a, b) => {
        const x = a[key] ?? null;
        const y = b[key] ?? null;
        if (x === null || y === null) {
          if (x === y) return 0;
          return (x === null) === (o.nulls === 'FIRST') ? -1 : 1;
        }
        const c = compare(x, y, field.type);
        return o.dir === 'ASC' ? c : -c;
      });
    }
    if (q.limit !== undefined) rows = rows.slice(0, q.limit);
    return { object, fields, records: rows };
  }

  #compile(c: SoqlCondition, d: Record<string, SfField>, object: string): (r: SfRecord) => boolean {
    switch (c.kind) {
      case 'and': {
        const fs = c.items.map((i) => this.#compile(i, d, object));
        return (r) => fs.every((f) => f(r));
      }
      case 'or': {
        const fs = c.items.map((i) => this.#compile(i, d, object));
        return (r) => fs.some((f) => f(r));
      }
      case 'not': {
        const f = this.#compile(c.item, d, object);
        return (r) => !f(r);
      }
      case 'in': {
        const [key, field] = fieldOf(d, object, c.field);
        if (!field.filterable)
          throw new SoqlError('INVALID_FIELD', `field '${key}' can not be filtered in a query call`);
        for (const v of c.values) {
          if (v.type === 'null') throw new SoqlError('MALFORMED_QUERY', 'null is not allowed in an IN list');
          checkValue(key, field, v, '=');
        }
        const values = c.values.map(literal);
        return (r) => {
          const x = r[key] ?? null;
          const hit = x !== null && values.some((v) => compare(x, v, field.type) === 0);
          return c.not ? x !== null && !hit : hit;
        };
      }
      case 'cmp': {
        const [key, field] = fieldOf(d, object, c.field);
        if (!field.filterable)
          throw new SoqlError('INVALID_FIELD', `field '${key}' can not be filtered in a query call`);
        checkValue(key, field, c.value, c.op);
        const v = c.value;
        if (v.type === 'null')
          return c.op === '=' ? (r) => (r[key] ?? null) === null : (r) => (r[key] ?? null) !== null;
        if (c.op === 'LIKE') {
          const re = likeRegex(v.type === 'string' ? v.pattern : []);
          return (r) => r[key] != null && re.test(String(r[key]));
        }
        const want = literal(v);
        return (r) => {
          const x = r[key] ?? null;
          if (x === null) return c.op === '!=';
          const k = compare(x, want, field.type);
          switch (c.op) {
            case '=':
              return k === 0;
            case '!=':
              return k !== 0;
            case '<':
              return k < 0;
            case '<=':
              return k <= 0;
            case '>':
              return k > 0;
            default:
              return k >= 0;
          }
        };
      }
    }
  }

  /** A record of `object` by id (15 or 18 characters), or undefined. */
  find(object: string, id: string): SfRecord | undefined {
    const rows = Object.hasOwn(this.records, object) ? this.records[object] : undefined;
    if (!rows) return undefined;
    if (id.length === 18) return rows.get(id);
    return [...rows.values()].find((r) => (r.Id as string).slice(0, 15) === id);
  }

  /** Checks a record body against the object's describe (unknown, read-only, mistyped, too long fields). */
  #check(object: string, body: unknown, mode: 'create' | 'update'): SfRecord {
    if (!body || typeof body !== 'object' || Array.isArray(body))
      throw new SfApiError(400, 'JSON_PARSER_ERROR', 'The request body must be a JSON object.');
    const d = SF_OBJECTS[object] as Record<string, SfField>;
    const out: SfRecord = {};
    for (const [name, value] of Object.entries(body as Record<string, unknown>)) {
      if (name === 'attributes') continue;
      const key = Object.keys(d).find((k) => k.toLowerCase() === name.toLowerCase());
      if (!key)
        throw new SfApiError(400, 'INVALID_FIELD', `No such column '${name}' on sobject of type ${object}`, [
          name,
        ]);
      const field = d[key] as SfField;
      if (mode === 'create' ? !field.createable : !field.updateable)
        throw new SfApiError(
          400,
          'INVALID_FIELD_FOR_INSERT_UPDATE',
          `Unable to create/update fields: ${key}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.`,
          [key],
        );
      if (value === null) {
        out[key] = null;
        continue;
      }
      const bad = () =>
        new SfApiError(
          400,
          'INVALID_TYPE_ON_FIELD_IN_RECORD',
          `${key}: value not of required type: ${String(value)}`,
          [key],
        );
      if (TEXTUAL.has(field.type)) {
        if (typeof value !== 'string') throw bad();
        if (field.length !== undefined && value.length > field.length)
          throw new SfApiError(
            400,
            'STRING_TOO_LONG',
            `${key}: data value too large: ${value.slice(0, 20)}... (max length=${field.length})`,
            [key],
          );
        if (field.picklist && !field.picklist.includes(value))
          throw new SfApiError(
            400,
            'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST',
            `${key}: bad value for restricted picklist field: ${value}`,
            [key],
          );
      } else if (NUMERIC.has(field.type)) {
        if (typeof value !== 'number' || !Number.isFinite(value)) throw bad();
      } else if (field.type === 'boolean') {
        if (typeof value !== 'boolean') throw bad();
      } else if (field.type === 'date') {
        if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(value)) throw bad();
      } else if (field.type === 'reference') {
        if (typeof value !== 'string' || !this.#exists(value))
          throw new SfApiError(400, 'MALFORMED_ID', `${key}: id value of incorrect type: ${String(value)}`, [
            key,
          ]);
      } else throw bad();
      out[key] = value as string | number | boolean;
    }
    return out;
  }

  #exists(id: string): boolean {
    return Object.keys(this.records).some((o) => this.find(o, id) !== undefined);
  }

  /** PATCH: updates the fields given. */
  update(object: string, id: string, body: unknown): void {
    const rec = this.find(object, id);
    if (!rec) throw new SfApiError(404, 'NOT_FOUND', 'The requested resource does not exist');
    Object.assign(rec, this.#check(object, body, 'update'));
  }

  /** POST: creates a record, returns its id. */
  create(object: string, body: unknown): string {
    const fields = this.#check(object, body, 'create');
    const id = makeId(object, this.orgIndex, 1000 + ++this.#serial);
    const d = SF_OBJECTS[object] as Record<string, SfField>;
    const rec: SfRecord = Object.fromEntries(Object.keys(d).map((k) => [k, null]));
    Object.assign(rec, fields, { Id: id, CreatedDate: new Date().toISOString().replace('Z', '+0000') });
    if (object === 'Task') {
      rec.Status ??= 'Not Started';
      rec.Priority ??= 'Normal';
      rec.IsClosed = rec.Status === 'Completed';
      rec.OwnerId ??= [...(this.records.User?.values() ?? [])].find((u) => u.Alias === 'integ')?.Id ?? null;
    }
    this.records[object]?.set(id, rec);
    return id;
  }
}
