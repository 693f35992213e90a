// The cache step of a read-only call: look the result up before running, store it after a clean,
// complete success of the handler.

import { buildCacheKey } from '../../cache/cache-key.js';
import type { CallToolResult, StepAnswer } from '../../kernel/call.js';
import { CACHE_META_KEY } from '../../kernel/meta-keys.js';
import type { GovernedCall, Next } from '../runtime.js';

export { CACHE_META_KEY } from '../../kernel/meta-keys.js';

const NEVER = new AbortController().signal;

/** Whether this call may use the cache at all (the step runs for read-only tools only). */
function cacheable(c: GovernedCall): boolean {
  return c.settings.cacheTtlSeconds.value > 0 && !c.decision.approvalRequired;
}

/** Answers from the cache when it can; otherwise runs the call and keeps a clean success. */
export async function cache(c: GovernedCall, next: Next): Promise<StepAnswer> {
  if (!cacheable(c)) return next();
  const key = await cacheKeyOf(c);
  if (key === undefined) return next();
  const hit = await lookupCache(c, key);
  if (hit) return hit;
  const out = await next();
  if (out.ran && out.outcome === 'ok' && !out.result.isError && !out.ran.partial)
    c.gov.cache.set(key, withSources(out.result, c), c.settings.cacheTtlSeconds.value);
  return out;
}

/**
 * Flow guard (issue 17): the sources the handler named (`ctx.source`) are kept with the cached result,
 * under a core `_meta` key that {@link lookupCache} takes off again, so a cached answer carries the
 * same labels to its session as the handler's did. The answer to the caller is never changed.
 */
function withSources(result: CallToolResult, c: GovernedCall): CallToolResult {
  if (c.sources.length === 0) return result;
  return {
    ...result,
    _meta: { ...(result._meta as Record<string, unknown> | undefined), [SOURCES_KEY]: [...c.sources] },
  };
}

/** Where a cached result keeps its sources (never sent: taken off on every hit). */
const SOURCES_KEY = 'io.mcp-fleet/flowSources';

/** The call's cache key, or undefined when the tool's cacheKey hook fails (then the call is not cached). */
async function cacheKeyOf(c: GovernedCall): Promise<string | undefined> {
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
async function lookupCache(c: GovernedCall, key: string): Promise<StepAnswer | undefined> {
  const hit = await c.gov.cache.get(key);
  if (!hit) {
    c.gov.metrics.cacheMisses.inc({ tool: c.tool.name });
    return undefined;
  }
  c.gov.metrics.cacheHits.inc({ tool: c.tool.name });
  const expiresAt = new Date(hit.expiresAt).toISOString();
  c.detail('cache', { tier: hit.tier, scope: c.settings.cacheScope, expiresAt });
  const { [SOURCES_KEY]: sources, ...kept } = (hit.result._meta as Record<string, unknown> | undefined) ?? {};
  if (Array.isArray(sources))
    for (const s of sources as { kind: unknown; name: unknown }[])
      if (typeof s?.kind === 'string' && typeof s.name === 'string')
        c.sources.push({ kind: s.kind, name: s.name });
  const meta = { ...kept, [CACHE_META_KEY]: { hit: true, expiresAt } };
  return { outcome: 'cached', result: { ...hit.result, _meta: meta } };
}
