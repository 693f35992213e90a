// write_report is all-or-nothing and never overwrites by surprise: a write that fails midway leaves
// no file; concurrent writes to one new name give one file and one clear refusal each for the rest.
import {
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BootedServer, createTestDatabase, type TestClient } from '@mcp-fleet/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeAtomic } from '../src/sandbox/safe-write.js';
import { bootFiles, call, clientAs, entriesOf, type Layout, makeLayout } from './helpers.js';

let layout: Layout;
let s: BootedServer;
let db: Awaited<ReturnType<typeof createTestDatabase>>;
let analyst: TestClient;
let admin: TestClient;

/** Every name in a folder, hidden ones (temp files) included. */
const allNames = (dir: string) => readdirSync(dir).sort();

beforeAll(async () => {
  layout = await makeLayout();
  db = await createTestDatabase('files_write');
  s = await bootFiles(layout.root, { databaseUrl: db.url, env: { FILES_WRITE_MAX_BYTES: '4096' } });
  analyst = await clientAs(s, 'modern', 'analyst');
  admin = await clientAs(s, 'legacy', 'admin');
});
afterAll(async () => {
  await Promise.all([analyst?.close(), admin?.close()]);
  await s?.close();
  await db?.drop();
  layout?.cleanup();
});

describe('concurrent writes to one new name', () => {
  it.each([2, 8])(
    '%i writers: one file, every other writer refused clearly, no temp files left',
    async (n) => {
      const path = `reports/race-${n}.md`;
      const clients = await Promise.all(
        Array.from({ length: n }, (_, i) =>
          clientAs(s, i % 2 ? 'legacy' : 'modern', 'analyst', `racer-${i}`),
        ),
      );
      const results = await Promise.all(
        clients.map((c, i) => call(c, 'write_report', { path, content: `# writer ${i}\n` })),
      );
      await Promise.all(clients.map((c) => c.close()));
      const winners = results.filter((r) => !r.isError);
      const losers = results.filter((r) => r.isError);
      expect(winners).toHaveLength(1);
      expect(losers).toHaveLength(n - 1);
      for (const l of losers) expect(l.text).toMatch(/already exists and was not changed/);
      const winner = results.indexOf(winners[0] as (typeof results)[number]);
      expect(readFileSync(join(layout.root, path), 'utf8')).toBe(`# writer ${winner}\n`);
      expect(allNames(join(layout.root, 'reports')).filter((name) => name.startsWith('.'))).toEqual([]);
    },
  );
});

describe('failed writes leave nothing behind', () => {
  it('a write whose content source fails midway leaves neither the report nor a temp file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'files-atomic-'));
    try {
      async function* failing() {
        yield Buffer.alloc(300_000, 'a');
        throw new Error('source failed midway');
      }
      await expect(
        writeAtomic(dir, 'half.md', failing(), { overwrite: false, signal: new AbortController().signal }),
      ).rejects.toThrow('source failed midway');
      expect(allNames(dir)).toEqual([]);
      const controller = new AbortController();
      async function* cancelled() {
        yield Buffer.alloc(300_000, 'b');
        controller.abort(new Error('client went away'));
        yield Buffer.alloc(300_000, 'c');
      }
      await expect(
        writeAtomic(dir, 'cancelled.md', cancelled(), { overwrite: false, signal: controller.signal }),
      ).rejects.toThrow('client went away');
      expect(allNames(dir)).toEqual([]);
      // The same write with a healthy source lands whole.
      await writeAtomic(dir, 'whole.md', [Buffer.from('complete\n')], {
        overwrite: false,
        signal: new AbortController().signal,
      });
      expect(allNames(dir)).toEqual(['whole.md']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a replace that fails at the last step keeps the old content and leaves no temp file', async () => {
    mkdirSync(join(layout.root, 'reports/a-folder.md'));
    const r = await call(admin, 'write_report', {
      path: 'reports/a-folder.md',
      content: 'x',
      overwrite: true,
    });
    expect(r.isError).toBe(true);
    expect(r.text).toMatch(/is a folder/);
    expect(allNames(join(layout.root, 'reports')).filter((n) => n.startsWith('.'))).toEqual([]);
  });

  it('oversized, malformed or disallowed reports are refused before anything is written', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ path: 'reports/big.md', content: 'x'.repeat(5000) }, /the limit is 4096/],
      [{ path: 'reports/bad.json', content: '{"unterminated": ' }, /must be valid JSON/],
      [{ path: 'reports/tool.sh', content: 'rm -rf /' }, /must end in one of/],
      [{ path: 'reports/noext', content: 'x' }, /must end in one of/],
      [{ path: 'reports/.hidden.md', content: 'x' }, /may not start with a dot/],
    ];
    for (const [args, message] of cases) {
      const r = await call(analyst, 'write_report', args);
      expect(r.isError, JSON.stringify(args).slice(0, 80)).toBe(true);
      expect(r.text).toMatch(message);
      expect(existsSync(join(layout.root, args.path as string))).toBe(false);
    }
  });
});

