// A list_folder cursor is sealed under FILES_CURSOR_KEY: replicas that share the key continue each
// other's pages (the fleet is stateless, any replica answers any request); a replica with another key
// refuses the cursor instead of guessing where to resume.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { BootedServer, TestClient } from '@mcp-fleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootFiles, call, clientAs, entriesOf, type Layout, makeLayout } from './helpers.js';

const SHARED = { FILES_CURSOR_KEY: 'a-shared-cursor-key-for-every-replica-0123456789' };
let layout: Layout;
let a: BootedServer;
let b: BootedServer;
let other: BootedServer;
const clients: TestClient[] = [];

beforeAll(async () => {
  layout = await makeLayout();
  for (let i = 0; i < 6; i++) mkdirSync(join(layout.root, 'docs', `page-${i}`));
  a = await bootFiles(layout.root, { env: SHARED });
  b = await bootFiles(layout.root, { env: SHARED });
  other = await bootFiles(layout.root, {
    env: { FILES_CURSOR_KEY: 'another-key-of-another-deployment-9876543210' },
  });
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all([a?.close(), b?.close(), other?.close()]);
  layout?.cleanup();
});

async function analyst(s: BootedServer): Promise<TestClient> {
  const c = await clientAs(s, 'modern', 'analyst');
  clients.push(c);
  return c;
}

describe('list_folder cursors across replicas', () => {
  it('a page from one replica continues on another with the same key, and the pages join up', async () => {
    const whole = await call(await analyst(a), 'list_folder', { path: 'docs', limit: 200 });
    const expected = entriesOf(whole).map((e) => e.name);
    expect(expected.length).toBeGreaterThan(4);

    const replicas = [await analyst(a), await analyst(b)];
    const names: string[] = [];
    let cursor: string | undefined;
    let turn = 0;
    do {
      const page = await call(replicas[turn++ % 2]!, 'list_folder', {
        path: 'docs',
        limit: 2,
        ...(cursor ? { cursor } : {}),
      });
      expect(page.isError).toBe(false);
      names.push(...entriesOf(page).map((e) => e.name));
      cursor = (page.data?.nextCursor as string | null) ?? undefined;
    } while (cursor && turn < 20);
    expect(turn).toBeGreaterThan(2);
    expect(names).toEqual(expected);
  });

  it('a replica with another key refuses the cursor with advice', async () => {
    const first = await call(await analyst(a), 'list_folder', { path: 'docs', limit: 2 });
    const cursor = first.data?.nextCursor as string;
    expect(typeof cursor).toBe('string');
    const refused = await call(await analyst(other), 'list_folder', { path: 'docs', limit: 2, cursor });
    expect(refused.isError).toBe(true);
    expect(refused.raw).toContain('call list_folder without a cursor');
  });
});
