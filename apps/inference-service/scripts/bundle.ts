#!/usr/bin/env node
// Builds the production entry point: apps/inference-service/dist/main.mjs, one
// ES module holding the service, the workspace packages and their dependencies.
//
// Why a bundle rather than running the TypeScript sources (as `npm run dev` does):
// Node's type stripping keeps its compiler resident (about 17 MB per process),
// and one module loads faster than several hundred. esbuild only strips types
// here; `npm run typecheck` is what checks them.
//
// Usage: node apps/inference-service/scripts/bundle.ts [--outfile path]
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const APP = fileURLToPath(new URL('..', import.meta.url));

/**
 * Left out of the bundle and loaded from node_modules when used: the Redis
 * stores are imported only with REDIS_URL, so a process without Redis never
 * reads them.
 */
const EXTERNAL = ['ioredis', 'bullmq'];

const { values } = parseArgs({ options: { outfile: { type: 'string', default: `${APP}dist/main.mjs` } } });

const result = await build({
  entryPoints: [`${APP}src/main.ts`],
  outfile: values.outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node24',
  // Workspace packages resolve to their TypeScript sources, as with --conditions=source.
  conditions: ['source'],
  external: EXTERNAL,
  // CommonJS dependencies (pino, prom-client...) call require() for Node built-ins.
  banner: { js: "import { createRequire as __bundleRequire } from 'node:module'; const require = __bundleRequire(import.meta.url);" },
  sourcemap: 'linked',
  legalComments: 'linked',
  logLevel: 'warning',
  metafile: true,
});
const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
process.stdout.write(`bundled ${values.outfile} (${(bytes / 1e6).toFixed(1)} MB with its source map)\n`);