describe('a report containing NUL', () => {
  it('is refused as invalid arguments (core refuses NUL in any tool argument), and the refusal is in the audit trail', async () => {
    const r = await call(analyst, 'write_report', { path: 'reports/nul.md', content: 'a\u0000b' });
    expect(r.isError).toBe(true);
    // Core's refusal, not the audit store failing: core stores NUL spelled out in the record.
    expect(r.text).toMatch(/Invalid arguments for write_report: .*NUL character/);
    expect(existsSync(join(layout.root, 'reports/nul.md'))).toBe(false);
    const audit = new pg.Client({ connectionString: db.url });
    await audit.connect();
    try {
      let rows: { outcome: string; content: string }[] = [];
      // Records reach PostgreSQL in batches; wait for the call's final outcome.
      for (let i = 0; i < 50; i++) {
        ({ rows } = await audit.query<{ outcome: string; content: string }>(
          `SELECT outcome, arguments->>'content' AS content FROM audit_records
            WHERE tool = 'write_report' AND arguments->>'path' = 'reports/nul.md'`,
        ));
        if (rows.length > 0 && rows.every((row) => row.outcome !== 'started')) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(rows).toEqual([{ outcome: 'invalid', content: 'a\\u0000b' }]);
    } finally {
      await audit.end();
    }
  });
});

describe('what a successful write does', () => {
  it('creates missing folders inside the writable area and reports size and checksum', async () => {
    const content = 'region,revenue\nEMEA,100\n';
    const r = await call(analyst, 'write_report', { path: 'reports/2026/q4/revenue.csv', content });
    expect(r.isError, r.text).toBe(false);
    expect(r.data).toMatchObject({
      path: 'reports/2026/q4/revenue.csv',
      size: content.length,
      created: true,
    });
    expect(r.data?.sha256).toMatch(/^[0-9a-f]{64}$/);
    // The temporary name the write went through is gone: the report has one name, so the
    // hard-link refusal of reads does not apply to it, and it reads back.
    expect(statSync(join(layout.root, 'reports/2026/q4/revenue.csv')).nlink).toBe(1);
    const back = await call(analyst, 'read_document', { path: 'reports/2026/q4/revenue.csv' });
    expect(back.data?.content).toBe(content);
  });

  it('a repeat with the same idempotency key returns the first result instead of refusing', async () => {
    const args = { path: 'reports/idempotent.md', content: 'once\n', idempotency_key: 'report-7f2c9a' };
    const first = await call(analyst, 'write_report', args);
    expect(first.isError, first.text).toBe(false);
    const again = await call(analyst, 'write_report', args);
    expect(again.isError, again.text).toBe(false);
    expect(again.data).toEqual(first.data);
    const other = await call(analyst, 'write_report', { ...args, idempotency_key: 'report-other' });
    expect(other.text).toMatch(/already exists/);
  });

  it('an edit is seen by the next read (the cache is keyed on the file, not only the arguments)', async () => {
    const path = 'reports/living.md';
    expect((await call(admin, 'write_report', { path, content: 'version one\n' })).isError).toBe(false);
    expect((await call(admin, 'read_document', { path })).data?.content).toBe('version one\n');
    expect(
      (await call(admin, 'write_report', { path, content: 'version two\n', overwrite: true })).isError,
    ).toBe(false);
    expect((await call(admin, 'read_document', { path })).data?.content).toBe('version two\n');
    expect(statSync(join(layout.root, path)).nlink).toBe(1);
    const listed = await call(admin, 'list_folder', { path: 'reports' });
    expect(entriesOf(listed).map((e) => e.name)).toContain('living.md');
  });

  it('replacing a report that is hard-linked to a file of hr/ leaves the hr/ file as it was', async () => {
    // Someone with access to the volume linked an hr/ file into reports/ (S3). A write in place
    // would change hr/'s file through it; write_report replaces the name, never the file.
    writeFileSync(join(layout.root, 'hr/plan.md'), 'hr plan: confidential\n');
    linkSync(join(layout.root, 'hr/plan.md'), join(layout.root, 'reports/plan.md'));
    const read = await call(admin, 'read_document', { path: 'reports/plan.md' });
    expect(read.text).toMatch(/is a hard link/);
    const r = await call(admin, 'write_report', {
      path: 'reports/plan.md',
      content: 'new plan\n',
      overwrite: true,
    });
    expect(r.isError, r.text).toBe(false);
    expect(readFileSync(join(layout.root, 'hr/plan.md'), 'utf8')).toBe('hr plan: confidential\n');
    expect(statSync(join(layout.root, 'hr/plan.md')).nlink).toBe(1);
    expect(statSync(join(layout.root, 'reports/plan.md')).nlink).toBe(1);
    expect((await call(admin, 'read_document', { path: 'reports/plan.md' })).data?.content).toBe(
      'new plan\n',
    );
  });

  it('an edit made outside the fleet is seen by the next read and listing, within the cache TTL', async () => {
    const file = join(layout.root, 'docs/release-notes.txt');
    const first = await call(analyst, 'read_document', { path: 'docs/release-notes.txt' });
    expect(first.data?.content).toContain('2026.11');
    writeFileSync(file, 'Release notes\n\n2026.12 - edited by a human\n');
    const second = await call(analyst, 'read_document', { path: 'docs/release-notes.txt' });
    expect(second.data?.content).toContain('2026.12 - edited by a human');
    expect(second.data?.version).not.toBe(first.data?.version);
    const before = entriesOf(await call(analyst, 'list_folder', { path: 'docs' })).map((e) => e.name);
    writeFileSync(join(layout.root, 'docs/new-policy.md'), '# New\n');
    const after = entriesOf(await call(analyst, 'list_folder', { path: 'docs' })).map((e) => e.name);
    expect(before).not.toContain('new-policy.md');
    expect(after).toContain('new-policy.md');
  });
});

describe('without a durable audit store', () => {
  it('write_report is refused and writes nothing', async () => {
    const bare = await bootFiles(layout.root);
    try {
      const c = await clientAs(bare, 'modern', 'analyst');
      const r = await call(c, 'write_report', { path: 'reports/unaudited.md', content: 'x' });
      expect(r.isError).toBe(true);
      expect(existsSync(join(layout.root, 'reports/unaudited.md'))).toBe(false);
      await c.close();
    } finally {
      await bare.close();
    }
  });
});
