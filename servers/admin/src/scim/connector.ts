// What the user tools reach: the SCIM client of the company's directory, the SCIM configuration
// (protected principals, the admins group) and the lock that serialises, across every replica, the
// checks of a directory change with the change itself — a PostgreSQL advisory lock on the fleet
// database, so two concurrent disables of the last two admins cannot both pass.
import { setTimeout as sleep } from 'node:timers/promises';
import { type Env, type Logger, ToolError } from '@mcp-fleet/core';
import type pg from 'pg';
import { ScimClient } from './client.js';
import { type ScimConfig, scimConfig } from './config.js';

/** Longest wait for the directory lock (ms) before the call is refused as busy. */
export const LOCK_WAIT_MS = 10_000;

/** The admin server's connection to the directory. */
export class ScimConnector {
  readonly client: ScimClient;
  readonly config: ScimConfig & { adminGroup: string };
  readonly #db: pg.Pool | undefined;

  constructor(config: ScimConfig, fleetDb: pg.Pool | undefined, logger?: Logger) {
    if (config.adminGroup === undefined) throw new Error('ScimConnector needs ADMIN_GROUP');
    this.config = config as ScimConfig & { adminGroup: string };
    this.client = new ScimClient(config, logger);
    this.#db = fleetDb;
  }

  /**
   * Runs `fn` holding the directory lock (one per SCIM base URL, a session advisory lock in the fleet
   * database, held for as long as `fn` runs): every check-then-write of the user tools runs inside it.
   * A waiting call does not hold a database connection while it waits (it tries again every ~100 ms,
   * up to LOCK_WAIT_MS), so waiters cannot starve the pool the audit log needs. If the unlock fails,
   * the connection is destroyed, which ends its session and releases the lock. Without a fleet
   * database the change is refused (nothing could serialise it).
   */
  async withDirectoryLock<T>(fn: () => Promise<T>): Promise<T> {
    const db = this.#db;
    if (!db)
      throw new ToolError(
        'directory changes need the fleet database (to serialise the protected-principal checks across replicas), and this server has none. Tell the operator.',
        'not_configured',
      );
    const key = `mcp-fleet/admin/scim:${this.config.baseUrl}`;
    const until = Date.now() + LOCK_WAIT_MS;
    for (;;) {
      const client = await db.connect();
      let locked = false;
      try {
        const r = await client.query<{ ok: boolean }>(
          'SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS ok',
          [key],
        );
        locked = r.rows[0]?.ok === true;
      } catch (err) {
        client.release(true);
        throw err;
      }
      if (locked) {
        try {
          return await fn();
        } finally {
          try {
            await client.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [key]);
            client.release();
          } catch {
            client.release(true);
          }
        }
      }
      client.release();
      if (Date.now() >= until)
        throw new ToolError(
          'another change to the directory is in progress; nothing was changed, try again in a few seconds',
          'directory_busy',
          { retryAfterMs: 2_000 },
        );
      await sleep(50 + Math.random() * 100);
    }
  }
}

/**
 * Opens the directory connection from the environment (or an already parsed ScimConfig), or undefined
 * when SCIM_BASE_URL is not set (the user tools are then not offered).
 */
export function connectScim(
  source: Env | ScimConfig,
  fleetDb: pg.Pool | undefined,
  logger?: Logger,
): ScimConnector | undefined {
  const config = isScimConfig(source) ? source : scimConfig(source);
  if (config.baseUrl === undefined) return undefined;
  return new ScimConnector(config, fleetDb, logger);
}

function isScimConfig(v: Env | ScimConfig): v is ScimConfig {
  return typeof (v as ScimConfig).timeoutMs === 'number' && Array.isArray((v as ScimConfig).protectedUsers);
}
