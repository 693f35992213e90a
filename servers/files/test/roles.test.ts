// A support agent reads and searches docs; an analyst writes a report and reads it back; neither
// reaches outside its areas. Both protocol eras, real MCP clients, the example policy.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BootedServer } from '@mcp-fleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bootFleet,
  call,
  clientAs,
  entriesOf,
  type FilesFleet,
  hitsOf,
  type Layout,
  SENTINEL,
} from './helpers.js';

let layout: Layout;
let s: BootedServer;
let fleet: FilesFleet | undefined;

beforeAll(async () => {
  fleet = await bootFleet('files_roles');
  ({ layout, s } = fleet);
});
afterAll(async () => {
  await fleet?.close();
});

describe.each(['modern', 'legacy'] as const)('%s client', (era) => {
  it('support sees the read tools and only docs/ at the top', async () => {
    const c = await clientAs(s, era, 'support');
    const { tools } = await c.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual([
      'get_file_info',
      'list_folder',
      'read_document',
      'search_documents',
    ]);
    const top = await call(c, 'list_folder', { path: '' });
    expect(top.isError).toBe(false);
    expect(entriesOf(top).map((e) => e.path)).toEqual(['docs']);
    const docs = await call(c, 'list_folder', { path: 'docs' });
    const names = entriesOf(docs).map((e) => e.name);
    expect(names).toEqual(expect.arrayContaining(['README.md', 'handbook', 'support', 'security']));
    await c.close();
  });

  it('support reads Markdown, CSV, JSON and PDF documents', async () => {
    const c = await clientAs(s, era, 'support');
    const md = await call(c, 'read_document', { path: 'docs/support/refund-policy.md' });
    expect(md.isError).toBe(false);
    expect(md.data?.kind).toBe('markdown');
    expect(md.data?.content).toContain('within **30 days** of purchase');
    expect(md.text).toContain('within **30 days** of purchase');
    const csv = await call(c, 'read_document', { path: 'docs/products/pricing-2026.csv' });
    expect(csv.data?.kind).toBe('csv');
    expect(csv.data?.content).toContain('Business,129,1290');
    const json = await call(c, 'read_document', { path: 'docs/products/catalog.json' });
    expect(JSON.parse(json.data?.content as string).products).toHaveLength(4);
    const pdf = await call(c, 'read_document', { path: 'docs/security/incident-response-plan.pdf' });
    expect(pdf.isError).toBe(false);
    expect(pdf.data?.kind).toBe('pdf');
    expect(pdf.data?.content).toContain('Incident Response Plan');
    expect(pdf.data?.content).toContain('within 72 hours');
    expect(pdf.data?.range).toMatchObject({ firstPage: 1, lastPage: 2, pageCount: 2 });
    const page2 = await call(c, 'read_document', {
      path: 'docs/security/incident-response-plan.pdf',
      firstPage: 2,
      pageCount: 1,
    });
    expect(page2.data?.content).toContain('Post-incident review');
    expect(page2.data?.content).not.toContain('Detect:');
    await c.close();
  });

  it('support searches docs and gets snippets, never hits from hr/ or reports/', async () => {
    const c = await clientAs(s, era, 'support');
    const r = await call(c, 'search_documents', { query: 'refund' });
    expect(r.isError).toBe(false);
    const hits = hitsOf(r);
    expect(hits.length).toBeGreaterThan(0);
    expect(hits.some((h) => h.path === 'docs/support/refund-policy.md' && /refund/i.test(h.snippet))).toBe(
      true,
    );
    expect(hits.every((h) => h.path.startsWith('docs/'))).toBe(true);
    expect(r.data?.complete).toBe(true);
    const pdfHit = await call(c, 'search_documents', { query: 'blameless review' });
    expect(pdfHit.data?.hits).toEqual([
      expect.objectContaining({ path: 'docs/security/incident-response-plan.pdf', page: 2 }),
    ]);
    await c.close();
  });

  it('support cannot read, list, search or write outside docs/', async () => {
    const c = await clientAs(s, era, 'support');
    for (const [tool, args] of [
      ['read_document', { path: 'hr/salaries.csv' }],
      ['get_file_info', { path: 'hr/salaries.csv' }],
      ['list_folder', { path: 'hr' }],
      ['search_documents', { query: 'salary', path: 'hr' }],
      ['list_folder', { path: 'reports' }],
    ] as const) {
      const r = await call(c, tool, args);
      expect(r.isError, `${tool} ${JSON.stringify(args)}`).toBe(true);
      expect(r.raw).not.toContain('120000');
    }
    const w = await call(c, 'write_report', { path: 'reports/x.md', content: 'hi' });
    expect(w.isError).toBe(true);
    expect(w.text).toMatch(/not available/);
    expect(existsSync(join(layout.root, 'reports/x.md'))).toBe(false);
    await c.close();
  });

  it('analyst writes a report, reads it back and lists it; cannot overwrite or write outside reports/', async () => {
    const c = await clientAs(s, era, 'analyst');
    const path = `reports/2026/q3-refunds-${era}.md`;
    const content = `# Q3 refunds (${era})\n\nRefunds rose 4% quarter on quarter.\nÜnïcödé survives: 日本語\n`;
    const w = await call(c, 'write_report', { path, content });
    expect(w.isError, w.text).toBe(false);
    expect(w.data).toMatchObject({ path, size: Buffer.byteLength(content), created: true });
    expect(readFileSync(join(layout.root, path), 'utf8')).toBe(content);
    const back = await call(c, 'read_document', { path });
    expect(back.data?.content).toBe(content);
    const listed = await call(c, 'list_folder', { path: 'reports/2026' });
    expect(entriesOf(listed).map((e) => e.name)).toContain(`q3-refunds-${era}.md`);

    const again = await call(c, 'write_report', { path, content: 'replacement' });
    expect(again.isError).toBe(true);
    expect(again.text).toMatch(/already exists/);
    const overwrite = await call(c, 'write_report', { path, content: 'replacement', overwrite: true });
    expect(overwrite.isError).toBe(true);
    expect(overwrite.text).toMatch(/may not replace/);
    expect(readFileSync(join(layout.root, path), 'utf8')).toBe(content);

    for (const bad of ['docs/handbook/new.md', 'hr/raise.md', 'report.md', 'reports_evil/x.md']) {
      const r = await call(c, 'write_report', { path: bad, content: 'x' });
      expect(r.isError, bad).toBe(true);
      expect(existsSync(join(layout.root, bad))).toBe(false);
    }
    const hr = await call(c, 'read_document', { path: 'hr/salaries.csv' });
    expect(hr.isError).toBe(true);
    await c.close();
  });
});

