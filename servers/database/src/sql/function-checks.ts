// Allowed functions whose arguments decide what they do: a relation given as a string (sizes,
// comments), a setting name, a format string, series bounds. Each must be a literal the guard can
// read, so that the schema constraint, the settings allow-list and the size caps apply to it.
import {
  FORMAT_MAX_WIDTH,
  GROWTH_MAX,
  READABLE_SETTINGS,
  REPLACEMENT_MAX_LENGTH,
  SERIES_MAX_ROWS,
} from './allow-list.js';
import { type RelationRef, SqlRefused } from './refusal.js';

type Node = Record<string, unknown>;

/** What checking the calls of one query accumulates. */
export interface CallState {
  /** Relations named in arguments (regclass literals, relation strings). */
  relations: RelationRef[];
  /** The product of the size factors of the query's multiplying calls so far (see GROWTH_MAX). */
  growth: number;
  /** The relation-size functions called (they count every tenant's rows; see GuardOptions.tenantBound). */
  sizeFunctions: string[];
}

/** The text of a string literal node, or undefined when the node is anything else. */
export function stringLiteral(node: unknown): string | undefined {
  const c = (node as { A_Const?: { sval?: { sval?: string } } } | undefined)?.A_Const;
  return c?.sval === undefined ? undefined : (c.sval.sval ?? '');
}

/** An exact decimal: n × 10^-scale. */
interface Decimal {
  n: bigint;
  scale: number;
}

/** Literals with more digits than this are not counted (PostgreSQL would take them; the guard refuses). */
const MAX_DIGITS = 2000;
const INTEGER_TYPES = new Set(['int2', 'int4', 'int8']);

/** The exact value of a numeric literal's text ('12', '0.25', '1e-400'), or undefined. */
function parseDecimal(text: string): Decimal | undefined {
  // The parser folds a minus sign into the literal (-1e12).
  const m = /^([+-]?)(\d*)(?:\.(\d*))?(?:e([+-]?\d{1,5}))?$/i.exec(text);
  const digits = `${m?.[2] ?? ''}${m?.[3] ?? ''}`;
  if (!m || digits === '') return undefined;
  const exponent = Number(m[4] ?? 0);
  if (Math.abs(exponent) > MAX_DIGITS || digits.length > MAX_DIGITS) return undefined;
  const scale = (m[3] ?? '').length - exponent;
  const n = (m[1] === '-' ? -1n : 1n) * BigInt(digits);
  return scale >= 0 ? { n, scale } : { n: n * 10n ** BigInt(-scale), scale: 0 };
}

function aligned(a: Decimal, b: Decimal): [bigint, bigint, number] {
  const scale = Math.max(a.scale, b.scale);
  return [a.n * 10n ** BigInt(scale - a.scale), b.n * 10n ** BigInt(scale - b.scale), scale];
}

function isIntegral(v: Decimal): boolean {
  return v.n % 10n ** BigInt(v.scale) === 0n;
}

/**
 * The exact value of a numeric literal as PostgreSQL computes it: integers and decimals (numeric,
 * exact in PostgreSQL), a sign, casts to integer types of integral values and to numeric, and + - *
 * over those. Anything whose value the guard cannot know exactly (a division, a cast to float or to
 * numeric(p, s), a string) is undefined. A JavaScript number would not do: 1e-400 reads as 0 and
 * two 31-digit bounds as the same double (round 3).
 */
