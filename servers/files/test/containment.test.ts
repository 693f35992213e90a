// Nothing reads or writes outside the sandbox: a hostile tree and a corpus of hostile paths against
// every tool, as the most privileged role (admin) and as the roles of the example policy. The
// sentinel outside must never appear in an answer and the folders outside must stay unchanged.
import { existsSync, readdirSync, readFileSync, realpathSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { BootedServer, TestClient } from '@mcp-fleet/testkit';
import { Client as LegacyClient } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ListRootsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
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
  snapshot,
} from './helpers.js';
import { buildHostileTree, type HostileTree, HUGE_SIZE, hostilePaths } from './hostile-tree.js';

let layout: Layout;
let tree: HostileTree;
let s: BootedServer;
let fleet: FilesFleet | undefined;
let before: { outside: string; lookalike: string; base: string[] };
let admin: TestClient;
let support: TestClient;
let analyst: TestClient;

beforeAll(async () => {
  fleet = await bootFleet('files_hostile', {
    seed: async (seeded) => {
      tree = await buildHostileTree(seeded);
    },
    env: { FILES_SCAN_MAX_BYTES: String(1024 * 1024) },
  });
  ({ layout, s } = fleet);
  before = {
    outside: snapshot(layout.outside),
    lookalike: snapshot(layout.lookalike),
    base: readdirSync(layout.base).sort(),
  };
  admin = await clientAs(s, 'modern', 'admin');
  support = await clientAs(s, 'legacy', 'support');
  analyst = await clientAs(s, 'modern', 'analyst');
});
afterAll(async () => {
  if (fleet) await fleet.close(admin, support, analyst, tree);
  else await tree?.close();
});

function expectOutsideUntouched(): void {
  expect(snapshot(layout.outside)).toBe(before.outside);
  expect(snapshot(layout.lookalike)).toBe(before.lookalike);
  expect(readdirSync(layout.base).sort()).toEqual(before.base);
  expect(existsSync(join(layout.outside, 'planted.md'))).toBe(false);
}

describe('hostile path corpus', () => {
  it('no read tool, as any role, returns anything from outside the sandbox', async () => {
    const corpus = hostilePaths(layout);
    for (const client of [admin, support, analyst]) {
      for (const path of corpus) {
        for (const [tool, args] of [
          ['read_document', { path }],
          ['get_file_info', { path }],
          ['list_folder', { path }],
          ['search_documents', { path, query: 'SENTINEL' }],
        ] as const) {
          const r = await call(client, tool, args);
          expect(r.raw, `${tool} ${JSON.stringify(path)}`).not.toContain(SENTINEL);
          expect(r.raw).not.toContain('root:x:0:0');
          // get_file_info describes special files (type "other") instead of refusing them.
          const described = tool === 'get_file_info' && /\.(fifo|sock|dev)$/.test(path);
          if (!described) expect(r.isError, `${tool} ${JSON.stringify(path)} should be refused`).toBe(true);
          else expect(r.data).toMatchObject({ type: 'other', readable: false });
        }
      }
    }
    expectOutsideUntouched();
  });

  it('no write, as admin or analyst, with or without overwrite, lands outside or follows a link', async () => {
    const reportsReal = realpathSync(join(layout.root, 'reports'));
    for (const client of [admin, analyst]) {
      for (const path of hostilePaths(layout)) {
        for (const overwrite of [false, true]) {
          const r = await call(client, 'write_report', { path, content: `planted by ${path}`, overwrite });
          expect(r.isError, `write ${JSON.stringify(path)} overwrite=${overwrite}`).toBe(true);
          expect(r.raw).not.toContain(SENTINEL);
          // The same spellings under reports/: refused, or an oddly named report INSIDE reports/.
          const nested = await call(client, 'write_report', {
            path: `reports/${path}`,
            content: 'nested',
            overwrite,
          });
          expect(nested.raw).not.toContain(SENTINEL);
          if (!nested.isError) {
            const written = realpathSync(join(layout.root, nested.data?.path as string));
            expect(written.startsWith(`${reportsReal}/`), written).toBe(true);
          }
        }
      }
    }
    expectOutsideUntouched();
    expect(readFileSync(join(layout.outside, 'secret.txt'), 'utf8')).toContain(SENTINEL);
  });

  it('"..": the root has no parent, so listing it is refused, not widened', async () => {
    const r = await call(admin, 'list_folder', { path: '..' });
    expect(r.isError).toBe(true);
    expect(r.text).toMatch(/would leave the folder/);
  });
});

