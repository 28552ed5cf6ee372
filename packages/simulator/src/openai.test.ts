import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from './server.ts';
import { chat, parseSse, streamedText } from './test-helpers.ts';
import { estimateTokens } from './text.ts';

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ models: ['gpt-4o-mini', 'custom-model'] });
});
afterAll(() => sim.close());

describe('OpenAI chat completions (non-streamed)', () => {
  it('answers in the chat.completion shape with consistent usage and OpenAI headers', async () => {
    const res = await chat(sim.url, 'openai');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(res.headers.get('x-request-id')).toMatch(/^req_sim[0-9a-f]+$/);
    for (const name of ['requests', 'tokens']) {
      expect(Number(res.headers.get(`x-ratelimit-limit-${name}`))).toBeGreaterThan(0);
      expect(Number(res.headers.get(`x-ratelimit-remaining-${name}`))).toBeLessThan(Number(res.headers.get(`x-ratelimit-limit-${name}`)));
      expect(res.headers.get(`x-ratelimit-reset-${name}`)).toMatch(/^(\d+ms|[\d.]+s|\d+m[\d.]+s)$/);
    }
    const body = await res.json();
    expect(body).toMatchObject({ object: 'chat.completion', model: 'gpt-4o-mini', choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant' } }] });
    expect(body.id).toMatch(/^chatcmpl-/);
    const content: string = body.choices[0].message.content;
    expect(content).toMatch(/^[A-Z][^.]*\.( [A-Z][^.]*\.)+$/); // English sentences
    expect(body.usage.completion_tokens).toBe(estimateTokens(content));
    expect(body.usage.prompt_tokens).toBe(estimateTokens('How does the gateway handle a failing model?'));
    expect(body.usage.total_tokens).toBe(body.usage.prompt_tokens + body.usage.completion_tokens);
  });

  it('is deterministic per model and messages', async () => {
    const text = async (model: string, content: string) =>
      (await (await chat(sim.url, 'openai', { model, messages: [{ role: 'user', content }] })).json()).choices[0].message.content as string;
    const a = await text('gpt-4o-mini', 'What is a circuit breaker?');
    expect(await text('gpt-4o-mini', 'What is a circuit breaker?')).toBe(a);
    const others = [await text('gpt-4o-mini', 'What is a bulkhead?'), await text('gpt-4o', 'What is a circuit breaker?')];
    expect(others.some((t) => t !== a)).toBe(true);
  });

  it('cuts at max_tokens with finish_reason length', async () => {
    const body = await (await chat(sim.url, 'openai', { extra: { max_tokens: 3 } })).json();
    expect(body.choices[0].finish_reason).toBe('length');
    expect(body.choices[0].message.content).toHaveLength(12);
    expect(body.usage.completion_tokens).toBe(3);
    const viaNewName = await (await chat(sim.url, 'openai', { extra: { max_completion_tokens: 2 } })).json();
    expect(viaNewName.usage.completion_tokens).toBe(2);
  });

  it('stops at a stop sequence', async () => {
    const full: string = (await (await chat(sim.url, 'openai')).json()).choices[0].message.content;
    const stop = full.split(' ')[2]!;
    const body = await (await chat(sim.url, 'openai', { extra: { stop: [stop] } })).json();
    expect(body.choices[0].finish_reason).toBe('stop');
    expect(body.choices[0].message.content).toBe(full.slice(0, full.indexOf(stop)));
  });

  it('continues an assistant prefill with only the continuation', async () => {
    const full: string = (await (await chat(sim.url, 'openai')).json()).choices[0].message.content;
    const prefix = full.slice(0, 17);
    const res = await chat(sim.url, 'openai', { messages: [...[{ role: 'user', content: 'How does the gateway handle a failing model?' }], { role: 'assistant', content: prefix }] });
    const body = await res.json();
    expect(prefix + body.choices[0].message.content).toBe(full);
    // Another model continues with its own words, never repeating the prefix.
    const other = await (await chat(sim.url, 'openai', { model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }, { role: 'assistant', content: 'The answer is' }] })).json();
    expect(other.choices[0].message.content).toMatch(/^ [A-Z]/);
  });

  it('answers json_schema, article-style json_object and plain json_object requests with fitting JSON', async () => {
    const schema = {
      type: 'object',
      properties: { answer: { type: 'string' }, score: { type: 'integer', minimum: 1, maximum: 5 }, tags: { type: 'array', items: { type: 'string' }, minItems: 1 } },
      required: ['answer', 'score', 'tags'],
      additionalProperties: false,
    };
    const validate = new Ajv2020({ strict: false }).compile(schema);
    for (const responseFormat of [{ type: 'json_schema', json_schema: { name: 'a', schema, strict: true } }, { type: 'json_object', schema }]) {
      const body = await (await chat(sim.url, 'openai', { extra: { response_format: responseFormat } })).json();
      const value = JSON.parse(body.choices[0].message.content);
      expect(validate(value)).toBe(true);
    }
    const plain = await (await chat(sim.url, 'openai', { extra: { response_format: { type: 'json_object' } } })).json();
    expect(JSON.parse(plain.choices[0].message.content)).toEqual({ answer: expect.any(String) });
  });

  it('rejects a schema with an unresolvable $ref as a 400 naming the field', async () => {
    const res = await chat(sim.url, 'openai', { extra: { response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { $ref: '#/$defs/nope' } } } } });
    expect(res.status).toBe(400);
    const body = await res.json();
    expect(body.error).toMatchObject({ type: 'invalid_request_error', param: 'response_format.json_schema.schema' });
  });

  it.each([
    [{ messages: [] }, 'messages'],
    [{ model: 5 }, 'model'],
    [{ max_tokens: 0 }, 'max_tokens'],
    [{ response_format: { type: 'yaml' } }, 'response_format.type'],
    [{ messages: [{ role: 'robot', content: 'x' }] }, 'messages[0].role'],
  ])('rejects %j with a 400 in OpenAI error shape', async (extra, param) => {
    const res = await chat(sim.url, 'openai', { extra });
    expect(res.status).toBe(400);
    const body = await res.json();
    expect(body).toEqual({ error: { message: expect.stringContaining(param), type: 'invalid_request_error', param, code: null } });
  });

  it('rejects a body that is not JSON', async () => {
    const res = await fetch(`${sim.url}/v1/chat/completions`, { method: 'POST', body: '{nope' });
    expect(res.status).toBe(400);
    expect((await res.json()).error.message).toMatch(/could not parse the JSON body/);
  });

  it('lists models and serves one model', async () => {
    const list = await (await fetch(`${sim.url}/v1/models`)).json();
    expect(list).toMatchObject({ object: 'list', data: [{ id: 'gpt-4o-mini', object: 'model' }, { id: 'custom-model', object: 'model' }] });
    expect((await (await fetch(`${sim.url}/v1/models/custom-model`)).json()).id).toBe('custom-model');
    const missing = await fetch(`${sim.url}/v1/models/nope`);
    expect(missing.status).toBe(404);
    expect((await missing.json()).error.code).toBe('model_not_found');
  });

  it('answers unknown routes with a 404 error body', async () => {
    const res = await fetch(`${sim.url}/v2/whatever`);
    expect(res.status).toBe(404);
    expect((await res.json()).error.message).toMatch(/Unknown request URL/);
  });
});

