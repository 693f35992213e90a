// A real parser for the SOQL subset the simulator answers: SELECT fields FROM object [WHERE …]
// [ORDER BY …] [LIMIT n], with Salesforce's literal rules (string escapes, LIKE's \% and \_, dates,
// TRUE/FALSE/NULL). Anything outside the subset is MALFORMED_QUERY, as Salesforce would say for a
// syntax error; tests also use it to read back the exact conditions a query builder produced.

/** A query Salesforce refused, with its errorCode (MALFORMED_QUERY, INVALID_FIELD, INVALID_TYPE…). */
export class SoqlError extends Error {
  constructor(
    readonly errorCode: string,
    message: string,
  ) {
    super(message);
    this.name = 'SoqlError';
  }
}

/** One piece of a LIKE pattern: literal text, or the wildcards `%` (any run) and `_` (one character). */
export type LikePart = { lit: string } | '%' | '_';

/** A literal value as written in the query. */
export type SoqlValue =
  | { type: 'string'; value: string; pattern: LikePart[] }
  | { type: 'number'; value: number }
  | { type: 'boolean'; value: boolean }
  | { type: 'null' }
  | { type: 'date'; value: string }
  | { type: 'datetime'; value: string };

/** Comparison operators of the subset. */
export type SoqlOp = '=' | '!=' | '<' | '<=' | '>' | '>=' | 'LIKE';

/** A WHERE condition tree. */
export type SoqlCondition =
  | { kind: 'cmp'; field: string; op: SoqlOp; value: SoqlValue }
  | { kind: 'in'; field: string; not: boolean; values: SoqlValue[] }
  | { kind: 'and' | 'or'; items: SoqlCondition[] }
  | { kind: 'not'; item: SoqlCondition };

/** A parsed query. */
export interface SoqlQuery {
  fields: string[];
  object: string;
  where?: SoqlCondition;
  orderBy: { field: string; dir: 'ASC' | 'DESC'; nulls: 'FIRST' | 'LAST' }[];
  limit?: number;
}

type Token =
  | { t: 'word'; v: string; at: number }
  | { t: 'string'; v: SoqlValue & { type: 'string' }; at: number }
  | { t: 'number'; v: number; at: number }
  | { t: 'date'; v: string; at: number }
  | { t: 'datetime'; v: string; at: number }
  | { t: 'op'; v: string; at: number }
  | { t: 'punct'; v: '(' | ')' | ','; at: number };

const KEYWORDS = new Set([
  'SELECT',
  'FROM',
  'WHERE',
  'AND',
  'OR',
  'NOT',
  'LIKE',
  'IN',
  'NULL',
  'TRUE',
  'FALSE',
  'ORDER',
  'BY',
  'ASC',
  'DESC',
  'NULLS',
  'FIRST',
  'LAST',
  'LIMIT',
]);
const UNSUPPORTED = new Set([
  'TYPEOF',
  'GROUP',
  'HAVING',
  'OFFSET',
  'WITH',
  'FOR',
  'USING',
  'INCLUDES',
  'EXCLUDES',
  'FIND',
]);

const malformed = (why: string) => new SoqlError('MALFORMED_QUERY', why);

/** The characters a backslash may escape in a SOQL string literal, and what they stand for. */
const ESCAPES: Record<string, string> = {
  n: '\n',
  N: '\n',
  r: '\r',
  R: '\r',
  t: '\t',
  T: '\t',
  b: '\b',
  B: '\b',
  f: '\f',
  F: '\f',
  '"': '"',
  "'": "'",
  '\\': '\\',
};

