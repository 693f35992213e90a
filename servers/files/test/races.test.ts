// Folder/symlink swap races (renameat2 RENAME_EXCHANGE in a tight loop, as the adversarial tester
// did): whatever the interleaving, no tool reads, lists, searches, opens or writes anything outside
// the caller's areas or outside the root. Each test runs a bounded number of attempts while the
// swapper runs and requires zero leaks; the code before the fix leaked in every one of them.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BootedServer, TestClient } from '@mcp-fleet/testkit';
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
import { startSwapper } from './race-helper.js';

const HR_MARKER = 'payroll-hr-only-7c41';
const ATTEMPTS = 40;

let layout: Layout;
let s: BootedServer;
let fleet: FilesFleet | undefined;
let support: TestClient;
let analyst: TestClient;

const r = (p: string) => join(layout.root, p);

beforeAll(async () => {
  fleet = await bootFleet('files_races', { seed: seedSwapPairs });
  ({ s } = fleet);
  support = await clientAs(s, 'modern', 'support');
  analyst = await clientAs(s, 'modern', 'analyst');
});
afterAll(async () => {
  await fleet?.close(support, analyst);
});

function seedSwapPairs(seeded: Layout): void {
  layout = seeded;
  writeFileSync(r('hr/payroll.txt'), `${HR_MARKER}: Ada 120000\n`);
  // The swapped pair for reads: a real folder in docs/ with decoys of the same names, and a link
  // to hr/ (which support may not read). Exchanging them makes `docs/x` lead into hr/.
  mkdirSync(r('docs/x'));
  writeFileSync(r('docs/x/payroll.txt'), 'decoy payroll\n');
  symlinkSync('../hr', r('docs/y'));
  // The pair for writes: a real report folder and a link to a folder outside the root.
  mkdirSync(r('reports/sub'));
  mkdirSync(join(layout.outside, 'wout'));
  symlinkSync(join(layout.outside, 'wout'), r('reports/evil'));
  // The pair for special files: a folder whose `f.txt` is regular, and one outside whose `f.txt` is a FIFO.
  mkdirSync(r('docs/fx'));
  writeFileSync(r('docs/fx/f.txt'), 'regular\n');
  mkdirSync(join(layout.outside, 'fifo'));
  execFileSync('mkfifo', [join(layout.outside, 'fifo', 'f.txt')]);
  symlinkSync(join(layout.outside, 'fifo'), r('docs/fy'));
}

/** Runs `attempt` ATTEMPTS times while `a` and `b` are being exchanged. */
async function underSwap(
  a: string,
  b: string,
  attempt: (i: number) => Promise<void>,
  attempts = ATTEMPTS,
): Promise<void> {
  const swapper = await startSwapper(a, b);
  try {
    for (let i = 0; i < attempts; i++) await attempt(i);
  } finally {
    await swapper.stop();
  }
}

describe('folder/symlink swap races', () => {
  it('write_report never writes outside the root through a swapped parent folder', async () => {
    const outcomes: string[] = [];
    await underSwap(r('reports/sub'), r('reports/evil'), async (i) => {
      const res = await call(analyst, 'write_report', { path: `reports/sub/r-${i}.md`, content: `# ${i}\n` });
      outcomes.push(res.isError ? res.text : 'saved');
    });
    expect(readdirSync(join(layout.outside, 'wout'))).toEqual([]);
    // Whatever was saved is where it was asked to be.
    const saved = outcomes.filter((o) => o === 'saved').length;
    expect(readdirSync(r('reports/sub')).filter((n) => !n.startsWith('.'))).toHaveLength(saved);
  });

  it('search_documents never returns text of another area through a swapped folder', async () => {
    const leaks: string[] = [];
    await underSwap(
      r('docs/x'),
      r('docs/y'),
      async () => {
        const res = await call(support, 'search_documents', { path: 'docs', query: 'payroll' });
        if (res.raw.includes(HR_MARKER) || res.raw.includes('refund-hr-marker')) leaks.push(res.raw);
        for (const h of hitsOf(res)) expect(h.snippet).not.toContain(HR_MARKER);
      },
      120,
    );
    expect(leaks).toEqual([]);
  });

  it('read_document never returns a file of another area through a swapped folder', async () => {
    const leaks: string[] = [];
    await underSwap(r('docs/x'), r('docs/y'), async () => {
      const res = await call(support, 'read_document', { path: 'docs/x/payroll.txt' });
      if (res.raw.includes(HR_MARKER)) leaks.push(res.raw);
    });
    expect(leaks).toEqual([]);
  });

  it('list_folder never lists a folder of another area through a swapped folder', async () => {
    const leaks: string[] = [];
    await underSwap(
      r('docs/x'),
      r('docs/y'),
      async () => {
        const res = await call(support, 'list_folder', { path: 'docs/x' });
        const names = entriesOf(res).map((e) => e.name);
        if (names.includes('salaries.csv') || names.includes('reviews.txt')) leaks.push(names.join(','));
      },
      120,
    );
    expect(leaks).toEqual([]);
  });

  it('no tool opens a FIFO outside the root that a swapped folder leads to', async () => {
    // A writer blocked on the FIFO outside: it is released only if someone opens the FIFO to read.
    const writer: ChildProcess = spawn('sh', [
      '-c',
      `: > '${join(layout.outside, 'fifo', 'f.txt')}'; echo unblocked`,
    ]);
    let out = '';
    writer.stdout?.on('data', (d) => {
      out += String(d);
    });
    try {
      await underSwap(r('docs/fx'), r('docs/fy'), async (i) => {
        const tool = ['read_document', 'get_file_info', 'search_documents'][i % 3] as string;
        const args =
          tool === 'search_documents' ? { path: 'docs', query: 'regular' } : { path: 'docs/fx/f.txt' };
        const res = await call(admin(), tool, args);
        expect(res.raw).not.toContain(SENTINEL);
      });
    } finally {
      writer.kill('SIGKILL');
    }
    expect(out).not.toContain('unblocked');
  });
});

let adminClient: TestClient | undefined;
function admin(): TestClient {
  if (!adminClient) throw new Error('admin client not connected');
  return adminClient;
}
beforeAll(async () => {
  adminClient = await clientAs(s, 'modern', 'admin');
});
afterAll(async () => {
  await adminClient?.close();
});