describe('OpenAI chat completions (streamed)', () => {
  it('streams role, content deltas, finish and [DONE] that add up to the non-streamed answer', async () => {
    const full = (await (await chat(sim.url, 'openai')).json()).choices[0].message.content;
    const res = await chat(sim.url, 'openai', { stream: true });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(res.headers.get('x-request-id')).toBeTruthy();
    const events = parseSse(await res.text());
    expect(events.at(-1)!.data).toBe('[DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e.data));
    for (const c of chunks) expect(c).toMatchObject({ object: 'chat.completion.chunk', model: 'gpt-4o-mini', id: chunks[0].id });
    expect(chunks[0].choices[0].delta).toMatchObject({ role: 'assistant', content: '' });
    expect(chunks.at(-1).choices[0]).toMatchObject({ delta: {}, finish_reason: 'stop' });
    expect(chunks.slice(0, -1).every((c) => c.choices[0].finish_reason === null)).toBe(true);
    expect(chunks.some((c) => 'usage' in c)).toBe(false);
    expect(streamedText('openai', events)).toBe(full);
    expect(chunks.length).toBeGreaterThan(5);
  });

  it('adds a usage chunk with stream_options.include_usage', async () => {
    const res = await chat(sim.url, 'openai', { stream: true, extra: { stream_options: { include_usage: true }, max_tokens: 4 } });
    const events = parseSse(await res.text());
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e.data));
    const usageChunk = chunks.at(-1);
    expect(usageChunk.choices).toEqual([]);
    expect(usageChunk.usage).toMatchObject({ completion_tokens: 4, total_tokens: usageChunk.usage.prompt_tokens + 4 });
    expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true);
    expect(chunks.at(-2).choices[0].finish_reason).toBe('length');
  });
});

describe('schema given as an instruction', () => {
  it('json_object with a schema in the system prompt answers JSON that fits it', async () => {
    const { schemaFromInstructions } = await import('./chat-request.ts');
    const schema = { type: 'object', required: ['answer', 'needs_human'], properties: { answer: { type: 'string' }, needs_human: { type: 'boolean' } } };
    const found = schemaFromInstructions(`You help.\n\nRespond with a single valid JSON object. The object must conform to this JSON Schema:\n${JSON.stringify(schema)}`);
    expect(found?.schema).toEqual(schema);
    expect(schemaFromInstructions('no schema here')).toBeUndefined();
    expect(schemaFromInstructions('JSON Schema:\n{not json}')).toBeUndefined();
  });
});
