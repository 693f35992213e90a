// Declares a tool of this server: `ctx` (connectors, identity, constraints, signal) is typed in
// its handler and cacheKey, with no annotations. Also what every vendor's tools share: how reads and
// writes are governed, and a page size clamped to the vendor's maximum.
import { type ToolGovernance, toolsFor } from '@mcp-fleet/core';
import { z } from 'zod';
import type { Connectors } from '../connectors.js';

export const tool = toolsFor<Connectors>();

/** Every vendor read: cached for 30 s (per tenant and caller, core's cache key), reaching outside the company. */
export const VENDOR_READ: ToolGovernance = {
  readOnly: true,
  cacheTtlSeconds: 30,
  openWorld: true,
  timeoutMs: 30_000,
};
/** The annotations of every vendor read. */
export const VENDOR_READ_HINTS = { readOnlyHint: true, openWorldHint: true } as const;

/** A vendor write: audited, committed right before the request, never cached, an external send; waits `timeoutMs`. */
export const vendorWrite = (timeoutMs = 30_000): ToolGovernance => ({
  readOnly: false,
  commits: true,
  openWorld: true,
  timeoutMs,
  // Flow guard: what a write carries lands at the vendor, outside the company.
  sends: 'external',
});

/**
 * A `limit` argument: at least 1, `def` when absent, and larger values clamped to the vendor's `max`
 * rather than refused. The listed schema shows the real range (`maximum`) without refusing above it.
 */
export const clampedLimit = (def: number, max: number, description: string) =>
  z
    .number()
    .int()
    .min(1)
    .meta({ maximum: max })
    .default(def)
    .transform((n) => Math.min(n, max))
    .describe(description);