function decimalLiteral(node: unknown): Decimal | undefined {
  const n = node as Node | undefined;
  const c = n?.A_Const as { ival?: { ival?: number }; fval?: { fval?: string } } | undefined;
  if (c?.ival !== undefined) return { n: BigInt(c.ival.ival ?? 0), scale: 0 }; // libpg-query leaves out a zero
  if (c?.fval !== undefined) return parseDecimal(c.fval.fval ?? '');
  const cast = n?.TypeCast as
    | { arg?: unknown; typeName?: { names?: unknown[]; typmods?: unknown } }
    | undefined;
  if (cast) {
    const type = castTypeName(cast);
    const v = cast.typeName?.typmods === undefined ? decimalLiteral(cast.arg) : undefined;
    if (v === undefined) return undefined;
    if (type === 'numeric') return v;
    // An integer cast rounds a fraction: only integral values keep their value.
    return type !== undefined && INTEGER_TYPES.has(type) && isIntegral(v) ? v : undefined;
  }
  const e = n?.A_Expr as { kind?: string; name?: unknown; lexpr?: unknown; rexpr?: unknown } | undefined;
  const op = (e?.name as { String?: { sval?: string } }[] | undefined)?.[0]?.String?.sval;
  if (e && e.kind === 'AEXPR_OP' && e.lexpr === undefined && (op === '-' || op === '+')) {
    const v = decimalLiteral(e.rexpr);
    return v === undefined ? undefined : op === '-' ? { n: -v.n, scale: v.scale } : v;
  }
  if (e && e.kind === 'AEXPR_OP' && e.lexpr !== undefined) {
    // Constant folding of + - * over literals (`150000 * 1000`).
    const [a, b] = [decimalLiteral(e.lexpr), decimalLiteral(e.rexpr)];
    if (a === undefined || b === undefined) return undefined;
    let r: Decimal | undefined;
    if (op === '*') r = { n: a.n * b.n, scale: a.scale + b.scale };
    else if (op === '+' || op === '-') {
      const [x, y, scale] = aligned(a, b);
      r = { n: op === '+' ? x + y : x - y, scale };
    }
    if (r === undefined || r.scale > MAX_DIGITS || (r.n < 0n ? -r.n : r.n).toString().length > MAX_DIGITS)
      return undefined;
    return r;
  }
  return undefined;
}

const HOUR = 3_600_000;
const DAY = 86_400_000;
// Each unit of an interval literal, by the field PostgreSQL keeps it in: time, days or months.
const TIME_MS: Record<string, number> = {
  microsecond: 0.001,
  millisecond: 1,
  second: 1000,
  minute: 60_000,
  hour: HOUR,
};
const TIME_US: Record<string, number> = {
  microsecond: 1,
  millisecond: 1000,
  second: 1_000_000,
  minute: 60_000_000,
  hour: 3_600_000_000,
};
const DAYS: Record<string, number> = { day: 1, week: 7 };
const MONTHS: Record<string, number> = { month: 1, year: 12, decade: 120, century: 1200, millennium: 12_000 };
const UNIT_ALIASES: Record<string, string> = {
  us: 'microsecond',
  usec: 'microsecond',
  usecs: 'microsecond',
  microseconds: 'microsecond',
  ms: 'millisecond',
  msec: 'millisecond',
  msecs: 'millisecond',
  milliseconds: 'millisecond',
  s: 'second',
  sec: 'second',
  secs: 'second',
  seconds: 'second',
  m: 'minute',
  min: 'minute',
  mins: 'minute',
  minutes: 'minute',
  h: 'hour',
  hr: 'hour',
  hrs: 'hour',
  hours: 'hour',
  d: 'day',
  days: 'day',
  w: 'week',
  weeks: 'week',
  mon: 'month',
  mons: 'month',
  months: 'month',
  y: 'year',
  yr: 'year',
  yrs: 'year',
  years: 'year',
  decades: 'decade',
  centuries: 'century',
  millennia: 'millennium',
  millenniums: 'millennium',
};

/** How long a step or offset can be, in milliseconds: somewhere in [lo, hi]. */
interface Span {
  lo: number;
  hi: number;
}

/**
 * The shortest and longest an interval literal's text ('1 month 2 days', '01:30:00') can be, or
 * undefined when it is not one the guard reads, or when its fields have different signs ('-1 mon
 * 31 days' lands on the same date again: round 3). A month is 28 to 31 days, a day 23 to 25 hours
 * (daylight saving), and each field may round by a microsecond.
 */
