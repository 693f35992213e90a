// Full-text search over the part of the tree a caller may read: a breadth-first walk that never
// follows links, reads capped files a few at a time, and stops at its result, file and time limits.
import type { Stats } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import type { AccessScope } from '../access/areas.js';
import { sniffKind } from '../documents/file-kind.js';
import { extractPdfText } from '../documents/pdf-text.js';
import type { Sandbox } from '../sandbox/sandbox.js';
import { folderNames } from '../tools/folder-entries.js';

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
  real: string;
  rel: string;
  shown: string;
  stats: Stats;
}

const PARALLEL = 8;
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
export function matchText(text: string, re: RegExp, max: number, context: number, paged = false): { line: number; page?: number; snippet: string }[] {
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
    out.push({ line: line + 1, ...(page !== undefined ? { page } : {}), snippet: [...before, hit, ...after].join('\n') });
    // Move to the next line so one long line does not fill the per-file quota.
    const nextNl = text.indexOf('\n', m.index);
    if (nextNl === -1) break;
    re.lastIndex = nextNl + 1;
  }
  return out;
}

/** Searches the tree under folder `start` (real path, real rel, path as the caller wrote it). */
export async function searchTree(
  sandbox: Sandbox,
  scope: AccessScope,
  start: { real: string; rel: string; shown: string },
  o: SearchOptions,
): Promise<SearchOutcome> {
  const escaped = o.query.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const re = new RegExp(escaped, o.caseSensitive ? 'gu' : 'giu');
  const outcome: SearchOutcome = { hits: [], filesScanned: 0, filesMatched: 0, stoppedBecause: 'complete', skipped: { tooLarge: 0, binary: 0, unreadable: 0 } };
  const stop = (why: StopReason) => {
    if (outcome.stoppedBecause === 'complete') outcome.stoppedBecause = why;
  };
  const outOfTime = () => Date.now() >= o.deadline;

  const scanFile = async (c: Candidate): Promise<{ line: number; page?: number; snippet: string }[] | null> => {
    try {
      const { handle, stats } = await sandbox.openFile({ real: c.real, rel: c.rel, asked: c.shown, stats: c.stats });
      try {
        const isPdfName = c.real.toLowerCase().endsWith('.pdf');
        if (stats.size > (isPdfName ? o.pdfMaxBytes : o.fileMaxBytes)) {
          outcome.skipped.tooLarge++;
          return null;
        }
        const buf = Buffer.alloc(stats.size);
        const { bytesRead } = await handle.read(buf, 0, stats.size, 0);
        const data = buf.subarray(0, bytesRead);
        const kind = sniffKind(c.shown, data.subarray(0, 8192)).kind;
        let text: string;
        const paged = kind === 'pdf';
        if (paged) {
          text = (await extractPdfText(data, { firstPage: 1, pageCount: o.pdfMaxPages, maxBytes: o.fileMaxBytes, signal: o.signal })).text;
        } else if (kind === 'binary') {
          outcome.skipped.binary++;
          return null;
        } else {
          text = data.toString('utf8');
        }
        return matchText(text, re, o.maxPerFile, o.contextLines, paged);
      } finally {
        await handle.close();
      }
    } catch {
      if (o.signal.aborted) throw o.signal.reason;
      outcome.skipped.unreadable++;
      return null;
    }
  };

  let batch: Candidate[] = [];
  const flush = async (): Promise<boolean> => {
    const results = await Promise.all(batch.map(scanFile));
    outcome.filesScanned += batch.length;
    for (let i = 0; i < batch.length; i++) {
      const found = results[i];
      if (!found || found.length === 0) continue;
      outcome.filesMatched++;
      for (const f of found) {
        if (outcome.hits.length >= o.maxResults) {
          stop('max_results');
          break;
        }
        outcome.hits.push({ path: (batch[i] as Candidate).shown, ...f });
      }
    }
    batch = [];
    return outcome.stoppedBecause === 'complete';
  };

  const queue: { real: string; rel: string; shown: string }[] = [start];
  walk: while (queue.length > 0) {
    const dir = queue.shift() as { real: string; rel: string; shown: string };
    o.signal.throwIfAborted();
    if (outOfTime()) {
      stop('time_limit');
      break;
    }
    const { names } = await folderNames(dir.real, o.dirMaxEntries).catch(() => ({ names: [] as string[] }));
    for (const name of names) {
      const real = join(dir.real, name);
      const rel = dir.rel ? `${dir.rel}/${name}` : name;
      const shown = dir.shown ? `${dir.shown}/${name}` : name;
      const st = await lstat(real).catch(() => null);
      // Links are not followed: nothing is visited twice, nothing outside is reached.
      if (!st || st.isSymbolicLink()) continue;
      if (st.isDirectory()) {
        if (scope.reaches(rel)) queue.push({ real, rel, shown });
        continue;
      }
      if (!st.isFile() || !scope.allows(rel) || (o.nameFilter && !o.nameFilter(name))) continue;
      if (outcome.filesScanned + batch.length >= o.maxFiles) {
        stop('max_files');
        break walk;
      }
      batch.push({ real, rel, shown, stats: st });
      if (batch.length >= PARALLEL) {
        o.signal.throwIfAborted();
        if (!(await flush())) break walk;
        if (outOfTime()) {
          stop('time_limit');
          break walk;
        }
      }
    }
  }
  if (batch.length > 0 && outcome.stoppedBecause !== 'max_results') await flush();
  return outcome;
}
