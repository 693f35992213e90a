// The sandbox root and the real-path checks every read goes through: resolve symlinks fully,
// compare with a separator boundary, refuse special files, and re-check the opened descriptor.
import { constants, type Stats } from 'node:fs';
import { type FileHandle, lstat, open, readlink, realpath, stat } from 'node:fs/promises';
import { basename, dirname, join, sep } from 'node:path';
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

/** The caller's areas as the sandbox needs them: checked on what was actually opened. */
export interface AreaCheck {
  /** The file (or special file) at real path `rel` may be used. */
  allows(rel: string): boolean;
  /** The folder at real path `rel` may be listed or searched. */
  reaches(rel: string): boolean;
}

/** A refusal because what was opened lies outside the caller's areas (worded by the tool layer). */
export class AreaRefusal extends SandboxRefusal {
  constructor(
    readonly asked: string,
    readonly rel: string,
  ) {
    super(`\`${asked}\` is outside the areas your role may read.`, 'denied');
    this.name = 'AreaRefusal';
  }
}

/**
 * A folder held open (O_DIRECTORY). Its real path is what the kernel says the descriptor is
 * (`/proc/self/fd/<n>`), not the path it was opened by; everything below it is reached through
 * {@link PinnedDir.path}, which the kernel resolves through the descriptor, so a folder or link
 * swapped in later cannot redirect the operation.
 */
export interface PinnedDir {
  handle: FileHandle;
  /** `/proc/self/fd/<n>`: `${path}/${name}` names an entry of this very folder. */
  path: string;
  real: string;
  /** Real path relative to the root (`''` = the root). */
  rel: string;
  stats: Stats;
  close(): Promise<void>;
}

/** A regular file opened for reading, verified on its descriptor. */
export interface OpenedFile {
  handle: FileHandle;
  stats: Stats;
  /** Real path relative to the root, according to the kernel after the open. */
  rel: string;
}

/** What a user path turned out to be, opened and checked against the caller's areas. */
export type Target =
  | { type: 'folder'; dir: PinnedDir; rel: string; asked: string; stats: Stats }
  | { type: 'file'; file: OpenedFile; rel: string; asked: string; stats: Stats }
  | {
      type: 'other';
      kind: 'fifo' | 'socket' | 'device' | 'unknown' | 'link';
      rel: string;
      asked: string;
      stats: Stats;
    };

/** Closes whatever a target holds open. */
export async function closeTarget(t: Target): Promise<void> {
  if (t.type === 'folder') await t.dir.close();
  else if (t.type === 'file') await t.file.handle.close();
}

