// Race helpers for the containment tests: a tiny C program (compiled once per run with the system
// `cc`) that exchanges a real folder and a symlink atomically with renameat2(RENAME_EXCHANGE) in a
// tight loop — what an attacker who can write inside the tree does — and PDF decompression bombs.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDeflate, deflateSync } from 'node:zlib';

const SWAPPER_C = String.raw`
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif
static volatile sig_atomic_t stop = 0;
static void on_term(int s) { (void)s; stop = 1; }
static int ex(const char *a, const char *b) {
  return syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE);
}
int main(int argc, char **argv) {
  if (argc < 3) return 2;
  signal(SIGTERM, on_term);
  long flips = 0;
  int swapped = 0;
  printf("ready\n");
  fflush(stdout);
  while (!stop) {
    if (ex(argv[1], argv[2]) == 0) { swapped = !swapped; flips++; }
  }
  if (swapped) ex(argv[1], argv[2]);
  fprintf(stderr, "flips=%ld\n", flips);
  return 0;
}
`;

let compiled: string | null = null;

/** Compiles the swapper once (needs `cc`; the test fails saying so when it is missing). */
function swapperBinary(): string {
  if (compiled && existsSync(compiled)) return compiled;
  const dir = mkdtempSync(join(tmpdir(), 'files-swapper-'));
  writeFileSync(join(dir, 'swapper.c'), SWAPPER_C);
  try {
    execFileSync('cc', ['-O2', '-o', join(dir, 'swapper'), join(dir, 'swapper.c')], { stdio: 'pipe' });
  } catch (err) {
    throw new Error(
      `the race tests need a C compiler to build their renameat2 swapper (\`cc\` failed: ${(err as Error).message})`,
    );
  }
  compiled = join(dir, 'swapper');
  return compiled;
}

/** A running swapper: `a` and `b` are exchanged continuously until {@link Swapper.stop}. */
export interface Swapper {
  /** Stops it; both names are back in their original place afterwards. Resolves to the number of exchanges. */
  stop(): Promise<number>;
}

/** Starts exchanging `a` and `b` (both must exist) in a tight loop. */
export async function startSwapper(a: string, b: string): Promise<Swapper> {
  const child: ChildProcess = spawn(swapperBinary(), [a, b], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d) => {
    stderr += String(d);
  });
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.stdout?.once('data', () => resolve());
  });
  return {
    stop: () =>
      new Promise<number>((resolve) => {
        child.once('exit', () => resolve(Number(/flips=(\d+)/.exec(stderr)?.[1] ?? 0)));
        child.kill('SIGTERM');
      }),
  };
}

/** `bytes` spaces, deflated without ever holding them all in memory. */
async function deflatedSpaces(bytes: number): Promise<Buffer> {
  const z = createDeflate({ level: 9 });
  const out: Buffer[] = [];
  z.on('data', (d: Buffer) => out.push(d));
  const done = new Promise<void>((resolve, reject) => {
    z.on('end', resolve);
    z.on('error', reject);
  });
  const chunk = Buffer.alloc(1 << 20, 0x20);
  for (let left = bytes; left > 0; left -= chunk.length) {
    if (!z.write(left >= chunk.length ? chunk : chunk.subarray(0, left)))
      await new Promise((resolve) => z.once('drain', resolve));
  }
  z.end();
  await done;
  return Buffer.concat(out);
}

/**
 * A PDF decompression bomb whose one content stream decodes to `decodedBytes` of spaces. `nested`
 * (the tester's mkbomb.py, ported): `/Filter [/ASCIIHexDecode /FlateDecode /FlateDecode]`, a few
 * KB on disk; otherwise a single `/FlateDecode` (about 1/1000 of the decoded size on disk).
 */
export async function pdfBomb(decodedBytes: number, nested = true): Promise<Buffer> {
  const once = await deflatedSpaces(decodedBytes);
  const stream = nested ? Buffer.from(`${deflateSync(once, { level: 9 }).toString('hex')}>`) : once;
  const filter = nested ? '[/ASCIIHexDecode /FlateDecode /FlateDecode]' : '/FlateDecode';
  const objs: Buffer[] = [
    Buffer.from('<< /Type /Catalog /Pages 2 0 R >>'),
    Buffer.from('<< /Type /Pages /Kids [3 0 R] /Count 1 >>'),
    Buffer.from('<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << >> >>'),
    Buffer.concat([
      Buffer.from(`<< /Length ${stream.length} /Filter ${filter} >>\nstream\n`),
      stream,
      Buffer.from('\nendstream'),
    ]),
  ];
  let pdf = Buffer.from('%PDF-1.4\n');
  const offsets: number[] = [];
  objs.forEach((o, i) => {
    offsets.push(pdf.length);
    pdf = Buffer.concat([pdf, Buffer.from(`${i + 1} 0 obj\n`), o, Buffer.from('\nendobj\n')]);
  });
  const xref = pdf.length;
  const table =
    `xref\n0 ${objs.length + 1}\n0000000000 65535 f \n` +
    offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('') +
    `trailer\n<< /Size ${objs.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.concat([pdf, Buffer.from(table)]);
}
