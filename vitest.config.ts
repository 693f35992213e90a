import { defineConfig } from 'vitest/config';

// One vitest run for the whole workspace; workspace packages resolve to their TypeScript source
// (the "source" export condition), so no build step runs before `pnpm test`.
export default defineConfig({
  ssr: { resolve: { conditions: ['mcp-fleet-source', 'module', 'node', 'development|production'] } },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'servers/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    globalSetup: ['packages/testkit/src/global-setup.ts'],
    pool: 'forks',
  },
});
