#!/usr/bin/env node
// CLI: node --conditions=source tools/codegen/src/main.ts [--target contract|server]... [--root DIR]
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ContractError } from './agreement.ts';
import { generateWorkspace, TARGETS, type Target } from './generate.ts';

const WORKSPACE_ROOT = resolve(import.meta.dirname, '../../..');

const { values } = parseArgs({
  options: {
    target: { type: 'string', multiple: true },
    root: { type: 'string', default: WORKSPACE_ROOT },
  },
});
const targets = (values.target ?? Object.keys(TARGETS)) as Target[];
for (const target of targets) {
  if (!(target in TARGETS)) {
    console.error(`codegen: unknown --target ${target} (known: ${Object.keys(TARGETS).join(', ')})`);
    process.exit(2);
  }
}
try {
  const files = await generateWorkspace(resolve(values.root), targets);
  console.log(`codegen: ${files.size} file(s) for ${targets.join(', ')}`);
} catch (error) {
  console.error(error instanceof ContractError ? error.message : error);
  process.exit(1);
}
