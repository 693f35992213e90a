// Agent suspensions in the fleet database: the kill switch for a runaway agent. A person suspends an
// agent (through the AgentDesk: the admin console, `fleet agents suspend`); every server's watcher
// (watcher.ts) reloads the active set from this table every SUSPENSION_POLL_MS and refuses every
// tools/call of the agent at admission. Shared across replicas and servers because it is the fleet
// database. History is kept: a resume closes the row (resumed_at...), it is never deleted; at most one
// active row per agent and tenant scope. A suspension stops the agent id whatever tenant its tokens
// name (watcher.ts); the row's `tenant` (the suspending person's tenant claim, null without one) only
// says who sees and resumes it.

import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { ApprovalStore } from '../approvals/approval-store.js';
import { matchesAny } from '../approvals/identifiers.js';
import type { Migration } from '../db/fleet-db.js';

/** The table behind {@link SuspensionStore} (a core migration). */
export const SUSPENSIONS_MIGRATION_SQL = `
  CREATE TABLE IF NOT EXISTS agent_suspensions (
    id uuid PRIMARY KEY,
    agent_id text NOT NULL,
    tenant text,
    reason text,
    suspended_at timestamptz NOT NULL DEFAULT now(),
    suspended_by text NOT NULL,
    suspended_by_issuer text,
    resumed_at timestamptz,
    resumed_by text,
    resumed_by_issuer text,
    resume_reason text
  );
  CREATE UNIQUE INDEX IF NOT EXISTS agent_suspensions_active_idx
    ON agent_suspensions (agent_id, coalesce(tenant, '')) WHERE resumed_at IS NULL;
  CREATE INDEX IF NOT EXISTS agent_suspensions_history_idx ON agent_suspensions (suspended_at DESC);
`;

/** Core's migrations of the suspensions table. */
export const SUSPENSION_MIGRATIONS: Migration[] = [
  { id: '0030_agent_suspensions', sql: SUSPENSIONS_MIGRATION_SQL, core: true },
];

/** One suspension as the API, the console and the CLI show it. */
export interface SuspensionView {
  id: string;
  agentId: string;
  /**
   * The tenant of the person who suspended it: who sees and resumes it (null: only people without a
   * tenant claim). It stops the agent in every tenant either way.
   */
  tenant: string | null;
  reason: string | null;
  suspendedAt: string;
  suspendedBy: string;
  suspendedByIssuer: string | null;
  /** null while the suspension is in force. */
  resumedAt: string | null;
  resumedBy: string | null;
  resumedByIssuer: string | null;
  resumeReason: string | null;
  active: boolean;
}

/** Who acts: a verified person (issuer + subject). */
export interface SuspensionActor {
  subject: string;
  issuer: string | null;
}

/**
 * Which suspensions a person sees and may resume: one tenant's (an approver with a tenant claim), or
 * `undefined` for every one (an approver without a tenant claim).
 */
export type SuspensionScope = string | undefined;

interface Row {
  id: string;
  agent_id: string;
  tenant: string | null;
  reason: string | null;
  suspended_at: Date;
  suspended_by: string;
  suspended_by_issuer: string | null;
  resumed_at: Date | null;
  resumed_by: string | null;
  resumed_by_issuer: string | null;
  resume_reason: string | null;
}

function view(r: Row): SuspensionView {
  return {
    id: r.id,
    agentId: r.agent_id,
    tenant: r.tenant,
    reason: r.reason,
    suspendedAt: r.suspended_at.toISOString(),
    suspendedBy: r.suspended_by,
    suspendedByIssuer: r.suspended_by_issuer,
    resumedAt: r.resumed_at ? r.resumed_at.toISOString() : null,
    resumedBy: r.resumed_by,
    resumedByIssuer: r.resumed_by_issuer,
    resumeReason: r.resume_reason,
    active: r.resumed_at === null,
  };
}

/** One lock for every change of the table: suspensions are rare, and the folded-id check needs it. */
const LOCK = "pg_advisory_xact_lock(hashtext('mcp-fleet:agent_suspensions'))";

/** The active suspensions (the watcher's reload), cheap: the partial unique index holds exactly them. */
const ACTIVE = 'SELECT * FROM agent_suspensions WHERE resumed_at IS NULL ORDER BY suspended_at DESC';

/** Agent suspensions of the fleet database (the watcher, the agent desk). */
export class SuspensionStore {
  readonly #pool: pg.Pool;
  /** The fleet's approval requests: a suspension withdraws the agent's (agent-desk.ts). */
  readonly approvals: ApprovalStore | undefined;

