import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkBreaking } from './breaking.ts';
import { lintContract } from './lint.ts';

const root = resolve(import.meta.dirname, '../../..');
const contract = join(root, 'contracts/openapi.yaml');
const text = readFileSync(contract, 'utf8');
const temp = mkdtempSync(join(tmpdir(), 'contract-check-'));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

/** Writes a variant of the contract after `edit` (exact text replacements: the test fails if the anchor moved). */
function variant(name: string, edits: [string, string][]): string {
  let out = text;
  for (const [from, to] of edits) {
    expect(out.includes(from), `anchor not found: ${from}`).toBe(true);
    out = out.replace(from, to);
  }
  const path = join(temp, `${name}.yaml`);
  writeFileSync(path, out);
  return path;
}

const REQUIRED = '      required: [id, object, created, model, choices, usage]\n';
const USAGE_PROP = "        usage:\n          $ref: '#/components/schemas/Usage'\n        system_fingerprint:\n          type: [string, 'null']\n        fallback:\n          $ref: '#/components/schemas/FallbackInfo'\n\n    ChatCompletionChoice:";
const withoutUsage: [string, string][] = [
  [REQUIRED, '      required: [id, object, created, model, choices]\n'],
  [USAGE_PROP, USAGE_PROP.replace("        usage:\n          $ref: '#/components/schemas/Usage'\n", '')],
];
const ADDED_FIELD = "        served_region:\n          type: string\n          description: Region that served the answer.\n";
const withOptionalField: [string, string][] = [[USAGE_PROP, USAGE_PROP.replace('    ChatCompletionChoice:', '').trimEnd() + '\n' + ADDED_FIELD + '\n    ChatCompletionChoice:']];

describe('contract lint (redocly)', () => {
  it('passes on the real contract', () => {
    const r = lintContract(contract);
    expect(r.output).toContain('valid');
    expect(r.ok).toBe(true);
  });

  it('fails on a broken contract', () => {
    const broken = variant('broken', [["$ref: '#/components/schemas/Usage'", "$ref: '#/components/schemas/Usages'"]]);
    expect(lintContract(broken).ok).toBe(false);
  });
});

describe('breaking-change check (redocly diff)', () => {
  it('the current contract is compatible with the committed baseline (the last release)', () => {
    const r = checkBreaking(join(root, 'contracts/baseline/openapi.yaml'), contract);
    expect(r.ok).toBe(true);
  });

  it('a removed required response field fails, naming the field', () => {
    const r = checkBreaking(contract, variant('removed', withoutUsage));
    expect(r.ok).toBe(false);
    expect(r.breaking.length).toBeGreaterThan(0);
    expect(r.summary).toMatch(/usage/);
    expect(r.summary).toMatch(/ChatCompletion/);
  });

  it('an added optional response field passes, counted, with a note to bump the version before release', () => {
    const r = checkBreaking(contract, variant('added', withOptionalField));
    expect(r.ok).toBe(true);
    expect(r.breaking).toEqual([]);
    expect(r.changes.length).toBeGreaterThan(0);
    expect(r.summary).toMatch(/^no breaking changes \([1-9]\d* change\(s\)\)/);
    expect(r.summary).toMatch(/compatible change\(s\) since 1\.0\.0 under the same info\.version/);
    const bumped = checkBreaking(contract, variant('added-bumped', [...withOptionalField, ['  version: 1.0.0\n', '  version: 1.1.0\n']]));
    expect(bumped.summary).not.toMatch(/under the same info\.version/);
  });

  it('a narrowed request enum fails', () => {
    const r = checkBreaking(contract, variant('narrowed', [['      enum: [system, developer, user, assistant]', '      enum: [system, user, assistant]']]));
    expect(r.ok).toBe(false);
  });

  it('the same breaking change with the major version bumped passes', () => {
    const r = checkBreaking(contract, variant('bumped', [...withoutUsage, ['  version: 1.0.0\n', '  version: 2.0.0\n']]));
    expect(r.breaking.length).toBeGreaterThan(0);
    expect(r.majorBumped).toBe(true);
    expect(r.ok).toBe(true);
  });
});

describe('workspace copy: a contract change reaches the client types', () => {
  it('adding an optional response field and regenerating puts it in @llmgw/client types', () => {
    const ws = join(temp, 'ws');
    cpSync(join(root, 'contracts'), join(ws, 'contracts'), { recursive: true });
    cpSync(join(root, 'tools/clientgen'), join(ws, 'tools/clientgen'), { recursive: true, filter: (p) => !p.includes('node_modules') });
    symlinkSync(join(root, 'node_modules'), join(ws, 'node_modules'), 'dir');
    mkdirSync(join(ws, 'packages/client'), { recursive: true });
    writeFileSync(join(ws, 'packages/client/package.json'), JSON.stringify({ name: '@llmgw/client', version: '0.0.0' }));
    let changed = readFileSync(join(ws, 'contracts/openapi.yaml'), 'utf8');
    expect(changed.includes(USAGE_PROP)).toBe(true);
    changed = changed.replace(USAGE_PROP, USAGE_PROP.replace('    ChatCompletionChoice:', '').trimEnd() + '\n' + ADDED_FIELD + '\n    ChatCompletionChoice:');
    writeFileSync(join(ws, 'contracts/openapi.yaml'), changed);
    execFileSync(process.execPath, [join(ws, 'tools/clientgen/src/main.ts')], { cwd: ws, stdio: 'pipe' });
    const types = readFileSync(join(ws, 'packages/client/src/generated/types.ts'), 'utf8');
    const chatCompletion = types.slice(types.indexOf('        ChatCompletion: {'), types.indexOf('        ChatCompletionChoice: {'));
    expect(chatCompletion).toMatch(/served_region\?: string;/);
    expect(readFileSync(join(root, 'packages/client/src/generated/types.ts'), 'utf8')).not.toContain('served_region');
    expect(JSON.parse(readFileSync(join(ws, 'packages/client/package.json'), 'utf8')).version).toBe('1.0.0');
  });
});
