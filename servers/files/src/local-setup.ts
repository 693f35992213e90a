// Local set-up for `pnpm start`: seeds `${fleetDir}/files` with sample documents (once: files that
// already exist are left alone, so local edits survive restarts) and points FILES_ROOT at it, unless
// FILES_ROOT is set: then that folder passes through untouched and nothing is seeded.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { LocalSetupContext } from '@mcp-fleet/core';
import { sampleDocuments } from './samples/sample-documents.js';

/** Seeds the sample tree idempotently and returns the files server's extra environment. */
export async function prepareLocal(
  ctx: LocalSetupContext,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Record<string, string>> {
  const own = (env.FILES_ROOT ?? '').trim();
  if (own) {
    ctx.log(`documents from your environment (not seeded): FILES_ROOT ${resolve(own)}`);
    return {};
  }
  const root = resolve(ctx.fleetDir, 'files');
  await mkdir(join(root, 'docs'), { recursive: true });
  await mkdir(join(root, 'reports'), { recursive: true });
  let created = 0;
  for (const [rel, content] of Object.entries(sampleDocuments())) {
    const abs = join(root, rel);
    await mkdir(dirname(abs), { recursive: true });
    try {
      await writeFile(abs, content, { flag: 'wx', mode: 0o644 });
      created++;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  ctx.log(created > 0 ? `seeded ${created} sample documents in ${root}` : `documents in ${root}`);
  return { FILES_ROOT: root };
}
