import { defineConfig } from 'vitest/config';

// One run over the whole workspace so the closing summary counts every test.
// The `source` condition resolves workspace packages to their TypeScript
// sources (see each package's `exports`), exactly as `node --conditions=source` does.
//
// Vitest forwards `ssr.resolve.conditions` to the test processes as Node `--conditions`
// flags, which apply to `require` too: 'import' there would make CommonJS code load the
// ESM build of dual packages (express/router's `require('is-promise')` got a namespace).
// So only conditions that mean the same for both: Vite and Node add import/require/default.
const conditions = ['source', 'node', 'development|production'];

const include = ['{packages,apps,tools}/*/src/**/*.test.ts', 'bench/**/*.test.ts'];
const exclude = ['**/node_modules/**', '**/dist/**'];
// Provider verification replays the pact files the consumer tests write
// (apps/consumer/src/pact/*.pact.test.ts), so it runs in a later group of the same run.
const afterConsumerPacts = ['apps/inference-service/src/pact/**/*.test.ts'];

export default defineConfig({
  resolve: { conditions: ['source', 'node', 'import', 'default'] },
  ssr: { resolve: { conditions, externalConditions: ['source'] } },
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    projects: [
      { extends: true, test: { name: 'workspace', include, exclude: [...exclude, ...afterConsumerPacts], sequence: { groupOrder: 0 } } },
      { extends: true, test: { name: 'pact-provider', include: afterConsumerPacts, exclude, sequence: { groupOrder: 1 } } },
    ],
  },
});