function lexString(src: string, start: number): { token: Token; end: number } {
  let value = '';
  const pattern: LikePart[] = [];
  const lit = (s: string) => {
    value += s;
    const last = pattern[pattern.length - 1];
    if (last && typeof last === 'object') last.lit += s;
    else pattern.push({ lit: s });
  };
  let i = start + 1;
  for (;;) {
    if (i >= src.length) throw malformed(`unterminated string literal at ${start}`);
    const c = src[i] as string;
    if (c === "'")
      return { token: { t: 'string', v: { type: 'string', value, pattern }, at: start }, end: i + 1 };
    if (c === '\\') {
      const n = src[i + 1];
      if (n === undefined) throw malformed(`unterminated string literal at ${start}`);
      if (n === '%' || n === '_') lit(n);
      else if (n === 'u' || n === 'U') {
        const hex = src.slice(i + 2, i + 6);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw malformed(`invalid unicode escape at ${i}`);
        lit(String.fromCharCode(Number.parseInt(hex, 16)));
        i += 6;
        continue;
      } else if (ESCAPES[n] !== undefined) lit(ESCAPES[n] as string);
      else throw malformed(`invalid escape sequence \\${n} at ${i}`);
      i += 2;
      continue;
    }
    if (c === '%' || c === '_') {
      value += c;
      pattern.push(c);
    } else lit(c);
    i += 1;
  }
}

const DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:\d{2})/;
const DATE = /^\d{4}-\d{2}-\d{2}(?![\dT])/;
const NUMBER = /^-?\d+(?:\.\d+)?(?![\w.])/;
const WORD = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*/;

/** Splits a query into tokens. */
export function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i] as string;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const rest = src.slice(i);
    if (c === "'") {
      const { token, end } = lexString(src, i);
      out.push(token);
      i = end;
      continue;
    }
    if (c === '(' || c === ')' || c === ',') {
      out.push({ t: 'punct', v: c, at: i });
      i++;
      continue;
    }
    const op = /^(?:!=|<>|<=|>=|=|<|>)/.exec(rest);
    if (op) {
      out.push({ t: 'op', v: op[0] === '<>' ? '!=' : op[0], at: i });
      i += op[0].length;
      continue;
    }
    let m = DATETIME.exec(rest);
    if (m) {
      out.push({ t: 'datetime', v: m[0], at: i });
      i += m[0].length;
      continue;
    }
    m = DATE.exec(rest);
    if (m) {
      out.push({ t: 'date', v: m[0], at: i });
      i += m[0].length;
      continue;
    }
    m = NUMBER.exec(rest);
    if (m) {
      out.push({ t: 'number', v: Number(m[0]), at: i });
      i += m[0].length;
      continue;
    }
    m = WORD.exec(rest);
    if (m) {
      out.push({ t: 'word', v: m[0], at: i });
      i += m[0].length;
      continue;
    }
    throw malformed(`unexpected character '${c}' at ${i}`);
  }
  return out;
}

class Parser {
  private i = 0;
  constructor(private readonly toks: Token[]) {}

  private peek(): Token | undefined {
    return this.toks[this.i];
  }
  private isKw(kw: string, t = this.peek()): boolean {
    return t?.t === 'word' && t.v.toUpperCase() === kw;
  }
  private expectKw(kw: string): void {
    if (!this.isKw(kw)) throw malformed(`expected ${kw} ${this.where()}`);
    this.i++;
  }
  private where(): string {
    const t = this.peek();
    return t ? `at ${t.at}` : 'at end of query';
  }
  private field(): string {
    const t = this.peek();
    if (t?.t !== 'word' || KEYWORDS.has(t.v.toUpperCase()) || UNSUPPORTED.has(t.v.toUpperCase()))
      throw malformed(`expected a field name ${this.where()}`);
    this.i++;
    return t.v;
  }