describe('reads', () => {
  it('reads windows by lines and bytes, with a continuation', async () => {
    const c = await clientAs(s, 'modern', 'support');
    const lines = await call(c, 'read_document', {
      path: 'docs/support/faq.txt',
      startLine: 4,
      lineCount: 2,
    });
    expect(lines.data?.content).toBe(
      'Q: How do I reset my password?\nA: Use "Forgot password" on the sign-in page. The link is valid for 60 minutes.\n',
    );
    expect(lines.data?.range).toMatchObject({ startLine: 4, endLine: 5 });
    expect(lines.data?.next).toEqual({ startLine: 6 });
    const bytes = await call(c, 'read_document', {
      path: 'docs/support/faq.txt',
      byteOffset: 0,
      byteCount: 10,
    });
    expect(bytes.data?.content).toBe('Frequently');
    expect(bytes.data?.next).toEqual({ byteOffset: 10 });
    const both = await call(c, 'read_document', {
      path: 'docs/support/faq.txt',
      startLine: 1,
      byteOffset: 0,
    });
    expect(both.isError).toBe(true);
    await c.close();
  });

  it('pages through a folder with the cursor, and refuses a cursor from another folder', async () => {
    const c = await clientAs(s, 'legacy', 'support');
    const full = entriesOf(await call(c, 'list_folder', { path: 'docs', limit: 200 })).map((e) => e.name);
    const paged: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await call(c, 'list_folder', { path: 'docs', limit: 2, ...(cursor ? { cursor } : {}) });
      expect(page.isError, page.text).toBe(false);
      paged.push(...entriesOf(page).map((e) => e.name));
      cursor = (page.data?.nextCursor as string | null) ?? undefined;
      pages++;
    } while (cursor && pages < 50);
    expect(paged).toEqual(full);
    expect(pages).toBe(Math.ceil(full.length / 2));
    const first = await call(c, 'list_folder', { path: 'docs', limit: 1 });
    const wrong = await call(c, 'list_folder', {
      path: 'docs/support',
      cursor: first.data?.nextCursor as string,
    });
    expect(wrong.isError).toBe(true);
    expect(wrong.text).toMatch(/cursor does not belong/);
    await c.close();
  });

  it('describes a binary file instead of returning its bytes', async () => {
    const png = Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0]),
      Buffer.from('BINARY-MARKER'),
      Buffer.alloc(2000, 7),
    ]);
    writeFileSync(join(layout.root, 'docs/logo.png'), png);
    const c = await clientAs(s, 'modern', 'support');
    const r = await call(c, 'read_document', { path: 'docs/logo.png' });
    expect(r.isError).toBe(false);
    expect(r.data).toMatchObject({ kind: 'binary', mediaType: 'image/png', content: '' });
    expect(r.data?.description).toMatch(/PNG image, 2023 bytes/);
    expect(r.raw).not.toContain('BINARY-MARKER');
    const info = await call(c, 'get_file_info', { path: 'docs/logo.png' });
    expect(info.data).toMatchObject({ kind: 'binary', readable: false, size: 2023 });
    await c.close();
  });

  it('an admin (no policy constraint) still cannot write outside the server write areas, but may replace reports', async () => {
    const c = await clientAs(s, 'modern', 'admin');
    const w = await call(c, 'write_report', { path: 'docs/planted.md', content: 'x' });
    expect(w.isError).toBe(true);
    expect(existsSync(join(layout.root, 'docs/planted.md'))).toBe(false);
    expect((await call(c, 'write_report', { path: 'reports/admin.md', content: 'v1' })).isError).toBe(false);
    const v2 = await call(c, 'write_report', { path: 'reports/admin.md', content: 'v2', overwrite: true });
    expect(v2.data).toMatchObject({ created: false });
    expect(readFileSync(join(layout.root, 'reports/admin.md'), 'utf8')).toBe('v2');
    const hr = await call(c, 'read_document', { path: 'hr/salaries.csv' });
    expect(hr.data?.content).toContain('Ada');
    expect(hr.raw).not.toContain(SENTINEL);
    await c.close();
  });
});
