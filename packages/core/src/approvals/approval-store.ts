// Approval requests in the fleet database. A request binds one tool, one argument hash and one caller
// (agent + tenant + user) and keeps the exact canonical JSON that was hashed, which is what the human
// is shown; a person decides it through the approvals API (or the CLI, which calls it); the agent's
// resumed call consumes it atomically, once, before it expires.

import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { auditSafe } from '../audit/audit-record.js';
import type { Migration } from '../db/fleet-db.js';
import {
  type ApprovalCaller,
  type ApprovalStatus,
  type ApprovalView,
  type ApproverRef,
  type ConsumeRefusal,
  type DbRow,
  type DecideRefusal,
  MAX_REASON_CHARS,
  REASON_SHOWN,
  type StoredApproval,
  type TenantScope,
  view,
} from './approval-view.js';
import { identifierKey, matchesAny } from './identifiers.js';

/** Every identifier of an approver (subject, user, the token's name claims), deduplicated. */
export function approverIdentifiers(who: ApproverRef): string[] {
  return [...new Set([who.subject, ...(who.user ? [who.user] : []), ...(who.identifiers ?? [])])];
}

/** The comparison keys of an approver's identifiers (identifierKey; empty keys dropped). */
export function approverKeys(who: ApproverRef): string[] {
  return [...new Set(approverIdentifiers(who).map(identifierKey))].filter((k) => k !== '');
}

/** The table behind {@link ApprovalStore} (a core migration). */
export const APPROVALS_MIGRATION_SQL = `
  CREATE TABLE IF NOT EXISTS approvals (
    id uuid PRIMARY KEY,
    server text NOT NULL,
    tool text NOT NULL,
    args_hash text NOT NULL,
    arguments jsonb,
    agent_id text NOT NULL,
    tenant text,
    user_invoker text,
    agent_session text,
    roles text[] NOT NULL DEFAULT '{}',
    status text NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'executing', 'executed')),
    requested_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    decided_at timestamptz,
    decided_by text,
    decision_note text,
    executed_at timestamptz,
    outcome text,
    request_audit_id uuid,
    execution_audit_id uuid
  );
  CREATE INDEX IF NOT EXISTS approvals_server_status_idx ON approvals (server, status, requested_at DESC);
  CREATE INDEX IF NOT EXISTS approvals_caller_idx ON approvals (server, tool, args_hash, agent_id);
`;

/**
 * Second approvals migration: the exact canonical arguments (the text whose SHA-256 is `args_hash`)
 * and the issuer of the approver who decided. Requests opened before it have no exact arguments and
 * cannot be decided (the agent asks again).
 */
export const APPROVALS_EXACT_ARGUMENTS_MIGRATION_SQL = `
  ALTER TABLE approvals ADD COLUMN IF NOT EXISTS arguments_json text;
  ALTER TABLE approvals ADD COLUMN IF NOT EXISTS decided_by_issuer text;
`;

/**
 * Third approvals migration: an approved but unused request can be withdrawn (who, when, why; the
 * approver who approved stays in decided_by), and the per-agent count of waiting requests the
 * queue cap reads is an index scan.
 */
export const APPROVALS_REVOCATION_MIGRATION_SQL = `
  ALTER TABLE approvals ADD COLUMN IF NOT EXISTS revoked_at timestamptz;
  ALTER TABLE approvals ADD COLUMN IF NOT EXISTS revoked_by text;
  ALTER TABLE approvals ADD COLUMN IF NOT EXISTS revoked_by_issuer text;
  ALTER TABLE approvals ADD COLUMN IF NOT EXISTS revoke_note text;
  CREATE INDEX IF NOT EXISTS approvals_pending_agent_idx ON approvals (server, agent_id) WHERE status = 'pending';
`;

/**
 * Fourth approvals migration (issue 15, dual control): how many distinct people must approve, fixed
 * when the request is opened, and the approvals given so far (each with the approver's identifiers
 * and their comparison keys, so the statement that records a later approval can refuse the same person).
 */
