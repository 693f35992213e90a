// `pnpm start` hook: builds the demo warehouse in the embedded PostgreSQL and hands the server a
// WAREHOUSE_URL for its read-only role. Idempotent; seconds on a first start, instant after.
// WAREHOUSE_URL set: that warehouse passes through untouched (`pnpm start` gives every server your
// environment) and no demo warehouse is built.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LocalSetupContext } from '@mcp-fleet/core';
import { buildDemoWarehouse } from './demo/build-warehouse.js';

// The reader's password is kept under .fleet/ (mode 0600) so restarts reuse it.
function readerPassword(fleetDir: string): string {
  const dir = join(fleetDir, 'database');
  const file = join(dir, 'warehouse-reader.secret');
  try {
    const existing = readFileSync(file, 'utf8').trim();
    if (existing) return existing;
  } catch {
    // first start
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const password = randomBytes(18).toString('base64url');
  writeFileSync(file, `${password}\n`, { mode: 0o600 });
  return password;
}

/** A connection URL without its password, for the start-up log. */
function shown(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(not a URL)';
  }
}

/**
 * Prepares the demo warehouse and returns the server's extra environment; `env` (default
 * process.env) with WAREHOUSE_URL set: nothing to prepare, the server uses that warehouse.
 */
export async function prepareLocal(
  ctx: LocalSetupContext,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Record<string, string>> {
  const own = (env.WAREHOUSE_URL ?? '').trim();
  if (own) {
    ctx.log(`warehouse from your environment (not simulated): WAREHOUSE_URL ${shown(own)}`);
    return {};
  }
  const built = await buildDemoWarehouse({
    adminUrl: ctx.adminUrl,
    readerPassword: readerPassword(ctx.fleetDir),
    log: ctx.log,
  });
  ctx.log(
    built.rebuilt
      ? `demo warehouse "${built.database}" built in ${built.ms} ms`
      : `demo warehouse "${built.database}" ready (${built.ms} ms)`,
  );
  return { WAREHOUSE_URL: built.readerUrl };
}
