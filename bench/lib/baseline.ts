// The baseline of issue 12's "the governed call is no slower than before the chain": the same governed
// bench server (section 3) built from the code as it was before that work, measured in the same run
// as the current tree. The baseline is a detached git worktree of BASELINE_REF outside the repository
// (so no tsc/biome/vitest run of the current tree ever sees it), installed with its own lockfile, and
// bundled from its own sources; the bundle's input list is checked so that no file of the current tree
// slips in.
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { bundleWithInputs } from './bundle.js';
import { ROOT } from './processes.js';

/**
 * The commit before issue 12 (explicit layering, the governance chain, ...) started: the code the
 * governed call is compared against. Pinned here and only here; BENCH_BASELINE_REF overrides it.
 */
export const DEFAULT_BASELINE_REF = 'ff5ba44';

/** A built baseline: its bundle, and where it came from. */
export interface Baseline {
  ref: string;
  /** Full commit id of the baseline. */
  commit: string;
  /** Its worktree (outside this repository). */
  dir: string;
  /** The bundled fleet server of the baseline tree (inside its worktree). */
  file: string;
  /** How many files of the baseline's workspace packages (packages/*, servers/*) are in the bundle. */
  workspaceInputs: number;
  /** Whether the worktree was made (and installed) by this run, or reused. */
  reused: boolean;
}

export type BaselineResult = { ok: true; baseline: Baseline } | { ok: false; ref: string; reason: string };

const git = (cwd: string, args: string[]) =>
  execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();

/** Marker written after a successful install of the baseline worktree's dependencies. */
const INSTALLED = 'node_modules/.mcp-fleet-bench-installed';

/**
 * Makes (or reuses) the baseline worktree at `ref`, installs it offline-first from the pnpm store
 * with its own lockfile, and bundles its `bench/targets/fleet-server.ts`. Never throws: a baseline
 * that cannot be built comes back with the reason, and the bench skips only its rows.
 */
export async function buildBaseline(
  ref = process.env.BENCH_BASELINE_REF || DEFAULT_BASELINE_REF,
  say: (s: string) => void = () => {},
): Promise<BaselineResult> {
  const fail = (reason: string): BaselineResult => ({ ok: false, ref, reason });
  let commit: string;
  try {
    commit = git(ROOT, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`]);
  } catch (err) {
    return fail(`git cannot resolve ${ref} in ${ROOT} (${firstLine(err)})`);
  }
  const dir = resolve(
    process.env.BENCH_BASELINE_DIR || join(tmpdir(), `mcp-fleet-bench-baseline-${commit.slice(0, 12)}`),
  );
  let reused = false;
  try {
    if (existsSync(dir)) {
      const head = git(dir, ['rev-parse', 'HEAD']);
      if (head !== commit)
        return fail(`${dir} exists at ${head.slice(0, 12)}, not at ${commit.slice(0, 12)}`);
      // Tracked changes or stray files would make it something other than the ref (node_modules and
      // bench/dist are ignored by the ref's own .gitignore).
      const dirty = git(dir, ['status', '--porcelain']);
      if (dirty) return fail(`${dir} (worktree of ${ref}) has local changes:\n${dirty}`);
      reused = existsSync(join(dir, INSTALLED));
    } else {
      say(`   baseline: git worktree add --detach ${dir} ${commit.slice(0, 12)}`);
      // --force: a worktree of the same path registered earlier and since deleted (tmp cleaned) is reused.
      git(ROOT, ['worktree', 'add', '--force', '--detach', dir, commit]);
    }
    if (!reused) {
      say('   baseline: pnpm install --frozen-lockfile --prefer-offline (its own lockfile)');
      execFileSync('npx', ['-y', 'pnpm@10.33.0', 'install', '--frozen-lockfile', '--prefer-offline'], {
        cwd: dir,
        env: { ...process.env, CI: 'true' },
        stdio: ['ignore', 'pipe', 'pipe'],
        encoding: 'utf8',
      });
      writeFileSync(join(dir, INSTALLED), `${commit}\n`);
    }
  } catch (err) {
    return fail(`baseline worktree ${dir}: ${firstLine(err)}`);
  }
  // The current tree's bundler (same esbuild, same options), rooted in the baseline's worktree:
  // `@mcp-fleet/*` resolves through the baseline's node_modules symlinks to the baseline's packages,
  // and esbuild follows symlinks to real paths, which the check below reads back.
  let file: string;
  let inputs: string[];
  try {
    const built = await bundleWithInputs('bench/targets/fleet-server.ts', {
      root: dir,
      outfile: 'bench/dist/fleet-server-baseline.mjs',
    });
    file = built.outfile;
    inputs = built.inputs;
  } catch (err) {
    return fail(`bundling ${ref}'s bench/targets/fleet-server.ts failed: ${firstLine(err)}`);
  }
  const outside = inputs.filter((p) => {
    const rel = relative(dir, p);
    return rel.startsWith('..') || isAbsolute(rel);
  });
  if (outside.length)
    return fail(
      `the baseline bundle read ${outside.length} file(s) outside its worktree, e.g. ${outside.slice(0, 3).join(', ')}`,
    );
  const workspaceInputs = inputs.filter((p) => /^(packages|servers)\//.test(relative(dir, p))).length;
  if (!inputs.some((p) => relative(dir, p).startsWith('packages/core/src/')))
    return fail("the baseline bundle holds no file of the baseline's packages/core/src");
  return { ok: true, baseline: { ref, commit, dir, file, workspaceInputs, reused } };
}

function firstLine(err: unknown): string {
  const e = err as { stderr?: string; message?: string };
  const text = (e.stderr || e.message || String(err)).trim();
  return text.split('\n').slice(0, 4).join(' | ');
}
