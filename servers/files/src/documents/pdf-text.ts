// Text out of PDFs with PDF.js (through unpdf's dependency-free Node build). Script evaluation is
// off (PDF.js font eval was CVE-2024-4367), pages are capped, and the extraction runs in a worker
// thread with a heap limit that is terminated — mid-page if need be — on cancellation, on its time
// limit, or when the process grows past a memory budget (decoded streams live outside the JS heap),
// so a decompression bomb costs a bounded amount of memory and time. Filters that nest compression
// (`[/ASCIIHexDecode /FlateDecode /FlateDecode]`, the classic bomb) are refused before any decoding.
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

/** The text of a run of pages. */
export interface PdfText {
  pageCount: number;
  firstPage: number;
  /** Last page extracted (may be < requested when the document ends or the byte cap is met). */
  lastPage: number;
  text: string;
  /** Stopped before the requested pages were all extracted (byte cap). */
  truncated: boolean;
}

/** Thrown when the bytes are not a PDF PDF.js can read, or exceed a bound; the message is safe to show. */
export class PdfUnreadable extends Error {}

/** Bounds of one extraction. */
export interface PdfLimits {
  /** Wall-clock limit of the worker. */
  timeoutMs: number;
  /** How much the process may grow (RSS) while the worker runs. */
  memoryBytes: number;
  /** The worker's JS heap limit. */
  heapMb: number;
}

export const DEFAULT_PDF_LIMITS: PdfLimits = { timeoutMs: 10_000, memoryBytes: 384 << 20, heapMb: 192 };

// Runs inside the worker (CommonJS eval): loads unpdf, extracts the pages, posts the result.
const WORKER_SOURCE = String.raw`
const { parentPort, workerData } = require('node:worker_threads');
(async () => {
  const { getDocumentProxy } = await import(workerData.unpdf);
  const opts = workerData.opts;
  let doc;
  try {
    doc = await getDocumentProxy(workerData.data, {
      isEvalSupported: false,
      verbosity: 0,
      stopAtErrors: false,
      useSystemFonts: false,
    });
  } catch (err) {
    parentPort.postMessage({ ok: false, name: err && err.name, message: String((err && err.message) || err) });
    return;
  }
  try {
    const pageCount = doc.numPages;
    const last = Math.min(pageCount, opts.firstPage + opts.pageCount - 1);
    const parts = [];
    let bytes = 0;
    let lastPage = opts.firstPage - 1;
    let truncated = false;
    for (let n = opts.firstPage; n <= last; n++) {
      const page = await doc.getPage(n);
      const content = await page.getTextContent();
      page.cleanup();
      const text = content.items.map((i) => (i.str || '') + (i.hasEOL ? '\n' : '')).join('');
      const part = '--- page ' + n + ' ---\n' + text.trim() + '\n';
      const size = Buffer.byteLength(part, 'utf8');
      if (bytes + size > opts.maxBytes && parts.length > 0) {
        truncated = true;
        break;
      }
      if (size > opts.maxBytes) {
        // One page alone is over the cap: keep its beginning (a cut character decodes as U+FFFD).
        parts.push(Buffer.from(part, 'utf8').subarray(0, opts.maxBytes).toString('utf8') + '\n[page ' + n + ' cut at the size cap]\n');
        truncated = true;
      } else {
        parts.push(part);
      }
      bytes += size;
      lastPage = n;
    }
    parentPort.postMessage({ ok: true, result: { pageCount, firstPage: opts.firstPage, lastPage, text: parts.join('\f'), truncated } });
  } catch (err) {
    parentPort.postMessage({ ok: false, name: err && err.name, message: String((err && err.message) || err) });
  } finally {
    await doc.destroy().catch(() => {});
  }
})();
`;

let unpdfUrl: string | null = null;
function unpdfModule(): string {
  // The ESM build sits next to the CommonJS one that require.resolve finds.
  unpdfUrl ??= pathToFileURL(
    join(dirname(createRequire(import.meta.url).resolve('unpdf')), 'index.mjs'),
  ).href;
  return unpdfUrl;
}

const COMPRESSING = new Set(['FlateDecode', 'Fl', 'LZWDecode', 'LZW']);

/**
 * True when some stream's filter chain applies more than one decompressing filter. Real PDFs
 * compress a stream once; nesting multiplies the expansion ratio (1.6 KB → 256 MB).
 */
export function nestsCompression(data: Uint8Array): boolean {
  const text = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('latin1');
  const filters = /\/Filter\s*\[([^\]]{0,512})\]/g;
  for (let m = filters.exec(text); m !== null; m = filters.exec(text)) {
    const names = (m[1] ?? '').match(/\/[A-Za-z0-9]+/g) ?? [];
    if (names.filter((n) => COMPRESSING.has(n.slice(1))).length > 1) return true;
  }
  return false;
}

