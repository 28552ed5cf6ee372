#!/usr/bin/env node
// Builds the production entry point: apps/inference-service/dist/main.mjs, the
// service and the workspace packages as ES modules, with most third-party
// dependencies inlined. It still runs from the repository (or a copy with its
// node_modules): ajv's runtime helpers, swagger-ui-dist's files, ioredis and
// BullMQ are resolved from node_modules when used.
//
// Why a bundle rather than running the TypeScript sources (as `npm run dev` does):
// Node's type stripping keeps its compiler resident (about 17 MB per process),
// and a few modules load faster than several hundred. esbuild only strips types
// here; `npm run typecheck` is what checks them.
//
// Code splitting keeps what is imported lazily in its own chunk: the Redis stores
// (`import()` in src/stores/index.ts, which pulls ioredis and BullMQ) load only
// with REDIS_URL.
//
// Every file is written under a temporary name and renamed into place, main.mjs
// last, so a process starting meanwhile loads either the old build or the new
// one, never a half-written file. Chunk names carry a content hash; chunks of
// earlier builds are removed.
//
// Usage: node apps/inference-service/scripts/bundle.ts [--outdir path]
import { build } from 'esbuild';
import { mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const APP = fileURLToPath(new URL('..', import.meta.url));
const CHUNKS = 'chunks';

/** The Node major the bundle targets (package.json `engines`). */
const NODE_MAJOR = 24;
/** Stops the process with a clear message on an older Node (production-start.test.ts runs it). */
const NODE_VERSION_GUARD = `if (Number(process.versions.node.split('.')[0]) < ${NODE_MAJOR}) { process.stderr.write('inference-service: Node.js ${NODE_MAJOR} or newer is required, this is ' + process.version + '. npm start and npm run serve use the node of the node@${NODE_MAJOR} dev dependency (node_modules/.bin); install it, or put Node ${NODE_MAJOR} first on PATH.\\n'); process.exit(1); }`;

/** Left to node_modules: only the Redis stores use them, and they are loaded with REDIS_URL. */
const EXTERNAL = ['ioredis', 'bullmq'];

const { values } = parseArgs({ options: { outdir: { type: 'string', default: join(APP, 'dist') } } });
// Absolute: esbuild reports absolute output paths, and the stale-chunk sweep below compares with them
// (a relative --outdir had it delete the chunks it had just written).
const outdir = resolve(values.outdir);

const result = await build({
  entryPoints: { main: join(APP, 'src/main.ts') },
  outdir,
  outExtension: { '.js': '.mjs' },
  chunkNames: `${CHUNKS}/[name]-[hash]`,
  bundle: true,
  splitting: true,
  platform: 'node',
  format: 'esm',
  target: `node${NODE_MAJOR}`,
  // Workspace packages resolve to their TypeScript sources, as with --conditions=source.
  conditions: ['source'],
  external: EXTERNAL,
  // CommonJS dependencies (pino, prom-client...) call require() for Node built-ins; then the
  // Node version, checked before any bundled code runs (on Node 20, undici fails at load with
  // "Cannot read properties of undefined (reading 'bind')", which says nothing useful).
  banner: { js: `import { createRequire as __bundleRequire } from 'node:module'; const require = __bundleRequire(import.meta.url);\n${NODE_VERSION_GUARD}` },
  sourcemap: 'linked',
  legalComments: 'linked',
  // The bundle's text stays in the heap as a string for the life of the process: without
  // comments and indentation, and in ASCII only (one byte per character: one non-ASCII
  // character anywhere makes V8 store all of it at two), it is 2.5 MB instead of 7.1 MB
  // (RSS at start 92 MB instead of 97.5). Names are kept, so stack traces still name the
  // functions; `npm run dev` runs the sources.
  minifyWhitespace: true,
  charset: 'ascii',
  logLevel: 'warning',
  write: false,
});

const entry = join(outdir, 'main.mjs');
const files = [...result.outputFiles].sort((a, b) => Number(a.path.startsWith(entry)) - Number(b.path.startsWith(entry)));
const written = new Set<string>();
let bytes = 0;
for (const file of files) {
  mkdirSync(dirname(file.path), { recursive: true });
  const temporary = `${file.path}.${process.pid}.tmp`;
  writeFileSync(temporary, file.contents);
  renameSync(temporary, file.path);
  written.add(file.path);
  bytes += file.contents.byteLength;
}
for (const name of readdirSync(join(outdir, CHUNKS))) {
  const path = join(outdir, CHUNKS, name);
  if (!written.has(path) && !name.endsWith('.tmp')) rmSync(path, { force: true });
}
process.stdout.write(`bundled ${relative(process.cwd(), entry) || entry}: ${files.length} files, ${(bytes / 1e6).toFixed(1)} MB with source maps\n`);