  constructor(pool: pg.Pool, o: { approvals?: ApprovalStore | undefined } = {}) {
    this.#pool = pool;
    this.approvals = o.approvals;
  }

  /**
   * Every suspension in force (all tenants). `timeoutMs`: fail when the database has not answered by
   * then (a hung database must show as a failed reload, not as a reload that never ends).
   */
  async active(timeoutMs?: number): Promise<SuspensionView[]> {
    const q = timeoutMs === undefined ? ACTIVE : { text: ACTIVE, query_timeout: timeoutMs };
    return (await this.#pool.query<Row>(q)).rows.map(view);
  }

  /** The suspensions in force that `scope` sees (a tenant sees its own rows). */
  async activeIn(scope: SuspensionScope): Promise<SuspensionView[]> {
    const all = await this.active();
    return scope === undefined ? all : all.filter((s) => s.tenant === scope);
  }

  /** The most recent suspensions, resumed ones included, newest first. */
  async history(scope: SuspensionScope, limit = 100): Promise<SuspensionView[]> {
    const n = Math.min(Math.max(Math.trunc(limit) || 100, 1), 1000);
    const { rows } =
      scope === undefined
        ? await this.#pool.query<Row>('SELECT * FROM agent_suspensions ORDER BY suspended_at DESC LIMIT $1', [
            n,
          ])
        : await this.#pool.query<Row>(
            'SELECT * FROM agent_suspensions WHERE tenant = $1 ORDER BY suspended_at DESC LIMIT $2',
            [scope, n],
          );
    return rows.map(view);
  }

  /**
   * Suspends `agentId` (in every tenant), seen and resumed by people of `tenant`. Refused (`already_suspended`, with the row in
   * force) when the agent, by any spelling of its id that names it (identifiers.ts), already has a
   * suspension in force for the same scope.
   */
  async suspend(s: {
    agentId: string;
    tenant: string | null;
    reason: string | null;
    by: SuspensionActor;
  }): Promise<
    | { ok: true; suspension: SuspensionView }
    | { ok: false; why: 'already_suspended'; suspension: SuspensionView }
  > {
    return this.#tx(async (client) => {
      const { rows } = await client.query<Row>(
        'SELECT * FROM agent_suspensions WHERE resumed_at IS NULL AND tenant IS NOT DISTINCT FROM $1',
        [s.tenant],
      );
      const held = rows.find((r) => matchesAny(r.agent_id, [s.agentId]));
      if (held) return { ok: false as const, why: 'already_suspended' as const, suspension: view(held) };
      const inserted = await client.query<Row>(
        `INSERT INTO agent_suspensions (id, agent_id, tenant, reason, suspended_by, suspended_by_issuer)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING *`,
        [randomUUID(), s.agentId, s.tenant, s.reason, s.by.subject, s.by.issuer],
      );
      return { ok: true as const, suspension: view(inserted.rows[0]!) };
    });
  }

  /**
   * Resumes `agentId` (any spelling that names it): closes every suspension in force that `scope` may
   * resume (a tenant: its own rows; undefined: every row of the agent). `not_suspended` when none.
   */
  async resume(r: {
    agentId: string;
    scope: SuspensionScope;
    reason: string | null;
    by: SuspensionActor;
  }): Promise<{ ok: true; resumed: SuspensionView[] } | { ok: false; why: 'not_suspended' }> {
    return this.#tx(async (client) => {
      const { rows } = await client.query<Row>(
        'SELECT * FROM agent_suspensions WHERE resumed_at IS NULL AND ($1::text IS NULL OR tenant = $1)',
        [r.scope ?? null],
      );
      const ids = rows.filter((x) => matchesAny(x.agent_id, [r.agentId])).map((x) => x.id);
      if (ids.length === 0) return { ok: false as const, why: 'not_suspended' as const };
      const updated = await client.query<Row>(
        `UPDATE agent_suspensions
            SET resumed_at = now(), resumed_by = $2, resumed_by_issuer = $3, resume_reason = $4
          WHERE id = ANY($1::uuid[]) AND resumed_at IS NULL RETURNING *`,
        [ids, r.by.subject, r.by.issuer, r.reason],
      );
      return { ok: true as const, resumed: updated.rows.map(view) };
    });
  }

  async #tx<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.#pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(`SELECT ${LOCK}`);
      const out = await fn(client);
      await client.query('COMMIT');
      return out;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }
}
