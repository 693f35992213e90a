// Approval requests in the fleet database. A request binds one tool, one argument hash and one caller
// (agent + tenant + user) and keeps the exact canonical JSON that was hashed, which is what the human
// is shown; a person decides it through the approvals API (or the CLI, which calls it); the agent's
// resumed call consumes it atomically, once, before it expires.

import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { Migration } from '../db/fleet-db.js';
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
import { matchesAny } from './identifiers.js';

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

export type {
  ApprovalCaller,
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
  }): Promise<
    | { id: string; expiresAt: string; reused: boolean }
    | { refused: 'too_many_pending'; pending: number; limit: number }
  > {
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
         ORDER BY requested_at DESC LIMIT 1`,
        [r.server, r.tool, r.argsHash, r.caller.agentId, r.caller.tenant, r.caller.user, r.session],
      );
      const found = open.rows[0];
      if (found) {
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
                                status, expires_at, request_audit_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'pending', now() + make_interval(secs => $11), $12)
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
    | { ok: true; approval: ApprovalView; revoked: boolean }
    | { ok: false; why: DecideRefusal; approval?: ApprovalView }
  > {
    const current = await this.get(d.id, { server: d.server, tenant: d.tenant });
    if (!current) return { ok: false, why: 'not_found' };
    const who = d.approver;
    const identifiers = [who.subject, ...(who.user ? [who.user] : []), ...(who.identifiers ?? [])];
    if (matchesAny(current.agentId, [...identifiers, ...(who.clients ?? [])]))
      return { ok: false, why: 'self_approval', approval: current };
    if (matchesAny(current.user, identifiers))
      return { ok: false, why: 'requester_approval', approval: current };
    if (current.argumentsJson === null) return { ok: false, why: 'incomplete', approval: current };
    if (d.revokeOnly && current.status !== 'approved')
      return { ok: false, why: current.status === 'expired' ? 'expired' : 'not_approved', approval: current };
    const revoke = !d.approve && current.status === 'approved';
    // The statement re-checks that the caller it was judged against is the row's (and the status),
    // so nothing between the read and the write can matter.
    const params = [d.id, who.subject, who.issuer, d.note ?? null, current.agentId, current.user];
    const { rows } = revoke
      ? await this.#pool.query<DbRow>(
          `UPDATE approvals SET status = 'denied', revoked_at = now(), revoked_by = $2, revoked_by_issuer = $3,
                  revoke_note = $4
           WHERE id = $1 AND status = 'approved' AND expires_at > now()
             AND agent_id = $5 AND user_invoker IS NOT DISTINCT FROM $6
           RETURNING *, false AS expired`,
          params,
        )
      : await this.#pool.query<DbRow>(
          `UPDATE approvals SET status = $7, decided_at = now(), decided_by = $2, decided_by_issuer = $3,
                  decision_note = $4
           WHERE id = $1 AND status = 'pending' AND expires_at > now() AND arguments_json IS NOT NULL
             AND agent_id = $5 AND user_invoker IS NOT DISTINCT FROM $6
           RETURNING *, false AS expired`,
          [...params, d.approve ? 'approved' : 'denied'],
        );
    if (rows[0]) return { ok: true, approval: view(rows[0]), revoked: revoke };
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
];
