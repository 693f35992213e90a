// Full-text search over the part of the tree a caller may read: a breadth-first walk that never
// follows links, reads capped files a few at a time, and stops at its result, file and time limits.
import type { Stats } from 'node:fs';
import { type FileHandle, lstat } from 'node:fs/promises';
import { join } from 'node:path';
import type { AccessScope } from '../access/areas.js';
import { sniffKind } from '../documents/file-kind.js';
import { extractPdfText } from '../documents/pdf-text.js';
import { childRel, type OpenedFile, type PinnedDir, type Sandbox, typeOf } from '../sandbox/sandbox.js';
import { type FolderName, readFolder } from '../tools/folder-entries.js';

/** One match with its context. */
export interface SearchHit {
  path: string;
  line: number;
  page?: number;
  snippet: string;
}

/** Why a search stopped. */
export type StopReason = 'complete' | 'max_results' | 'max_files' | 'time_limit';

/** The outcome of a search: hits in walk order, and how much of the tree was covered. */
export interface SearchOutcome {
  hits: SearchHit[];
  filesScanned: number;
  filesMatched: number;
  stoppedBecause: StopReason;
  skipped: { tooLarge: number; binary: number; unreadable: number };
  /** Paths relative to the root of the files whose snippets are in `hits` (the flow guard's sources). */
  sources: Set<string>;
}

/** Limits and options of one search. */
export interface SearchOptions {
  query: string;
  caseSensitive: boolean;
  /** Only files whose name matches (e.g. `*.md`). */
  nameFilter: ((name: string) => boolean) | null;
  maxResults: number;
  maxPerFile: number;
  contextLines: number;
  maxFiles: number;
  deadline: number;
  fileMaxBytes: number;
  pdfMaxBytes: number;
  pdfMaxPages: number;
  dirMaxEntries: number;
  signal: AbortSignal;
}

interface Candidate {
  rel: string;
  shown: string;
}

type Match = { line: number; page?: number; snippet: string };

const PARALLEL = 16;
const LINE_CHARS = 240;

function clip(line: string, at: number, width: number): string {
  const trimmed = line.replace(/\r$/, '');
  if (trimmed.length <= width) return trimmed;
  const from = Math.max(0, Math.min(at - Math.floor(width / 3), trimmed.length - width));
  return `${from > 0 ? '…' : ''}${trimmed.slice(from, from + width)}${from + width < trimmed.length ? '…' : ''}`;
}

/**
 * Finds the first `max` matches of `re` in `text` (one per line), with 1-based line numbers and
 * `context` lines around each. `paged` text (PDF) has pages separated by form feeds.
 */
export function matchText(
  text: string,
  re: RegExp,
  max: number,
  context: number,
  paged = false,
): { line: number; page?: number; snippet: string }[] {
  const out: { line: number; page?: number; snippet: string }[] = [];
  re.lastIndex = 0;
  let lines: string[] | null = null;
  let lastLine = 0;
  let lastPos = 0;
  for (let m = re.exec(text); m !== null && out.length < max; m = re.exec(text)) {
    // Count newlines incrementally: positions only grow.
    let line = lastLine;
    for (let i = text.indexOf('\n', lastPos); i !== -1 && i < m.index; i = text.indexOf('\n', i + 1)) line++;
    lastLine = line;
    lastPos = m.index;
    lines ??= text.split('\n');
    const lineStart = text.lastIndexOf('\n', m.index - 1) + 1;
    const before = lines.slice(Math.max(0, line - context), line).map((l) => clip(l, 0, LINE_CHARS));
    const after = lines.slice(line + 1, line + 1 + context).map((l) => clip(l, 0, LINE_CHARS));
    const hit = clip(lines[line] ?? '', m.index - lineStart, LINE_CHARS);
    const page = paged ? text.slice(0, m.index).split('\f').length : undefined;
    out.push({
      line: line + 1,
      ...(page !== undefined ? { page } : {}),
      snippet: [...before, hit, ...after].join('\n'),
    });
    // Move to the next line so one long line does not fill the per-file quota.
    const nextNl = text.indexOf('\n', m.index);
    if (nextNl === -1) break;
    re.lastIndex = nextNl + 1;
  }
  return out;
}

