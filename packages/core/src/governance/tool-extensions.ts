// Governance fields a tool declaration may carry beyond the basics in tools/tool.ts (declaration
// merging, so servers get them typed through `defineTool` without a change to the core tool type).
import type { z } from 'zod';
import type { Identity } from '../identity/identity.js';

/** What a tool's `cacheKey` hook receives. */
export interface CacheKeyContext<Connectors = unknown> {
  identity: Identity;
  connectors: Connectors;
  signal: AbortSignal;
}

declare module '../tools/tool.js' {
  interface ToolGovernance {
    /**
     * `shared` (default): a cached result is reused by any caller with the same tenant, user, roles
     * and policy constraints, in any session. `session`: only within the agent session that made it.
     */
    cacheScope?: 'shared' | 'session';
  }

  interface ToolResult<Out> {
    /** The result is incomplete (cut short, best effort): returned to the caller but never cached. */
    partial?: boolean;
  }

  interface ToolDefinition<
    In extends z.ZodObject = z.ZodObject,
    Out extends z.ZodType = z.ZodType,
    Connectors = unknown,
  > {
    /**
     * Extra cache-key material for cacheable tools whose result depends on more than arguments and
     * identity, e.g. a file's identity and mtime. Returning a different string makes a different
     * entry. Throwing skips the cache for that call.
     */
    cacheKey?(args: z.output<In>, ctx: CacheKeyContext<Connectors>): string | Promise<string>;
  }
}
