// Test support: a throwaway copy of the workspace to regenerate from an edited contract.
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseDocument } from 'yaml';

export const ROOT = resolve(import.meta.dirname, '../../..');
export const NODE_MODULES = join(ROOT, 'node_modules');

/**
 * A throwaway copy of the workspace: contracts, tools, the two packages, root config. node_modules
 * entries are symlinked, except @llmgw/*, which point at the copy's own packages so imports of
 * '@llmgw/contract' see the regenerated output.
 */
export function copyWorkspace(): string {
  const dir = mkdtempSync(join(tmpdir(), 'llmgw-codegen-'));
  const skipNodeModules = (src: string): boolean => !src.split('/').includes('node_modules');
  for (const part of ['contracts', 'tools', 'packages/contract', 'packages/server']) cpSync(join(ROOT, part), join(dir, part), { recursive: true, filter: skipNodeModules });
  for (const file of ['package.json', 'tsconfig.base.json', 'tsconfig.json', 'nx.json']) cpSync(join(ROOT, file), join(dir, file));
  mkdirSync(join(dir, 'node_modules/@llmgw'), { recursive: true });
  for (const entry of readdirSync(NODE_MODULES)) if (entry !== '@llmgw') symlinkSync(join(NODE_MODULES, entry), join(dir, 'node_modules', entry));
  symlinkSync(join(dir, 'packages/contract'), join(dir, 'node_modules/@llmgw/contract'));
  symlinkSync(join(dir, 'packages/server'), join(dir, 'node_modules/@llmgw/server'));
  return dir;
}

/** Edits the copy's contracts/openapi.yaml through the YAML document (comments and order kept). */
export function editContract(dir: string, edit: (doc: ReturnType<typeof parseDocument>) => void): void {
  const path = join(dir, 'contracts/openapi.yaml');
  const doc = parseDocument(readFileSync(path, 'utf8'));
  edit(doc);
  writeFileSync(path, doc.toString());
}
