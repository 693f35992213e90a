// The names a query uses, checked against the allow-lists: functions however they are spelled
// (`f(x)`, `x.f`, `(x).f`), cast target types, and operators wherever a node carries one.
import {
  ALLOWED_CAST_TYPES,
  ALLOWED_FUNCTIONS,
  ALLOWED_OPERATORS,
  CHECKED_CALLS,
  KEYWORD_EXPR_KINDS,
  OPERATOR_EXPR_KINDS,
} from './allow-list.js';
import { BUILTIN_FUNCTION_NAMES } from './builtin-function-names.js';
import { BUILTIN_TYPE_NAMES } from './builtin-type-names.js';
import {
  type CallState,
  checkCall,
  isRegconfigLiteral,
  relationFromLiteral,
  stringLiteral,
} from './function-checks.js';
import { type RelationRef, SqlRefused } from './refusal.js';

function names(list: unknown): string[] {
  if (!Array.isArray(list)) return [];
  return list.map((n) => (n as { String?: { sval?: string } }).String?.sval ?? '?');
}

/** The name of a built-in as written: bare or pg_catalog-qualified; undefined for any other schema. */
function builtinName(parts: string[]): string | undefined {
  const [first, second] = parts;
  return parts.length === 2 && first === 'pg_catalog' ? second : parts.length === 1 ? first : undefined;
}

/** A function call: the name must be allowed, and some allowed functions have their arguments checked. */
export function checkFunction(node: Record<string, unknown>, state: CallState): void {
  const parts = names(node.funcname);
  const name = builtinName(parts);
  if (name === undefined || !ALLOWED_FUNCTIONS.has(name)) {
    throw new SqlRefused(
      `function ${parts.join('.')}() is not allowed: only built-in read-only functions are (aggregates, window, math, text, date/time, json). Rewrite the query without it.`,
    );
  }
  if (parts.length === 1 && ownFunctions.has(name)) {
    throw new SqlRefused(
      `function ${name}() is not allowed unqualified here: the warehouse defines its own ${name}() on the search path, which PostgreSQL may pick instead of the built-in. Write pg_catalog.${name}(...).`,
    );
  }
  if (CHECKED_CALLS.has(name)) checkCall(name, node, state);
}

// Every name PostgreSQL may resolve to a function: the built-ins, plus whatever the warehouse's
// own pg_proc holds (extensions, its functions), registered by the tools before they check SQL.
const functionNames = new Set<string>(BUILTIN_FUNCTION_NAMES);
// Every name PostgreSQL may resolve to a type: `x.t` is then the cast t(x) (function-style cast).
const typeNames = new Set<string>(BUILTIN_TYPE_NAMES);
// Functions and operators the warehouse defines itself in schemas on the role's search path (not
// extension members): an unqualified allowed name could resolve to one of them (CVE-2018-1058).
const ownFunctions = new Set<string>();
const ownOperators = new Set<string>();
// Names whose every function, in every schema, is IMMUTABLE: as `x.f` they compute from x alone.
// A name impure in any catalog registered (one per warehouse) stays impure.
const pureFunctions = new Set<string>();
const impureFunctions = new Set<string>();

/** What the warehouse's catalog says, as read by catalog.ts. */
export interface WarehouseNames {
  /** Every function name in pg_proc. */
  functions: string[];
  /** Functions the warehouse defines in schemas on the search path, outside extensions. */
  ownFunctions: string[];
  /** Operators the warehouse defines in schemas on the search path, outside extensions. */
  ownOperators: string[];
  /** Function names all of whose overloads are IMMUTABLE. */
  pureFunctions: string[];
  /** Every type name in pg_type (domains, enums, composite and array types of the warehouse). */
  types?: string[];
}

/** Adds what the warehouse's catalog names. True when anything was new. */
export function addWarehouseNames(n: WarehouseNames): boolean {
  const size = () =>
    functionNames.size +
    typeNames.size +
    ownFunctions.size +
    ownOperators.size +
    pureFunctions.size +
    impureFunctions.size;
  const before = size();
  for (const name of n.types ?? []) typeNames.add(name);
  for (const name of n.functions) functionNames.add(name);
  for (const name of n.ownFunctions) ownFunctions.add(name);
  for (const name of n.ownOperators) ownOperators.add(name);
  for (const name of n.pureFunctions) if (!CHECKED_CALLS.has(name)) pureFunctions.add(name);
  const pure = new Set(n.pureFunctions);
  for (const name of n.functions) if (!pure.has(name)) impureFunctions.add(name);
  return size() !== before;
}

/**
 * PostgreSQL reads `x.f` and `(x).f` as `f(x)` when `f` is not a column of `x` (attribute notation),
 * so a field name that is a function's name is a call, and one that is a type's name is a cast
 * (`x.regnamespace` looks a schema up by name, `x._regclass` tables, `x.regprocedure` functions).
 * Allowed: allowed functions whose arguments need no inspection, and types a cast may target
 * (`c.name`, `t.date`, `t.path` convert at most). A column that shares a forbidden name can still
 * be selected unqualified or renamed.
 */
