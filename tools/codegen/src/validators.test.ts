import { formatAjvErrors, validators } from '@llmgw/contract';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { deref, isObject, loadContract, pointerToken, type Json, type JsonObject } from './contract.ts';
import { generate } from './generate.ts';
import ucs2lengthModule from 'ajv/dist/runtime/ucs2length.js';
import fc from 'fast-check';
import { AJV_UCS2LENGTH, CODE_POINT_LENGTH, createAjv, schemaId, validatorEntries } from './validators.ts';

const ROOT = resolve(import.meta.dirname, '../../..');
const contract = loadContract(ROOT);

interface Example {
  pointer: string;
  value: Json;
  schema: Json;
}

/** Every `example` / `examples.*.value` under a media type (operations and components.responses), with its schema. */
function contractExamples(doc: JsonObject): Example[] {
  const found: Example[] = [];
  const visitContent = (content: Json | undefined, at: string): void => {
    if (!isObject(content)) return;
    for (const [type, media] of Object.entries(content)) {
      if (!isObject(media) || media.schema === undefined) continue;
      const here = `${at}/content/${pointerToken(type)}`;
      if (media.example !== undefined) found.push({ pointer: `${here}/example`, value: media.example, schema: media.schema });
      if (isObject(media.examples)) {
        for (const [name, example] of Object.entries(media.examples)) {
          const resolved = deref(doc, example);
          if (resolved.value !== undefined) found.push({ pointer: `${here}/examples/${pointerToken(name)}/value`, value: resolved.value, schema: media.schema });
        }
      }
    }
  };
  for (const [path, item] of Object.entries(isObject(doc.paths) ? doc.paths : {})) {
    for (const [method, op] of Object.entries(isObject(item) ? item : {})) {
      if (!isObject(op)) continue;
      const at = `#/paths/${pointerToken(path)}/${method}`;
      if (isObject(op.requestBody) && !op.requestBody.$ref) visitContent(op.requestBody.content, `${at}/requestBody`);
      for (const [status, response] of Object.entries(isObject(op.responses) ? op.responses : {})) {
        if (isObject(response) && !response.$ref) visitContent(response.content, `${at}/responses/${status}`);
      }
    }
  }
  const components = isObject(doc.components) ? doc.components : {};
  for (const [name, response] of Object.entries(isObject(components.responses) ? components.responses : {})) {
    if (isObject(response)) visitContent(response.content, `#/components/responses/${pointerToken(name)}`);
  }
  return found;
}

describe('contract examples', () => {
  const examples = contractExamples(contract.doc);
  const ajv = createAjv(validatorEntries(contract));

  it('finds the examples (the walk is not vacuous)', () => {
    expect(examples.length).toBeGreaterThanOrEqual(20);
  });

  it.each(examples.map((e) => [e.pointer, e] as const))('%s validates against its schema', (pointer, example) => {
    if (isObject(example.schema) && example.schema.type === 'string' && typeof example.value !== 'string') {
      throw new Error(`${pointer}: a text media type with a non-string example`);
    }
    const ref = isObject(example.schema) && typeof example.schema.$ref === 'string' ? example.schema.$ref : undefined;
    const name = ref?.replace('#/components/schemas/', '');
    const validate = name === undefined ? ajv.compile(example.schema as object) : ajv.getSchema(schemaId(name));
    if (validate === undefined) throw new Error(`${pointer}: no validator for ${ref}`);
    const ok = validate(example.value);
    expect(ok, `${pointer}: ${formatAjvErrors(validate.errors).message}`).toBe(true);
  });

  it('the shipped validators agree on every $ref example', () => {
    for (const example of examples) {
      const name = isObject(example.schema) && typeof example.schema.$ref === 'string' ? example.schema.$ref.replace('#/components/schemas/', '') : undefined;
      if (name === undefined) continue;
      const validate = (validators as unknown as Record<string, (d: unknown) => boolean>)[name];
      expect(validate?.(example.value), example.pointer).toBe(true);
    }
  });
});