/** `rel` of `name` inside the folder at `dirRel`. */
export function childRel(dirRel: string, name: string): string {
  return dirRel ? `${dirRel}/${name}` : name;
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
// O_NONBLOCK: opening a FIFO never waits; O_DIRECTORY: anything but a folder fails before it is opened.
const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NONBLOCK | constants.O_NOCTTY;

function code(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

function changed(asked: string): SandboxRefusal {
  return new SandboxRefusal(`\`${asked}\` changed while it was being opened; try again.`, 'changed');
}

/** The kernel's name for an open descriptor (`/proc/self/fd/<n>`), or null when it cannot say. */
async function fdPath(fd: number): Promise<string | null> {
  return readlink(`/proc/self/fd/${fd}`).catch(() => null);
}

/**
 * The sandbox: one real root directory. Nothing a client sends (roots, URIs) ever changes it.
 *
 * Every operation is bound to a folder held open by descriptor ({@link PinnedDir}) whose real
 * path was checked, on the descriptor, against the root and the caller's areas; names below it are
 * reached as `/proc/self/fd/<n>/<name>`, final components never followed, and an opened file's
 * area is checked again on its own descriptor. Linux only (`/proc/self/fd`).
 */
export class Sandbox {
  private constructor(readonly root: string) {}

  /** Opens the sandbox at `root`, which must be an existing directory; symlinks in `root` itself are resolved once. */
  static async open(root: string): Promise<Sandbox> {
    const real = await realpath(root);
    const st = await stat(real);
    if (!st.isDirectory()) throw new Error(`FILES_ROOT ${root} is not a directory`);
    const probe = await open(real, DIR_FLAGS);
    try {
      if ((await fdPath(probe.fd)) !== real) {
        throw new Error(
          'the files server needs /proc/self/fd (Linux) to bind every file operation to a verified folder',
        );
      }
    } finally {
      await probe.close();
    }
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
   * Opens folder `abs` (links on the way are followed) and checks where the kernel says the
   * descriptor is: inside the root, else refused as outside. `expectRel`, when given, must be
   * that place exactly (a walk that finds a folder elsewhere than where it was seen refuses it).
   */
  async pinDir(
    abs: string,
    asked: string,
    opts: { noFollow?: boolean; expectRel?: string } = {},
  ): Promise<PinnedDir> {
    let handle: FileHandle;
    try {
      handle = await open(abs, DIR_FLAGS | (opts.noFollow ? constants.O_NOFOLLOW : 0));
    } catch (err) {
      const c = code(err);
      if (c === 'ENOENT' || c === 'ENOTDIR' || c === 'ELOOP') throw changed(asked);
      if (c === 'EACCES' || c === 'EPERM')
        throw new SandboxRefusal(`\`${asked}\` is not readable by the server.`, 'denied');
      throw err;
    }
    try {
      const real = await fdPath(handle.fd);
      const rel = real === null ? null : this.relativeOf(real);
      if (real === null || rel === null) {
        throw new SandboxRefusal(
          `\`${asked}\` leads outside the document root and cannot be used.`,
          'outside',
        );
      }
      if (opts.expectRel !== undefined && rel !== opts.expectRel) throw changed(asked);
      const stats = await handle.stat();
      if (!stats.isDirectory()) throw changed(asked);
      const path = `/proc/self/fd/${handle.fd}`;
      let closed = false;
      return {
        handle,
        path,
        real,
        rel,
        stats,
        close: async () => {
          if (closed) return;
          closed = true;
          await handle.close();
        },
      };
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  /** Opens entry `name` of `dir` as a folder, never through a link. */
  pinChild(dir: PinnedDir, name: string, asked: string): Promise<PinnedDir> {
    return this.pinDir(`${dir.path}/${name}`, asked, { noFollow: true, expectRel: childRel(dir.rel, name) });
  }

  /**
   * Opens entry `name` of `dir` as a regular file for reading. Refused without opening anything
   * when it is outside the caller's areas, a link, a folder or a special file; refused after the
   * open (and closed) when the descriptor is not that same regular file, has several names (hard
   * link), or is — according to the kernel — outside the root or the caller's areas.
   */
  async openFileAt(dir: PinnedDir, name: string, asked: string, areas: AreaCheck): Promise<OpenedFile> {
    const rel = childRel(dir.rel, name);
    if (!areas.allows(rel)) throw new AreaRefusal(asked, rel);
    const path = `${dir.path}/${name}`;
    const st = await lstat(path).catch((err) => {
      if (code(err) === 'ENOENT' || code(err) === 'ENOTDIR') throw changed(asked);
      throw err;
    });
    const kind = typeOf(st);
    if (kind === 'link') throw changed(asked);
    if (kind === 'folder')
      throw new SandboxRefusal(`\`${asked}\` is a folder; call list_folder on it.`, 'not_file');
    if (kind !== 'file') {
      throw new SandboxRefusal(
        `\`${asked}\` is a special file (${kind}); only regular files can be read.`,
        'special',
      );
    }
    let handle: FileHandle;
    try {
      handle = await open(path, READ_FLAGS);
    } catch (err) {
      const c = code(err);
      if (c === 'ELOOP' || c === 'ENOENT') throw changed(asked);
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
      if (stats.ino !== st.ino || stats.dev !== st.dev) throw changed(asked);
      // A hard link has no "real" path: realpath returns the name it was opened by, so a file of
      // hr/ linked into docs/ would be judged as docs/. Whoever fills the volume can make one, an
      // agent cannot; the server refuses to guess which area the file belongs to. Checked on the
      // open descriptor, so the answer is about the very file that would be read.
      if (stats.nlink > 1) throw hardLinkRefusal(asked, stats.nlink);
      const actual = await fdPath(handle.fd);
      const actualRel = actual === null ? null : this.relativeOf(actual);
      if (actualRel === null)
        throw new SandboxRefusal(
          `\`${asked}\` leads outside the document root and cannot be used.`,
          'outside',
        );
      if (!areas.allows(actualRel)) throw new AreaRefusal(asked, actualRel);
      return { handle, stats, rel: actualRel };
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  /**
   * Resolves user path `p` and opens what it names, checked against the root and `areas` on the
   * descriptors: a folder comes back pinned, a regular file opened, a special file described by
   * type (never opened). Links inside the root are followed to where they really lead, and that
   * place is what is judged. The caller closes the target ({@link closeTarget}).
   */
  async openPath(p: UserPath, areas: AreaCheck): Promise<Target> {
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
    if (this.relativeOf(real) === null) {
      throw new SandboxRefusal(`\`${p.rel}\` leads outside the document root and cannot be used.`, 'outside');
    }
    if (real === this.root) {
      const dir = await this.pinDir(this.root, p.rel, { expectRel: '' });
      return { type: 'folder', dir, rel: '', asked: p.rel, stats: dir.stats };
    }
    // The parent is opened and judged by where the kernel says it is; the last component is
    // reached through it and never followed.
    const parent = await this.pinDir(dirname(real), p.rel);
    try {
      const name = basename(real);
      const rel = childRel(parent.rel, name);
      const st = await lstat(`${parent.path}/${name}`).catch((err) => {
        if (code(err) === 'ENOENT' || code(err) === 'ENOTDIR') throw changed(p.rel);
        throw err;
      });
      const kind = typeOf(st);
      if (kind === 'link') throw changed(p.rel);
      if (kind === 'folder') {
        if (!areas.reaches(rel)) throw new AreaRefusal(p.rel, rel);
        const dir = await this.pinChild(parent, name, p.rel);
        return { type: 'folder', dir, rel: dir.rel, asked: p.rel, stats: dir.stats };
      }
      if (kind === 'file') {
        const file = await this.openFileAt(parent, name, p.rel, areas);
        return { type: 'file', file, rel: file.rel, asked: p.rel, stats: file.stats };
      }
      if (!areas.allows(rel)) throw new AreaRefusal(p.rel, rel);
      return { type: 'other', kind, rel, asked: p.rel, stats: st };
    } finally {
      await parent.close();
    }
  }
}

/** The refusal for a file with several names (see {@link Sandbox.openFileAt}). */
export function hardLinkRefusal(asked: string, nlink: number): SandboxRefusal {
  return new SandboxRefusal(
    `\`${asked}\` is a hard link (the same file has ${nlink} names on the volume), so the server cannot tell which area it belongs to and does not read it. Tell an operator: it should be replaced by a copy.`,
    'hard_link',
  );
}
