// search_documents over a generated tree of a few thousand documents: it finds every match inside
// the caller's areas, returns within its limits, and says so when a limit stops it.
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BootedServer, TestClient } from '@mcp-fleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccessScope, Areas } from '../src/access/areas.js';
import { Sandbox } from '../src/sandbox/sandbox.js';
import { searchTree } from '../src/search/search-tree.js';
import { bootFiles, call, clientAs, hitsOf, type Layout, makeLayout } from './helpers.js';

const FOLDERS = 30;
const PER_FOLDER = 100;
const NEEDLE = 'Zanzibar quarterly review';
const WORDS =
  'customer invoice renewal churn onboarding pipeline forecast margin contract escalation ticket region quota'.split(
    ' ',
  );

let layout: Layout;
let s: BootedServer;
let limited: BootedServer;
let support: TestClient;
const needleDocs: string[] = [];

function body(seed: number): string {
  const lines: string[] = [`# Account note ${seed}`, ''];
  for (let l = 0; l < 40; l++) {
    lines.push(Array.from({ length: 10 }, (_, w) => WORDS[(seed * 7 + l * 3 + w) % WORDS.length]).join(' '));
  }
  return `${lines.join('\n')}\n`;
}

beforeAll(async () => {
  layout = await makeLayout();
  for (let f = 0; f < FOLDERS; f++) {
    const dir = join(layout.root, 'docs/archive', `team-${String(f).padStart(2, '0')}`);
    mkdirSync(dir, { recursive: true });
    for (let d = 0; d < PER_FOLDER; d++) {
      const seed = f * PER_FOLDER + d;
      let text = body(seed);
      if (seed % 250 === 17) {
        text += `Follow-up: the ${NEEDLE} is due on Friday.\n`;
        needleDocs.push(
          `docs/archive/team-${String(f).padStart(2, '0')}/note-${String(d).padStart(3, '0')}.md`,
        );
      }
      writeFileSync(join(dir, `note-${String(d).padStart(3, '0')}.md`), text);
    }
  }
  // The same phrase where support may not read: it must not be found.
  writeFileSync(join(layout.root, 'hr', 'review.md'), `${NEEDLE} of salaries\n`);
  mkdirSync(join(layout.root, 'reports'), { recursive: true });
  writeFileSync(join(layout.root, 'reports', 'draft.md'), `${NEEDLE} draft\n`);
  s = await bootFiles(layout.root);
  limited = await bootFiles(layout.root, { env: { FILES_SEARCH_MAX_FILES: '100' } });
  support = await clientAs(s, 'modern', 'support');
}, 180_000);
afterAll(async () => {
  await support?.close();
  await s?.close();
  await limited?.close();
  layout?.cleanup();
});

describe(`search over ${FOLDERS * PER_FOLDER} documents`, () => {
  it('finds every match in the readable areas, completely, within the limits', async () => {
    const started = performance.now();
    const r = await call(support, 'search_documents', { query: NEEDLE.toLowerCase(), maxResults: 100 });
    const elapsed = performance.now() - started;
    expect(r.isError, r.text).toBe(false);
    expect(r.data?.complete).toBe(true);
    const hits = hitsOf(r);
    expect(hits.map((h) => h.path).sort()).toEqual([...needleDocs].sort());
    expect(hits.every((h) => h.snippet.includes(NEEDLE) && h.line === 43)).toBe(true);
    expect(r.data?.filesScanned).toBeGreaterThanOrEqual(FOLDERS * PER_FOLDER);
    console.log(
      `[figure] search_documents over ${r.data?.filesScanned} files: ${Math.round(elapsed)} ms round trip, ${r.data?.elapsedMs} ms in the tool`,
    );
  });

  it('a folder and a file-name filter narrow the search', async () => {
    const r = await call(support, 'search_documents', {
      query: NEEDLE,
      path: 'docs/archive/team-02',
      fileGlob: 'note-0*.md',
    });
    expect(r.data?.hits).toEqual(
      needleDocs
        .filter((p) => p.startsWith('docs/archive/team-02/note-0'))
        .map((path) => expect.objectContaining({ path })),
    );
    expect(r.data?.filesScanned).toBe(100);
  });

  it('stops at maxResults and says the answer is incomplete', async () => {
    const r = await call(support, 'search_documents', { query: 'renewal', maxResults: 5 });
    expect(r.data?.hits).toHaveLength(5);
    expect(r.data).toMatchObject({ complete: false, stoppedBecause: 'max_results' });
    expect(r.text).toMatch(/stopped early: max results/);
  });

  it('stops at the configured file limit and says so', async () => {
    const c = await clientAs(limited, 'legacy', 'support');
    const r = await call(c, 'search_documents', { query: NEEDLE });
    expect(r.data).toMatchObject({ complete: false, stoppedBecause: 'max_files' });
    expect(r.data?.filesScanned).toBeLessThanOrEqual(100);
    await c.close();
  });

  it('stops at its deadline and honours cancellation', async () => {
    const sandbox = await Sandbox.open(layout.root);
    const scope = new AccessScope(new Areas(['docs/**']), null);
    const start = async () => ({
      dir: await sandbox.pinDir(join(sandbox.root, 'docs'), 'docs'),
      shown: 'docs',
    });
    const base = {
      query: NEEDLE,
      caseSensitive: false,
      nameFilter: null,
      maxResults: 100,
      maxPerFile: 5,
      contextLines: 1,
      maxFiles: 100_000,
      fileMaxBytes: 1 << 20,
      pdfMaxBytes: 1 << 20,
      pdfMaxPages: 10,
      dirMaxEntries: 10_000,
    };
    // Every folder the walk holds open is closed, also when it stops early or is cancelled.
    const openFds = () => readdirSync('/proc/self/fd').length;
    const fdsBefore = openFds();
    const late = await searchTree(sandbox, scope, await start(), {
      ...base,
      deadline: Date.now() - 1,
      signal: new AbortController().signal,
    });
    expect(late.stoppedBecause).toBe('time_limit');
    expect(late.filesScanned).toBe(0);
    const controller = new AbortController();
    controller.abort(new Error('cancelled by the client'));
    await expect(
      searchTree(sandbox, scope, await start(), {
        ...base,
        deadline: Date.now() + 60_000,
        signal: controller.signal,
      }),
    ).rejects.toThrow('cancelled by the client');
    expect(openFds()).toBe(fdsBefore);
  });
});
