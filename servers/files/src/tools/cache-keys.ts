// Cache-key material for the read tools, so core's result cache never serves a stale document:
// the identity and modification time of what a call reads are part of the key, so an edit (or a
// replace-by-rename) makes the next call miss the cache instead of returning the old text.
import { stat } from 'node:fs/promises';
import { parseUserPath } from '../sandbox/path-input.js';
import type { FilesConnectors } from './context.js';

/**
 * `dev:ino:size:mtime:ctime` of the file or folder `path` resolves to. For a folder, its mtime
 * moves when entries are added, removed or renamed. Throws for a path that does not resolve,
 * which makes core skip the cache for that call (refusals are never cached anyway).
 */
export async function pathVersionKey(
  connectors: FilesConnectors,
  path: string,
  allowRoot: boolean,
): Promise<string> {
  const p = parseUserPath(path, allowRoot);
  const st = await stat(connectors.sandbox.lexical(p));
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
}

/**
 * Searches read a whole tree, which no single stat can validate: their key carries a generation
 * that this process bumps on every report it writes, and their TTL is kept short for edits made
 * by anyone else.
 */
export function treeGenerationKey(connectors: FilesConnectors): string {
  return `g${connectors.generation.value}`;
}
