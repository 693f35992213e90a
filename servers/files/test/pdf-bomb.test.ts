// PDF decompression bombs cost bounded memory and time: only a `.pdf` is ever parsed as a PDF, a
// report whose content is a PDF (or another binary format) is refused, a filter chain that nests
// compression is refused before decoding, and any other bomb is stopped by the extraction worker's
// memory budget — the server keeps answering.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type BootedServer, createTestDatabase, type TestClient } from '@mcp-fleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extractPdfText, PdfUnreadable } from '../src/documents/pdf-text.js';
import { bootFiles, call, clientAs, hitsOf, type Layout, makeLayout } from './helpers.js';
import { pdfBomb } from './race-helper.js';

let layout: Layout;
let s: BootedServer;
let db: Awaited<ReturnType<typeof createTestDatabase>>;
let analyst: TestClient;
let support: TestClient;
let nested: Buffer;

beforeAll(async () => {
  layout = await makeLayout();
  // 1.6 KB on disk, 256 MB decoded: the tester's bomb256.md.
  nested = await pdfBomb(256 << 20, true);
  // Planted by whoever fills the volume (an agent can no longer write one, see below).
  writeFileSync(join(layout.root, 'docs', 'bomb-notes.md'), nested);
  writeFileSync(join(layout.root, 'docs', 'bomb.pdf'), await pdfBomb(768 << 20, false));
  db = await createTestDatabase('files_pdf_bomb');
  s = await bootFiles(layout.root, { databaseUrl: db.url });
  analyst = await clientAs(s, 'modern', 'analyst');
  support = await clientAs(s, 'modern', 'support');
});
afterAll(async () => {
  await Promise.all([analyst?.close(), support?.close()]);
  await s?.close();
  await db?.drop();
  layout?.cleanup();
});

describe('PDF decompression bombs', () => {
  it('write_report refuses content that is a PDF or another binary format, whatever the extension', async () => {
    expect(nested.length).toBeLessThan(4096);
    for (const [path, content] of [
      ['reports/bomb.md', nested.toString('latin1')],
      ['reports/doc.txt', '%PDF-1.7\nnot really\n'],
      ['reports/img.csv', 'GIF89a\u0001\u0001'],
    ] as const) {
      const r = await call(analyst, 'write_report', { path, content });
      expect(r.isError, path).toBe(true);
      expect(r.text).toMatch(/not text; reports are Markdown, text, CSV or JSON/);
    }
  });

  it('a .md that starts with %PDF- is never parsed as a PDF: read as markdown, searched as text', async () => {
    const read = await call(support, 'read_document', { path: 'docs/bomb-notes.md', byteCount: 64 });
    expect(read.isError).toBe(false);
    expect(read.data).toMatchObject({ kind: 'markdown' });
    expect(String(read.data?.content)).toMatch(/^%PDF-1\.4/);
    const info = await call(support, 'get_file_info', { path: 'docs/bomb-notes.md' });
    expect(info.data).toMatchObject({ kind: 'markdown', readable: true });
    const found = await call(support, 'search_documents', { path: 'docs', query: 'ASCIIHexDecode' });
    expect(hitsOf(found).map((h) => h.path)).toContain('docs/bomb-notes.md');
  });

  it('a nested-compression bomb is refused before decoding', async () => {
    await expect(
      extractPdfText(nested, {
        firstPage: 1,
        pageCount: 1,
        maxBytes: 1 << 20,
        signal: new AbortController().signal,
      }),
    ).rejects.toThrow(/nests compression filters/);
  });

  it('a single-filter bomb named .pdf is stopped by the memory budget and the server keeps answering', async () => {
    const r = await call(support, 'read_document', { path: 'docs/bomb.pdf' });
    expect(r.isError).toBe(true);
    expect(r.text).toMatch(
      /cannot be read: .*(larger than the server extracts|longer than the server allows)/,
    );
    const after = await call(support, 'list_folder', { path: 'docs' });
    expect(after.isError).toBe(false);
  });

  it('cancelling an extraction stops the worker at once', async () => {
    const controller = new AbortController();
    const bomb = await pdfBomb(256 << 20, false);
    const pending = extractPdfText(bomb, {
      firstPage: 1,
      pageCount: 1,
      maxBytes: 1 << 20,
      signal: controller.signal,
    });
    controller.abort(new Error('cancelled by the client'));
    await expect(pending).rejects.toThrow('cancelled by the client');
    await expect(
      extractPdfText(bomb, {
        firstPage: 1,
        pageCount: 1,
        maxBytes: 1 << 20,
        signal: new AbortController().signal,
        limits: { memoryBytes: 64 << 20 },
      }),
    ).rejects.toBeInstanceOf(PdfUnreadable);
  });
});
