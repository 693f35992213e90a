// Test helpers: a sandbox seeded with the sample documents, a sentinel outside it, and the files
// server booted with the example policy the local fleet ships.
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type BootedServer,
  bootServer,
  createTestDatabase,
  examplePolicy as readExamplePolicy,
  type TestClient,
  textOf,
} from '@mcp-fleet/testkit';
import definition from '../src/definition.js';
import { prepareLocal } from '../src/local-setup.js';

/** A string that must never appear in any answer: it lives only outside the sandbox. */
export const SENTINEL = 'SENTINEL-c0ffee-outside-the-sandbox-9f1b';

/** The example policy the local fleet loads: its grants and constraints, without its rate limits. */
export const examplePolicy = readExamplePolicy();

export { clientAs, textOf } from '@mcp-fleet/testkit';

/** A temporary layout: `base/files` (the root), `base/outside` and the lookalike sibling `base/files_secret`. */
export interface Layout {
  base: string;
  root: string;
  outside: string;
  lookalike: string;
  cleanup(): void;
}

/** Creates the layout and seeds the root with the sample documents. */
export async function makeLayout(): Promise<Layout> {
  const base = mkdtempSync(join(tmpdir(), 'files-test-'));
  const outside = join(base, 'outside');
  const lookalike = join(base, 'files_secret');
  mkdirSync(outside);
  mkdirSync(lookalike);
  writeFileSync(join(outside, 'secret.txt'), `${SENTINEL}\nrefund payroll password\n`);
  writeFileSync(join(lookalike, 'secret.txt'), `${SENTINEL} (lookalike sibling)\n`);
  const { FILES_ROOT } = await prepareLocal({ adminUrl: '', fleetDir: base, log: () => {} });
  const root = FILES_ROOT as string;
  // An area no example role may read.
  mkdirSync(join(root, 'hr'));
  writeFileSync(join(root, 'hr', 'salaries.csv'), 'name,salary\nAda,120000\nrefund-hr-marker,1\n');
  return { base, root, outside, lookalike, cleanup: () => rmSync(base, { recursive: true, force: true }) };
}

/** A fingerprint of every name, type and content under `dir` (links are recorded, not followed). */
export function snapshot(dir: string): string {
  const hash = createHash('sha256');
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const st = lstatSync(p);
      hash.update(`${p}|${st.mode}|${st.size}|`);
      if (st.isDirectory()) walk(p);
      else if (st.isFile()) hash.update(readFileSync(p));
    }
  };
  walk(dir);
  return hash.digest('hex');
}

/** Boots the files server on `root` with the example policy (and a fleet DB when given). */
export function bootFiles(
  root: string,
  opts: { databaseUrl?: string; env?: Record<string, string>; policy?: unknown } = {},
): Promise<BootedServer> {
  return bootServer(definition, {
    policy: opts.policy ?? examplePolicy,
    ...(opts.databaseUrl ? { databaseUrl: opts.databaseUrl } : {}),
    env: { FILES_ROOT: root, ...opts.env },
  });
}

/** A seeded layout, a fleet database of its own, and the files server booted on both. */
export interface FilesFleet {
  layout: Layout;
  db: Awaited<ReturnType<typeof createTestDatabase>>;
  s: BootedServer;
  /** Closes `first` (clients, …), then the server, then drops the database and removes the layout. */
  close(...first: ({ close(): Promise<void> } | undefined)[]): Promise<void>;
}

/**
 * Makes a layout, lets `seed` add to it, creates a fleet database named after `dbPrefix` and boots
 * the files server on both. When a step fails, what the earlier steps made is undone.
 */
export async function bootFleet(
  dbPrefix: string,
  opts: { seed?: (layout: Layout) => unknown; env?: Record<string, string> } = {},
): Promise<FilesFleet> {
  const layout = await makeLayout();
  let db: FilesFleet['db'] | undefined;
  try {
    await opts.seed?.(layout);
    db = await createTestDatabase(dbPrefix);
    const s = await bootFiles(layout.root, { databaseUrl: db.url, env: opts.env });
    const fleetDb = db;
    return {
      layout,
      db: fleetDb,
      s,
      close: async (...first) => {
        await Promise.all(first.map((c) => c?.close()));
        await s.close();
        await fleetDb.drop();
        layout.cleanup();
      },
    };
  } catch (err) {
    await db?.drop();
    layout.cleanup();
    throw err;
  }
}

/** Calls a tool; a JSON-RPC error (tool not available) becomes an `isError`-like result so corpus loops stay simple. */
export async function call(
  client: TestClient,
  name: string,
  args: Record<string, unknown>,
): Promise<{ isError: boolean; text: string; data: Record<string, unknown> | undefined; raw: string }> {
  try {
    const r = await client.callTool(name, args);
    return {
      isError: Boolean(r.isError),
      text: textOf(r),
      data: r.structuredContent,
      raw: JSON.stringify(r),
    };
  } catch (err) {
    const message = (err as Error).message;
    return { isError: true, text: message, data: undefined, raw: message };
  }
}

/** The entries of a list_folder result ([] when it failed). */
export function entriesOf(r: {
  data: Record<string, unknown> | undefined;
}): { name: string; path: string; type: string; kind?: string; link?: boolean }[] {
  return (r.data?.entries ?? []) as {
    name: string;
    path: string;
    type: string;
    kind?: string;
    link?: boolean;
  }[];
}

/** The hits of a search_documents result ([] when it failed). */
export function hitsOf(r: {
  data: Record<string, unknown> | undefined;
}): { path: string; line: number; page?: number; snippet: string }[] {
  return (r.data?.hits ?? []) as { path: string; line: number; page?: number; snippet: string }[];
}
