// The cache step of a call: look the result up before running, store it after a clean success.
import type { GovernedCall, StepAnswer } from '../governance/governed-call.js';
import type { CallToolResult } from '../pipeline/call-tool.js';
import { buildCacheKey } from './cache-key.js';

/** `_meta` key on results served from the cache. */
export const CACHE_META_KEY = 'io.mcp-fleet/cache';

const NEVER = new AbortController().signal;

/** Whether this call may use the cache at all. */
export function cacheable(c: GovernedCall): boolean {
  return c.settings.cacheTtlSeconds.value > 0 && c.tool.governance.readOnly && !c.decision.approvalRequired;
}

/** The call's cache key, or undefined when the tool's cacheKey hook fails (then the call is not cached). */
export async function cacheKeyOf(c: GovernedCall): Promise<string | undefined> {
  let extra: string | undefined;
  if (c.tool.cacheKey) {
    try {
      extra = await c.tool.cacheKey(c.args as never, {
        identity: c.req.identity,
        connectors: c.rt.connectors,
        signal: c.req.cancellation?.signal ?? NEVER,
      });
    } catch (err) {
      c.gov.logger.debug(
        { err: (err as Error).message, tool: c.tool.name },
        'cacheKey hook failed; call not cached',
      );
      return undefined;
    }
  }
  return buildCacheKey({
    server: c.rt.server,
    tool: c.tool.name,
    argsHash: c.argsHash,
    identity: c.req.identity,
    constraints: c.decision.constraints,
    scope: c.settings.cacheScope,
    session: c.session,
    extra,
  });
}

/** Answers the call from the cache when an entry exists; counts hits and misses. */
export async function lookupCache(c: GovernedCall, key: string): Promise<StepAnswer | undefined> {
  const hit = await c.gov.cache.get(key);
  if (!hit) {
    c.gov.metrics.cacheMisses.inc({ tool: c.tool.name });
    return undefined;
  }
  c.gov.metrics.cacheHits.inc({ tool: c.tool.name });
  const expiresAt = new Date(hit.expiresAt).toISOString();
  c.detail('cache', { tier: hit.tier, scope: c.settings.cacheScope, expiresAt });
  const meta = {
    ...(hit.result._meta as Record<string, unknown> | undefined),
    [CACHE_META_KEY]: { hit: true, expiresAt },
  };
  return { outcome: 'cached', result: { ...hit.result, _meta: meta } };
}

/** Stores a clean, complete success; anything else is never cached. */
export function storeInCache(
  c: GovernedCall,
  key: string,
  result: CallToolResult,
  outcome: string,
  partial: boolean,
): void {
  if (outcome === 'ok' && !result.isError && !partial)
    c.gov.cache.set(key, result, c.settings.cacheTtlSeconds.value);
}
