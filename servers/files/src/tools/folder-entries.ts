// Reading a folder's entries safely: names that are not valid UTF-8 or hidden are skipped, links
// are judged by where they really lead (outside or dangling: not shown), special files are typed.
import type { Stats } from 'node:fs';
import { lstat, opendir, realpath } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { AccessScope } from '../access/areas.js';
import { kindByName } from '../documents/file-kind.js';
import { isUsableName } from '../sandbox/path-input.js';
import { childRel, type PinnedDir, type Sandbox, typeOf } from '../sandbox/sandbox.js';

/** One visible entry of a folder. */
export interface FolderEntry {
  name: string;
  type: 'file' | 'folder' | 'other';
  stats: Stats;
  /** Real path relative to the root (differs from the folder + name when the entry is a link). */
  rel: string;
  /** The entry is a symlink leading to another place inside the root. */
  link: boolean;
  kind: string | undefined;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** A name in a folder and what the directory entry says it is (no extra system call). */
export interface FolderName {
  name: string;
  /** From the directory entry; `unknown` on filesystems that do not report types (then lstat). */
  type: 'file' | 'folder' | 'link' | 'other' | 'unknown';
}

function direntType(d: {
  isFile(): boolean;
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
  isFIFO(): boolean;
  isSocket(): boolean;
  isCharacterDevice(): boolean;
  isBlockDevice(): boolean;
}): FolderName['type'] {
  if (d.isFile()) return 'file';
  if (d.isDirectory()) return 'folder';
  if (d.isSymbolicLink()) return 'link';
  if (d.isFIFO() || d.isSocket() || d.isCharacterDevice() || d.isBlockDevice()) return 'other';
  return 'unknown';
}

/**
 * Entries of folder `real` (a pinned folder's `/proc/self/fd/<n>` path) in code-point order of their names, at most `max`. Hidden names
 * (leading `.`, including in-flight report temp files) are left out; names that are not valid
 * UTF-8 or that no path could name (control or invisible characters, `\\`, `%xx`) are left out
 * and counted in `skipped`.
 */
export async function readFolder(
  real: string,
  max: number,
): Promise<{ entries: FolderName[]; skipped: number; capped: boolean }> {
  // Raw bytes, so names that are not valid UTF-8 are detected instead of silently mangled
  // (Node supports 'buffer' here at run time; its type declarations for opendir do not say so).
  const dir = await opendir(real, { encoding: 'buffer' as unknown as BufferEncoding, bufferSize: 256 });
  const entries: FolderName[] = [];
  let skipped = 0;
  let capped = false;
  for await (const dirent of dir) {
    let name: string;
    try {
      name = strictUtf8.decode(dirent.name as unknown as Buffer);
    } catch {
      skipped++;
      continue;
    }
    if (name.startsWith('.')) continue;
    if (!isUsableName(name)) {
      skipped++;
      continue;
    }
    if (entries.length >= max) {
      capped = true;
      break;
    }
    entries.push({ name, type: direntType(dirent) });
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { entries, skipped, capped };
}

/**
 * Describes entry `name` of the pinned folder `dir`, or returns `null` when the caller may not see
 * it: outside its areas, a link leading out of the root or nowhere, a file with several names
 * (hard link: which area it belongs to cannot be told, so neither its size nor its times are
 * shown), or gone since the folder was read. Every look-up goes through the folder's descriptor;
 * a link is judged by the folder its target is in, opened and checked on its descriptor.
 */
export async function describeEntry(
  sandbox: Sandbox,
  scope: AccessScope,
  dir: PinnedDir,
  name: string,
): Promise<FolderEntry | null> {
  const abs = `${dir.path}/${name}`;
  let st = await lstat(abs).catch(() => null);
  if (!st) return null;
  let rel = childRel(dir.rel, name);
  let link = false;
  if (st.isSymbolicLink()) {
    const target = await realpath(abs).catch(() => null);
    if (target === null || sandbox.relativeOf(target) === null || target === sandbox.root) return null;
    const holder = await sandbox.pinDir(dirname(target), name).catch(() => null);
    if (!holder) return null;
    try {
      const base = basename(target);
      st = await lstat(`${holder.path}/${base}`).catch(() => null);
      if (!st || st.isSymbolicLink()) return null;
      rel = childRel(holder.rel, base);
    } finally {
      await holder.close();
    }
    link = true;
  }
  const t = typeOf(st);
  if (t === 'folder')
    return scope.reaches(rel) ? { name, type: 'folder', stats: st, rel, link, kind: undefined } : null;
  if (!scope.allows(rel)) return null;
  if (t === 'file') {
    if (st.nlink > 1) return null;
    return { name, type: 'file', stats: st, rel, link, kind: kindByName(name)?.kind ?? 'unknown' };
  }
  return { name, type: 'other', stats: st, rel, link, kind: t };
}
