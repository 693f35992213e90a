// Allowed functions whose arguments decide what they do: a relation given as a string (sizes,
// comments), a setting name, a format string, series bounds. Each must be a literal the guard can
// read, so that the schema constraint, the settings allow-list and the size caps apply to it.
import { FORMAT_MAX_WIDTH, READABLE_SETTINGS, SERIES_MAX_ROWS } from './allow-list.js';
import { type RelationRef, SqlRefused } from './refusal.js';

type Node = Record<string, unknown>;

/** The text of a string literal node, or undefined when the node is anything else. */
export function stringLiteral(node: unknown): string | undefined {
  const c = (node as { A_Const?: { sval?: { sval?: string } } } | undefined)?.A_Const;
  return c?.sval === undefined ? undefined : (c.sval.sval ?? '');
}

function numberLiteral(node: unknown): number | undefined {
  const n = node as Node | undefined;
  const c = n?.A_Const as { ival?: { ival?: number }; fval?: { fval?: string } } | undefined;
  if (c?.ival !== undefined) return c.ival.ival ?? 0; // libpg-query leaves out a zero
  if (c?.fval !== undefined) return Number(c.fval.fval);
  const cast = n?.TypeCast as { arg?: unknown } | undefined;
  if (cast) return numberLiteral(cast.arg);
  const e = n?.A_Expr as { kind?: string; name?: unknown; lexpr?: unknown; rexpr?: unknown } | undefined;
  const op = (e?.name as { String?: { sval?: string } }[] | undefined)?.[0]?.String?.sval;
  if (e && e.kind === 'AEXPR_OP' && e.lexpr === undefined && op === '-') {
    const v = numberLiteral(e.rexpr);
    return v === undefined ? undefined : -v;
  }
  return undefined;
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
  const last = (cast?.typeName?.names?.at(-1) as { String?: { sval?: string } } | undefined)?.String?.sval;
  return last === 'regclass' && stringLiteral(cast?.arg) !== undefined;
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

/** Checks the arguments of an allowed function listed in CHECKED_CALLS; records relations it names. */
export function checkCall(name: string, node: Node, relations: RelationRef[]): void {
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
      const [start, stop, step] = [
        numberLiteral(args[0]),
        numberLiteral(args[1]),
        args[2] ? numberLiteral(args[2]) : 1,
      ];
      if (start === undefined || stop === undefined || step === undefined || step === 0) return;
      if (Math.abs((stop - start) / step) > SERIES_MAX_ROWS) {
        throw new SqlRefused(
          `generate_series() may produce at most ${SERIES_MAX_ROWS.toLocaleString('en-US')} rows; narrow the bounds.`,
        );
      }
      return;
    }
    default:
      return;
  }
}
