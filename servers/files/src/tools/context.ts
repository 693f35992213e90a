// What every files tool shares: its connectors, the caller's read scope, resolving a path for
// reading with both layers of checks, and turning refusals into advice for the model.
import { createHash } from 'node:crypto';
import type { Stats } from 'node:fs';
import { type ToolContext, ToolError, toolsFor } from '@mcp-fleet/core';
import type { AccessScope, Areas } from '../access/areas.js';
import { type ReadRule, readScope } from '../access/constraints.js';
import type { FilesConfig } from '../config.js';
import { PathRefusal, parseUserPath } from '../sandbox/path-input.js';
import { AreaRefusal, type Sandbox, SandboxRefusal, type Target } from '../sandbox/sandbox.js';

/** The files server's connectors: the sandbox and the server-wide ceilings from configuration. */
export interface FilesConnectors {
  sandbox: Sandbox;
  config: FilesConfig;
  readCeiling: Areas;
  writeCeiling: Areas;
  /** Bumped on every report this process writes; part of search_documents' cache key. */
  generation: { value: number };
}

/** The context a files tool handler receives (for helpers; tools declared with {@link tool} get it typed). */
export type FilesContext = ToolContext<FilesConnectors, ReadRule>;

/** Declares a tool of this server: `ctx` is typed in its handler and cacheKey. */
export const tool = toolsFor<FilesConnectors>();

/** The caller's read scope for this call (ceiling AND policy grants). */
export function scopeOf(ctx: FilesContext): AccessScope {
  return readScope(ctx.connectors.readCeiling, ctx.constraints);
}

/**
 * The server's `mapError`: sandbox and path refusals, and the file-system failures a model can act
 * on, as a ToolError (shown to the model with its code); undefined for anything else (a server fault).
 */
export function filesError(err: unknown): ToolError | undefined {
  if (err instanceof PathRefusal || err instanceof SandboxRefusal)
    return new ToolError(err.message, 'path_refused');
  const c = (err as NodeJS.ErrnoException | undefined)?.code;
  if (c === 'EACCES' || c === 'EPERM')
    return new ToolError('The server has no permission to use that path.', 'path_refused');
  if (c === 'ENOSPC' || c === 'EDQUOT')
    return new ToolError(
      'The document volume is full; nothing was written. Tell an operator.',
      'volume_full',
    );
  if (c === 'EROFS')
    return new ToolError('The document volume is read-only here; nothing was written.', 'read_only');
  return undefined;
}

/**
 * A short token that changes whenever the file changes (device, inode, size, modification and
 * change times). Results carry it so a cache keyed on it never serves a stale document.
 */
export function versionOf(st: Stats): string {
  return createHash('sha256')
    .update(`${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`)
    .digest('base64url')
    .slice(0, 22);
}

/**
 * Parses a path, opens what it names and authorises it for reading. The policy check is made on
 * what was actually opened (the kernel's path of the descriptor), so a link inside a readable area
 * that leads into another area is judged by where it leads, and a folder swapped for a link
 * between the check and the open is caught. Folders pass when they are in, or lead to, a readable
 * area. The caller closes the target ({@link closeTarget}).
 */
export async function openReadable(
  ctx: FilesContext,
  path: string,
  allowRoot: boolean,
): Promise<{ target: Target; scope: AccessScope }> {
  const scope = scopeOf(ctx);
  try {
    const parsed = parseUserPath(path, allowRoot);
    const target = await ctx.connectors.sandbox.openPath(parsed, scope);
    return { target, scope };
  } catch (err) {
    if (err instanceof AreaRefusal) throw areaError(err.asked, err.rel, scope);
    throw err;
  }
}

/** The refusal for a path whose real place is outside the caller's areas. */
export function areaError(asked: string, rel: string, scope: AccessScope): ToolError {
  const where = rel === asked ? `\`${asked}\` is` : `\`${asked}\` leads to a place that is`;
  return new ToolError(
    `${where} outside the areas your role may read (${scope.describe()}). Call list_folder to see what you can read.`,
    'path_refused',
  );
}

/** ISO timestamp of a Stats' modification time. */
export function modifiedAt(st: Stats): string {
  return new Date(st.mtimeMs).toISOString();
}
