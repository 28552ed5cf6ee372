import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { generateAgreement } from './agreement.ts';
import { loadContract, type Contract } from './contract.ts';
import { generateDocument } from './document.ts';
import { generateRoutes } from './routes.ts';
import { generateSchemaAliases } from './schemas.ts';
import { generateTypes } from './types.ts';
import { generateValidators } from './validators.ts';

/** Output folders (relative to the workspace root) of each generation target. */
export const TARGETS = {
  contract: 'packages/contract/src/generated',
  server: 'packages/server/src/generated',
} as const;
export type Target = keyof typeof TARGETS;

/** Generated files of one target: file name -> content. */
export type Outputs = ReadonlyMap<string, string>;

/** Builds every file of the given targets in memory (no writes). Throws on any contract problem. */
export async function generate(contract: Contract, targets: readonly Target[] = ['contract', 'server']): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  // The agreement checks run for every target: a broken contract must not produce any output.
  const agreement = generateAgreement(contract);
  if (targets.includes('contract')) {
    const dir = TARGETS.contract;
    const validators = generateValidators(contract);
    files.set(`${dir}/types.ts`, await generateTypes(contract));
    files.set(`${dir}/schemas.ts`, generateSchemaAliases(contract));
    files.set(`${dir}/validators.js`, validators.js);
    files.set(`${dir}/validators.d.ts`, validators.dts);
    files.set(`${dir}/agreement.ts`, agreement);
    files.set(`${dir}/document.ts`, generateDocument(contract));
  }
  if (targets.includes('server')) files.set(`${TARGETS.server}/routes.ts`, generateRoutes(contract));
  return files;
}

/**
 * Writes the files under `root`, replacing each target's folder wholesale (so a file the
 * generator no longer makes disappears). Unchanged files are not rewritten.
 */
export function writeOutputs(root: string, files: ReadonlyMap<string, string>, targets: readonly Target[]): void {
  for (const target of targets) {
    const dir = join(root, TARGETS[target]);
    const keep = new Set([...files.keys()].filter((f) => f.startsWith(`${TARGETS[target]}/`)).map((f) => f.slice(TARGETS[target].length + 1)));
    mkdirSync(dir, { recursive: true });
    for (const name of readdirSync(dir)) if (!keep.has(name)) rmSync(join(dir, name), { recursive: true, force: true });
  }
  for (const [file, content] of files) {
    const path = join(root, file);
    mkdirSync(dirname(path), { recursive: true });
    let current: string | undefined;
    try {
      current = readFileSync(path, 'utf8');
    } catch {
      current = undefined;
    }
    if (current !== content) writeFileSync(path, content);
  }
}

/** Reads the contract under `root`, generates and writes. The programmatic entry point. */
export async function generateWorkspace(root: string, targets: readonly Target[] = ['contract', 'server']): Promise<Map<string, string>> {
  const files = await generate(loadContract(root), targets);
  writeOutputs(root, files, targets);
  return files;
}