describe('generated validators', () => {
  const good = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }] };
  const cases: Array<[string, { given: unknown; want: { param: string | null; message: string } | null }]> = [
    ['a plain request', { given: good, want: null }],
    ['an unknown model name is allowed (open enum)', { given: { ...good, model: 'my-finetune' }, want: null }],
    ['OpenAI parameters we do not list are accepted', { given: { ...good, logit_bias: {} }, want: null }],
    ['content parts discriminate on type', { given: { ...good, messages: [{ role: 'user', content: [{ type: 'text', text: 'a' }] }] }, want: null }],
    ['missing model', { given: { messages: good.messages }, want: { param: 'model', message: 'model: is required' } }],
    ['bad role', { given: { ...good, messages: [{ role: 'robot', content: 'x' }] }, want: { param: 'messages[0].role', message: 'messages[0].role: must be one of system, developer, user, assistant' } }],
    ['temperature above 1', { given: { ...good, temperature: 1.5 }, want: { param: 'temperature', message: 'temperature: must be <= 1' } }],
    ['empty messages', { given: { ...good, messages: [] }, want: { param: 'messages', message: 'messages: must NOT have fewer than 1 items' } }],
    ['unknown content part type', { given: { ...good, messages: [{ role: 'user', content: [{ type: 'audio' }] }] }, want: { param: 'messages[0].content[0].type', message: 'messages[0].content[0].type: unknown value "audio"' } }],
    ['text part with a number', { given: { ...good, messages: [{ role: 'user', content: [{ type: 'text', text: 5 }] }] }, want: { param: 'messages[0].content[0].text', message: 'messages[0].content[0].text: must be string' } }],
    ['unknown field in a closed object', { given: { ...good, messages: [{ role: 'user', content: 'x', mood: 'happy' }] }, want: { param: 'messages[0].mood', message: 'messages[0].mood: unknown property' } }],
    ['n must be 1', { given: { ...good, n: 2 }, want: { param: 'n', message: 'n: must be 1' } }],
    ['not an object', { given: [], want: { param: null, message: 'body: must be object' } }],
  ];
  it.each(cases)('CreateChatCompletionRequest: %s', (_name, { given, want }) => {
    const ok = validators.CreateChatCompletionRequest(given);
    expect(ok ? null : formatAjvErrors(validators.CreateChatCompletionRequest.errors, { root: 'body' })).toEqual(want);
  });

  it('parameter validators check path and header values', () => {
    expect(validators.getJob_params({ job_id: 'job_01J9Z3K8' })).toBe(true);
    expect(validators.getJob_params({ job_id: 'nope' })).toBe(false);
    expect(validators.getJob_params({})).toBe(false);
    expect(validators.createChatCompletion_params({ 'x-llm-no-degraded': 'maybe' })).toBe(false);
    expect(validators.createChatCompletion_params({ 'x-request-id': 'abc-1', 'x-llm-no-degraded': 'true' })).toBe(true);
  });
});

describe('generated output', () => {
  it('is exactly what is on disk (regenerates byte for byte) and carries the header', async () => {
    const files = await generate(contract);
    expect(files.size).toBe(7);
    const header = `// Generated by tools/codegen from contracts/openapi.yaml (sha256:${contract.sha256.slice(0, 16)}).`;
    for (const [file, content] of files) {
      expect(content.startsWith(header), file).toBe(true);
      expect(readFileSync(join(ROOT, file), 'utf8'), `${file} is stale: run npm run generate`).toBe(content);
    }
    const again = await generate(contract);
    expect([...again.entries()]).toEqual([...files.entries()]);
  });

  it("counts characters for minLength/maxLength as Ajv's ucs2length does, without requiring it", async () => {
    const codePointLength = new Function(`${CODE_POINT_LENGTH}\nreturn codePointLength;`)() as (s: string) => number;
    // A CommonJS module with a `default` export: the function itself or under `default`, by loader.
    const ucs2 = ucs2lengthModule as unknown as ((s: string) => number) | { default: (s: string) => number };
    const ucs2length = typeof ucs2 === 'function' ? ucs2 : ucs2.default;
    const text = fc.oneof(fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' }), fc.string({ unit: 'binary-ascii' }), fc.constantFrom('\ud83d', '\ude00', '\ude00\ud83d', 'a\ud83d\ude00b', 'é€'));
    fc.assert(fc.property(fc.array(text).map((p) => p.join('')), (s) => {
      expect(codePointLength(s)).toBe(ucs2length(s));
    }), { seed: 20261125, numRuns: 3000 });
    const js = (await generate(contract, ['contract'])).get('packages/contract/src/generated/validators.js') ?? '';
    expect(js).not.toContain(AJV_UCS2LENGTH);
    expect(js).toContain('function codePointLength(str)');
    // Through a shipped validator: `user` allows 256 characters; an emoji is one character, two UTF-16 units.
    const request = (user: string) => validators.CreateChatCompletionRequest({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }], user });
    expect(request('😀'.repeat(256))).toBe(true);
    expect(request('😀'.repeat(257))).toBe(false);
    expect(request('é'.repeat(256))).toBe(true);
    expect(request('a'.repeat(257))).toBe(false);
  });

  it('validators.js shims require for its Ajv runtime helpers', async () => {
    const files = await generate(contract, ['contract']);
    const js = files.get('packages/contract/src/generated/validators.js') ?? '';
    expect(js).toContain("import { createRequire } from 'node:module';");
    expect(js).not.toContain('urn:');
    expect(js).toMatch(/export const CreateChatCompletionRequest = /);
    expect(js).toMatch(/export const getJob_params = /);
  });
});
