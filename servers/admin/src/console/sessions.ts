// Console sessions, server-side in the fleet database (shared by every replica): the browser holds
// only a random id (256 bits) in a cookie; the database keeps its SHA-256, never the id itself, so a
// copy of the table signs nobody in. A session ends when unused for the idle time, at its absolute
// end, or at logout; sign-in always starts a new one (rotation). Pending sign-ins (state, nonce, PKCE
// verifier) are kept the same way, used once, for ten minutes at most.
import { createHash, randomBytes } from 'node:crypto';
import type { Migration } from '@mcp-fleet/core';
import type pg from 'pg';
import type { Approver } from './approver.js';

/** The console's tables (namespaced migration ids `admin/...` once in the admin definition). */
export const consoleMigrations: Migration[] = [
  {
    id: '0001_console_sessions',
    sql: `
      CREATE TABLE IF NOT EXISTS console_sessions (
        id_hash text PRIMARY KEY,
        approver jsonb NOT NULL,
        name text NOT NULL,
        csrf_secret text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        last_seen_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        ended_at timestamptz
      );
      CREATE INDEX IF NOT EXISTS console_sessions_expires_idx ON console_sessions (expires_at);
      CREATE TABLE IF NOT EXISTS console_logins (
        id_hash text PRIMARY KEY,
        state text NOT NULL,
        nonce text NOT NULL,
        code_verifier text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL
      );
    `,
  },
];

/** Sign-ins in progress kept at most (all people together); beyond it /console/login answers 503. */
export const MAX_PENDING_LOGINS = 10_000;

/** How long a started sign-in may take at the identity provider. */
export const LOGIN_TTL_MS = 10 * 60_000;

/** A fresh random id for a cookie (256 bits, base64url). */
export function randomId(): string {
  return randomBytes(32).toString('base64url');
}

const ID = /^[A-Za-z0-9_-]{43}$/;
const hashOf = (id: string) => createHash('sha256').update(id).digest('hex');

/** A signed-in person's session. */
export interface ConsoleSession {
  idHash: string;
  approver: Approver;
  name: string;
  /** The session's CSRF secret (@fastify/csrf tokens are made from it). */
  csrfSecret: string;
  createdAt: Date;
  expiresAt: Date;
}

/** A started sign-in. */
export interface PendingLogin {
  state: string;
  nonce: string;
  codeVerifier: string;
}

/** Sessions and pending sign-ins in the fleet database. */
export class SessionStore {
  readonly #db: pg.Pool;
  readonly #idleMs: number;
  readonly #maxMs: number;

  constructor(db: pg.Pool, o: { idleMs: number; maxMs: number }) {
    this.#db = db;
    this.#idleMs = o.idleMs;
    this.#maxMs = o.maxMs;
  }

  /**
   * Keeps a started sign-in; returns the id for its cookie, or undefined when {@link MAX_PENDING_LOGINS}
   * are already waiting (anyone may start a sign-in: the table must not grow without bound).
   */
  async startLogin(login: PendingLogin): Promise<string | undefined> {
    const id = randomId();
    await this.#db.query('DELETE FROM console_logins WHERE expires_at < now()');
    const { rows } = await this.#db.query<{ n: string }>('SELECT count(*) AS n FROM console_logins');
    if (Number(rows[0]?.n ?? 0) >= MAX_PENDING_LOGINS) return undefined;
    await this.#db.query(
      `INSERT INTO console_logins (id_hash, state, nonce, code_verifier, expires_at)
       VALUES ($1, $2, $3, $4, now() + $5 * interval '1 millisecond')`,
      [hashOf(id), login.state, login.nonce, login.codeVerifier, LOGIN_TTL_MS],
    );
    return id;
  }

  /** Takes a started sign-in (once: it is deleted), if it exists and has not expired. */
  async takeLogin(id: string | undefined): Promise<PendingLogin | undefined> {
    if (!id || !ID.test(id)) return undefined;
    const { rows } = await this.#db.query<{ state: string; nonce: string; code_verifier: string }>(
      `DELETE FROM console_logins WHERE id_hash = $1 RETURNING state, nonce, code_verifier,
         expires_at > now() AS live`,
      [hashOf(id)],
    );
    const r = rows[0] as (typeof rows)[0] & { live?: boolean };
    return r?.live ? { state: r.state, nonce: r.nonce, codeVerifier: r.code_verifier } : undefined;
  }

  /** Starts a session for a verified approver (ending `previous`, if any); returns the id for its cookie. */
  async create(approver: Approver, name: string, previous?: string): Promise<string> {
    if (previous) await this.end(previous);
    const id = randomId();
    await this.#db.query("DELETE FROM console_sessions WHERE expires_at < now() - interval '1 day'");
    await this.#db.query(
      `INSERT INTO console_sessions (id_hash, approver, name, csrf_secret, expires_at)
       VALUES ($1, $2, $3, $4, now() + $5 * interval '1 millisecond')`,
      [hashOf(id), JSON.stringify(approver), name, randomBytes(18).toString('base64url'), this.#maxMs],
    );
    return id;
  }

  /**
   * The live session of a cookie value, touched (its idle time restarts); undefined when there is
   * none, it ended, or it is past its idle or absolute end. One statement: replicas agree.
   */
  async get(id: string | undefined): Promise<ConsoleSession | undefined> {
    if (!id || !ID.test(id)) return undefined;
    const { rows } = await this.#db.query<{
      id_hash: string;
      approver: Approver;
      name: string;
      csrf_secret: string;
      created_at: Date;
      expires_at: Date;
    }>(
      `UPDATE console_sessions SET last_seen_at = now()
        WHERE id_hash = $1 AND ended_at IS NULL AND expires_at > now()
          AND last_seen_at > now() - $2 * interval '1 millisecond'
        RETURNING id_hash, approver, name, csrf_secret, created_at, expires_at`,
      [hashOf(id), this.#idleMs],
    );
    const r = rows[0];
    if (!r) return undefined;
    return {
      idHash: r.id_hash,
      approver: r.approver,
      name: r.name,
      csrfSecret: r.csrf_secret,
      createdAt: r.created_at,
      expiresAt: r.expires_at,
    };
  }

  /** Ends the session of a cookie value (logout, rotation). */
  async end(id: string): Promise<void> {
    if (!ID.test(id)) return;
    await this.#db.query(
      'UPDATE console_sessions SET ended_at = now() WHERE id_hash = $1 AND ended_at IS NULL',
      [hashOf(id)],
    );
  }
}
