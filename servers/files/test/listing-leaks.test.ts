// list_folder tells nothing about what the caller may not read: a hard-linked file (which may be
// another area's) is not listed with that file's size and times, and a page that stops on a name
// the caller cannot see does not carry that name in its cursor.
import { linkSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BootedServer, TestClient } from '@mcp-fleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootFleet, call, clientAs, entriesOf, type FilesFleet } from './helpers.js';

let s: BootedServer;
let fleet: FilesFleet | undefined;
let support: TestClient;

/** More hidden folders before `docs` than one page examines (MAX_EXAMINED_PER_PAGE = 5000). */
const HIDDEN = 5_002;

beforeAll(async () => {
  fleet = await bootFleet('files_listing', {
    seed: ({ root }) => {
      writeFileSync(join(root, 'hr', 'bonus.txt'), 'hr-only bonus figures\n'.repeat(97));
      linkSync(join(root, 'hr', 'bonus.txt'), join(root, 'docs', 'bonus-copy.txt'));
      for (let i = 0; i < HIDDEN; i++) mkdirSync(join(root, `aa-secret-${String(i).padStart(5, '0')}`));
    },
  });
  ({ s } = fleet);
  support = await clientAs(s, 'modern', 'support');
});
afterAll(async () => {
  await fleet?.close(support);
});

describe('list_folder leaks nothing', () => {
  it('a hard-linked file is not listed with the other name’s size and times, and get_file_info refuses it', async () => {
    const r = await call(support, 'list_folder', { path: 'docs', limit: 200 });
    expect(r.isError).toBe(false);
    expect(entriesOf(r).map((e) => e.name)).not.toContain('bonus-copy.txt');
    expect(r.raw).not.toContain(String(97 * 'hr-only bonus figures\n'.length));
    const info = await call(support, 'get_file_info', { path: 'docs/bonus-copy.txt' });
    expect(info.isError).toBe(true);
    expect(info.raw).not.toContain(String(97 * 'hr-only bonus figures\n'.length));
  });

  it('a cursor after a page of names the caller cannot see does not reveal them, and still leads on', async () => {
    const names: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await call(support, 'list_folder', { path: '', limit: 50, ...(cursor ? { cursor } : {}) });
      expect(page.isError).toBe(false);
      names.push(...entriesOf(page).map((e) => e.name));
      cursor = (page.data?.nextCursor as string | null) ?? undefined;
      if (cursor) {
        const decoded = Buffer.from(cursor, 'base64url').toString('latin1');
        expect(decoded).not.toContain('secret');
        expect(cursor).not.toContain('secret');
      }
      pages++;
    } while (cursor && pages < 10);
    expect(pages).toBeGreaterThan(1);
    expect(names).toEqual(['docs']);
  });
});
