// Compiles each bench target to one JavaScript file (esbuild, workspace packages from source), so the
// servers under test run as plain `node file.mjs` like the production image's `node dist/main.js`,
// with no TypeScript loader in the process.
import { join } from 'node:path';
import { build } from 'esbuild';
import { ROOT } from './processes.js';

/** Where bundles go (`dist/` is git-ignored everywhere). */
export const BUNDLE_DIR = join(ROOT, 'bench/dist');

/** Where a bundle goes and what stays outside it. */
export interface BundleOptions {
  /** Output file relative to the repo root (default `bench/dist/<name>.mjs`). */
  outfile?: string;
  /** Packages loaded from node_modules at run time (e.g. one that reads its own WASM file). */
  external?: string[];
}

/** Bundles `file` (relative to the repo root) and returns the output path. */
export async function bundle(file: string, options: BundleOptions = {}): Promise<string> {
  const name = file.split('/').pop()!.replace(/\.ts$/, '.mjs');
  const outfile = options.outfile ? join(ROOT, options.outfile) : join(BUNDLE_DIR, name);
  await build({
    entryPoints: [join(ROOT, file)],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    conditions: ['mcp-fleet-source'],
    // Some CommonJS dependencies call require(); give the ESM bundle one.
    banner: {
      js: "import { createRequire as __benchRequire } from 'node:module'; const require = __benchRequire(import.meta.url);",
    },
    external: ['pg-native', ...(options.external ?? [])],
    logLevel: 'error',
    legalComments: 'none',
  });
  return outfile;
}