function intervalSpan(text: string): Span | undefined {
  let rest = text.trim().toLowerCase();
  if (rest === '') return undefined;
  const clock = /^([-+]?)(\d+):(\d{1,2})(?::(\d{1,2}(?:\.\d+)?))?$/.exec(rest);
  const terms: [number, string][] = [];
  if (clock) {
    const ms = Number(clock[2]) * HOUR + Number(clock[3]) * 60_000 + Number(clock[4] ?? 0) * 1000;
    terms.push([clock[1] === '-' ? -ms : ms, 'millisecond']);
    rest = '';
  }
  while (rest !== '') {
    const m = /^([-+]?\d{1,9}(?:\.\d{1,9})?)\s*([a-z]+)\s*/.exec(rest);
    if (!m) return undefined;
    const word = m[2] as string;
    const known = TIME_MS[word] !== undefined || DAYS[word] !== undefined || MONTHS[word] !== undefined;
    const unit = known ? word : UNIT_ALIASES[word];
    if (unit === undefined) return undefined;
    terms.push([Number(m[1]), unit]);
    rest = rest.slice(m[0].length);
  }
  const signs = new Set(terms.filter(([v]) => v !== 0).map(([v]) => Math.sign(v)));
  if (signs.size > 1) return undefined;
  let [lo, hi] = [0, 0];
  for (const [v, unit] of terms) {
    const a = Math.abs(v);
    const [time, days, months] = [TIME_MS[unit], DAYS[unit], MONTHS[unit]];
    if (time !== undefined) [lo, hi] = [lo + a * time, hi + a * time];
    else if (days !== undefined) [lo, hi] = [lo + a * days * 23 * HOUR, hi + a * days * 25 * HOUR];
    else if (months !== undefined)
      [lo, hi] = [lo + a * months * 28 * 23 * HOUR, hi + a * months * 31 * 25 * HOUR];
    else return undefined;
  }
  // PostgreSQL keeps whole microseconds: a fraction ('1.5 us', '0.3 days') may round by up to one.
  const slack =
    terms.filter(([v, unit]) => !Number.isInteger(Math.abs(v) * (TIME_US[unit] ?? 1))).length * 0.001;
  lo = Math.max(0, lo - slack);
  hi += slack;
  return signs.has(-1) ? { lo: -hi, hi: -lo } : { lo, hi };
}

function castTypeName(cast: { typeName?: { names?: unknown[] } } | undefined): string | undefined {
  return (cast?.typeName?.names?.at(-1) as { String?: { sval?: string } } | undefined)?.String?.sval;
}

/** The span of `interval '1 day'` / `'1 day'::interval`, or undefined when not such a literal. */
function intervalLiteral(node: unknown): Span | undefined {
  // An untyped string ('1 day') in the step position is read as an interval.
  const bare = stringLiteral(node);
  if (bare !== undefined) return intervalSpan(bare);
  const cast = (node as { TypeCast?: { arg?: unknown; typeName?: { names?: unknown[]; typmods?: unknown } } })
    ?.TypeCast;
  if (!cast || castTypeName(cast) !== 'interval' || cast.typeName?.typmods !== undefined) return undefined;
  const text = stringLiteral(cast.arg);
  return text === undefined ? undefined : intervalSpan(text);
}

const NOW_FUNCTIONS = new Set(['now', 'transaction_timestamp', 'statement_timestamp', 'clock_timestamp']);
const TEMPORAL_TYPES = new Set(['date', 'timestamp', 'timestamptz']);
/** Points in time further out than this (ms from 1970; PostgreSQL's end is near 9.2e15) are not counted. */
const TIME_MAX = 10_000_000_000_000_000;

/**
 * When a point in time can be, as milliseconds in [lo, hi], when the node is a literal
 * date/timestamp, now() (or CURRENT_DATE...), or one of those plus or minus a literal interval or
 * whole number of days. A day's slack each side covers the session's time zone.
 */
