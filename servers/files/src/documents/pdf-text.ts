// Text out of PDFs with PDF.js (through unpdf's dependency-free Node build). Script evaluation is
// off (PDF.js font eval was CVE-2024-4367), pages are capped, and cancellation is checked per page.
import { getDocumentProxy } from 'unpdf';

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

/** Thrown when the bytes are not a PDF PDF.js can read; the message is safe to show. */
export class PdfUnreadable extends Error {}

interface TextItemLike {
  str?: string;
  hasEOL?: boolean;
}

/**
 * Extracts pages `firstPage`..`firstPage + pageCount - 1` (1-based), at most `maxBytes` of text.
 * Pages are separated by a form feed and a `--- page N ---` line so a model can cite them.
 */
export async function extractPdfText(
  data: Uint8Array,
  opts: { firstPage: number; pageCount: number; maxBytes: number; signal: AbortSignal },
): Promise<PdfText> {
  let doc: Awaited<ReturnType<typeof getDocumentProxy>>;
  // PDF.js refuses Node Buffers ("provide binary data as Uint8Array"): pass a plain view of the bytes.
  const bytes = Buffer.isBuffer(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : data;
  try {
    doc = await getDocumentProxy(bytes, {
      isEvalSupported: false,
      verbosity: 0,
      stopAtErrors: false,
      useSystemFonts: false,
    });
  } catch (err) {
    const name = (err as Error).name;
    if (name === 'PasswordException') throw new PdfUnreadable('the PDF is password-protected');
    throw new PdfUnreadable(`the PDF could not be parsed (${(err as Error).message.slice(0, 120)})`);
  }
  try {
    const pageCount = doc.numPages;
    const last = Math.min(pageCount, opts.firstPage + opts.pageCount - 1);
    const parts: string[] = [];
    let bytes = 0;
    let lastPage = opts.firstPage - 1;
    let truncated = false;
    for (let n = opts.firstPage; n <= last; n++) {
      opts.signal.throwIfAborted();
      const page = await doc.getPage(n);
      const content = await page.getTextContent();
      page.cleanup();
      const text = (content.items as TextItemLike[])
        .map((i) => (i.str ?? '') + (i.hasEOL ? '\n' : ''))
        .join('');
      const part = `--- page ${n} ---\n${text.trim()}\n`;
      const size = Buffer.byteLength(part, 'utf8');
      if (bytes + size > opts.maxBytes && parts.length > 0) {
        truncated = true;
        break;
      }
      if (size > opts.maxBytes) {
        // One page alone is over the cap: keep its beginning (a cut character decodes as U+FFFD).
        parts.push(
          `${Buffer.from(part, 'utf8').subarray(0, opts.maxBytes).toString('utf8')}\n[page ${n} cut at the size cap]\n`,
        );
        truncated = true;
      } else {
        parts.push(part);
      }
      bytes += size;
      lastPage = n;
    }
    return { pageCount, firstPage: opts.firstPage, lastPage, text: parts.join('\f'), truncated };
  } finally {
    await doc.destroy();
  }
}