// PDF extraction is CPU work in worker threads: at most one per core runs at a time, process-wide,
// so concurrent searches over many PDFs queue for a core instead of starving every other caller.
const WORKER_SLOTS = Math.max(1, availableParallelism());
let workersRunning = 0;
let workersPeak = 0;
const waitingForWorker: (() => void)[] = [];

/** Extraction workers: how many may run at once, run now, and ran at once at most (for /metrics-like checks). */
export function pdfWorkerStats(): { slots: number; running: number; peak: number } {
  return { slots: WORKER_SLOTS, running: workersRunning, peak: workersPeak };
}

/** Waits (abortably) for a worker slot; the returned function gives it back, once. */
async function workerSlot(signal: AbortSignal): Promise<() => void> {
  if (workersRunning >= WORKER_SLOTS) {
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        const i = waitingForWorker.indexOf(wake);
        if (i >= 0) waitingForWorker.splice(i, 1);
        reject(signal.reason);
      };
      const wake = () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      };
      signal.addEventListener('abort', onAbort, { once: true });
      waitingForWorker.push(wake);
    });
  } else workersPeak = Math.max(workersPeak, ++workersRunning);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    const next = waitingForWorker.shift();
    if (next)
      next(); // the slot passes straight on
    else workersRunning--;
  };
}

/**
 * Extracts pages `firstPage`..`firstPage + pageCount - 1` (1-based), at most `maxBytes` of text.
 * Pages are separated by a form feed and a `--- page N ---` line so a model can cite them.
 */
export async function extractPdfText(
  data: Uint8Array,
  opts: {
    firstPage: number;
    pageCount: number;
    maxBytes: number;
    signal: AbortSignal;
    limits?: Partial<PdfLimits>;
  },
): Promise<PdfText> {
  opts.signal.throwIfAborted();
  const limits = { ...DEFAULT_PDF_LIMITS, ...opts.limits };
  if (nestsCompression(data)) {
    throw new PdfUnreadable(
      'the PDF nests compression filters (a decompression bomb shape); it is not extracted',
    );
  }
  const release = await workerSlot(opts.signal);
  try {
    return await extractInWorker(data, opts, limits);
  } finally {
    release();
  }
}

async function extractInWorker(
  data: Uint8Array,
  opts: { firstPage: number; pageCount: number; maxBytes: number; signal: AbortSignal },
  limits: PdfLimits,
): Promise<PdfText> {
  opts.signal.throwIfAborted();
  // PDF.js refuses Node Buffers ("provide binary data as Uint8Array"): pass a plain copy of the bytes.
  const bytes = new Uint8Array(data.byteLength);
  bytes.set(data);
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: {
      unpdf: unpdfModule(),
      data: bytes,
      opts: { firstPage: opts.firstPage, pageCount: opts.pageCount, maxBytes: opts.maxBytes },
    },
    transferList: [bytes.buffer],
    resourceLimits: { maxOldGenerationSizeMb: limits.heapMb, maxYoungGenerationSizeMb: 16, stackSizeMb: 4 },
    stdout: true,
    stderr: true,
  });
  const baseline = process.memoryUsage.rss();
  return new Promise<PdfText>((resolve, reject) => {
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearInterval(watchdog);
      opts.signal.removeEventListener('abort', onAbort);
      void worker.terminate();
      fn();
    };
    const fail = (message: string) => finish(() => reject(new PdfUnreadable(message)));
    const onAbort = () => finish(() => reject(opts.signal.reason));
    opts.signal.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(
      () => fail('extracting its text took longer than the server allows'),
      limits.timeoutMs,
    );
    const watchdog = setInterval(() => {
      if (process.memoryUsage.rss() - baseline > limits.memoryBytes)
        fail('its decoded content is larger than the server extracts');
    }, 20);
    worker.on('message', (m: { ok: boolean; result?: PdfText; name?: string; message?: string }) => {
      if (m.ok && m.result) {
        const result = m.result;
        finish(() => resolve(result));
      } else if (m.name === 'PasswordException') fail('the PDF is password-protected');
      else fail(`the PDF could not be parsed (${(m.message ?? '').slice(0, 120)})`);
    });
    worker.on('error', (err: Error & { code?: string }) => {
      if (err.code === 'ERR_WORKER_OUT_OF_MEMORY')
        fail('its decoded content is larger than the server extracts');
      else fail(`the PDF could not be parsed (${err.message.slice(0, 120)})`);
    });
    worker.on('exit', () => fail('the PDF could not be parsed'));
  });
}
