#!/usr/bin/env node
// CLI: node --conditions=source tools/monitoring-gen/src/main.ts [--out DIR] [--check]
// Writes the alert rules and the Grafana dashboard from the contract's x-llm-agreement;
// --check writes nothing and exits 1 when the files on disk differ.
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { agreement } from '@llmgw/contract';
import { DEFAULT_OUT_DIR, renderMonitoring, staleFiles, writeMonitoring } from './generate.ts';

const WORKSPACE_ROOT = resolve(import.meta.dirname, '../../..');

const { values } = parseArgs({
  options: {
    out: { type: 'string', default: resolve(WORKSPACE_ROOT, DEFAULT_OUT_DIR) },
    check: { type: 'boolean', default: false },
  },
});
const outDir = resolve(values.out);
try {
  const files = renderMonitoring(agreement);
  if (values.check) {
    const stale = staleFiles(outDir, files);
    if (stale.length > 0) {
      console.error(`monitoring-gen: out of date in ${outDir}: ${stale.join(', ')} (run npm run generate)`);
      process.exit(1);
    }
    console.log(`monitoring-gen: ${files.size} file(s) up to date`);
  } else {
    writeMonitoring(outDir, files);
    console.log(`monitoring-gen: wrote ${[...files.keys()].join(', ')} to ${outDir}`);
  }
} catch (error) {
  console.error(error instanceof Error && error.name !== 'Error' ? error.message : error);
  process.exit(1);
}