function timeLiteral(node: unknown): Span | undefined {
  const n = node as Node | undefined;
  const around = (ms: number): Span => ({ lo: ms - DAY, hi: ms + DAY });
  if (n?.SQLValueFunction) return around(Date.now());
  const call = n?.FuncCall as { funcname?: unknown[]; args?: unknown[] } | undefined;
  if (call) {
    const name = (call.funcname?.at(-1) as { String?: { sval?: string } } | undefined)?.String?.sval;
    return name !== undefined && NOW_FUNCTIONS.has(name) && !call.args?.length
      ? around(Date.now())
      : undefined;
  }
  const cast = n?.TypeCast as { arg?: unknown; typeName?: { names?: unknown[] } } | undefined;
  if (cast) {
    const type = castTypeName(cast);
    if (type === undefined || !TEMPORAL_TYPES.has(type)) return undefined;
    const text = stringLiteral(cast.arg);
    if (text === undefined) return timeLiteral(cast.arg);
    // Only plain calendar dates and times; 'infinity', 'now', 'epoch' and the like are refused.
    if (!/^\s*\d{4}-\d{2}-\d{2}([ T][\d:.]+)?\s*([+-]\d{2}(:?\d{2})?|z|utc)?\s*$/i.test(text))
      return undefined;
    const ms = Date.parse(text.trim().replace(' ', 'T').replace(/utc$/i, 'Z'));
    return Number.isNaN(ms) ? undefined : around(ms);
  }
  const e = n?.A_Expr as { kind?: string; name?: unknown; lexpr?: unknown; rexpr?: unknown } | undefined;
  const op = (e?.name as { String?: { sval?: string } }[] | undefined)?.[0]?.String?.sval;
  if (e && e.kind === 'AEXPR_OP' && e.lexpr !== undefined && (op === '+' || op === '-')) {
    const base = timeLiteral(e.lexpr);
    // date ± integer counts days; otherwise the right side must be a literal interval.
    const days = decimalLiteral(e.rexpr);
    let delta: Span | undefined;
    if (days === undefined) delta = intervalLiteral(e.rexpr);
    else if (isIntegral(days)) {
      const ms = Number(days.n / 10n ** BigInt(days.scale)) * DAY;
      delta = { lo: ms, hi: ms };
    }
    if (base === undefined || delta === undefined) return undefined;
    const r =
      op === '+'
        ? { lo: base.lo + delta.lo, hi: base.hi + delta.hi }
        : { lo: base.lo - delta.hi, hi: base.hi - delta.lo };
    return Math.abs(r.lo) <= TIME_MAX && Math.abs(r.hi) <= TIME_MAX ? r : undefined;
  }
  return undefined;
}

const WRONG_STEP =
  'generate_series() needs a step that is not zero and goes from start toward stop: generate_series(10, 1, -1), not generate_series(10, 1) or a step of 0.';

/**
 * The most rows generate_series(args) can produce, or undefined when its arguments are not literals
 * the guard can count. Numbers are counted exactly; times as an upper bound. A step of zero, or one
 * going away from stop, is refused.
 */
function seriesRows(args: unknown[]): bigint | undefined {
  const [start, stop, step] = [
    decimalLiteral(args[0]),
    decimalLiteral(args[1]),
    args[2] ? decimalLiteral(args[2]) : { n: 1n, scale: 0 },
  ];
  if (start !== undefined && stop !== undefined && step !== undefined) {
    const [a, b, scale] = aligned(start, stop);
    const [diff, by] = aligned({ n: b - a, scale }, step);
    if (by === 0n || (diff !== 0n && diff < 0n !== by < 0n)) throw new SqlRefused(WRONG_STEP);
    return diff / by + 1n;
  }
  if (args.length !== 3) return undefined;
  const [from, to, every] = [timeLiteral(args[0]), timeLiteral(args[1]), intervalLiteral(args[2])];
  if (from === undefined || to === undefined || every === undefined) return undefined;
  if (every.lo <= 0 && every.hi >= 0) throw new SqlRefused(WRONG_STEP);
  const widest = every.lo > 0 ? to.hi - from.lo : from.hi - to.lo;
  if (widest < 0) throw new SqlRefused(WRONG_STEP);
  const rows = Math.floor(widest / Math.min(Math.abs(every.lo), Math.abs(every.hi))) + 1;
  return Number.isFinite(rows) && rows < Number.MAX_SAFE_INTEGER
    ? BigInt(rows)
    : BigInt(Number.MAX_SAFE_INTEGER);
}

// regclass input: dot-separated identifiers, quoted ("a""b") or not (then folded to lower case).
// Anything else (an OID in digits, stray characters) is refused rather than guessed at.
const IDENT = String.raw`(?:"(?:[^"]|"")+"|[A-Za-z_\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*)`;
const QUALIFIED = new RegExp(
  String.raw`^\s*(${IDENT})\s*(?:\.\s*(${IDENT})\s*)?(?:\.\s*(${IDENT})\s*)?$`,
  'u',
);

