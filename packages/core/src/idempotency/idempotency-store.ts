// Idempotency records in the fleet database: the first call with a key claims it (INSERT ... ON
// CONFLICT), runs, and stores its result; a repeat with the same key and arguments gets that result
// without running again, on any replica and after restarts; a concurrent repeat waits for it.
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import type { Migration } from '../db/fleet-db.js';
import type { CallToolResult } from '../kernel/call.js';

/** The table behind {@link IdempotencyStore} (a core migration). */
export const IDEMPOTENCY_MIGRATION_SQL = `
  CREATE TABLE IF NOT EXISTS idempotency_records (
    server text NOT NULL,
    scope text NOT NULL,
    key text NOT NULL,
    tool text NOT NULL,
    args_hash text NOT NULL,
    state text NOT NULL CHECK (state IN ('running', 'done')),
    outcome text,
    result jsonb,
    audit_id uuid NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    completed_at timestamptz,
    lease_until timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (server, scope, key)
  );
  CREATE INDEX IF NOT EXISTS idempotency_records_expires_idx ON idempotency_records (expires_at);
`;

/** The idempotency store's migrations (core's). */
export const IDEMPOTENCY_MIGRATIONS: Migration[] = [
  { id: '0010_idempotency_records', sql: IDEMPOTENCY_MIGRATION_SQL, core: true },
];

/** Identifies one key of one caller on one server. */
export interface IdempotencyRef {
  server: string;
  /** The caller (tenant + agent): keys never collide across callers. */
  scope: string;
  key: string;
}

/** What a claim found. */
export type ClaimOutcome =
  | { kind: 'claimed' }
  | { kind: 'replay'; result: CallToolResult; outcome: string }
  | { kind: 'mismatch' }
  | { kind: 'in_progress' }
  | { kind: 'unknown' };

interface Row {
  tool: string;
  args_hash: string;
  state: 'running' | 'done';
  outcome: string | null;
  result: CallToolResult | null;
  stale: boolean;
  expired: boolean;
}

const CLAIM_SQL = `
  INSERT INTO idempotency_records AS r (server, scope, key, tool, args_hash, state, audit_id, lease_until, expires_at)
  VALUES ($1, $2, $3, $4, $5, 'running', $6, now() + make_interval(secs => $7), now() + make_interval(secs => $8))
  ON CONFLICT (server, scope, key) DO UPDATE
    SET tool = EXCLUDED.tool, args_hash = EXCLUDED.args_hash, state = 'running', outcome = NULL, result = NULL,
        audit_id = EXCLUDED.audit_id, created_at = now(), completed_at = NULL,
        lease_until = EXCLUDED.lease_until, expires_at = EXCLUDED.expires_at
    WHERE r.expires_at <= now()
  RETURNING 1`;

const READ_SQL = `
  SELECT tool, args_hash, state, outcome, result, lease_until < now() AS stale, expires_at <= now() AS expired
  FROM idempotency_records WHERE server = $1 AND scope = $2 AND key = $3`;

/** Idempotency records of the fleet database. */
export class IdempotencyStore {
  readonly #pool: pg.Pool;
  readonly #retentionSeconds: number;

  constructor(pool: pg.Pool, retentionHours: number) {
    this.#pool = pool;
    this.#retentionSeconds = retentionHours * 3600;
  }

  /**
   * Claims `ref` for a call of `tool` with `argsHash`. When another call holds it, waits up to
   * `waitMs` for its result. `leaseMs`: how long the claimer may run before the claim counts as
   * abandoned (its outcome then is unknown: never run twice).
   */
  async claim(
    ref: IdempotencyRef,
    call: {
      tool: string;
      argsHash: string;
      auditId: string;
      leaseMs: number;
      waitMs: number;
      signal?: AbortSignal | undefined;
    },
  ): Promise<ClaimOutcome> {
    const deadline = Date.now() + call.waitMs;
    let pause = 25;
    for (let attempt = 0; ; attempt++) {
      const claimed = await this.#pool.query(CLAIM_SQL, [
        ref.server,
        ref.scope,
        ref.key,
        call.tool,
        call.argsHash,
        call.auditId,
        call.leaseMs / 1000,
        this.#retentionSeconds,
      ]);
      if (claimed.rowCount === 1) return { kind: 'claimed' };
      // Held by another call: poll it (it may finish, or expire and be claimable on the next turn).
      for (;;) {
        const { rows } = await this.#pool.query<Row>(READ_SQL, [ref.server, ref.scope, ref.key]);
        const row = rows[0];
        if (!row || row.expired) break; // gone or expired: try to claim again
        if (row.tool !== call.tool || row.args_hash !== call.argsHash) return { kind: 'mismatch' };
        // The first call could not tell how it ended (still running past its cancel): never replayed.
        if (row.state === 'done' && row.outcome === 'unknown') return { kind: 'unknown' };
        if (row.state === 'done' && row.result)
          return { kind: 'replay', result: row.result, outcome: row.outcome ?? 'ok' };
        if (row.stale) return { kind: 'unknown' };
        if (Date.now() >= deadline || call.signal?.aborted) return { kind: 'in_progress' };
        await sleep(pause);
        pause = Math.min(pause * 2, 250);
      }
      if (attempt >= 3) return { kind: 'in_progress' };
    }
  }

  /** Stores the claimer's result; later calls with the key get it. */
  async complete(
    ref: IdempotencyRef,
    auditId: string,
    result: CallToolResult,
    outcome: string,
  ): Promise<void> {
    await this.#pool.query(
      `UPDATE idempotency_records SET state = 'done', result = $5::jsonb, outcome = $6, completed_at = now()
       WHERE server = $1 AND scope = $2 AND key = $3 AND audit_id = $4`,
      [ref.server, ref.scope, ref.key, auditId, JSON.stringify(result), outcome],
    );
  }

  /**
   * Keeps the key claimed with an unknown outcome (the call was cut off while its mutation may still
   * have been running): every later call with the key is told so, never replayed, never run again.
   */
  async markUnknown(ref: IdempotencyRef, auditId: string): Promise<void> {
    await this.#pool.query(
      `UPDATE idempotency_records SET state = 'done', result = NULL, outcome = 'unknown', completed_at = now()
       WHERE server = $1 AND scope = $2 AND key = $3 AND audit_id = $4`,
      [ref.server, ref.scope, ref.key, auditId],
    );
  }

  /** Gives a claim back when nothing ran (audit store down, approval refused), so the key stays usable. */
  async release(ref: IdempotencyRef, auditId: string): Promise<void> {
    await this.#pool.query(
      'DELETE FROM idempotency_records WHERE server = $1 AND scope = $2 AND key = $3 AND audit_id = $4',
      [ref.server, ref.scope, ref.key, auditId],
    );
  }

  /** Deletes expired records; returns how many. */
  async purge(): Promise<number> {
    const r = await this.#pool.query('DELETE FROM idempotency_records WHERE expires_at <= now()');
    return r.rowCount ?? 0;
  }
}
