import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateWorkspace } from './generate.ts';
import { copyWorkspace, editContract, NODE_MODULES, ROOT } from './test-workspace.ts';

describe('a contract change flows into every generated artefact (workspace copy)', () => {
  let dir: string;
  beforeAll(() => {
    dir = copyWorkspace();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('an optional ChatCompletion field reaches types, validators and stubs', async () => {
    editContract(dir, (doc) => doc.setIn(['components', 'schemas', 'ChatCompletion', 'properties', 'service_tier'], { type: 'string', enum: ['default', 'flex'] }));
    await generateWorkspace(dir);

    const types = readFileSync(join(dir, 'packages/contract/src/generated/types.ts'), 'utf8');
    expect(types).toContain('service_tier?: "default" | "flex";');
    const header = readFileSync(join(dir, 'packages/server/src/generated/routes.ts'), 'utf8').split('\n')[0];
    expect(header).not.toBe(readFileSync(join(ROOT, 'packages/server/src/generated/routes.ts'), 'utf8').split('\n')[0]); // new hash

    const completion = {
      id: 'c',
      object: 'chat.completion',
      created: 1,
      model: 'gpt-4o-mini',
      choices: [{ index: 0, message: { role: 'assistant', content: 'x' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
    };
    const copied = await import(pathToFileURL(join(dir, 'packages/contract/src/generated/validators.js')).href);
    const original = await import(pathToFileURL(join(ROOT, 'packages/contract/src/generated/validators.js')).href);
    expect(original.ChatCompletion({ ...completion, service_tier: 5 })).toBe(true); // unknown before: ignored
    expect(copied.ChatCompletion({ ...completion, service_tier: 'flex' })).toBe(true);
    expect(copied.ChatCompletion({ ...completion, service_tier: 5 })).toBe(false);

    // The copy's stubs validate responses with the copy's validators.
    const { registerRoutes } = await import(pathToFileURL(join(dir, 'packages/server/src/index.ts')).href);
    const { Hono } = await import('hono');
    const problems: string[] = [];
    const app = registerRoutes(new Hono(), { createChatCompletion: () => ({ status: 200, body: { ...completion, service_tier: 5 } }) }, { validateResponses: true, onResponseValidationError: (e: Error) => problems.push(e.message) });
    await app.request('/v1/chat/completions', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }] }) });
    expect(problems).toEqual(['createChatCompletion answered 200 against the contract: service_tier: must be string']);

    // And the handler types know the field: a file using it type-checks in the copy.
    writeFileSync(
      join(dir, 'packages/server/src/uses-new-field.ts'),
      `import type { CreateChatCompletionResult } from './index.ts';\nexport const r: CreateChatCompletionResult = { status: 200, body: ${JSON.stringify({ ...completion, service_tier: 'flex' })} };\n` +
        `// @ts-expect-error not one of the enum values\nexport const bad: CreateChatCompletionResult = { status: 200, body: ${JSON.stringify({ ...completion, service_tier: 'slow' })} };\n`,
    );
    execFileSync(process.execPath, [join(NODE_MODULES, 'typescript/bin/tsc'), '-p', join(dir, 'packages/server'), '--noEmit'], { stdio: 'pipe' });
  });

  it('a typo in an x- extension fails generation, naming it, and writes nothing', async () => {
    const before = readFileSync(join(dir, 'packages/contract/src/generated/agreement.ts'), 'utf8');
    editContract(dir, (doc) => {
      doc.deleteIn(['components', 'responses', 'BadGateway', 'x-llm-retryable']);
      doc.setIn(['components', 'responses', 'BadGateway', 'x-llm-retryble'], true);
      doc.setIn(['x-llm-agreement', 'defaults', 'bulkhead', 'maxQeue'], 100);
    });
    await expect(generateWorkspace(dir)).rejects.toThrow(/components\/responses\/BadGateway\/x-llm-retryble: unknown extension[\s\S]*x-llm-agreement\/defaults\/bulkhead\/maxQeue: unknown property/);
    expect(readFileSync(join(dir, 'packages/contract/src/generated/agreement.ts'), 'utf8')).toBe(before);
  });
});
