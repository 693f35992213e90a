// The sandbox root and the real-path checks every read goes through: resolve symlinks fully,
// compare with a separator boundary, refuse special files, and re-check the opened descriptor.
import { constants, type Stats } from 'node:fs';
import { type FileHandle, lstat, open, readlink, realpath, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import type { UserPath } from './path-input.js';

/** A refusal from the filesystem layer, worded for the model. */
export class SandboxRefusal extends Error {
  constructor(
    message: string,
    readonly reason:
      | 'not_found'
      | 'outside'
      | 'special'
      | 'not_file'
      | 'not_folder'
      | 'denied'
      | 'changed'
      | 'too_large'
      | 'exists'
      | 'hard_link',
  ) {
    super(message);
    this.name = 'SandboxRefusal';
  }
}

/** A path resolved inside the sandbox. */
export interface Resolved {
  /** Absolute real path (no symlinks anywhere in it). */
  real: string;
  /** Real path relative to the root, `/`-separated (`''` = root). What policy areas are matched against. */
  rel: string;
  /** The path as the caller spelled it (after lexical clean-up). */
  asked: string;
  stats: Stats;
}

/** What kind of filesystem object a Stats describes, in the words the tools use. */
export function typeOf(st: Stats): 'file' | 'folder' | 'link' | 'fifo' | 'socket' | 'device' | 'unknown' {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'folder';
  if (st.isSymbolicLink()) return 'link';
  if (st.isFIFO()) return 'fifo';
  if (st.isSocket()) return 'socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'device';
  return 'unknown';
}

const READ_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY;
const HAS_PROC_FD = process.platform === 'linux';

function code(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/** The sandbox: one real root directory. Nothing a client sends (roots, URIs) ever changes it. */
export class Sandbox {
  private constructor(readonly root: string) {}

  /** Opens the sandbox at `root`, which must be an existing directory; symlinks in `root` itself are resolved once. */
  static async open(root: string): Promise<Sandbox> {
    const real = await realpath(root);
    const st = await stat(real);
    if (!st.isDirectory()) throw new Error(`FILES_ROOT ${root} is not a directory`);
    return new Sandbox(real);
  }

  /** The real path relative to the root, or `null` when it is not inside (separator boundary, so `/data/docs_x` is not in `/data/docs`). */
  relativeOf(real: string): string | null {
    if (real === this.root) return '';
    const prefix = this.root.endsWith(sep) ? this.root : this.root + sep;
    if (!real.startsWith(prefix)) return null;
    return real.slice(prefix.length).split(sep).join('/');
  }

  /** The absolute lexical path of a parsed user path (not yet resolved). */
  lexical(p: UserPath): string {
    return p.segments.length === 0 ? this.root : join(this.root, ...p.segments);
  }

  /**
   * Resolves every symlink in `p` and checks the result is inside the root. A link that points
   * outside is refused as outside (never "fixed" by checking its parent instead); a dangling link
   * is not found. Special files are reported by type; callers decide what they accept.
   */
  async resolve(p: UserPath): Promise<Resolved> {
    let real: string;
    try {
      real = await realpath(this.lexical(p));
    } catch (err) {
      const c = code(err);
      if (c === 'ENOENT' || c === 'ENOTDIR') {
        throw new SandboxRefusal(
          `\`${p.rel}\` does not exist. Call list_folder to see what is there.`,
          'not_found',
        );
      }
      if (c === 'ELOOP')
        throw new SandboxRefusal(`\`${p.rel}\` is a loop of links and cannot be opened.`, 'not_found');
      if (c === 'EACCES' || c === 'EPERM')
        throw new SandboxRefusal(`\`${p.rel}\` is not readable by the server.`, 'denied');
      if (c === 'ENAMETOOLONG') throw new SandboxRefusal('The path is too long.', 'not_found');
      throw err;
    }
    const rel = this.relativeOf(real);
    if (rel === null) {
      throw new SandboxRefusal(`\`${p.rel}\` leads outside the document root and cannot be used.`, 'outside');
    }
    const stats = await lstat(real);
    return { real, rel, asked: p.rel, stats };
  }

  /**
   * Opens a resolved regular file for reading. Special files and folders are refused by type
   * before anything is opened; then {@link openVerified} guards the race with the resolve.
   */
  async openFile(r: Resolved): Promise<{ handle: FileHandle; stats: Stats }> {
    const kind = typeOf(r.stats);
    if (kind === 'folder')
      throw new SandboxRefusal(`\`${r.asked}\` is a folder; call list_folder on it.`, 'not_file');
    if (kind !== 'file') {
      throw new SandboxRefusal(
        `\`${r.asked}\` is a special file (${kind}); only regular files can be read.`,
        'special',
      );
    }
    return this.openVerified(r.real, r.asked, r.stats);
  }

  /**
   * Opens `real` without following a link in its last component and without blocking on a FIFO,
   * then checks the descriptor: a regular file, the same one that was resolved (when `expected` is
   * given), with a single name (no hard link), and still inside the root according to the kernel (`/proc/self/fd`), so a parent
   * folder swapped for a link between the check and the open is caught.
   */
  async openVerified(
    real: string,
    asked: string,
    expected?: Stats,
  ): Promise<{ handle: FileHandle; stats: Stats }> {
    let handle: FileHandle;
    try {
      handle = await open(real, READ_FLAGS);
    } catch (err) {
      const c = code(err);
      if (c === 'ELOOP' || c === 'ENOENT')
        throw new SandboxRefusal(`\`${asked}\` changed while it was being opened; try again.`, 'changed');
      if (c === 'EACCES' || c === 'EPERM')
        throw new SandboxRefusal(`\`${asked}\` is not readable by the server.`, 'denied');
      throw err;
    }
    try {
      const stats = await handle.stat();
      if (!stats.isFile()) {
        throw new SandboxRefusal(
          `\`${asked}\` is a special file (${typeOf(stats)}); only regular files can be read.`,
          'special',
        );
      }
      if (expected && (stats.ino !== expected.ino || stats.dev !== expected.dev)) {
        throw new SandboxRefusal(`\`${asked}\` changed while it was being opened; try again.`, 'changed');
      }
      // A hard link has no "real" path: realpath returns the name it was opened by, so a file of
      // hr/ linked into docs/ would be judged as docs/. Whoever fills the volume can make one, an
      // agent cannot; the server refuses to guess which area the file belongs to. Checked on the
      // open descriptor, so the answer is about the very file that would be read.
      if (stats.nlink > 1) {
        throw new SandboxRefusal(
          `\`${asked}\` is a hard link (the same file has ${stats.nlink} names on the volume), so the server cannot tell which area it belongs to and does not read it. Tell an operator: it should be replaced by a copy.`,
          'hard_link',
        );
      }
      if (HAS_PROC_FD) {
        const actual = await readlink(`/proc/self/fd/${handle.fd}`).catch(() => null);
        if (actual !== null && this.relativeOf(actual) === null) {
          throw new SandboxRefusal(
            `\`${asked}\` leads outside the document root and cannot be used.`,
            'outside',
          );
        }
      }
      return { handle, stats };
    } catch (err) {
      await handle.close();
      throw err;
    }
  }
}