function identifier(raw: string): string {
  return raw.startsWith('"')
    ? raw.slice(1, -1).replace(/""/g, '"')
    : raw.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

/** The relation a regclass literal names, as PostgreSQL will read it. */
export function relationFromLiteral(text: string, fn: string): RelationRef {
  const m = QUALIFIED.exec(text);
  if (!m) {
    throw new SqlRefused(
      `${fn} needs the table as a literal 'schema.table' (got ${JSON.stringify(text.slice(0, 80))}); write the table's name, not an OID or an expression.`,
    );
  }
  const parts = m
    .slice(1)
    .filter((p): p is string => p !== undefined)
    .map(identifier);
  if (parts.length === 3)
    throw new SqlRefused('references to other databases are not allowed; name tables as schema.table.');
  const [a, b] = parts as [string, string | undefined];
  return b === undefined ? { schema: null, name: a } : { schema: a, name: b };
}

/** Whether a TypeCast node is `'literal'::regclass` (its relation is recorded by the cast check). */
function isRegclassLiteral(node: unknown): boolean {
  const cast = (node as { TypeCast?: { arg?: unknown; typeName?: { names?: unknown[] } } } | undefined)
    ?.TypeCast;
  return castTypeName(cast) === 'regclass' && stringLiteral(cast?.arg) !== undefined;
}

function checkFormat(fmt: string | undefined): void {
  if (fmt === undefined) {
    throw new SqlRefused(
      "format() needs its format string as a literal ('%s ...'); build the text with || or concat() instead.",
    );
  }
  for (let i = fmt.indexOf('%'); i >= 0; i = fmt.indexOf('%', i + 1)) {
    if (fmt[i + 1] === '%') {
      i += 1;
      continue;
    }
    const m = /^(?:\d+\$)?-*(\*|\d+)?/.exec(fmt.slice(i + 1));
    const width = m?.[1];
    if (width === '*' || (width !== undefined && Number(width) > FORMAT_MAX_WIDTH)) {
      throw new SqlRefused(
        `format() width ${width === '*' ? 'from an argument (*)' : width} is not allowed: at most ${FORMAT_MAX_WIDTH}, written as a number. Pad in the client instead.`,
      );
    }
  }
}

/** Whether a TypeCast node is `'literal'::regconfig` (a text search configuration named by name). */
export function isRegconfigLiteral(node: unknown): boolean {
  const cast = (node as { TypeCast?: { arg?: unknown; typeName?: { names?: unknown[] } } } | undefined)
    ?.TypeCast;
  const text = stringLiteral(cast?.arg);
  // regconfig input also takes an OID in digits, which would name any configuration.
  return castTypeName(cast) === 'regconfig' && text !== undefined && !/^[\s{]*[+-]?\d/.test(text);
}

// Text search functions whose first argument is a configuration when they get this many arguments.
const CONFIG_FIRST: Record<string, number> = {
  to_tsvector: 2,
  to_tsquery: 2,
  plainto_tsquery: 2,
  phraseto_tsquery: 2,
  websearch_to_tsquery: 2,
  ts_headline: 3, // (config, doc, query) or (doc, query, options): the guard cannot tell; see below
};

function checkConfig(name: string, args: unknown[]): void {
  const position = CONFIG_FIRST[name] as number;
  if (args.length < position) return;
  const text = stringLiteral(args[0]);
  if ((text !== undefined && !/^\s*[+-]?\d/.test(text)) || isRegconfigLiteral(args[0])) return;
  throw new SqlRefused(
    `${name}() needs its text search configuration first, as a literal name: ${name}('english', ...)${name === 'ts_headline' ? ", e.g. ts_headline('english', body, query, 'MaxWords=20')" : ''}. A configuration given as an OID or an expression is not allowed.`,
  );
}

/** The size factor of a multiplying call (see GROWTH_MAX), refusing replacement texts it cannot read. */
function growthFactor(name: string, node: Node, args: unknown[]): number {
  const literal = (i: number, what: string): string => {
    const text = stringLiteral(args[i]);
    if (text === undefined) {
      throw new SqlRefused(
        `${name}() needs its ${what} as a literal string (at most ${REPLACEMENT_MAX_LENGTH} characters): the guard bounds how much it can grow a value.`,
      );
    }
    if (text.length > REPLACEMENT_MAX_LENGTH) {
      throw new SqlRefused(
        `${name}() ${what} is ${text.length} characters, which could multiply a value's size by ${text.length}; at most ${REPLACEMENT_MAX_LENGTH} are allowed.`,
      );
    }
    return text;
  };
  switch (name) {
    case 'replace': {
      const to = literal(2, 'replacement');
      const from = stringLiteral(args[1]);
      if (from === '') return 1; // PostgreSQL returns the text unchanged
      return Math.max(1, Math.ceil(to.length / Math.max(1, from?.length ?? 1)));
    }
    case 'regexp_replace': {
      const to = literal(2, 'replacement');
      // \1..\9 and \& insert the match: each can repeat the whole input.
      const refs = to.match(/\\[1-9&]/g)?.length ?? 0;
      return to.length - refs + 1;
    }
    case 'array_to_string': {
      const separator = literal(1, 'separator');
      const nulls = args.length > 2 ? literal(2, 'null text') : '';
      return 1 + separator.length + nulls.length;
    }
    case 'concat_ws':
      // Only VARIADIC ARRAY[...] repeats the separator a number of times the query text does not show.
      return node.func_variadic ? 1 + literal(0, 'separator').length : 1;
    default:
      return 1;
  }
}

/** Checks the arguments of an allowed function listed in CHECKED_CALLS; records relations it names. */
export function checkCall(name: string, node: Node, state: CallState): void {
  const relations = state.relations;
  const args = Array.isArray(node.args) ? (node.args as unknown[]) : [];
  switch (name) {
    case 'format':
      if (args.length > 0) checkFormat(stringLiteral(args[0]));
      return;
    case 'current_setting': {
      const setting = stringLiteral(args[0]);
      if (setting === undefined) {
        throw new SqlRefused(
          "current_setting() needs the setting's name as a literal, e.g. current_setting('TimeZone').",
        );
      }
      // Setting names are case-insensitive in PostgreSQL.
      if (!READABLE_SETTINGS.has(setting.toLowerCase())) {
        throw new SqlRefused(
          `setting ${setting} is not one a query may read; readable: ${[...READABLE_SETTINGS].join(', ')}.`,
        );
      }
      return;
    }
    case 'pg_relation_size':
    case 'pg_total_relation_size':
    case 'pg_table_size':
    case 'pg_indexes_size': {
      state.sizeFunctions.push(name);
      const text = stringLiteral(args[0]);
      if (text !== undefined) relations.push(relationFromLiteral(text, `${name}()`));
      else if (!isRegclassLiteral(args[0])) {
        throw new SqlRefused(
          `${name}() needs the table as a literal 'schema.table', e.g. ${name}('sales.orders'); not an OID or an expression.`,
        );
      }
      return;
    }
    case 'obj_description':
    case 'col_description':
      // The first argument is an OID; only 'schema.table'::regclass says which relation it is.
      if (!isRegclassLiteral(args[0])) {
        throw new SqlRefused(
          `${name}() needs the table as a literal 'schema.table'::regclass, e.g. ${name}('sales.orders'::regclass${name === 'col_description' ? ', 1' : ''}).`,
        );
      }
      return;
    case 'generate_series': {
      // Only bounds the guard can count are accepted: a computed bound (a subquery, a column) can
      // ask for any number of rows (F3: generate_series(1, (SELECT 150000000)) spilled 1 GB).
      const rows = seriesRows(args);
      if (rows === undefined) {
        throw new SqlRefused(
          "generate_series() needs literal bounds and step, so that its row count is known: generate_series(1, 1000), generate_series(date '2025-01-01', date '2025-12-31', interval '1 day') or generate_series(now() - interval '30 days', now(), interval '1 day'). Computed bounds (subqueries, columns) are not allowed.",
        );
      }
      if (rows > BigInt(SERIES_MAX_ROWS)) {
        throw new SqlRefused(
          `generate_series() may produce at most ${SERIES_MAX_ROWS.toLocaleString('en-US')} rows; narrow the bounds.`,
        );
      }
      return;
    }
    case 'to_tsvector':
    case 'to_tsquery':
    case 'plainto_tsquery':
    case 'phraseto_tsquery':
    case 'websearch_to_tsquery':
    case 'ts_headline':
      checkConfig(name, args);
      return;
    case 'replace':
    case 'regexp_replace':
    case 'array_to_string':
    case 'concat_ws': {
      state.growth *= growthFactor(name, node, args);
      if (state.growth > GROWTH_MAX) {
        throw new SqlRefused(
          `the query's replace/regexp_replace/array_to_string/concat_ws calls could multiply a value's size by ${Math.round(state.growth).toLocaleString('en-US')}; at most ${GROWTH_MAX.toLocaleString('en-US')} is allowed. Use shorter replacement texts and separators, or fewer nested replacements.`,
        );
      }
      return;
    }
    default:
      return;
  }
}
