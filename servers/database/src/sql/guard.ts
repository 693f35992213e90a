// The first line of defence for model-written SQL: PostgreSQL's own parser (libpg-query), then an
// allow-list applied to EVERY node of the tree — select list, FROM clause, CTEs, subqueries alike.
// Parse failure is refusal. The later layers (READ ONLY transaction, read-only role) still apply.
import { loadModule, parseSync } from 'libpg-query';
import { ALLOWED_NODES, MAX_NESTING, READABLE_SYSTEM_RELATIONS } from './allow-list.js';
import {
  addWarehouseNames,
  checkAttribute,
  checkCast,
  checkFunction,
  checkOperator,
  checkOperatorName,
  fieldNames,
  type WarehouseNames,
} from './name-checks.js';
import { type RelationRef, SqlRefused } from './refusal.js';

export { type RelationRef, SqlRefused, type WarehouseNames };

// The parser is WebAssembly; load it once when this module is first imported.
await loadModule();

/** A statement that passed the guard. */
export interface CheckedQuery {
  /** The statement's own text: no other statements, no trailing semicolon. */
  text: string;
  /** Every relation the statement names (tables, views, CTE names that look like tables). */
  relations: RelationRef[];
  /** The highest `$n` used (0 when none). */
  parameterCount: number;
}

/** Options for {@link checkReadOnlySql}. */
export interface GuardOptions {
  /** Allow `$1`-style parameters (saved queries from configuration); model SQL never has them. */
  allowParameters?: boolean;
  /**
   * The caller is bound to a tenant (row-level security shows it only that tenant's rows). Such a
   * caller may not call the relation-size functions: a table's size counts every tenant's rows.
   */
  tenantBound?: boolean;
}

const STATEMENT_WORDS: Record<string, string> = {
  SelectStmt: 'SELECT',
  InsertStmt: 'INSERT',
  UpdateStmt: 'UPDATE',
  DeleteStmt: 'DELETE',
  MergeStmt: 'MERGE',
  CopyStmt: 'COPY',
  TransactionStmt: 'a transaction command',
  VariableSetStmt: 'SET',
  VariableShowStmt: 'SHOW',
  ExplainStmt: 'EXPLAIN',
  CallStmt: 'CALL',
  DoStmt: 'DO',
  ExecuteStmt: 'EXECUTE',
  PrepareStmt: 'PREPARE',
  LockStmt: 'LOCK',
  NotifyStmt: 'NOTIFY',
  ListenStmt: 'LISTEN',
  DeclareCursorStmt: 'DECLARE CURSOR',
  DiscardStmt: 'DISCARD',
  DropStmt: 'DROP',
  TruncateStmt: 'TRUNCATE',
  CreateStmt: 'CREATE TABLE',
  CreateTableAsStmt: 'CREATE TABLE AS',
  AlterTableStmt: 'ALTER TABLE',
  GrantStmt: 'GRANT',
  GrantRoleStmt: 'GRANT role',
  VacuumStmt: 'VACUUM/ANALYZE',
  CreateFunctionStmt: 'CREATE FUNCTION',
  RefreshMatViewStmt: 'REFRESH MATERIALIZED VIEW',
};

function statementWord(tag: string): string {
  return STATEMENT_WORDS[tag] ?? tag.replace(/Stmt$/, '').toUpperCase();
}

function nodeAdvice(tag: string): string {
  if (tag === 'LockingClause')
    return 'SELECT ... FOR UPDATE/SHARE takes row locks and is not allowed; remove the locking clause.';
  if (tag === 'IntoClause')
    return 'SELECT ... INTO creates a table and is not allowed; remove the INTO clause.';
  if (tag.endsWith('Stmt')) {
    return `${statementWord(tag)} is not allowed anywhere in a query (including inside WITH clauses and subqueries); only reads are.`;
  }
  return `the query uses ${tag}, which this server does not allow; rewrite it with plain SELECT features (joins, filters, aggregates, CTEs).`;
}

