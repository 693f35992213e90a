// Opens the warehouse for the server: connects as the configured role, refuses a role that can
// write (unless explicitly allowed), and learns which schemas each saved query reads. Errors say
// what is wrong without the URL's password.
import { FleetError, type Logger } from '@mcp-fleet/core';
import type { DatabaseConfig } from '../config.js';
import type { SavedQuery } from '../saved-queries/saved-query.js';
import { resolveRelationSchemas } from './catalog.js';
import { findWriteCapabilities, writableRoleMessage } from './role-check.js';
import { Warehouse } from './warehouse.js';

function scrub(message: string, url: string): string {
  let out = message.split(url).join('<WAREHOUSE_URL>');
  try {
    const password = decodeURIComponent(new URL(url).password);
    if (password) out = out.split(password).join('<password>');
  } catch {
    // not a URL: nothing more to hide
  }
  return out;
}

async function resolveSavedSchemas(warehouse: Warehouse, saved: SavedQuery[], logger: Logger): Promise<void> {
  const signal = new AbortController().signal;
  await warehouse.readOnly({ signal, timeoutMs: 10_000 }, async (s) => {
    for (const q of saved) {
      q.schemas = [...new Set((await resolveRelationSchemas(s, q.relations)).map((r) => r.schema))];
      if (q.relations.length > 0 && q.schemas.length === 0)
        logger.warn({ query: q.name }, 'saved query names no table this role can see');
    }
  });
}

/** The warehouse of WAREHOUSE_URL, checked and ready; throws FLEET_ERR_CONFIG saying why not. */
export async function openWarehouse(
  config: DatabaseConfig,
  saved: SavedQuery[],
  logger: Logger,
): Promise<Warehouse> {
  const url = config.url;
  if (!url)
    throw new FleetError(
      'FLEET_ERR_CONFIG',
      'invalid database server configuration: WAREHOUSE_URL is required: the warehouse connection URL of a read-only role',
    );
  const warehouse = new Warehouse({
    url,
    poolMax: config.poolMax,
    logger,
    defaultTimeoutMs: config.queryTimeoutMs,
    maxMessageBytes: config.maxMessageBytes,
    maxConcurrentPerCaller: config.maxConcurrentPerCaller,
  });
  try {
    await warehouse.init();
    const writes = await findWriteCapabilities(warehouse.control);
    if (writes.length > 0) {
      if (!config.allowWritableRole) throw new FleetError('FLEET_ERR_CONFIG', writableRoleMessage(writes));
      logger.warn(
        { capabilities: writes.map((w) => w.detail).slice(0, 20) },
        'WAREHOUSE_ALLOW_WRITABLE_ROLE is set: the warehouse role can write; queries stay read-only',
      );
    }
    await resolveSavedSchemas(warehouse, saved, logger);
  } catch (err) {
    await warehouse.close();
    if (err instanceof FleetError) throw err;
    throw new FleetError(
      'FLEET_ERR_CONFIG',
      `cannot use the warehouse in WAREHOUSE_URL: ${scrub((err as Error).message, url)}`,
    );
  }
  return warehouse;
}
