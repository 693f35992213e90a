// The examples of docs/writing-a-server.md compile: every ```ts block is written to a scratch server
// package (a block whose fence says `file=<path>` at that path, so blocks can import each other;
// any other block on its own) and type-checked by tsc against core's real types.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../../packages/cli/src/layout.js';

const DOC = join(ROOT, 'docs/writing-a-server.md');

/** The ```ts blocks of a Markdown text, with the `file=` their fence names (if any). */
function tsBlocks(markdown: string): { file: string | undefined; code: string }[] {
  const out: { file: string | undefined; code: string }[] = [];
  const fence = /^```ts\b([^\n]*)\n([\s\S]*?)^```\s*$/gm;
  for (const m of markdown.matchAll(fence)) {
    out.push({ file: /\bfile=(\S+)/.exec(m[1] ?? '')?.[1], code: m[2] ?? '' });
  }
  return out;
}

/** Type-checks the blocks in a scratch package inside the repo; returns tsc's errors in them. */
function typeCheckBlocks(blocks: { file: string | undefined; code: string }[], dir: string): string[] {
  blocks.forEach((b, i) => {
    const path = join(dir, b.file ?? `block-${i + 1}.ts`);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, b.code);
  });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module', private: true }));
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      extends: relative(dir, join(ROOT, 'tsconfig.base.json')),
      compilerOptions: {
        noEmit: true,
        customConditions: ['mcp-fleet-source'],
        allowImportingTsExtensions: true,
      },
      include: ['**/*.ts'],
    }),
  );
  let output = '';
  try {
    execFileSync(
      process.execPath,
      [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', dir, '--pretty', 'false'],
      {
        cwd: ROOT,
        encoding: 'utf8',
      },
    );
  } catch (err) {
    output = String((err as { stdout?: string }).stdout ?? err);
  }
  // Only the examples' own errors: core's sources are checked by the repository's typecheck.
  const mine = relative(ROOT, dir);
  return output
    .split('\n')
    .filter((l) => l.startsWith(mine) || l.startsWith(dir))
    .map((l) => l.replace(`${mine}/`, ''));
}

const scratch: string[] = [];
afterAll(() => {
  for (const d of scratch) rmSync(d, { recursive: true, force: true });
});
// Inside the repository, so the examples resolve @mcp-fleet/core and zod like a server package does;
// under node_modules/.cache, so neither the repository's typecheck nor vitest ever picks a leftover up.
const scratchDir = () => {
  const cache = join(ROOT, 'node_modules/.cache');
  mkdirSync(cache, { recursive: true });
  const d = mkdtempSync(join(cache, 'doc-examples-'));
  scratch.push(d);
  return d;
};

describe('docs/writing-a-server.md', () => {
  const blocks = tsBlocks(readFileSync(DOC, 'utf8'));

  it('has TypeScript examples, each naming the file it belongs in', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(4);
    expect(blocks.filter((b) => !b.file)).toEqual([]);
  });

  it('every example compiles against core with no annotations on ctx', () => {
    expect(typeCheckBlocks(blocks, scratchDir())).toEqual([]);
    // No example annotates ctx by hand: toolsFor types it.
    for (const b of blocks) expect(b.code).not.toMatch(/ctx:\s*[A-Z]/);
  }, 120_000);

  it('would catch an example that does not compile (the old describe_table example)', () => {
    const old = [
      "import { defineTool } from '@mcp-fleet/core';",
      "import { z } from 'zod';",
      'export const describeTable = defineTool({',
      "  name: 'describe_table', title: 'Describe a table',",
      "  description: 'Columns, types, keys and indexes of one table. Call list_tables first.',",
      '  input: z.object({ schema: z.string(), table: z.string() }),',
      '  governance: { readOnly: true },',
      '  handler: async (args, ctx) => ({ data: await ctx.connectors.warehouse.describe(args, ctx.signal) }),',
      '});',
    ].join('\n');
    const errors = typeCheckBlocks([{ file: 'src/old.ts', code: old }], scratchDir());
    expect(errors.join('\n')).toMatch(/src\/old\.ts.*TS18046: 'ctx\.connectors' is of type 'unknown'/);
  }, 120_000);
});
