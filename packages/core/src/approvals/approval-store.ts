// Approval requests in the fleet database. A request binds one tool, one argument hash and one caller
// (agent + tenant + user) and keeps the exact canonical JSON that was hashed, which is what the human
// is shown; a person decides it through the approvals API (or the CLI, which calls it); the agent's
// resumed call consumes it atomically, once, before it expires.
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import {
  type ApprovalCaller,
  type ApprovalStatus,
  type ApprovalView,
  type ApproverRef,
  type ConsumeRefusal,
  type DbRow,
  type DecideRefusal,
  type TenantScope,
  view,
} from './approval-view.js';

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

export type {
  ApprovalCaller,
  ApprovalStatus,
  ApprovalView,
  ApproverRef,
  ConsumeRefusal,
  DecideRefusal,
  TenantScope,
} from './approval-view.js';

const SELECT = 'SELECT *, expires_at <= now() AS expired FROM approvals';
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
   * Opens a request, or returns the caller's open request for the same tool and arguments (a retry
   * does not pile up requests for the human).
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
  }): Promise<{ id: string; expiresAt: string; reused: boolean }> {
    const { rows } = await this.#pool.query<{ id: string; expires_at: Date; reused: boolean }>(
      `WITH open AS (
         SELECT id, expires_at FROM approvals
         WHERE server = $2 AND tool = $3 AND args_hash = $4 AND agent_id = $6
           AND tenant IS NOT DISTINCT FROM $7 AND user_invoker IS NOT DISTINCT FROM $8
           AND status = 'pending' AND expires_at > now() + interval '1 minute' AND arguments_json IS NOT NULL
         ORDER BY requested_at DESC LIMIT 1
       ), created AS (
         INSERT INTO approvals (id, server, tool, args_hash, arguments_json, agent_id, tenant, user_invoker, agent_session, roles,
                                status, expires_at, request_audit_id)
         SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'pending', now() + make_interval(secs => $11), $12
         WHERE NOT EXISTS (SELECT 1 FROM open)
         RETURNING id, expires_at
       )
       SELECT id, expires_at, true AS reused FROM open
       UNION ALL SELECT id, expires_at, false AS reused FROM created`,
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
      ],
    );
    const row = rows[0]!;
    return { id: row.id, expiresAt: row.expires_at.toISOString(), reused: row.reused };
  }

  /**
   * Consumes an approved request for exactly this call: same server, tool, arguments and caller,
   * approved, not expired, not used. Atomic: of two concurrent calls, one wins.
   */
  async consume(
    id: string,
    c: { server: string; tool: string; argsHash: string; caller: ApprovalCaller; auditId: string },
  ): Promise<{ ok: true } | { ok: false; why: ConsumeRefusal; expiresAt?: string }> {
    if (!ApprovalStore.isId(id)) return { ok: false, why: 'not_found' };
    const args = [id, c.server, c.tool, c.argsHash, c.caller.agentId, c.caller.tenant, c.caller.user];
    const won = await this.#pool.query(
      `UPDATE approvals SET status = 'executing', executed_at = now(), execution_audit_id = $8
       WHERE id = $1 AND server = $2 AND tool = $3 AND args_hash = $4 AND agent_id = $5
         AND tenant IS NOT DISTINCT FROM $6 AND user_invoker IS NOT DISTINCT FROM $7
         AND status = 'approved' AND expires_at > now()
       RETURNING id`,
      [...args, c.auditId],
    );
    if (won.rowCount === 1) return { ok: true };
    const { rows } = await this.#pool.query<DbRow>(`${SELECT} WHERE id = $1 AND server = $2`, [id, c.server]);
    const row = rows[0];
    // Someone else's approval looks exactly like a missing one.
    if (
      !row ||
      row.agent_id !== c.caller.agentId ||
      row.tenant !== c.caller.tenant ||
      row.user_invoker !== c.caller.user
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
   * Records a person's decision. Refused for the agent that asked (`self_approval`), for the person
   * the agent acts for (`requester_approval`), outside the approver's tenant scope or server
   * (`not_found`), and for requests without exact arguments (`incomplete`).
   */
  async decide(d: {
    id: string;
    approve: boolean;
    approver: ApproverRef;
    note?: string | undefined;
    server?: string | undefined;
    tenant?: TenantScope;
  }): Promise<
    { ok: true; approval: ApprovalView } | { ok: false; why: DecideRefusal; approval?: ApprovalView }
  > {
    const current = await this.get(d.id, { server: d.server, tenant: d.tenant });
    if (!current) return { ok: false, why: 'not_found' };
    const who = d.approver;
    if (current.agentId === who.subject || current.agentId === who.user)
      return { ok: false, why: 'self_approval', approval: current };
    if (current.user !== null && (current.user === who.subject || current.user === who.user))
      return { ok: false, why: 'requester_approval', approval: current };
    if (current.argumentsJson === null) return { ok: false, why: 'incomplete', approval: current };
    // The same rules again in the statement, so nothing between the read and the write can matter.
    const { rows } = await this.#pool.query<DbRow>(
      `UPDATE approvals SET status = $2, decided_at = now(), decided_by = $3, decided_by_issuer = $4,
              decision_note = $5
       WHERE id = $1 AND status = 'pending' AND expires_at > now() AND arguments_json IS NOT NULL
         AND agent_id <> $3 AND user_invoker IS DISTINCT FROM $3
         AND ($6::text IS NULL OR (user_invoker IS DISTINCT FROM $6 AND agent_id <> $6))
       RETURNING *, false AS expired`,
      [d.id, d.approve ? 'approved' : 'denied', who.subject, who.issuer, d.note ?? null, who.user],
    );
    if (rows[0]) return { ok: true, approval: view(rows[0]) };
    const after = await this.get(d.id);
    if (after?.status === 'expired') return { ok: false, why: 'expired', approval: after };
    return { ok: false, why: 'already_decided', ...(after ? { approval: after } : {}) };
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

  /** Requests, newest first. `status` filters by the shown status (`all` for every one). */
  async list(
    q: {
      server?: string | undefined;
      tenant?: TenantScope;
      status?: ApprovalStatus | 'all' | undefined;
      limit?: number | undefined;
    } = {},
  ): Promise<ApprovalView[]> {
    const status = q.status ?? 'pending';
    const where: string[] = ['($1::text IS NULL OR server = $1)', '($4 OR tenant IS NOT DISTINCT FROM $2)'];
    if (status === 'expired') where.push(`status IN ('pending', 'approved') AND expires_at <= now()`);
    else if (status === 'pending' || status === 'approved')
      where.push(`status = '${status}' AND expires_at > now()`);
    else if (status !== 'all')
      where.push(
        `status = '${status === 'denied' ? 'denied' : status === 'executing' ? 'executing' : 'executed'}'`,
      );
    const { rows } = await this.#pool.query<DbRow>(
      `${SELECT} WHERE ${where.join(' AND ')} ORDER BY requested_at DESC LIMIT $3`,
      [
        q.server ?? null,
        q.tenant ?? null,
        Math.min(Math.max(q.limit ?? 100, 1), 1000),
        q.tenant === undefined,
      ],
    );
    return rows.map(view);
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
