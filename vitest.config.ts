import { defineConfig } from 'vitest/config';

// One run over the whole workspace so the closing summary counts every test.
// The `source` condition resolves workspace packages to their TypeScript
// sources (see each package's `exports`), exactly as `node --conditions=source` does.
export default defineConfig({
  resolve: { conditions: ['source', 'node', 'import', 'default'] },
  ssr: { resolve: { conditions: ['source', 'node', 'import', 'default'], externalConditions: ['source'] } },
  test: {
    include: ['{packages,apps,tools}/*/src/**/*.test.ts', 'bench/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