describe('hostile tree', () => {
  it('a link pointing out is refused as outside, not checked through its parent', async () => {
    const r = await call(admin, 'read_document', { path: 'docs/link-out.md' });
    expect(r.isError).toBe(true);
    expect(r.text).toMatch(/outside the document root/);
    const parent = await call(admin, 'read_document', { path: 'docs/dir-out/secret.txt' });
    expect(parent.text).toMatch(/outside the document root/);
  });

  it('listing and searching never show or follow links that lead out, dangle or loop', async () => {
    const listed = await call(admin, 'list_folder', { path: 'docs', limit: 200 });
    const names = entriesOf(listed).map((e) => e.name);
    for (const hidden of [
      'link-out.md',
      'dir-out',
      'dangling.md',
      'loop-a',
      'loop-b',
      'relative-out.md',
      'passwd.md',
    ]) {
      expect(names).not.toContain(hidden);
    }
    // A link inside the root is shown and judged by where it leads.
    expect(names).toContain('inside-link.csv');
    const search = await call(admin, 'search_documents', { query: 'refund', maxResults: 200 });
    const paths = hitsOf(search).map((h) => h.path);
    expect(paths.some((p) => p.includes('link') || p.includes('out'))).toBe(false);
    expect(search.raw).not.toContain(SENTINEL);
  });

  it('a link inside the root is judged by its real path: support may not read hr/ through docs/', async () => {
    const r = await call(support, 'read_document', { path: 'docs/inside-link.csv' });
    expect(r.isError).toBe(true);
    expect(r.raw).not.toContain('120000');
    expect(r.text).toMatch(/leads to a place that is outside the areas your role may read/);
    const viaAdmin = await call(admin, 'read_document', { path: 'docs/inside-link.csv' });
    expect(viaAdmin.data?.content).toContain('120000');
  });

  it('a hard link is refused to every role with the reason, in docs/ and in hr/, until it is a single file again', async () => {
    const marker = tree.hardLinkMarker;
    // Support may read docs/**; the file is also hr/reviews.txt, which support may not read.
    const viaDocs = await call(support, 'read_document', { path: tree.hardLink });
    expect(viaDocs.isError).toBe(true);
    expect(viaDocs.text).toMatch(/is a hard link .* cannot tell which area it belongs to/);
    expect(viaDocs.raw).not.toContain(marker);
    const info = await call(support, 'get_file_info', { path: tree.hardLink });
    expect(info.isError).toBe(true);
    expect(info.text).toMatch(/is a hard link/);
    const found = await call(support, 'search_documents', { query: marker, path: 'docs' });
    expect(hitsOf(found)).toEqual([]);
    // Skipped like any file it cannot read, not scanned (the query itself is echoed back).
    expect((found.data?.skipped as { unreadable: number } | undefined)?.unreadable).toBeGreaterThanOrEqual(1);
    // Everywhere: admin, who may read both areas, is refused under either name too.
    for (const path of [tree.hardLink, tree.hardLinkTarget]) {
      const r = await call(admin, 'read_document', { path });
      expect(r.isError, path).toBe(true);
      expect(r.text).toMatch(/is a hard link \(the same file has 2 names/);
    }
    // The operator's fix: once the hr/ name is gone the file has one name, lives in docs/, and reads.
    unlinkSync(join(layout.root, tree.hardLinkTarget));
    const fixed = await call(support, 'read_document', { path: tree.hardLink });
    expect(fixed.isError, fixed.text).toBe(false);
    expect(fixed.data?.content).toBe(`${marker}: performance reviews\n`);
  });

  it('a lookalike area (docs_secret next to docs) is not part of docs/**', async () => {
    const r = await call(support, 'read_document', { path: 'docs_secret/plans.md' });
    expect(r.isError).toBe(true);
    const top = await call(support, 'list_folder', { path: '' });
    expect(entriesOf(top).map((e) => e.name)).toEqual(['docs']);
  });

  it('special files are described or refused, never opened (a FIFO does not block)', async () => {
    for (const path of ['docs/pipe.fifo', 'docs/live.sock', 'docs/null.dev']) {
      const r = await call(admin, 'read_document', { path });
      expect(r.isError, path).toBe(true);
      expect(r.text).toMatch(/special file/);
      const info = await call(admin, 'get_file_info', { path });
      expect(info.data).toMatchObject({ type: 'other', readable: false });
    }
    const listed = await call(admin, 'list_folder', { path: 'docs', limit: 200 });
    expect(listed.data?.entries).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'pipe.fifo', type: 'other', kind: 'fifo' })]),
    );
  });

  it('a huge file is read in capped windows, and a line beyond the scan limit is refused with advice', async () => {
    const info = await call(admin, 'get_file_info', { path: 'docs/huge.log' });
    expect(info.data?.size).toBe(HUGE_SIZE);
    const r = await call(admin, 'read_document', { path: 'docs/huge.log' });
    expect(r.isError).toBe(false);
    expect(r.data?.truncated).toBe(true);
    expect(String(r.data?.content ?? '').length).toBeLessThanOrEqual(256 * 1024);
    expect(r.data?.content).toMatch(/^line 1 of a very large log\n/);
    expect(r.data?.next).toEqual({ byteOffset: expect.any(Number) });
    const lines = await call(admin, 'read_document', {
      path: 'docs/huge.log',
      startLine: 1500,
      lineCount: 2,
    });
    expect(lines.data?.content).toBe('line 1500 of a very large log\nline 1501 of a very large log\n');
    const far = await call(admin, 'read_document', {
      path: 'docs/huge.log',
      startLine: 10_000_000,
      lineCount: 1,
    });
    expect(far.isError).toBe(true);
    expect(far.text).toMatch(/beyond the first/);
    const search = await call(admin, 'search_documents', { query: 'very large log', path: 'docs' });
    expect(search.data?.hits).toEqual([]);
    expect(search.data?.skipped).toMatchObject({ tooLarge: expect.any(Number) });
    expect((search.data?.skipped as { tooLarge: number } | undefined)?.tooLarge).toBeGreaterThanOrEqual(1);
  });

  it('deep nesting works up to the depth limit and is refused past it', async () => {
    const ok = await call(admin, 'read_document', { path: tree.deepPath });
    expect(ok.data?.content).toBe('deep document\n');
    const deep = await call(admin, 'read_document', { path: tree.tooDeepPath });
    expect(deep.text).toMatch(/deeper than/);
  });

  it('odd Unicode names: NFC and NFD spellings stay distinct files; unusable names are not listed', async () => {
    const nfd = await call(admin, 'read_document', { path: 'docs/cafe\u0301.md' });
    const nfc = await call(admin, 'read_document', { path: 'docs/caf\u00e9.md' });
    expect(nfd.data?.content).toBe('nfd spelling\n');
    expect(nfc.data?.content).toBe('nfc spelling\n');
    const cjk = await call(admin, 'read_document', { path: 'docs/日本語 レポート.md' });
    expect(cjk.data?.content).toBe('japanese name\n');
    const listed = await call(admin, 'list_folder', { path: 'docs', limit: 200 });
    const names = entriesOf(listed).map((e) => e.name);
    expect(names).toEqual(expect.arrayContaining(['cafe\u0301.md', 'caf\u00e9.md', '日本語 レポート.md']));
    expect(names.some((n) => n.includes('\u202e') || n.includes('\ufffd'))).toBe(false);
    expect(listed.data?.note).toMatch(/2 entries have names that cannot be used/);
  });

  it('writes refuse dangling links, links in parents and links to existing files', async () => {
    for (const path of ['reports/dangling-write.md', 'reports/link-dir/new.md', 'reports/existing-link.md']) {
      for (const overwrite of [false, true]) {
        const r = await call(admin, 'write_report', { path, content: 'attack', overwrite });
        expect(r.isError, `${path} ${overwrite}`).toBe(true);
      }
    }
    expectOutsideUntouched();
  });

  it('the server never asks a client for its roots, and a client offering `/` as a root still cannot read outside', async () => {
    // The sandbox is FILES_ROOT alone. A client that offers roots (outside, and the whole disk) and
    // announces a change must neither be asked for them (roots/list) nor gain anything by them.
    const client = new LegacyClient(
      { name: 'roots-client', version: '1.0.0' },
      { capabilities: { roots: { listChanged: true } } },
    );
    let rootsRequests = 0;
    client.setRequestHandler(ListRootsRequestSchema, async () => {
      rootsRequests++;
      return {
        roots: [
          { uri: `file://${layout.outside}`, name: 'outside' },
          { uri: 'file:///', name: 'everything' },
        ],
      };
    });
    const token = await s.token({ sub: 'roots-agent', roles: ['admin'] });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(s.url), {
        requestInit: { headers: { authorization: `Bearer ${token}` } },
      }),
    );
    await client.sendRootsListChanged();
    const secret = join(layout.outside, 'secret.txt');
    for (const path of [secret, `file://${secret}`, 'outside/secret.txt', 'secret.txt', '/etc/passwd']) {
      for (const name of ['read_document', 'get_file_info']) {
        const r = await client.callTool({ name, arguments: { path } });
        expect(r.isError, `${name} ${path}`).toBe(true);
        expect(JSON.stringify(r)).not.toContain(SENTINEL);
        expect(JSON.stringify(r)).not.toContain('root:x:0:0');
      }
    }
    // The same client still reads inside the root: the refusals above are about the paths.
    const inside = await client.callTool({ name: 'read_document', arguments: { path: tree.deepPath } });
    expect(inside.isError).toBeFalsy();
    expect(JSON.stringify(inside)).toContain('deep document');
    await client.close();
    expect(rootsRequests).toBe(0);
    expectOutsideUntouched();
  });
});
