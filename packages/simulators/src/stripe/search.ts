// Stripe's Search Query Language, the subset the customer search uses: clauses `field:"value"` (exact,
// case-insensitive), `field~"value"` (substring, at least 3 characters), `created>…`/`<`/`>=`/`<=`,
// `metadata["key"]:"value"`, a leading `-` to negate, joined by AND or by OR (never both, as Stripe
// refuses mixing them), at most 10 clauses. Strings are double-quoted with `\"` and `\\` escapes. A
// malformed query throws SearchQueryError, which the simulator answers as Stripe's 400.

/** A malformed or unsupported query (Stripe's 400 invalid_request_error, param `query`). */
export class SearchQueryError extends Error {
  override readonly name = 'SearchQueryError';
}

export type SearchOperator = ':' | '~' | '>' | '<' | '>=' | '<=';

/** One clause as parsed. */
export interface SearchClause {
  /** `email`, `name`…, or `metadata` with `metadataKey`. */
  field: string;
  metadataKey?: string;
  op: SearchOperator;
  /** The value, unquoted and unescaped; `null` for the bare word null. */
  value: string | number | null;
  negated: boolean;
}

/** A parsed query: its clauses and how they are joined. */
export interface SearchQuery {
  join: 'AND' | 'OR';
  clauses: SearchClause[];
}

/** Fields one resource can be searched by. */
export interface SearchFields {
  /** String fields (`:` and `~`). */
  strings: readonly string[];
  /** Numeric fields (`:` and comparisons). */
  numbers: readonly string[];
  /** Whether `metadata["key"]` may be used. */
  metadata: boolean;
}

/** The customer search's fields. */
export const CUSTOMER_SEARCH_FIELDS: SearchFields = {
  strings: ['email', 'name', 'phone'],
  numbers: ['created'],
  metadata: true,
};

const MAX_CLAUSES = 10;

/** Parses `query` for a resource with `fields`; throws SearchQueryError with Stripe-like wording. */
export function parseSearchQuery(query: string, fields: SearchFields = CUSTOMER_SEARCH_FIELDS): SearchQuery {
  let i = 0;
  const n = query.length;
  const fail = (why: string): never => {
    throw new SearchQueryError(`Invalid query: ${why} (at position ${i}).`);
  };
  const skipSpace = () => {
    while (i < n && /\s/.test(query[i] as string)) i++;
  };
  const readString = (): string => {
    if (query[i] !== '"') fail('expected a double-quoted string');
    i++;
    let out = '';
    for (;;) {
      if (i >= n) fail('unterminated string');
      const ch = query[i] as string;
      if (ch === '"') {
        i++;
        return out;
      }
      if (ch === '\\') {
        const next = query[i + 1];
        if (next !== '"' && next !== '\\') fail('only \\" and \\\\ may be escaped in a string');
        out += next;
        i += 2;
        continue;
      }
      out += ch;
      i++;
    }
  };
  const clauses: SearchClause[] = [];
  let join: 'AND' | 'OR' | undefined;

  skipSpace();
  if (i >= n) fail('the query is empty');
  for (;;) {
    // One clause.
    let negated = false;
    if (query[i] === '-') {
      negated = true;
      i++;
    }
    const fieldMatch = /^[a-z_][a-z0-9_]*/.exec(query.slice(i));
    if (!fieldMatch) fail('expected a field name');
    const field = (fieldMatch as RegExpExecArray)[0];
    i += field.length;
    let metadataKey: string | undefined;
    if (field === 'metadata') {
      if (!fields.metadata) fail('metadata cannot be searched here');
      if (query[i] !== '[') fail('metadata must be followed by ["key"]');
      i++;
      metadataKey = readString();
      if (metadataKey === '') fail('a metadata key cannot be empty');
      if (query[i] !== ']') fail('expected ]');
      i++;
    } else if (!fields.strings.includes(field) && !fields.numbers.includes(field)) {
      fail(`the field ${field} is not supported`);
    }
    const opMatch = /^(>=|<=|:|~|>|<)/.exec(query.slice(i));
    if (!opMatch) fail('expected an operator (: ~ > < >= <=)');
    const op = (opMatch as RegExpExecArray)[0] as SearchOperator;
    i += op.length;
    let value: string | number | null = null;
    if (query[i] === '"') value = readString();
    else {
      const bare = /^[A-Za-z0-9_.+-]+/.exec(query.slice(i));
      if (!bare) fail('expected a value');
      const word = (bare as RegExpExecArray)[0];
      i += word.length;
      if (word === 'null') value = null;
      else if (/^-?\d+(\.\d+)?$/.test(word)) value = Number(word);
      else fail('string values must be double-quoted');
    }
    const isNumberField = fields.numbers.includes(field);
    if (op === '~') {
      if (isNumberField || metadataKey !== undefined) fail('~ applies to string fields only');
      if (typeof value !== 'string' || [...value].length < 3)
        fail('a substring (~) value must have at least 3 characters');
    }
    if (op !== ':' && op !== '~' && !isNumberField) fail(`${op} applies to numeric fields only`);
    if (isNumberField && value !== null && typeof value !== 'number') {
      if (!/^-?\d+$/.test(String(value))) fail(`${field} takes a number`);
      value = Number(value);
    }
    clauses.push({
      field,
      ...(metadataKey !== undefined ? { metadataKey } : {}),
      op,
      value: value!,
      negated,
    });
    if (clauses.length > MAX_CLAUSES) fail(`at most ${MAX_CLAUSES} clauses are allowed`);

    // Then the end, or AND/OR and another clause.
    const before = i;
    skipSpace();
    if (i >= n) break;
    if (i === before) fail('clauses must be separated by AND or OR');
    const kw = /^(AND|OR)(?=\s)/.exec(query.slice(i));
    if (!kw) fail('expected AND or OR');
    const word = (kw as RegExpExecArray)[1] as 'AND' | 'OR';
    if (join && join !== word) fail('AND and OR cannot be combined in one query');
    join = word;
    i += word.length;
    skipSpace();
    if (i >= n) fail(`a clause must follow ${word}`);
  }
  return { join: join ?? 'AND', clauses };
}

/** True when `obj` (a resource with string/number fields and metadata) matches the query. */
export function matchesSearch(
  obj: Record<string, unknown> & { metadata?: Record<string, string> },
  q: SearchQuery,
): boolean {
  const one = (c: SearchClause): boolean => {
    const actual = c.metadataKey !== undefined ? obj.metadata?.[c.metadataKey] : obj[c.field];
    let hit: boolean;
    if (c.value === null) hit = actual === null || actual === undefined;
    else if (actual === null || actual === undefined) hit = false;
    else if (c.metadataKey !== undefined) hit = c.op === ':' && String(actual) === String(c.value);
    else if (typeof c.value === 'number') {
      const a = Number(actual);
      hit =
        c.op === ':'
          ? a === c.value
          : c.op === '>'
            ? a > c.value
            : c.op === '<'
              ? a < c.value
              : c.op === '>='
                ? a >= c.value
                : a <= c.value;
    } else {
      const a = String(actual).toLowerCase();
      const v = c.value.toLowerCase();
      hit = c.op === '~' ? a.includes(v) : a === v;
    }
    return c.negated ? !hit : hit;
  };
  return q.join === 'AND' ? q.clauses.every(one) : q.clauses.some(one);
}