interface WalkState {
  relations: RelationRef[];
  growth: number;
  sizeFunctions: string[];
  parameterCount: number;
  allowParameters: boolean;
}

const TOO_DEEP = `the query is nested too deeply (at most ${MAX_NESTING} levels of nested expressions and subqueries); flatten it: use CTEs (WITH) or IN (...) lists instead of deep nesting, or fewer chained operators.`;

/**
 * Refuses a parse tree nested deeper than MAX_NESTING nodes, without recursion (so the check itself
 * cannot overflow the stack). Everything that walks the tree afterwards recurses at most that deep.
 */
function checkNesting(root: unknown): void {
  const stack: [unknown, number][] = [[root, 0]];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const [value, depth] = item;
    if (value === null || typeof value !== 'object') continue;
    if (Array.isArray(value)) {
      for (const child of value) stack.push([child, depth]);
      continue;
    }
    for (const [key, child] of Object.entries(value)) {
      const next = /^[A-Z]/.test(key) ? depth + 1 : depth;
      if (next > MAX_NESTING) throw new SqlRefused(TOO_DEEP);
      stack.push([child, next]);
    }
  }
}

/**
 * System relations (pg_catalog, information_schema, and pg_* anywhere) must be on
 * READABLE_SYSTEM_RELATIONS; see there for what the others leak. A caller bound to a tenant may
 * not read pg_class either: its row and page counts are every tenant's.
 */
function checkSystemRelation(r: RelationRef, tenantBound: boolean): void {
  const system =
    r.schema === 'pg_catalog' ||
    r.schema === 'information_schema' ||
    r.schema?.startsWith('pg_') === true ||
    r.name.startsWith('pg_');
  if (!system) return;
  // Unqualified, a pg_* name resolves to pg_catalog (always searched first).
  const key = `${r.schema ?? 'pg_catalog'}.${r.name}`;
  if (tenantBound && key === 'pg_catalog.pg_class') {
    throw new SqlRefused(
      "pg_class is not available to a caller bound to a tenant: its reltuples and relpages count every tenant's rows, not only yours. For tables and columns use list_tables and describe_table; count your own rows with count(*).",
    );
  }
  if (READABLE_SYSTEM_RELATIONS.has(key)) return;
  throw new SqlRefused(
    `system relation ${r.schema ? `${r.schema}.` : ''}${r.name} is not readable here (not one your role may read, whatever the role): it can show other sessions' queries, settings or credentials. Readable system relations: ${[...READABLE_SYSTEM_RELATIONS].join(', ')}. For the warehouse's tables and columns, use list_tables and describe_table.`,
  );
}

function inspect(tag: string, node: Record<string, unknown>, state: WalkState): void {
  if (!ALLOWED_NODES.has(tag)) throw new SqlRefused(nodeAdvice(tag));
  switch (tag) {
    case 'FuncCall':
      checkFunction(node, state);
      break;
    case 'A_Expr':
      checkOperator(node as { kind?: string; name?: unknown });
      break;
    case 'SubLink':
      if (node.operName !== undefined) checkOperatorName(node.operName);
      break;
    case 'SortBy':
      if (node.useOp !== undefined) checkOperatorName(node.useOp);
      break;
    case 'TypeCast':
      checkCast(node, state.relations, state.allowParameters);
      break;
    case 'ColumnRef': {
      const fields = fieldNames(node, 'fields');
      for (const field of fields.slice(1)) checkAttribute(field, fields.join('.'));
      break;
    }
    case 'A_Indirection':
      for (const field of fieldNames(node, 'indirection')) checkAttribute(field, `(...).${field}`);
      break;
    case 'ParamRef': {
      if (!state.allowParameters) {
        throw new SqlRefused(
          'query parameters ($1...) are not supported here; write literal values into the SQL, or use a saved query tool.',
        );
      }
      state.parameterCount = Math.max(state.parameterCount, Number(node.number ?? 0));
      break;
    }
    default:
      break;
  }
}

