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

// Breaking changes redocly rates patch, caught by extra-rules.ts (each also fails without its rule).
const HEALTHZ_PUBLIC = "      summary: 'Liveness: the process is up'\n      security: []\n";
const healthzAuthed: [string, string][] = [[HEALTHZ_PUBLIC, "      summary: 'Liveness: the process is up'\n"]];
const BAD_REQUEST_RETRYABLE = '        Not retryable: the same request fails the same way.\n      x-llm-retryable: false\n';
const badRequestRetryable: [string, string][] = [[BAD_REQUEST_RETRYABLE, BAD_REQUEST_RETRYABLE.replace('false', 'true')]];
const jobIdRenamed: [string, string][] = [
  ['  /v1/jobs/{job_id}:\n', '  /v1/jobs/{id}:\n'],
  ['        - name: job_id\n', '        - name: id\n'],
];
const MAJOR_BUMP: [string, string] = ['  version: 1.0.0\n', '  version: 2.0.0\n'];

describe('breaking changes redocly rates patch (extra-rules.ts)', () => {
  it('removing security: [] from /healthz fails: the public probe starts requiring auth', () => {
    const r = checkBreaking(contract, variant('healthz-authed', healthzAuthed));
    expect(r.ok).toBe(false);
    expect(r.breaking).toContainEqual(expect.objectContaining({ ruleId: 'security-stricter', pointer: '#/paths/~1healthz/get/security' }));
    expect(r.summary).toMatch(/GET \/healthz: security is stricter \(none → bearerAuth, from the top-level security\)/);
    // listed once: redocly's own (patch) entry for the same pointer is left out
    expect(r.changes.filter((c) => c.pointer === '#/paths/~1healthz/get/security')).toHaveLength(1);
  });

  it('a top-level security change fails for each operation that inherits it, not for the public probes', () => {
    const r = checkBreaking(contract, variant('top-scope', [['security:\n  - bearerAuth: []\ntags:', 'security:\n  - bearerAuth: [admin]\ntags:']]));
    expect(r.ok).toBe(false);
    const stricter = r.breaking.filter((c) => c.ruleId === 'security-stricter').map((c) => c.pointer);
    expect(stricter).toContain('#/paths/~1v1~1chat~1completions/post/security');
    expect(stricter.some((p) => p.includes('healthz') || p.includes('readyz'))).toBe(false);
  });

  it('adding security: [] (looser) passes', () => {
    const r = checkBreaking(contract, variant('model-public', [['      operationId: getModel\n', '      operationId: getModel\n      security: []\n']]));
    expect(r.breaking).toEqual([]);
    expect(r.ok).toBe(true);
  });

  it('flipping x-llm-retryable on a components.responses entry fails, once, at the entry', () => {
    const r = checkBreaking(contract, variant('retryable', badRequestRetryable));
    expect(r.ok).toBe(false);
    expect(r.breaking).toEqual([expect.objectContaining({ ruleId: 'x-llm-extension', pointer: '#/components/responses/BadRequest/x-llm-retryable' })]);
    expect(r.summary).toMatch(/x-llm-retryable changed: false → true/);
  });

  it("pointing an operation's response at an entry with another x-llm-retryable fails (the $ref is followed)", () => {
    const r = checkBreaking(contract, variant('retryable-ref', [["        '400':\n          $ref: '#/components/responses/BadRequest'\n        '401'", "        '400':\n          $ref: '#/components/responses/TooManyRequests'\n        '401'"]]));
    expect(r.ok).toBe(false);
    expect(r.breaking).toContainEqual(expect.objectContaining({ ruleId: 'x-llm-extension', pointer: '#/paths/~1v1~1chat~1completions/post/responses/400/x-llm-retryable' }));
    expect(r.summary).toMatch(/#\/components\/responses\/BadRequest → #\/components\/responses\/TooManyRequests/);
  });

  it('what the generated client takes from the agreement changing fails; a server-side term or an added model is compatible', () => {
    const changed = checkBreaking(contract, variant('agreement-changed', [['      maxAttempts: 3\n', '      maxAttempts: 4\n']]));
    expect(changed.ok).toBe(false);
    expect(changed.breaking).toEqual([expect.objectContaining({ ruleId: 'client-agreement', message: expect.stringMatching(/retry\.maxAttempts changes: 3 → 4/) })]);
    // The term itself is recorded too, as minor.
    expect(changed.changes).toContainEqual(expect.objectContaining({ impact: 'minor', pointer: '#/x-llm-agreement/defaults/retry/maxAttempts' }));
    const tuned = checkBreaking(contract, variant('agreement-tuned', [['    requestsPerMinute: 600\n', '    requestsPerMinute: 700\n']]));
    expect(tuned.ok).toBe(true);
    expect(tuned.changes).toEqual([expect.objectContaining({ impact: 'minor', pointer: '#/x-llm-agreement/rateLimits/requestsPerMinute' })]);
    // Which terms the client takes is clientgen's extractor's answer, not a list: defaults and per-model
    // terms it does not read are the service's tuning too.
    const serviceSide = checkBreaking(
      contract,
      variant('agreement-service-side', [
        ['      connections: 100\n', '      connections: 200\n'],
        ['      budgetRatio: 0.2\n', '      budgetRatio: 0.3\n'],
        ['      slo: { p99LatencyMs: 25000 }\n      fallback:\n        - { strategy: alternative_model, model: gpt-4o-mini }', '      slo: { p99LatencyMs: 20000 }\n      fallback:\n        - { strategy: alternative_model, model: gpt-4o-mini }'],
      ]),
    );
    expect(serviceSide.ok).toBe(true);
    expect(serviceSide.changes.map((c) => [c.impact, c.pointer])).toEqual([
      ['minor', '#/x-llm-agreement/defaults/retry/budgetRatio'],
      ['minor', '#/x-llm-agreement/defaults/pool/connections'],
      ['minor', '#/x-llm-agreement/models/gpt-4o/slo/p99LatencyMs'],
    ]);
    const modelTimeout = checkBreaking(contract, variant('agreement-model-timeout', [['      timeouts: { totalMs: 25000, firstTokenMs: 8000 }\n', '      timeouts: { totalMs: 20000, firstTokenMs: 8000 }\n']]));
    expect(modelTimeout.breaking).toEqual([expect.objectContaining({ message: expect.stringMatching(/timeouts\.models\.gpt-4o\.totalMs changes: 25000 → 20000/) })]);
    const added = checkBreaking(contract, variant('agreement-added', [['  rateLimits:\n', '    new-model:\n      contextWindow: 8192\n  rateLimits:\n']]));
    expect(added.ok).toBe(true);
    expect(added.changes).toEqual([expect.objectContaining({ impact: 'minor', pointer: '#/x-llm-agreement/models/new-model' })]);
  });

  it('a model removed from the agreement fails, with or without terms of its own the client reads (the second review)', () => {
    const withModel = variant('agreement-with-mini2', [['  rateLimits:\n', '    mini2:\n      contextWindow: 8192\n  rateLimits:\n']]);
    const removed = checkBreaking(withModel, contract);
    expect(removed.ok).toBe(false);
    expect(removed.breaking).toEqual([expect.objectContaining({ ruleId: 'client-agreement', message: expect.stringMatching(/timeouts\.models\.mini2 changes/) })]);
  });

  it('renaming a path parameter fails (/v1/jobs/{job_id} → /v1/jobs/{id})', () => {
    const r = checkBreaking(contract, variant('renamed', jobIdRenamed));
    expect(r.ok).toBe(false);
    expect(r.breaking).toEqual([expect.objectContaining({ ruleId: 'path-parameter-renamed', pointer: '#/paths/~1v1~1jobs~1{id}' })]);
    expect(r.summary).toMatch(/path parameter \{job_id\} of \/v1\/jobs\/\{job_id\} renamed to \{id\}/);
  });

  it.each([
    ['healthz-authed', healthzAuthed, 'security-stricter'],
    ['retryable', badRequestRetryable, 'x-llm-extension'],
    ['renamed', jobIdRenamed, 'path-parameter-renamed'],
  ] as const)('%s with the major version bumped passes', (name, edits, ruleId) => {
    const r = checkBreaking(contract, variant(`${name}-bumped`, [...edits, MAJOR_BUMP]));
    expect(r.breaking).toContainEqual(expect.objectContaining({ ruleId }));
    expect(r.majorBumped).toBe(true);
    expect(r.ok).toBe(true);
  });

  it('npm run contract:breaking (the CLI) passes on the real contract against the baseline', () => {
    expect(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts['contract:breaking']).toBe('node tools/contract-check/src/cli.ts breaking');
    const out = execFileSync(process.execPath, [join(root, 'tools/contract-check/src/cli.ts'), 'breaking'], { cwd: root, encoding: 'utf8' });
    expect(out).toMatch(/^no breaking changes/);
    expect(out).toMatch(/contract:breaking passed\n$/);
  });
});

describe('workspace copy: a contract change reaches the client types', () => {
  it('adding an optional response field and regenerating puts it in @llmgw/client types', () => {
    const ws = join(temp, 'ws');
    cpSync(join(root, 'contracts'), join(ws, 'contracts'), { recursive: true });
    cpSync(join(root, 'tools/clientgen'), join(ws, 'tools/clientgen'), { recursive: true, filter: (p) => !p.includes('node_modules') });
    // clientgen reads query parameters with codegen's own rules (tools/codegen/src/query.ts).
    cpSync(join(root, 'tools/codegen/src'), join(ws, 'tools/codegen/src'), { recursive: true });
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
