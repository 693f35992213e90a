// Compiles each bench target to one JavaScript file (esbuild, workspace packages from source), so the
// servers under test run as plain `node file.mjs` like the production image's `node dist/main.js`,
// with no TypeScript loader in the process.
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { ROOT } from './processes.js';

/** Where bundles go (`dist/` is git-ignored everywhere). */
export const BUNDLE_DIR = join(ROOT, 'bench/dist');

/** Where a bundle goes and what stays outside it. */
export interface BundleOptions {
  /** Output file relative to the root (default `bench/dist/<name>.mjs`). */
  outfile?: string;
  /** Packages loaded from node_modules at run time (e.g. one that reads its own WASM file). */
  external?: string[];
  /**
   * The tree to bundle from (default: this repository). Entry, output, tsconfig and every import
   * resolve from there: the baseline section bundles another checkout with the same bundler.
   */
  root?: string;
}

/** Bundles `file` (relative to the root) and returns the output path. */
export async function bundle(file: string, options: BundleOptions = {}): Promise<string> {
  return (await bundleWithInputs(file, options)).outfile;
}

/** As bundle(), and the absolute real paths of every file that went into the bundle. */
export async function bundleWithInputs(
  file: string,
  options: BundleOptions = {},
): Promise<{ outfile: string; inputs: string[] }> {
  const root = options.root ?? ROOT;
  const name = file.split('/').pop()!.replace(/\.ts$/, '.mjs');
  const outfile = join(root, options.outfile ?? join('bench/dist', name));
  const result = await build({
    absWorkingDir: root,
    entryPoints: [join(root, file)],
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
    metafile: true,
  });
  // Metafile paths are relative to absWorkingDir, after esbuild followed symlinks to real paths.
  const inputs = Object.keys(result.metafile.inputs).map((p) => resolve(root, p));
  return { outfile, inputs };
}