// Node tags are PascalCase keys in libpg-query's JSON; field names start lower-case. Walking every
// key means no clause (FROM functions, CTE bodies, ORDER BY, window frames...) is skipped.
function walk(value: unknown, state: WalkState): void {
  if (Array.isArray(value)) {
    for (const item of value) walk(item, state);
    return;
  }
  if (value === null || typeof value !== 'object') return;
  const object = value as Record<string, unknown>;
  // Struct-typed fields (a RangeVar in `relation`, an IntoClause) carry no tag, so relations are
  // recognised by shape wherever they sit, and SELECT INTO by its field name.
  if (typeof object.relname === 'string') {
    if (object.catalogname)
      throw new SqlRefused('references to other databases are not allowed; name tables as schema.table.');
    state.relations.push({
      schema: typeof object.schemaname === 'string' ? object.schemaname : null,
      name: object.relname,
    });
  }
  for (const [key, child] of Object.entries(object)) {
    if (key === 'intoClause' && child) throw new SqlRefused(nodeAdvice('IntoClause'));
    if (/^[A-Z]/.test(key)) {
      if (child === null || typeof child !== 'object' || Array.isArray(child))
        throw new SqlRefused(nodeAdvice(key));
      inspect(key, child as Record<string, unknown>, state);
    }
    walk(child, state);
  }
}

interface RawStmt {
  stmt?: Record<string, unknown>;
  stmt_location?: number;
  stmt_len?: number;
}

function parseStatements(sql: string): RawStmt[] {
  try {
    return (parseSync(sql) as { stmts?: RawStmt[] }).stmts ?? [];
  } catch (err) {
    // A parse tree too deep for the parser's own recursion (or the JSON that carries it).
    if (err instanceof RangeError) throw new SqlRefused(TOO_DEEP);
    const details = (err as { sqlDetails?: { cursorPosition?: number } }).sqlDetails;
    const at = details?.cursorPosition !== undefined ? ` (at character ${details.cursorPosition + 1})` : '';
    throw new SqlRefused(
      `The SQL could not be parsed: ${(err as Error).message}${at}. Fix the syntax; one PostgreSQL SELECT statement is expected.`,
    );
  }
}

function onlyStatement(
  sql: string,
  stmts: RawStmt[],
): { tag: string; node: Record<string, unknown>; text: string } {
  if (stmts.length === 0)
    throw new SqlRefused('The SQL is empty (or only comments). Send one SELECT statement.');
  if (stmts.length > 1) {
    const kinds = stmts.map((s) => statementWord(Object.keys(s.stmt ?? {})[0] ?? '?'));
    throw new SqlRefused(
      `Only one statement per call is allowed; found ${stmts.length} (${kinds.join(', ')}). Send a single SELECT with no semicolon-separated statements.`,
    );
  }
  const raw = stmts[0] as RawStmt;
  const [tag, node] = Object.entries(raw.stmt ?? {})[0] ?? [];
  if (!tag || !node || typeof node !== 'object')
    throw new SqlRefused('The SQL did not parse into a statement. Send one SELECT statement.');
  // Locations are byte offsets into the UTF-8 text.
  const bytes = Buffer.from(sql, 'utf8');
  const start = raw.stmt_location ?? 0;
  const end = raw.stmt_len ? start + raw.stmt_len : bytes.length;
  const text = bytes.subarray(start, end).toString('utf8').trim();
  return { tag, node: node as Record<string, unknown>, text };
}

/**
 * Checks that `sql` is exactly one read-only SELECT made only of allowed nodes, functions and
 * operators. Throws {@link SqlRefused} with advice for the model otherwise.
 */
