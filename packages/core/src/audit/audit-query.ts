// Reads the durable audit trail (the fleet database's audit_records, written by AuditLog): filtered by
// who, what, how it ended and when, newest first, a page at a time. Used by `fleet audit` and (issue
// 15) the admin console. Every value is a bound parameter; the statement text depends only on which
// filters are set.
import type { AuditOutcome, AuditRecord } from './audit-record.js';

/** What {@link AuditQuery} runs its statements on (a pg Pool or Client). */
export interface Queryable {
  query<R extends object = Record<string, unknown>>(text: string, params?: unknown[]): Promise<{ rows: R[] }>;
}

/**
 * Which records: every filter set must match (exact values). `null` for `tenant`, `session`,
 * `agent` or `tool` selects records without one. `from` is inclusive and `to` exclusive.
 */
export interface AuditFilter {
  agent?: string | null | undefined;
  tool?: string | null | undefined;
  outcome?: AuditOutcome | string | undefined;
  session?: string | null | undefined;
  tenant?: string | null | undefined;
  server?: string | undefined;
  method?: string | undefined;
  /** The OpenTelemetry trace id of the request (32 hex): every record one traced call wrote. */
  traceId?: string | undefined;
  from?: Date | string | undefined;
  to?: Date | string | undefined;
}

/**
 * The records a reader may see at all, ANDed with any filter: `tenant` a tenant's records only,
 * `null` only records without a tenant, undefined (or no scope) every tenant's. The approvals desk's
 * TenantScope has the same meaning, so the console passes `desk.scopeOf(approver)` here.
 */
export interface AuditScope {
  tenant?: string | null | undefined;
}

/** A page request: the filter, how many (1..{@link MAX_AUDIT_PAGE}), and where the previous page ended. */
export interface AuditPageQuery extends AuditFilter {
  /** Who reads: records outside this scope are never returned, whatever the filter says. */
  scope?: AuditScope | undefined;
  /** Default {@link DEFAULT_AUDIT_PAGE}; clamped to 1..{@link MAX_AUDIT_PAGE}. */
  limit?: number | undefined;
  /** The `next` of the previous page. */
  after?: string | undefined;
}

/** One page, newest first; `next` continues after its last record (null on the last page). */
export interface AuditPage {
  records: AuditRecord[];
  next: string | null;
}

export const DEFAULT_AUDIT_PAGE = 50;
export const MAX_AUDIT_PAGE = 1000;

/** A filter, time or cursor the query cannot use. */
export class AuditQueryError extends Error {}

const COLUMNS = `id, ts, to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS ts_key, server, request_id, method, tool, agent_id, agent_session,
  user_invoker, tenant, roles, arguments, decision, decision_reason, outcome, result_summary, duration_ms,
  policy_version, protocol_version, details, args_hash, trace_id`;

interface Row {
  id: string;
  ts: Date;
  ts_key: string;
  server: string;
  request_id: string;
  method: string;
  tool: string | null;
  agent_id: string | null;
  agent_session: string | null;
  user_invoker: string | null;
  tenant: string | null;
  roles: string[];
  arguments: unknown;
  decision: AuditRecord['decision'];
  decision_reason: string | null;
  outcome: AuditOutcome;
  result_summary: string | null;
  duration_ms: number | null;
  policy_version: string | null;
  protocol_version: string | null;
  details: Record<string, unknown> | null;
  args_hash: string | null;
  trace_id: string | null;
}

function recordOf(r: Row): AuditRecord {
  return {
    id: r.id,
    ts: r.ts.toISOString(),
    server: r.server,
    requestId: r.request_id,
    method: r.method,
    tool: r.tool,
    agentId: r.agent_id,
    agentSession: r.agent_session,
    userInvoker: r.user_invoker,
    tenant: r.tenant,
    roles: r.roles,
    arguments: r.arguments,
    decision: r.decision,
    decisionReason: r.decision_reason ?? '',
    outcome: r.outcome,
    resultSummary: r.result_summary,
    durationMs: r.duration_ms,
    policyVersion: r.policy_version,
    protocolVersion: r.protocol_version,
    details: r.details,
    argsHash: r.args_hash,
    traceId: r.trace_id,
  };
}