/** Searches the tree under the pinned folder `start.dir` (`shown`: the path as the caller wrote it). It closes `start.dir`. */
export async function searchTree(
  sandbox: Sandbox,
  scope: AccessScope,
  start: { dir: PinnedDir; shown: string },
  o: SearchOptions,
): Promise<SearchOutcome> {
  const escaped = o.query.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const re = new RegExp(escaped, o.caseSensitive ? 'gu' : 'giu');
  const outcome: SearchOutcome = {
    hits: [],
    filesScanned: 0,
    filesMatched: 0,
    stoppedBecause: 'complete',
    skipped: { tooLarge: 0, binary: 0, unreadable: 0 },
    sources: new Set(),
  };
  const stop = (why: StopReason) => {
    if (outcome.stoppedBecause === 'complete') outcome.stoppedBecause = why;
  };
  const outOfTime = () => Date.now() >= o.deadline;

  // The file is already open (by the walk, through its pinned folder, area re-checked on the
  // descriptor); this reads and matches it, and always closes it.
  const scanFile = async (c: Candidate, handle: FileHandle, stats: Stats): Promise<Match[] | null> => {
    try {
      const isPdfName = c.shown.toLowerCase().endsWith('.pdf');
      if (stats.size > (isPdfName ? o.pdfMaxBytes : o.fileMaxBytes)) {
        outcome.skipped.tooLarge++;
        return null;
      }
      const buf = Buffer.alloc(stats.size);
      const { bytesRead } = stats.size > 0 ? await handle.read(buf, 0, stats.size, 0) : { bytesRead: 0 };
      const data = buf.subarray(0, bytesRead);
      const kind = sniffKind(c.shown, data.subarray(0, 8192)).kind;
      if (kind === 'binary') {
        outcome.skipped.binary++;
        return null;
      }
      const paged = kind === 'pdf';
      const text = paged
        ? (
            await extractPdfText(data, {
              firstPage: 1,
              pageCount: o.pdfMaxPages,
              maxBytes: o.fileMaxBytes,
              signal: o.signal,
              limits: { timeoutMs: Math.max(1, o.deadline - Date.now()) },
            })
          ).text
        : data.toString('utf8');
      return matchText(text, re, o.maxPerFile, o.contextLines, paged);
    } catch {
      if (o.signal.aborted) throw o.signal.reason;
      outcome.skipped.unreadable++;
      return null;
    } finally {
      await handle.close();
    }
  };

  // A sliding window of PARALLEL files in flight, consumed in walk order so results are stable.
  const window: { c: Candidate; result: Promise<Match[] | null> }[] = [];
  const consumeOldest = async (): Promise<void> => {
    const next = window.shift();
    if (!next) return;
    const found = await next.result;
    outcome.filesScanned++;
    if (!found || found.length === 0 || outcome.stoppedBecause !== 'complete') return;
    outcome.filesMatched++;
    for (const f of found) {
      if (outcome.hits.length >= o.maxResults) {
        stop('max_results');
        return;
      }
      outcome.hits.push({ path: next.c.shown, ...f });
      outcome.sources.add(next.c.rel);
    }
  };

  // Folders are visited by descriptor: each is opened (never through a link in its last
  // component) and judged by where the kernel says it is; one found anywhere but where the walk
  // saw it (a folder swapped for a link meanwhile) is skipped. Its entries are looked up through
  // that descriptor, so nothing swapped later can redirect them.
  const queue: { pinned?: PinnedDir; rel: string; shown: string }[] = [
    { pinned: start.dir, rel: start.dir.rel, shown: start.shown },
  ];
  let queued = 0;
  try {
    walk: while (queue.length > 0) {
      // Checked before taking the next folder off the queue, whose held descriptor (if any) the
      // finally below then closes.
      o.signal.throwIfAborted();
      if (outOfTime()) {
        stop('time_limit');
        break;
      }
      const next = queue.shift() as { pinned?: PinnedDir; rel: string; shown: string };
      const dir =
        next.pinned ??
        (await sandbox
          .pinDir(join(sandbox.root, next.rel), next.shown, { noFollow: true, expectRel: next.rel })
          .catch(() => null));
      if (!dir) continue;
      try {
        if (!scope.reaches(dir.rel)) continue;
        const { entries } = await readFolder(dir.path, o.dirMaxEntries).catch(() => ({
          entries: [] as FolderName[],
        }));
        for (const entry of entries) {
          const rel = childRel(dir.rel, entry.name);
          const shown = next.shown ? `${next.shown}/${entry.name}` : entry.name;
          let type = entry.type;
          if (type === 'unknown') {
            const st = await lstat(`${dir.path}/${entry.name}`).catch(() => null);
            const t = st ? typeOf(st) : 'other';
            type = t === 'file' || t === 'folder' || t === 'link' ? t : 'other';
          }
          // Links are not followed: nothing is visited twice, nothing outside is reached.
          if (type === 'folder') {
            if (scope.reaches(rel)) queue.push({ rel, shown });
            continue;
          }
          if (type !== 'file' || !scope.allows(rel) || (o.nameFilter && !o.nameFilter(entry.name))) continue;
          if (queued >= o.maxFiles) {
            stop('max_files');
            break walk;
          }
          queued++;
          const c = { rel, shown };
          let opened: OpenedFile;
          try {
            opened = await sandbox.openFileAt(dir, entry.name, shown, scope);
          } catch {
            // Special files, races, hard links and unreadable files are skipped, never followed or waited on.
            outcome.skipped.unreadable++;
            outcome.filesScanned++;
            continue;
          }
          const result = scanFile(c, opened.handle, opened.stats);
          // Handled from the start: files later in the window can fail (a cancel aborts every PDF
          // extraction at once) while the oldest is awaited, and an unhandled rejection ends the process.
          result.catch(() => {});
          window.push({ c, result });
          if (window.length >= PARALLEL) {
            await consumeOldest();
            o.signal.throwIfAborted();
            if (outcome.stoppedBecause !== 'complete') break walk;
            if (outOfTime()) {
              stop('time_limit');
              break walk;
            }
          }
        }
      } finally {
        await dir.close();
      }
    }
  } finally {
    for (const q of queue) await q.pinned?.close();
    // Drain what is in flight (every file already opened gets closed); its hits count only while
    // no limit has been reached.
    while (window.length > 0) await consumeOldest().catch(() => {});
  }
  return outcome;
}