export function checkReadOnlySql(sql: string, options: GuardOptions = {}): CheckedQuery {
  // A call is checked twice (policy constraint, then handler) and agents repeat queries; parsing
  // costs ~0.3-1 ms, so what the walk found is remembered (the guard is a pure function of its
  // input). The checks that depend on the caller run on it each time, so both checks share it.
  const key = `${options.allowParameters ? 'p' : 'n'}:${sql}`;
  let verdict = verdicts.get(key);
  if (verdict === undefined) {
    try {
      verdict = check(sql, Boolean(options.allowParameters));
    } catch (err) {
      if (!(err instanceof SqlRefused)) throw err;
      verdict = err;
    }
    if (verdicts.size >= VERDICTS_MAX) verdicts.delete(verdicts.keys().next().value as string);
    verdicts.set(key, verdict);
  }
  if (verdict instanceof SqlRefused) throw new SqlRefused(verdict.message);
  checkForCaller(verdict, Boolean(options.tenantBound));
  return verdict.query;
}

/** A statement the walk passed, with what the caller-dependent checks need. */
interface Walked {
  query: CheckedQuery;
  /** The relation-size functions it calls (refused to a tenant-bound caller). */
  sizeFunctions: readonly string[];
}

const VERDICTS_MAX = 256;
const verdicts = new Map<string, Walked | SqlRefused>();

/**
 * Teaches the guard what the warehouse's catalog names: every function (so `x.f` is known to call
 * it) and the functions and operators it defines on the search path (so an unqualified allowed
 * name that could resolve to one of them is refused). Verdicts given before are forgotten.
 */
export function registerWarehouseNames(names: WarehouseNames): void {
  if (addWarehouseNames(names)) verdicts.clear();
}

function check(sql: string, allowParameters: boolean): Walked {
  const { tag, node, text } = onlyStatement(sql, parseStatements(sql));
  if (tag !== 'SelectStmt') {
    throw new SqlRefused(
      `Only read-only SELECT queries are allowed; this is ${statementWord(tag)}. Write a SELECT (WITH, VALUES and TABLE also work).`,
    );
  }
  const state: WalkState = {
    relations: [],
    growth: 1,
    sizeFunctions: [],
    parameterCount: 0,
    allowParameters,
  };
  checkNesting(node);
  walk({ SelectStmt: node }, state);
  return {
    query: Object.freeze({
      text,
      relations: Object.freeze(state.relations) as RelationRef[],
      parameterCount: state.parameterCount,
    }),
    sizeFunctions: state.sizeFunctions,
  };
}

/** What a walked statement may not do for this caller: size functions and pg_class when tenant-bound, and other system relations. */
function checkForCaller(walked: Walked, tenantBound: boolean): void {
  if (tenantBound && walked.sizeFunctions.length > 0) {
    throw new SqlRefused(
      `${walked.sizeFunctions[0]}() is not available to a caller bound to a tenant: a table's size counts every tenant's rows, not only yours. Count your own rows instead, e.g. SELECT count(*) FROM sales.orders.`,
    );
  }
  for (const r of walked.query.relations) checkSystemRelation(r, tenantBound);
}

/**
 * Builds the EXPLAIN statement for a checked query and re-parses it, so that what runs is
 * provably one EXPLAIN of that one SELECT with only the options chosen here.
 */
export function explainStatement(query: CheckedQuery, analyze: boolean): string {
  const options = analyze ? 'FORMAT JSON, ANALYZE true, BUFFERS true' : 'FORMAT JSON';
  // The newline keeps a trailing `--` comment in the query from swallowing anything after it.
  const text = `EXPLAIN (${options}) ${query.text}\n`;
  const { tag, node } = onlyStatement(text, parseStatements(text));
  const inner = (node as { query?: Record<string, unknown> }).query;
  if (tag !== 'ExplainStmt' || !inner || Object.keys(inner)[0] !== 'SelectStmt') {
    throw new SqlRefused('Only a SELECT can be explained. Send the SELECT itself, without EXPLAIN.');
  }
  const state: WalkState = {
    relations: [],
    growth: 1,
    sizeFunctions: [],
    parameterCount: 0,
    allowParameters: false,
  };
  checkNesting(inner);
  walk(inner, state);
  // The query itself was checked for its caller (tenant-bound or not) already; this re-walk proves the EXPLAIN wraps it.
  for (const r of state.relations) checkSystemRelation(r, false);
  return text;
}
