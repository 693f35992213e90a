// Writing a file inside the sandbox: every folder on the way is lstat'ed (a link anywhere is
// refused, never followed), the bytes go to an O_EXCL temp file that is fsynced, and the temp file
// becomes the report in one step — `link` (fails if the name exists) or `rename` (replace allowed).
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { link, lstat, mkdir, open, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { UserPath } from './path-input.js';
import { childRel, type PinnedDir, type Sandbox, SandboxRefusal, typeOf } from './sandbox.js';

/** Outcome of a write. */
export interface WriteOutcome {
  /** Absolute path written. */
  real: string;
  /** False when an existing file was replaced. */
  created: boolean;
}

const TEMP_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
// Filesystems where hard links are not available (some SMB/Azure Files/FUSE volumes).
const NO_LINK_CODES = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV', 'EMLINK']);
const CHUNK = 256 * 1024;

function code(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/** Name of the temp file a write goes through; hidden (dot) so listings, searches and areas skip it. */
export function tempName(): string {
  return `.tmp-${randomBytes(8).toString('hex')}.partial`;
}

/**
 * Walks the parent folders of `p` from the root, creating missing ones, and refuses any that is a
 * link or not a folder. Each folder is opened by descriptor through the one before it
 * (`/proc/self/fd/<n>/<name>`, never following a link) and checked, on the descriptor, to be
 * exactly where the walk expects it; the last one comes back pinned, and the write happens
 * through it, so a folder swapped for a link at any moment cannot send the report elsewhere.
 * The caller closes it.
 */
export async function ensureParent(sandbox: Sandbox, p: UserPath): Promise<PinnedDir> {
  let current = await sandbox.pinDir(sandbox.root, '', { expectRel: '' });
  try {
    const parents = p.segments.slice(0, -1);
    for (let i = 0; i < parents.length; i++) {
      const seg = parents[i] as string;
      const next = `${current.path}/${seg}`;
      const shown = parents.slice(0, i + 1).join('/');
      let st = await lstat(next).catch((err) => (code(err) === 'ENOENT' ? null : Promise.reject(err)));
      if (!st) {
        await mkdir(next, { mode: 0o750 }).catch((err) =>
          code(err) === 'EEXIST' ? undefined : Promise.reject(err),
        );
        st = await lstat(next);
      }
      if (st.isSymbolicLink()) {
        throw new SandboxRefusal(
          `\`${shown}\` is a link; reports are never written through links. Choose another folder.`,
          'denied',
        );
      }
      if (!st.isDirectory())
        throw new SandboxRefusal(`\`${shown}\` is a ${typeOf(st)}, not a folder.`, 'not_folder');
      const pinned = await sandbox
        .pinDir(next, shown, { noFollow: true, expectRel: childRel(current.rel, seg) })
        .catch((err) => {
          throw err instanceof SandboxRefusal
            ? new SandboxRefusal(
                'The folder changed while the report was being written; try again.',
                'changed',
              )
            : err;
        });
      await current.close();
      current = pinned;
    }
    return current;
  } catch (err) {
    await current.close();
    throw err;
  }
}

async function removeQuietly(path: string): Promise<void> {
  await unlink(path).catch(() => {});
}

/**
 * Writes `chunks` to `name` in `dir` atomically. `dir` is a pinned folder's `/proc/self/fd/<n>`
 * path (from {@link ensureParent}), so the temp file, the link/rename and the checks all happen in
 * that very folder whatever is swapped meanwhile. Without `overwrite`, an existing name (file, link,
 * dangling link or anything else) is refused with `exists`; with it, only a regular file is replaced.
 * On any failure, including `signal` firing between chunks, nothing is left behind.
 */
export async function writeAtomic(
  dir: string,
  name: string,
  chunks: Iterable<Buffer> | AsyncIterable<Buffer>,
  opts: {
    overwrite: boolean;
    signal: AbortSignal;
    mode?: number;
    /** The call's point of no return (ctx.commit()), called right before the file is placed. */
    commit?: () => void;
  },
): Promise<WriteOutcome> {
  const target = join(dir, name);
  const temp = join(dir, tempName());
  const fh = await open(temp, TEMP_FLAGS, opts.mode ?? 0o640);
  let placed = false;
  try {
    try {
      for await (const chunk of chunks) {
        opts.signal.throwIfAborted();
        for (let off = 0; off < chunk.length; off += CHUNK) {
          await fh.write(chunk, off, Math.min(CHUNK, chunk.length - off));
        }
      }
      opts.signal.throwIfAborted();
      await fh.sync();
    } finally {
      await fh.close();
    }
    let created = true;
    if (!opts.overwrite) {
      opts.commit?.();
      await placeWithoutReplacing(temp, target);
    } else {
      const existing = await lstat(target).catch(() => null);
      if (existing && !existing.isFile()) {
        throw new SandboxRefusal(
          `\`${name}\` exists and is a ${typeOf(existing)}; only regular files are replaced.`,
          'special',
        );
      }
      created = existing === null;
      opts.commit?.();
      await rename(temp, target);
    }
    placed = true;
    await syncDir(dir);
    return { real: target, created };
  } finally {
    if (!placed) await removeQuietly(temp);
  }
}

/** link(2) is the atomic "create if absent": it fails with EEXIST whatever sits at `target`. */
async function placeWithoutReplacing(temp: string, target: string): Promise<void> {
  try {
    await link(temp, target);
    await removeQuietly(temp);
    return;
  } catch (err) {
    if (code(err) === 'EEXIST') throw existsRefusal(target);
    if (!NO_LINK_CODES.has(code(err) ?? '')) throw err;
  }
  // No hard links on this volume: reserve the name exclusively, then rename over the reservation.
  // The name briefly holds an empty file; it never holds a partial one.
  try {
    const reservation = await open(target, TEMP_FLAGS, 0o640);
    await reservation.close();
  } catch (err) {
    if (code(err) === 'EEXIST') throw existsRefusal(target);
    throw err;
  }
  try {
    await rename(temp, target);
  } catch (err) {
    await removeQuietly(target);
    throw err;
  }
}

function existsRefusal(target: string): SandboxRefusal {
  const name = target.split('/').pop() ?? target;
  return new SandboxRefusal(`\`${name}\` already exists.`, 'exists');
}

/** fsync the folder so the new name survives a crash (best effort: not every filesystem allows it). */
async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY).catch(() => null);
  if (!fh) return;
  await fh.sync().catch(() => {});
  await fh.close();
}
