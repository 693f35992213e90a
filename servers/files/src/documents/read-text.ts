// Reading a window of a text file: by bytes (cut on UTF-8 boundaries) or by lines (streamed, so a
// 1 GB log costs a bounded scan, never a 1 GB buffer). Every read is capped in bytes.
import type { FileHandle } from 'node:fs/promises';

/** A window of text and where the next window starts. */
export interface TextWindow {
  text: string;
  /** First byte of the window in the file. */
  byteOffset: number;
  /** Bytes of the file the window covers. */
  byteCount: number;
  /** 1-based first line, when reading by lines. */
  startLine: number | null;
  /** 1-based last line returned, when reading by lines. */
  endLine: number | null;
  /** Lines in the file, when the scan reached its end. */
  totalLines: number | null;
  /** The window stopped before the end of the file (or before the range asked for). */
  truncated: boolean;
  nextByteOffset: number | null;
  nextStartLine: number | null;
}

const CHUNK = 64 * 1024;

function isContinuation(b: number | undefined): boolean {
  return b !== undefined && (b & 0xc0) === 0x80;
}

/** Length of `buf` without a trailing incomplete UTF-8 sequence. */
function completeLength(buf: Buffer): number {
  let i = buf.length - 1;
  let back = 0;
  while (i >= 0 && back < 3 && isContinuation(buf[i])) {
    i--;
    back++;
  }
  if (i < 0) return buf.length;
  const lead = buf[i] ?? 0;
  const need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  return buf.length - i < need ? i : buf.length;
}

/**
 * Reads `length` bytes from `offset`, at most `cap`. The window starts and ends on character
 * boundaries; when no range was asked (`cutAtNewline`), a truncated window ends at a line end.
 */
export async function readBytes(
  fh: FileHandle,
  size: number,
  offset: number,
  length: number,
  cap: number,
  cutAtNewline: boolean,
): Promise<TextWindow> {
  const begin = Math.min(offset, size);
  const wanted = Math.min(length, size - begin);
  const take = Math.min(wanted, cap);
  const buf = Buffer.alloc(take);
  const { bytesRead } = take > 0 ? await fh.read(buf, 0, take, begin) : { bytesRead: 0 };
  let data = buf.subarray(0, bytesRead);
  // The offset fell inside a character: start at the next one.
  let skip = 0;
  while (skip < 3 && isContinuation(data[skip])) skip++;
  data = data.subarray(skip);
  const start = begin + skip;
  if (start + data.length < size) {
    data = data.subarray(0, completeLength(data));
    if (cutAtNewline) {
      const nl = data.lastIndexOf(0x0a);
      if (nl > 0) data = data.subarray(0, nl + 1);
    }
  }
  const end = start + data.length;
  return {
    text: data.toString('utf8'),
    byteOffset: start,
    byteCount: data.length,
    startLine: null,
    endLine: null,
    totalLines: null,
    truncated: end < begin + wanted,
    nextByteOffset: end < size ? end : null,
    nextStartLine: null,
  };
}

/**
 * Returns lines `startLine`..`startLine + lineCount - 1` (1-based), at most `cap` bytes of them,
 * scanning at most `scanMax` bytes of the file. Lines before the window are counted, not kept,
 * so memory stays bounded by `cap` whatever the file holds. Honours `signal` between chunks.
 */
export async function readLines(
  fh: FileHandle,
  size: number,
  startLine: number,
  lineCount: number,
  cap: number,
  scanMax: number,
  signal: AbortSignal,
): Promise<TextWindow & { scanLimited: boolean }> {
  const lastWanted = startLine + lineCount - 1;
  const out: Buffer[] = [];
  let outBytes = 0;
  let partial: Buffer[] = [];
  let partialBytes = 0;
  let partialStart: number | null = null;
  let midLine = false; // bytes seen since the last newline
  let line = 1; // number of the line being read
  let firstByte: number | null = null;
  let lastLine: number | null = null;
  let stoppedEarly = false;
  let brokeOut = false;
  let pos = 0;
  const chunk = Buffer.alloc(CHUNK);

  scan: while (pos < size && pos < scanMax) {
    signal.throwIfAborted();
    const { bytesRead } = await fh.read(chunk, 0, Math.min(CHUNK, size - pos), pos);
    if (bytesRead === 0) break;
    const data = chunk.subarray(0, bytesRead);
    const base = pos;
    pos += bytesRead;
    let from = 0;
    while (from < data.length) {
      const nl = data.indexOf(0x0a, from);
      const end = nl === -1 ? data.length : nl + 1;
      if (line > lastWanted) {
        brokeOut = true;
        pos = base + from;
        break scan;
      }
      if (line >= startLine) {
        partialStart ??= base + from;
        partial.push(Buffer.from(data.subarray(from, end)));
        partialBytes += end - from;
        if (outBytes + partialBytes > cap) {
          stoppedEarly = true;
          brokeOut = true;
          pos = partialStart;
          break scan;
        }
      }
      midLine = nl === -1;
      if (nl === -1) break;
      if (line >= startLine) {
        firstByte ??= partialStart;
        out.push(...partial);
        outBytes += partialBytes;
        lastLine = line;
      }
      partial = [];
      partialBytes = 0;
      partialStart = null;
      line++;
      from = end;
    }
  }
  const reachedEnd = !brokeOut && pos >= size;
  let totalLines: number | null = null;
  if (reachedEnd) {
    totalLines = line - 1 + (midLine ? 1 : 0);
    if (midLine && partialBytes > 0) {
      firstByte ??= partialStart;
      out.push(...partial);
      outBytes += partialBytes;
      lastLine = line;
    }
  }
  const nextLine = (lastLine ?? startLine - 1) + 1;
  const more = totalLines === null || nextLine <= totalLines;
  return {
    text: Buffer.concat(out).toString('utf8'),
    byteOffset: firstByte ?? Math.min(pos, size),
    byteCount: outBytes,
    startLine,
    endLine: lastLine,
    totalLines,
    truncated: stoppedEarly,
    nextByteOffset: null,
    nextStartLine: more ? nextLine : null,
    scanLimited: !brokeOut && !reachedEnd,
  };
}
