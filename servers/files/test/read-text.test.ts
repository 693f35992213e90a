// Windows of text files: byte windows start and end on character boundaries, line windows are
// exact and bounded, and both report where the next window starts.
import { closeSync, ftruncateSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBytes, readLines } from '../src/documents/read-text.js';

let dir: string;
const never = new AbortController().signal;

async function withFile<T>(
  content: string | Buffer,
  fn: (fh: FileHandle, size: number) => Promise<T>,
): Promise<T> {
  const path = join(dir, `f-${Math.random().toString(36).slice(2)}`);
  writeFileSync(path, content);
  const fh = await open(path, 'r');
  try {
    return await fn(fh, (await fh.stat()).size);
  } finally {
    await fh.close();
  }
}

/**
 * The real file handle, counting the bytes read through it and sampling the process's buffer
 * memory (ArrayBuffers, where Buffers live) before every read, so a caller that keeps what it
 * reads shows up as growth.
 */
function metered(fh: FileHandle): { handle: FileHandle; bytesRead: number; peakGrowth(): number } {
  const baseline = process.memoryUsage().arrayBuffers;
  let peak = baseline;
  const m = {
    bytesRead: 0,
    peakGrowth: () => peak - baseline,
    handle: new Proxy(fh, {
      get(target, key) {
        if (key === 'read') {
          return async (...args: Parameters<FileHandle['read']>) => {
            peak = Math.max(peak, process.memoryUsage().arrayBuffers);
            const r = await target.read(...args);
            m.bytesRead += r.bytesRead;
            return r;
          };
        }
        const value = Reflect.get(target, key, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    }),
  };
  return m;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'files-read-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('readBytes', () => {
  it('never splits a multi-byte character at either end', async () => {
    const text = 'aé日本€b'; // 1 + 2 + 3 + 3 + 3 + 1 bytes
    await withFile(text, async (fh, size) => {
      const w = await readBytes(fh, size, 2, 4, 1 << 20, false); // starts inside 'é', ends inside '本'
      expect(w.text).toBe('日');
      expect(w.byteOffset).toBe(3);
      expect(w.nextByteOffset).toBe(6);
      const all = await readBytes(fh, size, 0, Number.MAX_SAFE_INTEGER, 1 << 20, true);
      expect(all).toMatchObject({ text, truncated: false, nextByteOffset: null });
    });
  });

  it('caps the window and, without an explicit range, ends it at a line end', async () => {
    const text = Array.from({ length: 100 }, (_, i) => `line ${i}`).join('\n');
    await withFile(text, async (fh, size) => {
      const w = await readBytes(fh, size, 0, Number.MAX_SAFE_INTEGER, 50, true);
      expect(w.truncated).toBe(true);
      expect(w.text.endsWith('\n')).toBe(true);
      expect(w.text.length).toBeLessThanOrEqual(50);
      expect(w.nextByteOffset).toBe(w.text.length);
    });
  });
});

describe('readLines', () => {
  const text = 'one\ntwo\r\nthree\nfour\nfive';

  it('returns exact line windows, counting a last line without a newline', async () => {
    await withFile(text, async (fh, size) => {
      const mid = await readLines(fh, size, 2, 2, 1 << 20, 1 << 20, never);
      expect(mid).toMatchObject({
        text: 'two\r\nthree\n',
        startLine: 2,
        endLine: 3,
        nextStartLine: 4,
        truncated: false,
      });
      const tail = await readLines(fh, size, 4, 10, 1 << 20, 1 << 20, never);
      expect(tail).toMatchObject({ text: 'four\nfive', endLine: 5, totalLines: 5, nextStartLine: null });
      const past = await readLines(fh, size, 9, 1, 1 << 20, 1 << 20, never);
      expect(past).toMatchObject({ text: '', endLine: null, totalLines: 5, nextStartLine: null });
    });
  });

  it('stops at the byte cap on a line boundary and says where to continue', async () => {
    const lines = Array.from({ length: 1000 }, (_, i) => `row ${i + 1}`).join('\n');
    await withFile(lines, async (fh, size) => {
      const w = await readLines(fh, size, 10, 1000, 64, 1 << 20, never);
      expect(w.truncated).toBe(true);
      expect(w.text.startsWith('row 10\n')).toBe(true);
      expect(w.text.endsWith('\n')).toBe(true);
      expect(w.nextStartLine).toBe((w.endLine ?? 0) + 1);
    });
  });

  it('keeps memory bounded: a 64 MiB line before the window is scanned, not kept', async () => {
    const line = 64 * 1024 * 1024;
    const path = join(dir, 'one-huge-line.log');
    // 64 MiB without a newline (sparse: zero bytes cost no disk), then the line that is wanted.
    const fd = openSync(path, 'w');
    ftruncateSync(fd, line);
    writeSync(fd, '\nafter\n', line);
    closeSync(fd);
    const fh = await open(path, 'r');
    try {
      const size = (await fh.stat()).size;
      const past = metered(fh);
      const w = await readLines(past.handle, size, 2, 1, 1024, 2 * line, never);
      expect(w.text).toBe('after\n');
      // The whole line was read from the file (to find where it ends), yet buffer memory held
      // during the scan stayed far below the line's size: it was counted, not kept.
      expect(past.bytesRead).toBe(size);
      expect(past.peakGrowth()).toBeLessThan(line / 16);
      // A window that starts ON the huge line stops reading once the byte cap is passed.
      const on = metered(fh);
      const first = await readLines(on.handle, size, 1, 1, 1024, 2 * line, never);
      expect(first).toMatchObject({ text: '', endLine: null, truncated: true, byteOffset: 0 });
      expect(on.bytesRead).toBeLessThanOrEqual(64 * 1024);
    } finally {
      await fh.close();
    }
  });

  it('honours cancellation between chunks', async () => {
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    await withFile('a\n'.repeat(100_000), async (fh, size) => {
      await expect(readLines(fh, size, 1, 10, 1 << 20, 1 << 30, controller.signal)).rejects.toThrow('stop');
    });
  });
});