export const APPROVALS_DUAL_CONTROL_MIGRATION_SQL = `
  ALTER TABLE approvals ADD COLUMN IF NOT EXISTS required_approvals int NOT NULL DEFAULT 1
    CHECK (required_approvals BETWEEN 1 AND 3);
  ALTER TABLE approvals ADD COLUMN IF NOT EXISTS approvals jsonb NOT NULL DEFAULT '[]'::jsonb;
`;

/**
 * Fifth approvals migration (issue 17): why the call was held, stored on the request when it is
 * opened (the opening call's decision reason: the policy's reason and each hold reason, such as a flow
 * rule naming the session's earlier reads). The approvals API, `fleet approvals` and the console show
 * it without depending on the audit record having been written (records are written after the
 * answer, may be batched, and are purged on their own schedule). Older requests stay NULL and are
 * shown their audit record's reason instead.
 */
export const APPROVALS_REASON_MIGRATION_SQL = `
  ALTER TABLE approvals ADD COLUMN IF NOT EXISTS reason text;
`;

/** A reason as stored: storable text (NUL spelled out, lone surrogates replaced), at most {@link MAX_REASON_CHARS}. */
export function storedReason(reason: string | null | undefined): string | null {
  if (reason === undefined || reason === null || reason === '') return null;
  const safe = auditSafe(reason);
  if (safe.length <= MAX_REASON_CHARS) return safe;
  const marker = `… [${safe.length} chars]`;
  return auditSafe(`${safe.slice(0, MAX_REASON_CHARS - marker.length)}${marker}`);
}

/** Most approvers policy can require for one tool. */
export const MAX_REQUIRED_APPROVALS = 3;

export type {
  ApprovalCaller,
  ApprovalGiven,
  ApprovalStatus,
  ApprovalView,
  ApproverRef,
  ConsumeRefusal,
  DecideRefusal,
  TenantScope,
} from './approval-view.js';

/** What {@link ApprovalStore.page} selects. */
export interface ListQuery {
  server?: string | undefined;
  tenant?: TenantScope;
  status?: ApprovalStatus | 'all' | undefined;
  agent?: string | undefined;
  tool?: string | undefined;
  user?: string | undefined;
  limit?: number | undefined;
  offset?: number | undefined;
}

/** One page of requests and what the whole queue looks like. */
export interface ApprovalPage {
  approvals: ApprovalView[];
  /** Requests matching the query (all pages). */
  total: number;
  /** The offset of the next page, or null on the last. */
  nextOffset: number | null;
  /** Waiting (pending, unexpired) requests per agent in the server and tenant scope, largest first. */
  pendingByAgent: Record<string, number>;
}

const SELECT = `SELECT *, expires_at <= now() AS expired, ${REASON_SHOWN} FROM approvals`;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Approval requests of the fleet database (used by the call pipeline, the HTTP API and the CLI). */
export class ApprovalStore {
  readonly #pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  /** True when `id` has the shape of an approval id (checked before any query). */
  static isId(id: unknown): id is string {
    return typeof id === 'string' && UUID.test(id);
  }

