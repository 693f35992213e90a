// What the user tools share: their connectors type, the directory connection of a call (refused when
// SCIM is not configured), the call's bounds, and the mapping of directory failures to tool errors.
import { callBounds, isUpstreamFailure, ToolError, toolsFor, upstreamToolError } from '@mcp-fleet/core';
import type { CallOptions } from '../client.js';
import type { ScimConnector } from '../connector.js';

/** What the admin server's connectors carry for the user tools (`undefined`: SCIM is not configured). */
export interface ScimConnectors {
  scim: ScimConnector | undefined;
}

export const tool = toolsFor<ScimConnectors>();

/** How a person calls the directory in messages. */
export const SCIM_NAMES = { scim: 'The user directory (SCIM)' } as const;

/** The directory connection, or a not_configured refusal. */
export function directory(connectors: ScimConnectors): ScimConnector {
  if (!connectors.scim)
    throw new ToolError(
      'the user directory is not configured on this server (SCIM_BASE_URL); tell the operator',
      'not_configured',
    );
  return connectors.scim;
}

/** A second before the call's own deadline, so a failing directory is reported rather than a bare timeout. */
export const readBounds = (ctx: { signal: AbortSignal; deadline: number }): CallOptions => callBounds(ctx);

/**
 * The bounds of a write once the call committed: not the call's signal (a client's cancel must not cut
 * a change in flight into an unknown outcome); each attempt has the directory's own timeout.
 */
export const writeBounds = (): CallOptions => ({ signal: new AbortController().signal });

/** Runs `fn`, turning directory failures into the tool errors a model can act on. */
export async function directoryCall<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (isUpstreamFailure(err)) throw upstreamToolError(err, SCIM_NAMES);
    throw err;
  }
}

/** Results carry display names and group names written by outsiders (A8): marked as untrusted data. */
export const UNTRUSTED = { source: 'scim directory' } as const;