  query(): SoqlQuery {
    this.expectKw('SELECT');
    const fields = [this.field()];
    while (this.peek()?.t === 'punct' && this.peek()?.v === ',') {
      this.i++;
      fields.push(this.field());
    }
    this.expectKw('FROM');
    const object = this.field();
    if (object.includes('.')) throw malformed(`expected an object name after FROM`);
    const q: SoqlQuery = { fields, object, orderBy: [] };
    if (this.isKw('WHERE')) {
      this.i++;
      q.where = this.or();
    }
    if (this.isKw('ORDER')) {
      this.i++;
      this.expectKw('BY');
      do {
        if (q.orderBy.length) this.i++;
        const field = this.field();
        let dir: 'ASC' | 'DESC' = 'ASC';
        if (this.isKw('ASC') || this.isKw('DESC'))
          dir = (this.toks[this.i++] as { v: string }).v.toUpperCase() as 'ASC';
        let nulls: 'FIRST' | 'LAST' = dir === 'ASC' ? 'FIRST' : 'LAST';
        if (this.isKw('NULLS')) {
          this.i++;
          if (this.isKw('FIRST')) nulls = 'FIRST';
          else if (this.isKw('LAST')) nulls = 'LAST';
          else throw malformed(`expected FIRST or LAST ${this.where()}`);
          this.i++;
        }
        q.orderBy.push({ field, dir, nulls });
      } while (this.peek()?.t === 'punct' && this.peek()?.v === ',');
    }
    if (this.isKw('LIMIT')) {
      this.i++;
      const t = this.peek();
      if (t?.t !== 'number' || !Number.isInteger(t.v) || t.v < 0)
        throw malformed(`expected a row count ${this.where()}`);
      this.i++;
      q.limit = t.v;
    }
    if (this.peek()) throw malformed(`unexpected token ${this.where()}`);
    return q;
  }

  private or(): SoqlCondition {
    const items = [this.and()];
    while (this.isKw('OR')) {
      this.i++;
      items.push(this.and());
    }
    return items.length === 1 ? (items[0] as SoqlCondition) : { kind: 'or', items };
  }
  private and(): SoqlCondition {
    const items = [this.unary()];
    while (this.isKw('AND')) {
      this.i++;
      items.push(this.unary());
    }
    return items.length === 1 ? (items[0] as SoqlCondition) : { kind: 'and', items };
  }
  private unary(): SoqlCondition {
    if (this.isKw('NOT')) {
      this.i++;
      return { kind: 'not', item: this.unary() };
    }
    const t = this.peek();
    if (t?.t === 'punct' && t.v === '(') {
      this.i++;
      const c = this.or();
      const close = this.peek();
      if (close?.t !== 'punct' || close.v !== ')') throw malformed(`expected ) ${this.where()}`);
      this.i++;
      return c;
    }
    const field = this.field();
    if (this.isKw('NOT') && this.isKw('IN', this.toks[this.i + 1])) {
      this.i += 2;
      return { kind: 'in', field, not: true, values: this.list() };
    }
    if (this.isKw('IN')) {
      this.i++;
      return { kind: 'in', field, not: false, values: this.list() };
    }
    let op: SoqlOp;
    const o = this.peek();
    if (this.isKw('LIKE')) op = 'LIKE';
    else if (o?.t === 'op') op = o.v as SoqlOp;
    else throw malformed(`expected an operator ${this.where()}`);
    this.i++;
    return { kind: 'cmp', field, op, value: this.value() };
  }
  private list(): SoqlValue[] {
    const open = this.peek();
    if (open?.t !== 'punct' || open.v !== '(') throw malformed(`expected ( ${this.where()}`);
    this.i++;
    const values = [this.value()];
    for (;;) {
      const t = this.peek();
      if (t?.t === 'punct' && t.v === ',') {
        this.i++;
        values.push(this.value());
      } else if (t?.t === 'punct' && t.v === ')') {
        this.i++;
        return values;
      } else throw malformed(`expected , or ) ${this.where()}`);
    }
  }
  private value(): SoqlValue {
    const t = this.peek();
    if (!t) throw malformed('expected a value at end of query');
    this.i++;
    switch (t.t) {
      case 'string':
        return t.v;
      case 'number':
        return { type: 'number', value: t.v };
      case 'date':
        return { type: 'date', value: t.v };
      case 'datetime':
        return { type: 'datetime', value: t.v };
      case 'word': {
        const k = t.v.toUpperCase();
        if (k === 'NULL') return { type: 'null' };
        if (k === 'TRUE' || k === 'FALSE') return { type: 'boolean', value: k === 'TRUE' };
        break;
      }
    }
    throw malformed(`expected a value at ${t.at}`);
  }
}

/** Parses a query of the subset; throws SoqlError MALFORMED_QUERY for anything else. */
export function parseSoql(src: string): SoqlQuery {
  return new Parser(tokenize(src)).query();
}
