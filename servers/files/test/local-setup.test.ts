// `pnpm start` seeds the sample tree once (local edits survive restarts) and the sample PDF is a
// real PDF whose text the server extracts.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { extractPdfText } from '../src/documents/pdf-text.js';
import { prepareLocal } from '../src/local-setup.js';
import { makePdf } from '../src/samples/make-pdf.js';

describe('prepareLocal', () => {
  it('seeds docs/ and an empty reports/, idempotently, and returns FILES_ROOT', async () => {
    const fleetDir = mkdtempSync(join(tmpdir(), 'files-local-'));
    try {
      const logs: string[] = [];
      const env = await prepareLocal({ adminUrl: 'postgres://unused', fleetDir, log: (m) => logs.push(m) });
      expect(env).toEqual({ FILES_ROOT: join(fleetDir, 'files') });
      const root = env.FILES_ROOT as string;
      expect(readdirSync(join(root, 'docs')).sort()).toEqual([
        'README.md',
        'finance',
        'handbook',
        'products',
        'release-notes.txt',
        'security',
        'support',
      ]);
      expect(readdirSync(join(root, 'reports'))).toEqual([]);
      expect(logs[0]).toMatch(/seeded \d+ sample documents/);
      // A local edit survives a restart.
      writeFileSync(join(root, 'docs/README.md'), 'edited locally\n');
      await prepareLocal({ adminUrl: '', fleetDir, log: (m) => logs.push(m) });
      expect(readFileSync(join(root, 'docs/README.md'), 'utf8')).toBe('edited locally\n');
      expect(logs[1]).not.toMatch(/seeded/);
    } finally {
      rmSync(fleetDir, { recursive: true, force: true });
    }
  });
});

describe('PDF text', () => {
  const signal = new AbortController().signal;

  it('extracts the pages it is asked for, with page markers, from a hand-made PDF', async () => {
    const pdf = makePdf([
      ['First page (with parentheses) \\ and a backslash'],
      ['Second page'],
      ['Third page'],
    ]);
    const all = await extractPdfText(pdf, { firstPage: 1, pageCount: 10, maxBytes: 1 << 20, signal });
    expect(all.pageCount).toBe(3);
    expect(all.text).toContain('--- page 1 ---\nFirst page (with parentheses) \\ and a backslash');
    const two = await extractPdfText(pdf, { firstPage: 2, pageCount: 1, maxBytes: 1 << 20, signal });
    expect(two).toMatchObject({ firstPage: 2, lastPage: 2, truncated: false });
    expect(two.text).toContain('Second page');
    expect(two.text).not.toContain('Third page');
  });

  it('refuses bytes that are not a PDF with a readable message', async () => {
    await expect(
      extractPdfText(Buffer.from('%PDF-1.4 not really'), {
        firstPage: 1,
        pageCount: 1,
        maxBytes: 1000,
        signal,
      }),
    ).rejects.toThrow(/could not be parsed/);
  });
});
