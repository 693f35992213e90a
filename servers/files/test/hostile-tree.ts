// Builds a hostile tree inside the sandbox (links out, links in parents, dangling and looping links,
// a hard link across areas, lookalike folders, deep nesting, a huge sparse file, a FIFO, a socket,
// a device, odd Unicode names) and the
// corpus of hostile path spellings the containment tests throw at every tool.
import { execFileSync } from 'node:child_process';
import {
  closeSync,
  linkSync,
  mkdirSync,
  openSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import type { Layout } from './helpers.js';

/** What the hostile tree contains, for the assertions. */
export interface HostileTree {
  deepPath: string;
  tooDeepPath: string;
  /** `docs/…` name of a hard link to {@link HostileTree.hardLinkTarget}. */
  hardLink: string;
  /** A file of `hr/` (no example role but admin reads hr/) that also has a name under docs/. */
  hardLinkTarget: string;
  /** Text only that hr/ file holds. */
  hardLinkMarker: string;
  socket: Server;
  close(): Promise<void>;
}

const HARD_LINK_MARKER = 'hr-only-marker-5be1d7';

/** A huge file: 3 GiB, sparse (costs no disk), readable text at the start. */
export const HUGE_SIZE = 3 * 1024 ** 3;

/** Creates the hostile entries under `layout.root`. */
export async function buildHostileTree(layout: Layout): Promise<HostileTree> {
  const r = (p: string) => join(layout.root, p);
  // Links out of the root: a file, a folder (so the link is a PARENT of the path), dangling, looping.
  symlinkSync(join(layout.outside, 'secret.txt'), r('docs/link-out.md'));
  symlinkSync(layout.outside, r('docs/dir-out'));
  symlinkSync(join(layout.outside, 'missing.md'), r('docs/dangling.md'));
  symlinkSync('loop-b', r('docs/loop-a'));
  symlinkSync('loop-a', r('docs/loop-b'));
  symlinkSync('../../files_secret/secret.txt', r('docs/relative-out.md'));
  symlinkSync('/etc/passwd', r('docs/passwd.md'));
  // A link that stays inside the root but leads into an area support may not read.
  symlinkSync('../hr/salaries.csv', r('docs/inside-link.csv'));
  // A hard link in docs/ to a file of hr/: realpath of a hard link is its own name, so only the
  // link count tells that the file is also hr/'s. Whoever fills the volume can make one.
  writeFileSync(r('hr/reviews.txt'), `${HARD_LINK_MARKER}: performance reviews\n`);
  linkSync(r('hr/reviews.txt'), r('docs/team-notes.txt'));
  // Lookalike of an area name (prefix trick on area matching) inside the root.
  mkdirSync(r('docs_secret'));
  writeFileSync(r('docs_secret/plans.md'), 'lookalike area: launch plans\n');
  // Writable area traps: a dangling link to create a file outside, a folder link, a link to overwrite.
  symlinkSync(join(layout.outside, 'planted.md'), r('reports/dangling-write.md'));
  symlinkSync(layout.outside, r('reports/link-dir'));
  symlinkSync(join(layout.outside, 'secret.txt'), r('reports/existing-link.md'));
  // Deep nesting: 40 levels is fine, 70 is over the depth limit.
  const deepDirs = Array.from({ length: 40 }, (_, i) => `d${i}`);
  mkdirSync(r(`docs/${deepDirs.join('/')}`), { recursive: true });
  writeFileSync(r(`docs/${deepDirs.join('/')}/deep.md`), 'deep document\n');
  const tooDeep = Array.from({ length: 70 }, (_, i) => `d${i}`).join('/');
  // A huge sparse file with text at its start.
  const fd = openSync(r('docs/huge.log'), 'w');
  for (let i = 1; i <= 2000; i++) writeSync(fd, `line ${i} of a very large log\n`);
  closeSync(fd);
  truncateSync(r('docs/huge.log'), HUGE_SIZE);
  // Special files: a FIFO (opening it for reading would block forever), a socket, a device.
  execFileSync('mkfifo', [r('docs/pipe.fifo')]);
  const socket = createServer();
  await new Promise<void>((resolve) => socket.listen(r('docs/live.sock'), resolve));
  // A character device (the null device). Needs CAP_MKNOD, which CI has (it runs as root); where
  // it is missing the tree cannot be built and every test of this file fails saying why, rather
  // than the device case quietly not running.
  try {
    execFileSync('mknod', [r('docs/null.dev'), 'c', '1', '3'], { stdio: 'pipe' });
  } catch (err) {
    const stderr = String((err as { stderr?: Buffer }).stderr ?? '').trim();
    throw new Error(
      `the hostile tree needs a device file and \`mknod\` failed (${stderr || (err as Error).message}); run these tests as root or with CAP_MKNOD, as CI does`,
    );
  }
  // Odd Unicode: NFD and NFC spellings of "café" as two different files, CJK, an RTL override,
  // and a name that is not valid UTF-8.
  writeFileSync(r('docs/cafe\u0301.md'), 'nfd spelling\n');
  writeFileSync(r('docs/caf\u00e9.md'), 'nfc spelling\n');
  writeFileSync(r('docs/日本語 レポート.md'), 'japanese name\n');
  writeFileSync(r('docs/\u202egnp.md'), 'rtl override name\n');
  writeFileSync(
    Buffer.concat([Buffer.from(`${r('docs')}/bad-`), Buffer.from([0xff, 0xfe]), Buffer.from('.md')]),
    'invalid utf-8 name\n',
  );
  return {
    deepPath: `docs/${deepDirs.join('/')}/deep.md`,
    tooDeepPath: `docs/${tooDeep}/x.md`,
    hardLink: 'docs/team-notes.txt',
    hardLinkTarget: 'hr/reviews.txt',
    hardLinkMarker: HARD_LINK_MARKER,
    socket,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

/** Hostile spellings of "somewhere outside the sandbox" (and of special files inside it). */
export function hostilePaths(layout: Layout): string[] {
  const secret = join(layout.outside, 'secret.txt');
  return [
    '..',
    '../',
    '../outside/secret.txt',
    '../files_secret/secret.txt',
    '../../../../../../../../etc/passwd',
    'docs/../../outside/secret.txt',
    'docs/../../../etc/passwd',
    'reports/../../outside/secret.txt',
    './../outside/secret.txt',
    'docs/./../../outside',
    '/etc/passwd',
    secret,
    `${layout.root}/../outside/secret.txt`,
    `//${secret}`,
    `file://${secret}`,
    'file:///etc/passwd',
    `file:${secret}`,
    'C:\\Windows\\win.ini',
    'C:/Windows/win.ini',
    '\\\\server\\share\\secret.txt',
    '..\\outside\\secret.txt',
    'docs\\..\\..\\outside\\secret.txt',
    '%2e%2e/outside/secret.txt',
    '%2E%2E%2Foutside%2Fsecret.txt',
    '..%2foutside%2fsecret.txt',
    '%252e%252e/outside/secret.txt',
    '..%c0%afoutside/secret.txt',
    '..%255c..%255coutside',
    'docs/%00/secret.txt',
    'docs/secret.txt\u0000.md',
    '\u0000../outside/secret.txt',
    '\uff0e\uff0e/outside/secret.txt',
    '\u2025/outside/secret.txt',
    '\ufe52\ufe52/outside/secret.txt',
    '\u2024\u2024/outside/secret.txt',
    '..\u2215outside\u2215secret.txt',
    '..\uff0foutside\uff0fsecret.txt',
    '.. /outside/secret.txt',
    '... /outside/secret.txt',
    '.../outside/secret.txt',
    '.\u200b./outside/secret.txt',
    '\u202e../outside/secret.txt',
    '..\u0301/outside/secret.txt',
    'docs/\ud800/x.md',
    '~/secret.txt',
    '~root/.ssh/id_rsa',
    'docs/link-out.md',
    'docs/dir-out/secret.txt',
    'docs/dir-out',
    'docs/dangling.md',
    'docs/loop-a',
    'docs/loop-a/x.md',
    'docs/relative-out.md',
    'docs/passwd.md',
    'reports/link-dir/secret.txt',
    'reports/existing-link.md',
    'reports/dangling-write.md',
    'docs/pipe.fifo',
    'docs/live.sock',
    'docs/null.dev',
    '/proc/self/environ',
    '/proc/self/root/etc/passwd',
    '/dev/zero',
    `docs/${'a/'.repeat(80)}x.md`,
    `docs/${'x'.repeat(300)}.md`,
    'x'.repeat(5000),
  ];
}