  /**
   * Opens a request, or returns the caller's open request for the same tool and arguments in the same
   * agent session (a retry does not pile up requests for the human). Refused (`too_many_pending`)
   * when the caller (agent + tenant + user) already has `maxPending` requests waiting on this server:
   * one agent cannot bury the others' requests, and the same agent id in another tenant cannot fill
   * this one's queue or learn its size. Serialised per caller (an advisory lock), so concurrent calls
   * cannot pass the cap together.
   */
  async request(r: {
    server: string;
    tool: string;
    argsHash: string;
    /** The canonical JSON whose SHA-256 is `argsHash`: stored and shown exactly as it is. */
    argumentsJson: string;
    caller: ApprovalCaller;
    session: string | null;
    roles: string[];
    ttlSeconds: number;
    auditId: string;
    /** Waiting requests one agent may have on this server (unlimited when absent). */
    maxPending?: number | undefined;
    /** Distinct people who must approve (policy `approvers`; 1..3, default 1). */
    requiredApprovals?: number | undefined;
    /**
     * Why the call is held (the opening call's decision reason, hold reasons included): stored as
     * {@link storedReason}; a retry that finds the open request stores its own (the latest ask's).
     */
    reason?: string | null | undefined;
  }): Promise<
    | { id: string; expiresAt: string; reused: boolean }
    | { refused: 'too_many_pending'; pending: number; limit: number }
  > {
    const required = r.requiredApprovals ?? 1;
    const reason = storedReason(r.reason);
    if (!Number.isInteger(required) || required < 1 || required > MAX_REQUIRED_APPROVALS)
      throw new RangeError(`requiredApprovals must be 1..${MAX_REQUIRED_APPROVALS}`);
    const client = await this.#pool.connect();
    try {
      await client.query('BEGIN');
      // The cap and its lock belong to one caller: (server, agent, tenant, user). The same agent id in
      // another tenant (or acting for another user) neither fills this caller's queue nor learns its
      // size. JSON keeps the parts apart whatever characters they hold.
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [
        `approvals:${JSON.stringify([r.server, r.caller.agentId, r.caller.tenant, r.caller.user])}`,
      ]);
      const open = await client.query<{ id: string; expires_at: Date }>(
        `SELECT id, expires_at FROM approvals
         WHERE server = $1 AND tool = $2 AND args_hash = $3 AND agent_id = $4
           AND tenant IS NOT DISTINCT FROM $5 AND user_invoker IS NOT DISTINCT FROM $6
           AND agent_session IS NOT DISTINCT FROM $7
           AND status = 'pending' AND expires_at > now() + interval '1 minute' AND arguments_json IS NOT NULL
           AND required_approvals >= $8
         ORDER BY requested_at DESC LIMIT 1`,
        [r.server, r.tool, r.argsHash, r.caller.agentId, r.caller.tenant, r.caller.user, r.session, required],
      );
      const found = open.rows[0];
      if (found) {
        // The approver is shown why the latest ask was held (a session that read more since names more).
        if (reason !== null)
          await client.query(
            'UPDATE approvals SET reason = $2 WHERE id = $1 AND reason IS DISTINCT FROM $2',
            [found.id, reason],
          );
        await client.query('COMMIT');
        return { id: found.id, expiresAt: found.expires_at.toISOString(), reused: true };
      }
      if (r.maxPending !== undefined) {
        const waiting = await client.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM approvals
           WHERE server = $1 AND agent_id = $2
             AND tenant IS NOT DISTINCT FROM $3 AND user_invoker IS NOT DISTINCT FROM $4
             AND status = 'pending' AND expires_at > now()`,
          [r.server, r.caller.agentId, r.caller.tenant, r.caller.user],
        );
        const pending = waiting.rows[0]?.n ?? 0;
        if (pending >= r.maxPending) {
          await client.query('COMMIT');
          return { refused: 'too_many_pending', pending, limit: r.maxPending };
        }
      }
      const { rows } = await client.query<{ id: string; expires_at: Date }>(
        `INSERT INTO approvals (id, server, tool, args_hash, arguments_json, agent_id, tenant, user_invoker, agent_session, roles,
                                status, expires_at, request_audit_id, required_approvals, reason)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'pending', now() + make_interval(secs => $11), $12, $13, $14)
         RETURNING id, expires_at`,
        [
          randomUUID(),
          r.server,
          r.tool,
          r.argsHash,
          r.argumentsJson,
          r.caller.agentId,
          r.caller.tenant,
          r.caller.user,
          r.session,
          r.roles,
          r.ttlSeconds,
          r.auditId,
          required,
          reason,
        ],
      );
      await client.query('COMMIT');
      const row = rows[0]!;
      return { id: row.id, expiresAt: row.expires_at.toISOString(), reused: false };
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }

  /**
   * Consumes an approved request for exactly this call: same server, tool, arguments, caller and
   * agent session, approved, not expired, not used. Atomic: of two concurrent calls, one wins.
   */
  async consume(
    id: string,
    c: {
      server: string;
      tool: string;
      argsHash: string;
      caller: ApprovalCaller;
      /** The agent session of the call (THREATS A5: an approval binds the session that asked). */
      session: string | null;
      auditId: string;
    },
  ): Promise<{ ok: true } | { ok: false; why: ConsumeRefusal; expiresAt?: string }> {
    if (!ApprovalStore.isId(id)) return { ok: false, why: 'not_found' };
    const args = [id, c.server, c.tool, c.argsHash, c.caller.agentId, c.caller.tenant, c.caller.user];
    const won = await this.#pool.query(
      `UPDATE approvals SET status = 'executing', executed_at = now(), execution_audit_id = $8
       WHERE id = $1 AND server = $2 AND tool = $3 AND args_hash = $4 AND agent_id = $5
         AND tenant IS NOT DISTINCT FROM $6 AND user_invoker IS NOT DISTINCT FROM $7
         AND agent_session IS NOT DISTINCT FROM $9
         AND status = 'approved' AND expires_at > now()
         AND (required_approvals <= 1 OR jsonb_array_length(approvals) >= required_approvals)
       RETURNING id`,
      [...args, c.auditId, c.session],
    );
    if (won.rowCount === 1) return { ok: true };
    const { rows } = await this.#pool.query<DbRow>(`${SELECT} WHERE id = $1 AND server = $2`, [id, c.server]);
    const row = rows[0];
    // Someone else's approval looks exactly like a missing one.
    if (
      !row ||
      row.agent_id !== c.caller.agentId ||
      row.tenant !== c.caller.tenant ||
      row.user_invoker !== c.caller.user ||
      row.agent_session !== c.session
    ) {
      return { ok: false, why: 'not_found' };
    }
    if (row.tool !== c.tool || row.args_hash !== c.argsHash) return { ok: false, why: 'mismatch' };
    if (row.status === 'executing' || row.status === 'executed') return { ok: false, why: 'used' };
    if (row.status === 'denied') return { ok: false, why: 'denied' };
    if (row.expired) return { ok: false, why: 'expired' };
    return { ok: false, why: 'pending', expiresAt: row.expires_at.toISOString() };
  }

  /** Records how the approved call ended. */
  async finish(id: string, outcome: string): Promise<void> {
    await this.#pool.query(
      `UPDATE approvals SET status = 'executed', outcome = $2 WHERE id = $1 AND status = 'executing'`,
      [id, outcome],
    );
  }

  /** Puts a consumed approval back when the call could not run at all (e.g. audit store down). */
  async unconsume(id: string, auditId: string): Promise<void> {
    await this.#pool.query(
      `UPDATE approvals SET status = 'approved', executed_at = NULL, execution_audit_id = NULL
       WHERE id = $1 AND status = 'executing' AND execution_audit_id = $2`,
      [id, auditId],
    );
  }

  /**
   * Records a person's decision. Refused for the agent that asked (`self_approval`: any identifier or
   * client of the approver token names it), for the person the agent acts for (`requester_approval`:
   * any identifier names them), outside the approver's tenant scope or server (`not_found`), and for
   * requests without exact arguments (`incomplete`). Identifiers are compared by
   * {@link identifierKey} (case, width and invisible characters do not make another person). A
   * denial of an approved request that has not been used withdraws the approval (`revoked`);
   * `revokeOnly` withdraws and nothing else (`not_approved` for a request that is not approved).
   *
   * Dual control: a request needing N approvals (`required_approvals`) stays `pending` until N
   * distinct people approved (`partial` for the ones before). An approver sharing any identifier key
   * with one who already approved is refused (`same_approver`). One statement appends the approval
   * and, for the last one, moves the request to `approved`; it re-checks in SQL that the request is
   * still pending, not yet fully approved and that no stored approval shares a key with this
   * approver, so concurrent decisions (two "second approvals" by one person, an approval racing a
   * denial) serialise on the row and never approve with fewer distinct people. A denial by anyone
   * (the first approver too) denies.
   */
  async decide(d: {
    id: string;
    approve: boolean;
    revokeOnly?: boolean | undefined;
    approver: ApproverRef;
    note?: string | undefined;
    server?: string | undefined;
    tenant?: TenantScope;
  }): Promise<
    | { ok: true; approval: ApprovalView; revoked: boolean; partial: boolean }
    | { ok: false; why: DecideRefusal; approval?: ApprovalView }
  > {
    const current = await this.get(d.id, { server: d.server, tenant: d.tenant });
    if (!current) return { ok: false, why: 'not_found' };
    const who = d.approver;
    const identifiers = approverIdentifiers(who);
    if (matchesAny(current.agentId, [...identifiers, ...(who.clients ?? [])]))
      return { ok: false, why: 'self_approval', approval: current };
    if (matchesAny(current.user, identifiers))
      return { ok: false, why: 'requester_approval', approval: current };
    if (current.argumentsJson === null) return { ok: false, why: 'incomplete', approval: current };
    if (d.revokeOnly && current.status !== 'approved')
      return { ok: false, why: current.status === 'expired' ? 'expired' : 'not_approved', approval: current };
    // The statements re-check that the caller it was judged against is the row's (and the status),
    // so nothing between the read and the write can matter.
    const params = [d.id, who.subject, who.issuer, d.note ?? null, current.agentId, current.user];
    const done = (row: DbRow, revoked: boolean) =>
      ({ ok: true, approval: view(row), revoked, partial: row.status === 'pending' }) as const;
    const revoke = async () =>
      (
        await this.#pool.query<DbRow>(
          `UPDATE approvals SET status = 'denied', revoked_at = now(), revoked_by = $2, revoked_by_issuer = $3,
                  revoke_note = $4
           WHERE id = $1 AND status = 'approved' AND expires_at > now()
             AND agent_id = $5 AND user_invoker IS NOT DISTINCT FROM $6
           RETURNING *, false AS expired, ${REASON_SHOWN}`,
          params,
        )
      ).rows[0];
    if (!d.approve && current.status === 'approved') {
      const row = await revoke();
      if (row) return done(row, true);
    } else if (!d.approve) {
      const { rows } = await this.#pool.query<DbRow>(
        `UPDATE approvals SET status = 'denied', decided_at = now(), decided_by = $2, decided_by_issuer = $3,
                decision_note = $4
         WHERE id = $1 AND status = 'pending' AND expires_at > now() AND arguments_json IS NOT NULL
           AND agent_id = $5 AND user_invoker IS NOT DISTINCT FROM $6
         RETURNING *, false AS expired, ${REASON_SHOWN}`,
        params,
      );
      if (rows[0]) return done(rows[0], false);
      // An approval that completed between the read and this denial: the denial withdraws it.
      if (!d.revokeOnly && (await this.get(d.id))?.status === 'approved') {
        const row = await revoke();
        if (row) return done(row, true);
      }
    } else {
      const keys = approverKeys(who);
      // A person with no comparable identifier cannot be told apart from anyone: never one of several.
      if (keys.length === 0 && current.requiredApprovals > 1)
        return { ok: false, why: 'same_approver', approval: current };
      const entry: Omit<StoredApproval, 'at'> = {
        subject: who.subject,
        issuer: who.issuer,
        user: who.user,
        identifiers,
        keys,
        note: d.note ?? null,
      };
      const { rows } = await this.#pool.query<DbRow>(
        `UPDATE approvals SET
                approvals = approvals || jsonb_build_array($7::jsonb || jsonb_build_object('at', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))),
                status = CASE WHEN jsonb_array_length(approvals) + 1 >= required_approvals THEN 'approved' ELSE 'pending' END,
                decided_at = CASE WHEN jsonb_array_length(approvals) + 1 >= required_approvals THEN now() ELSE decided_at END,
                decided_by = CASE WHEN jsonb_array_length(approvals) + 1 >= required_approvals THEN $2 ELSE decided_by END,
                decided_by_issuer = CASE WHEN jsonb_array_length(approvals) + 1 >= required_approvals THEN $3 ELSE decided_by_issuer END,
                decision_note = CASE WHEN jsonb_array_length(approvals) + 1 >= required_approvals THEN $4 ELSE decision_note END
         WHERE id = $1 AND status = 'pending' AND expires_at > now() AND arguments_json IS NOT NULL
           AND agent_id = $5 AND user_invoker IS NOT DISTINCT FROM $6
           AND jsonb_array_length(approvals) < required_approvals
           AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(approvals) AS given(a)
                           WHERE jsonb_typeof(given.a -> 'keys') = 'array' AND (given.a -> 'keys') ?| $8::text[])
         RETURNING *, false AS expired, ${REASON_SHOWN}`,
        [...params, JSON.stringify(entry), keys],
      );
      if (rows[0]) return done(rows[0], false);
      const given = await this.#pool.query<{ approvals: StoredApproval[] }>(
        'SELECT approvals FROM approvals WHERE id = $1',
        [d.id],
      );
      const after = await this.get(d.id);
      const shared = (given.rows[0]?.approvals ?? []).some((a) =>
        (a.keys ?? []).some((k) => keys.includes(k)),
      );
      if (after?.status === 'pending' && shared) return { ok: false, why: 'same_approver', approval: after };
    }
    const after = await this.get(d.id);
    if (after?.status === 'expired') return { ok: false, why: 'expired', approval: after };
    return { ok: false, why: 'already_decided', ...(after ? { approval: after } : {}) };
  }

  /**
   * Withdraws everything an agent has waiting, on every server and in every tenant, when a person
   * suspends it (suspensions/agent-desk.ts), so resuming it does not bring back a runaway agent's
   * queue: its pending requests are denied, its approved but unused ones withdrawn (`revoked`), both
   * in the name of the person who suspended it with `note`. The agent is named by any spelling of its
   * id ({@link matchesAny}, as a suspension names it). A request used meanwhile (`executing`) is left:
   * the suspension stops that call. Returns the rows it changed.
   */
  async withdrawAgent(w: {
    agentId: string;
    by: { subject: string; issuer: string | null };
    note: string;
  }): Promise<{ denied: ApprovalView[]; revoked: ApprovalView[] }> {
    const { rows } = await this.#pool.query<{ id: string; agent_id: string }>(
      `SELECT id, agent_id FROM approvals WHERE status IN ('pending', 'approved') AND expires_at > now()`,
    );
    const ids = rows.filter((r) => matchesAny(r.agent_id, [w.agentId])).map((r) => r.id);
    if (ids.length === 0) return { denied: [], revoked: [] };
    const params = [ids, w.by.subject, w.by.issuer, w.note];
    // Pending first, then approved: a request approved between the two is withdrawn by the second.
    const denied = await this.#pool.query<DbRow>(
      `UPDATE approvals SET status = 'denied', decided_at = now(), decided_by = $2, decided_by_issuer = $3,
                decision_note = $4
         WHERE id = ANY($1::uuid[]) AND status = 'pending' AND expires_at > now()
         RETURNING *, false AS expired, ${REASON_SHOWN}`,
      params,
    );
    const revoked = await this.#pool.query<DbRow>(
      `UPDATE approvals SET status = 'denied', revoked_at = now(), revoked_by = $2, revoked_by_issuer = $3,
                revoke_note = $4
         WHERE id = ANY($1::uuid[]) AND status = 'approved' AND expires_at > now()
         RETURNING *, false AS expired, ${REASON_SHOWN}`,
      params,
    );
    return { denied: denied.rows.map(view), revoked: revoked.rows.map(view) };
  }

  /** One request, optionally only if it belongs to `server` and the tenant scope. */
  async get(
    id: string,
    scope: { server?: string | undefined; tenant?: TenantScope } = {},
  ): Promise<ApprovalView | undefined> {
    if (!ApprovalStore.isId(id)) return undefined;
    const { rows } = await this.#pool.query<DbRow>(
      `${SELECT} WHERE id = $1 AND ($2::text IS NULL OR server = $2) AND ($4 OR tenant IS NOT DISTINCT FROM $3)`,
      [id, scope.server ?? null, scope.tenant ?? null, scope.tenant === undefined],
    );
    return rows[0] ? view(rows[0]) : undefined;
  }

  /**
   * Requests, newest first, a page at a time. `status` filters by the shown status (`all` for every
   * one); `agent`, `tool` and `user` by exact value. `total` counts every match (not just this page);
   * `pendingByAgent` counts waiting requests per agent in the same server and tenant scope (unfiltered),
   * so a flood by one agent is visible at a glance.
   */
  async page(q: ListQuery = {}): Promise<ApprovalPage> {
    const status = q.status ?? 'pending';
    const params: unknown[] = [q.server ?? null, q.tenant ?? null, q.tenant === undefined];
    const scope = ['($1::text IS NULL OR server = $1)', '($3 OR tenant IS NOT DISTINCT FROM $2)'];
    const where = [...scope];
    if (status === 'expired') where.push(`status IN ('pending', 'approved') AND expires_at <= now()`);
    else if (status === 'pending' || status === 'approved')
      where.push(`status = '${status}' AND expires_at > now()`);
    else if (status !== 'all')
      where.push(
        `status = '${status === 'denied' ? 'denied' : status === 'executing' ? 'executing' : 'executed'}'`,
      );
    for (const [column, value] of [
      ['agent_id', q.agent],
      ['tool', q.tool],
      ['user_invoker', q.user],
    ] as const) {
      if (value === undefined) continue;
      params.push(value);
      where.push(`${column} = $${params.length}`);
    }
    const whole = (n: number | undefined, fallback: number, min: number, max: number) =>
      n === undefined || !Number.isFinite(n) ? fallback : Math.min(Math.max(Math.trunc(n), min), max);
    const limit = whole(q.limit, 100, 1, 1000);
    const offset = whole(q.offset, 0, 0, 1_000_000);
    const filter = where.join(' AND ');
    const [found, counted, waiting] = await Promise.all([
      this.#pool.query<DbRow>(
        `${SELECT} WHERE ${filter} ORDER BY requested_at DESC, id DESC LIMIT ${limit} OFFSET ${offset}`,
        params,
      ),
      this.#pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM approvals WHERE ${filter}`, params),
      this.#pool.query<{ agent_id: string; n: number }>(
        `SELECT agent_id, count(*)::int AS n FROM approvals
         WHERE ${scope.join(' AND ')} AND status = 'pending' AND expires_at > now()
         GROUP BY agent_id ORDER BY n DESC, agent_id LIMIT 100`,
        params.slice(0, 3),
      ),
    ]);
    const total = counted.rows[0]?.n ?? 0;
    return {
      approvals: found.rows.map(view),
      total,
      nextOffset:
        offset + found.rows.length < total && found.rows.length > 0 ? offset + found.rows.length : null,
      pendingByAgent: Object.fromEntries(waiting.rows.map((r) => [r.agent_id, r.n])),
    };
  }

  /** Requests, newest first (the first page of {@link page}). */
  async list(q: ListQuery = {}): Promise<ApprovalView[]> {
    return (await this.page(q)).approvals;
  }

  /**
   * The queue of one server for /metrics: requests waiting for a decision (pending, not expired) and
   * the age of the oldest in seconds (0 when none). One indexed query (server, status, requested_at).
   */
  async pendingQueue(server: string): Promise<{ pending: number; oldestSeconds: number }> {
    const r = await this.#pool.query<{ pending: string; oldest: number | null }>(
      `SELECT count(*) AS pending, extract(epoch FROM now() - min(requested_at))::float8 AS oldest
         FROM approvals WHERE server = $1 AND status = 'pending' AND expires_at > now()`,
      [server],
    );
    const row = r.rows[0];
    return { pending: Number(row?.pending ?? 0), oldestSeconds: Math.max(0, row?.oldest ?? 0) };
  }

  /** Deletes requests that expired more than `retentionDays` ago; returns how many. */
  async purge(retentionDays: number): Promise<number> {
    const r = await this.#pool.query(
      `DELETE FROM approvals WHERE expires_at < now() - make_interval(days => $1)`,
      [retentionDays],
    );
    return r.rowCount ?? 0;
  }
}

/** The approval store's migrations (core's). */
export const APPROVAL_MIGRATIONS: Migration[] = [
  { id: '0011_approvals', sql: APPROVALS_MIGRATION_SQL, core: true },
  { id: '0012_approvals_exact_arguments', sql: APPROVALS_EXACT_ARGUMENTS_MIGRATION_SQL, core: true },
  { id: '0013_approvals_revocation', sql: APPROVALS_REVOCATION_MIGRATION_SQL, core: true },
  { id: '0016_approvals_dual_control', sql: APPROVALS_DUAL_CONTROL_MIGRATION_SQL, core: true },
  { id: '0034_approvals_reason', sql: APPROVALS_REASON_MIGRATION_SQL, core: true },
];
