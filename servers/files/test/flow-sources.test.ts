// The flow guard's sources of the files server (issue 17). Every tool of the registry is decided: it
// names the path (relative to the root) of each document whose content or snippet it returns, it is
// metadata only, or it sends (write_report: internal). A new tool without a decision fails. On the
// seeded sample tree, a policy labelling each folder by its name shows, in each call's audit record,
// which documents the call named: the document read, exactly the documents a search returned
// snippets of, and nothing for listings and file information.
import { symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { type BootedServer, createTestDatabase, type TestClient } from '@mcp-fleet/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { filesTools } from '../src/tools/index.js';
import { bootFiles, clientAs, examplePolicy, type Layout, makeLayout } from './helpers.js';

/** Each tool's decision (`sources`: names ctx.source('path', …); `metadata`: no content; `sends`). */
const DECISIONS: Record<string, 'sources' | 'metadata' | { sends: 'internal' | 'external' }> = {
  list_folder: 'metadata',
  get_file_info: 'metadata',
  read_document: 'sources',
  search_documents: 'sources',
  write_report: { sends: 'internal' },
};

describe('every files tool has a flow decision', () => {
  it('is listed here, and its static declarations match', () => {
    expect(filesTools.map((t) => t.name).sort()).toEqual(Object.keys(DECISIONS).sort());
    for (const t of filesTools) {
      const d = DECISIONS[t.name];
      expect(t.governance.sends, t.name).toBe(typeof d === 'object' ? d.sends : undefined);
      expect(t.governance.labels, t.name).toBeUndefined();
    }
  });
});

/** The label this test's policy gives a path (its folder under docs/). */
const FOLDERS = ['finance', 'support', 'handbook', 'products', 'security'] as const;
const labelOfPath = (path: string): string | undefined => {
  const folder = FOLDERS.find((f) => path.startsWith(`docs/${f}/`));
  return folder ? `f-${folder}` : undefined;
};

describe('paths named by a call (sample tree)', () => {
  let layout: Layout;
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let s: BootedServer;
  let fleet: pg.Pool;
  let admin: TestClient;

  beforeAll(async () => {
    layout = await makeLayout();
    symlinkSync('../finance/q3-2026-board-summary.md', join(layout.root, 'docs/products/board.md'));
    db = await createTestDatabase('files_flow');
    const policy = structuredClone(examplePolicy) as {
      flow: { labels: { sources: Record<string, unknown> } };
    };
    policy.flow.labels.sources['files.path'] = Object.fromEntries(
      FOLDERS.map((f) => [`docs/${f}/**`, [`f-${f}`]]),
    );
    s = await bootFiles(layout.root, { databaseUrl: db.url, policy });
    fleet = new pg.Pool({ connectionString: db.url, max: 1 });
    admin = await clientAs(s, 'modern', 'admin', 'files-flow-admin');
  }, 60_000);
  afterAll(async () => {
    await admin?.close();
    await fleet?.end();
    await s?.close();
    await db?.drop();
    layout?.cleanup();
  });

  /** Calls `tool` and returns its structured result and the labels its audit record says it recorded. */
  async function labelsOf(tool: string, args: Record<string, unknown>) {
    const r = await admin.callTool(tool, args);
    expect(r.isError, JSON.stringify(r.content)).toBeFalsy();
    await s.server.runtime.audit.flush();
    const { rows } = await fleet.query<{ labels: string[] | null }>(
      `SELECT details->'flow'->'labels' AS labels FROM audit_records
       WHERE tool = $1 AND outcome <> 'started' ORDER BY ts DESC LIMIT 1`,
      [tool],
    );
    return {
      data: r.structuredContent as Record<string, unknown>,
      labels: [...(rows[0]?.labels ?? [])].sort(),
    };
  }

  it('read_document names the document it returns', async () => {
    const finance = await labelsOf('read_document', { path: 'docs/finance/q3-2026-board-summary.md' });
    expect(finance.labels).toEqual(['f-finance']);
    // Through a link, the document named is the one read (its real path), not the link's folder.
    const linked = await labelsOf('read_document', { path: 'docs/products/board.md' });
    expect(linked.data.content).toContain('Q3 2026 board summary');
    expect(linked.labels).toEqual(['f-finance']);
  });

  it('search_documents names exactly the documents it returned snippets of', async () => {
    const r = await labelsOf('search_documents', { path: 'docs', query: 'EUR' });
    const hits = r.data.hits as { path: string }[];
    expect(hits.length).toBeGreaterThan(1);
    const expected = [...new Set(hits.flatMap((h) => labelOfPath(h.path) ?? []))].sort();
    expect(expected).toContain('f-finance');
    // Search follows no link, so a hit's path is where its content lives.
    expect(hits.map((h) => h.path)).not.toContain('docs/products/board.md');
    expect(r.labels).toEqual(expected);
  });

  it('listings and file information name nothing', async () => {
    expect((await labelsOf('list_folder', { path: 'docs/finance' })).labels).toEqual([]);
    expect(
      (await labelsOf('get_file_info', { path: 'docs/finance/q3-2026-board-summary.md' })).labels,
    ).toEqual([]);
  });
});
