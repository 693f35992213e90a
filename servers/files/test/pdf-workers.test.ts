// PDF text extraction runs in worker threads, at most one per core at a time process-wide: many
// concurrent searches over many PDFs queue for a core instead of starving every other caller (round-2
// adversarial test: 6 searches × 16 workers made an unrelated list_folder wait seconds). A queued
// extraction whose call is cancelled leaves the queue without taking a worker.
import { describe, expect, it } from 'vitest';
import { extractPdfText, pdfWorkerStats } from '../src/documents/pdf-text.js';
import { makePdf } from '../src/samples/make-pdf.js';

const pdf = makePdf([['first page text'], ['second page text']], 'Queue');

describe('PDF extraction workers', () => {
  it('never run more at once than there are slots, and every queued extraction completes', async () => {
    const { slots } = pdfWorkerStats();
    const signal = new AbortController().signal;
    const many = Array.from({ length: slots * 4 }, () =>
      extractPdfText(pdf, { firstPage: 1, pageCount: 2, maxBytes: 1 << 20, signal }),
    );
    const results = await Promise.all(many);
    expect(results.every((r) => r.text.includes('second page text'))).toBe(true);
    const after = pdfWorkerStats();
    expect(after.peak).toBeLessThanOrEqual(slots);
    expect(after.peak).toBeGreaterThan(0);
    expect(after.running).toBe(0);
  });

  it('a queued extraction that is cancelled is refused with the cancel reason and frees nothing twice', async () => {
    const { slots } = pdfWorkerStats();
    const keep = new AbortController();
    const running = Array.from({ length: slots }, () =>
      extractPdfText(pdf, { firstPage: 1, pageCount: 2, maxBytes: 1 << 20, signal: keep.signal }),
    );
    const cancel = new AbortController();
    const queued = extractPdfText(pdf, {
      firstPage: 1,
      pageCount: 2,
      maxBytes: 1 << 20,
      signal: cancel.signal,
    });
    cancel.abort(new Error('cancelled by the client'));
    await expect(queued).rejects.toThrow('cancelled by the client');
    await Promise.all(running);
    expect(pdfWorkerStats().running).toBe(0);
  });
});