/** A cursor's time: UTC with microseconds (timestamptz's precision, which a JS Date would cut). */
const CURSOR_TS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The times a filter may name: years 1970..9999 (PostgreSQL's timestamptz takes these; JS Dates reach further). */
export const AUDIT_TIME_MIN = Date.UTC(1970, 0, 1);
export const AUDIT_TIME_MAX = Date.UTC(10000, 0, 1) - 1;

function instant(name: string, v: Date | string): string {
  const d = v instanceof Date ? v : new Date(v);
  if (Number.isNaN(d.getTime()))
    throw new AuditQueryError(`${name} is not a time: ${String(v).slice(0, 64)}`);
  if (d.getTime() < AUDIT_TIME_MIN || d.getTime() > AUDIT_TIME_MAX)
    throw new AuditQueryError(`${name} must be between 1970-01-01 and 9999-12-31 (UTC)`);
  return d.toISOString();
}

/** A filter text PostgreSQL can take (no NUL: a text column can hold none, so it matches nothing anyway). */
function text(name: string, v: string): string {
  if (v.includes('\u0000')) throw new AuditQueryError(`${name} contains a NUL character`);
  return v;
}

/** The cursor after a record: its exact stored time (microseconds) and id. */
function cursorOf(r: Row): string {
  return Buffer.from(JSON.stringify([r.ts_key, r.id])).toString('base64url');
}

function validCursorTime(ts: string): boolean {
  const d = new Date(ts);
  const ms = d.getTime();
  // Round trip to the millisecond: Date would roll 2025-02-30 over into March.
  return (
    !Number.isNaN(ms) &&
    ms >= AUDIT_TIME_MIN &&
    ms <= AUDIT_TIME_MAX &&
    d.toISOString().slice(0, 23) === ts.slice(0, 23)
  );
}

function parseCursor(cursor: string): [ts: string, id: string] {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (
      Array.isArray(v) &&
      v.length === 2 &&
      typeof v[0] === 'string' &&
      CURSOR_TS.test(v[0]) &&
      // A real instant in PostgreSQL's range (no month 13, no year 0): the shape alone lets those by.
      validCursorTime(v[0]) &&
      typeof v[1] === 'string' &&
      UUID.test(v[1])
    )
      return [v[0], v[1]];
  } catch {
    // fall through
  }
  throw new AuditQueryError('not a cursor of this audit trail (use the `next` of a previous page)');
}

/** Queries over the fleet database's audit trail. */
export class AuditQuery {
  readonly #db: Queryable;

  constructor(db: Queryable) {
    this.#db = db;
  }

  /** One page of the records matching `q`, newest first (by time, then id). */
  async page(q: AuditPageQuery = {}): Promise<AuditPage> {
    const where: string[] = [];
    const params: unknown[] = [];
    const bind = (v: unknown) => {
      params.push(v);
      return `$${params.length}`;
    };
    for (const [column, value] of [
      ['agent_id', q.agent],
      ['tool', q.tool],
      ['outcome', q.outcome],
      ['agent_session', q.session],
      ['tenant', q.tenant],
      ['server', q.server],
      ['method', q.method],
      ['trace_id', q.traceId?.toLowerCase()],
    ] as const) {
      if (value === undefined) continue;
      where.push(value === null ? `${column} IS NULL` : `${column} = ${bind(text(column, value))}`);
    }
    const scoped = q.scope?.tenant;
    if (scoped !== undefined)
      where.push(scoped === null ? 'tenant IS NULL' : `tenant = ${bind(text('scope', scoped))}`);
    if (q.from !== undefined) where.push(`ts >= ${bind(instant('from', q.from))}::timestamptz`);
    if (q.to !== undefined) where.push(`ts < ${bind(instant('to', q.to))}::timestamptz`);
    if (q.after !== undefined) {
      const [ts, id] = parseCursor(q.after);
      where.push(`(ts, id) < (${bind(ts)}::timestamptz, ${bind(id)}::uuid)`);
    }
    const limit =
      q.limit === undefined || !Number.isFinite(q.limit)
        ? DEFAULT_AUDIT_PAGE
        : Math.min(Math.max(Math.trunc(q.limit), 1), MAX_AUDIT_PAGE);
    // One more than the page, to know whether there is a next one.
    const { rows } = await this.#db.query<Row>(
      `SELECT ${COLUMNS} FROM audit_records ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY ts DESC, id DESC LIMIT ${bind(limit + 1)}`,
      params,
    );
    const page = rows.slice(0, limit);
    return {
      records: page.map(recordOf),
      next: rows.length > limit ? cursorOf(page.at(-1)!) : null,
    };
  }

  /**
   * One record by id (undefined when there is none, the id is not one, or it is outside `scope`:
   * another tenant's record looks exactly like a missing one).
   */
  async get(id: string, scope: AuditScope = {}): Promise<AuditRecord | undefined> {
    if (!UUID.test(id)) return undefined;
    const t = scope.tenant;
    if (typeof t === 'string' && t.includes('\u0000')) return undefined;
    const { rows } = await this.#db.query<Row>(
      `SELECT ${COLUMNS} FROM audit_records WHERE id = $1 AND ($2 OR tenant IS NOT DISTINCT FROM $3)`,
      [id, t === undefined, t ?? null],
    );
    return rows[0] ? recordOf(rows[0]) : undefined;
  }
}
