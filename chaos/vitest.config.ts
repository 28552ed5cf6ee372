import { defineConfig } from 'vitest/config';

// The chaos helpers' own tests: `npx vitest run --config chaos/vitest.config.ts` from the repo root.
// Kept out of the root config's include globs (the chaos run itself is not a unit test).
const conditions = ['source', 'node', 'development|production'];

export default defineConfig({
  resolve: { conditions: ['source', 'node', 'import', 'default'] },
  ssr: { resolve: { conditions, externalConditions: ['source'] } },
  test: { include: ['chaos/**/*.test.ts'], pool: 'forks', testTimeout: 10_000 },
});
