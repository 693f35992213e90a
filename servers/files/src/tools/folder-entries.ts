// Reading a folder's entries safely: names that are not valid UTF-8 or hidden are skipped, links
// are judged by where they really lead (outside or dangling: not shown), special files are typed.
import type { Stats } from 'node:fs';
import { lstat, opendir, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { AccessScope } from '../access/areas.js';
import { kindByName } from '../documents/file-kind.js';
import { isUsableName } from '../sandbox/path-input.js';
import type { Sandbox } from '../sandbox/sandbox.js';
import { typeOf } from '../sandbox/sandbox.js';

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
 * Entries of folder `real` in code-point order of their names, at most `max`. Hidden names
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
 * Describes entry `name` of the folder at real path `folderReal` (real rel `folderRel`), or returns
 * `null` when the caller may not see it: outside its areas, a link leading out of the root or
 * nowhere, or gone since the folder was read.
 */
export async function describeEntry(
  sandbox: Sandbox,
  scope: AccessScope,
  folderReal: string,
  folderRel: string,
  name: string,
): Promise<FolderEntry | null> {
  const abs = join(folderReal, name);
  const lexicalRel = folderRel ? `${folderRel}/${name}` : name;
  let st = await lstat(abs).catch(() => null);
  if (!st) return null;
  let rel = lexicalRel;
  let link = false;
  if (st.isSymbolicLink()) {
    const target = await realpath(abs).catch(() => null);
    const targetRel = target === null ? null : sandbox.relativeOf(target);
    if (target === null || targetRel === null) return null;
    st = await stat(target).catch(() => null);
    if (!st) return null;
    rel = targetRel;
    link = true;
  }
  const t = typeOf(st);
  if (t === 'folder')
    return scope.reaches(rel) ? { name, type: 'folder', stats: st, rel, link, kind: undefined } : null;
  if (!scope.allows(rel)) return null;
  if (t === 'file')
    return { name, type: 'file', stats: st, rel, link, kind: kindByName(name)?.kind ?? 'unknown' };
  return { name, type: 'other', stats: st, rel, link, kind: t };
}