export function checkAttribute(field: string, written: string): void {
  // regconfig casts are allowed of literals only (checkCast), which a field never is.
  if (typeNames.has(field) && (!ALLOWED_CAST_TYPES.has(field) || field === 'regconfig')) {
    throw new SqlRefused(
      `${written} is read by PostgreSQL as a cast to ${field} (attribute notation), and cast to ${field} is not allowed here. If ${field} is a column, select it without the table prefix or rename it with AS in a subquery.`,
    );
  }
  if (!functionNames.has(field)) return;
  // A function of the warehouse's own may share any name; then `x.f` may be it.
  if (!ownFunctions.has(field)) {
    if (ALLOWED_CAST_TYPES.has(field)) return;
    if (pureFunctions.has(field) && !impureFunctions.has(field)) return;
    if (ALLOWED_FUNCTIONS.has(field) && !CHECKED_CALLS.has(field)) return;
  }
  throw new SqlRefused(
    `${written} is read by PostgreSQL as a call ${field}(...) (attribute notation), and function ${field}() is not allowed here. If ${field} is a column, select it without the table prefix or rename it with AS in a subquery.`,
  );
}

/** The identifier fields of a ColumnRef (`fields`) or A_Indirection (`indirection`). */
export function fieldNames(node: Record<string, unknown>, key: 'fields' | 'indirection'): string[] {
  const list = Array.isArray(node[key]) ? (node[key] as unknown[]) : [];
  return list.flatMap((f) => {
    const s = (f as { String?: { sval?: string } }).String;
    return s ? [s.sval ?? ''] : [];
  });
}

/**
 * A cast runs the target type's input or cast function, so only plain built-in types may be
 * targeted. `'schema.table'::regclass` is allowed as a relation reference, checked like FROM.
 */
export function checkCast(
  node: Record<string, unknown>,
  relations: RelationRef[],
  warehouseTypes: boolean,
): void {
  const type = (node.typeName ?? {}) as {
    names?: unknown;
    pct_type?: boolean;
    setof?: boolean;
    arrayBounds?: unknown;
  };
  const parts = names(type.names);
  const name = builtinName(parts);
  if (type.pct_type || type.setof)
    throw new SqlRefused(`cast to ${parts.join('.')}%TYPE or SETOF is not allowed.`);
  if (name === 'regconfig') {
    if (!isRegconfigLiteral({ TypeCast: node })) {
      throw new SqlRefused(
        "cast to regconfig is not allowed except of a literal name: write 'english'::regconfig (a text search configuration by name, not an OID).",
      );
    }
    return;
  }
  if (name === 'regclass' && !type.arrayBounds) {
    const literal = stringLiteral(node.arg);
    if (literal === undefined) {
      throw new SqlRefused(
        "cast to regclass is not allowed except of a literal: write 'schema.table'::regclass, so the table can be checked like one in FROM.",
      );
    }
    relations.push(relationFromLiteral(literal, 'a regclass cast'));
    return;
  }
  // Saved queries come from configuration, whose authors may cast to the warehouse's own types
  // (an enum such as support.ticket_priority); model-written SQL may not.
  const ownType = warehouseTypes && parts.length === 2 && parts[0] !== 'pg_catalog';
  if ((name === undefined || !ALLOWED_CAST_TYPES.has(name)) && !ownType) {
    throw new SqlRefused(
      `cast to ${parts.join('.')} is not allowed: only built-in types (numbers, text, dates and times, json, uuid, ranges) may be cast to. Compare as text instead (x::text = 'value').`,
    );
  }
}

/** An A_Expr: keyword forms pass, operator forms need an allowed operator. */
export function checkOperator(node: { kind?: string; name?: unknown }): void {
  const kind = node.kind ?? '';
  if (KEYWORD_EXPR_KINDS.has(kind)) return;
  if (!OPERATOR_EXPR_KINDS.has(kind)) {
    throw new SqlRefused(`the expression kind ${kind} is not allowed; rewrite it with ordinary operators.`);
  }
  checkOperatorName(node.name);
}

/** An operator named anywhere (A_Expr, `x OP ANY (subquery)`, `ORDER BY ... USING OP`). */
export function checkOperatorName(list: unknown): void {
  const parts = names(list);
  const op = builtinName(parts);
  if (op === undefined || !ALLOWED_OPERATORS.has(op)) {
    throw new SqlRefused(
      `operator ${parts.join('.')} is not allowed; use built-in comparison, arithmetic, text or json operators.`,
    );
  }
  if (parts.length === 1 && ownOperators.has(op)) {
    throw new SqlRefused(
      `operator ${op} is not allowed unqualified here: the warehouse defines its own ${op} on the search path. Write OPERATOR(pg_catalog.${op}).`,
    );
  }
}
