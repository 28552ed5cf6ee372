// The official `openai` npm SDK against the real service over HTTP: what a
// customer's unmodified client sees (answers, streams, structured output, the
// model list, the error classes it maps our envelope to, its own retries, and
// an in-band stream error surfacing as a thrown APIError).
import { validators } from '@llmgw/contract';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { defaultRoutes } from '../registry/registry.ts';
import type { RoutesFile } from '../registry/routes-file.ts';
import { TEST_KEY, fastAgreement, startStack, type Stack, type StackOptions } from '../testing/stack.ts';

const clientFor = (stack: Stack, options: ConstructorParameters<typeof OpenAI>[0] = {}) =>
  new OpenAI({ apiKey: TEST_KEY, baseURL: `${stack.url}/v1`, maxRetries: 0, timeout: 5000, ...options });

const user = (content: string) => [{ role: 'user' as const, content }];

describe('openai SDK: answers', () => {
  let stack: Stack;
  let client: OpenAI;
  beforeAll(async () => {
    stack = await startStack({ agreement: fastAgreement((a) => (a.rateLimits.requestsPerMinute = 1000)) });
    client = clientFor(stack);
  });
  afterAll(() => stack.close());

  it('plain chat: a typed ChatCompletion with usage and a request id', async () => {
    const { data, response, request_id } = await client.chat.completions
      .create({ model: 'gpt-4o-mini', messages: user('How do I reset my password?') })
      .withResponse();
    expect(response.status).toBe(200);
    expect(validators.ChatCompletion(data)).toBe(true);
    expect(data.model).toBe('gpt-4o-mini');
    expect(data.choices[0]!.finish_reason).toBe('stop');
    expect(data.choices[0]!.message.content!.length).toBeGreaterThan(0);
    expect(data.usage!.total_tokens).toBe(data.usage!.prompt_tokens + data.usage!.completion_tokens);
    expect(request_id).toBe(response.headers.get('x-request-id'));
    expect(request_id).toBeTruthy();
  });

  it('streamed chat: chunks join to the non-streamed text, include_usage gives usage', async () => {
    const question = user('Tell me about opening hours');
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: question,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let usage: OpenAI.CompletionUsage | null | undefined;
    const finishReasons: string[] = [];
    let chunks = 0;
    for await (const chunk of stream) {
      chunks++;
      expect(chunk.object).toBe('chat.completion.chunk');
      text += chunk.choices[0]?.delta?.content ?? '';
      if (chunk.choices[0]?.finish_reason) finishReasons.push(chunk.choices[0].finish_reason);
      if (chunk.usage) usage = chunk.usage;
    }
    expect(chunks).toBeGreaterThan(2);
    expect(finishReasons).toEqual(['stop']);
    const plain = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: question });
    expect(text).toBe(plain.choices[0]!.message.content);
    expect(usage!.completion_tokens).toBe(plain.usage!.completion_tokens);
    expect(usage!.total_tokens).toBe(usage!.prompt_tokens + usage!.completion_tokens);
  });

  it('json_schema chat: the content parses and fits the schema', async () => {
    const schema = {
      type: 'object',
      required: ['answer', 'confidence', 'needs_human'],
      additionalProperties: false,
      properties: { answer: { type: 'string' }, confidence: { type: 'number', minimum: 0, maximum: 1 }, needs_human: { type: 'boolean' } },
    };
    const res = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: user('Is the store open on Sunday?'),
      response_format: { type: 'json_schema', json_schema: { name: 'support_answer', schema, strict: true } },
    });
    const parsed = JSON.parse(res.choices[0]!.message.content!) as Record<string, unknown>;
    expect(Object.keys(parsed).sort()).toEqual(['answer', 'confidence', 'needs_human']);
    expect(typeof parsed.answer).toBe('string');
    expect(parsed.confidence).toBeGreaterThanOrEqual(0);
    expect(parsed.confidence).toBeLessThanOrEqual(1);
    expect(typeof parsed.needs_human).toBe('boolean');
  });

  it('streamed json_schema chat: the chunks join to JSON that fits, from the model that answered', async () => {
    const schema = { type: 'object', required: ['answer'], additionalProperties: false, properties: { answer: { type: 'string' } } };
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: user('Is the store open on Sunday?'),
      response_format: { type: 'json_schema', json_schema: { name: 'short_answer', schema, strict: true } },
      stream: true,
    });
    let text = '';
    const models = new Set<string>();
    for await (const chunk of stream) {
      models.add(chunk.model);
      text += chunk.choices[0]?.delta?.content ?? '';
    }
    expect([...models]).toEqual(['gpt-4o-mini']);
    const parsed = JSON.parse(text) as Record<string, unknown>;
    expect(Object.keys(parsed)).toEqual(['answer']);
    expect(typeof parsed.answer).toBe('string');
  });

  it('a conversation goes on with the messages the SDK returned, sent back as they are (refusal: null, parsed: null)', async () => {
    const schema = { type: 'object', required: ['answer'], additionalProperties: false, properties: { answer: { type: 'string' } } };
    const messages: OpenAI.ChatCompletionMessageParam[] = user('Is the store open on Sunday?');
    const first = await client.chat.completions.parse({
      model: 'gpt-4o-mini',
      messages,
      response_format: { type: 'json_schema', json_schema: { name: 'short_answer', schema, strict: true } },
    });
    const answer = first.choices[0]!.message;
    expect(answer).toMatchObject({ refusal: null });
    expect(answer.parsed).toEqual(JSON.parse(answer.content!));
    // The agent-loop habit: push the returned message object, then ask on.
    messages.push(answer, { role: 'user', content: 'And on Monday?' });
    const second = await client.chat.completions.create({ model: 'gpt-4o-mini', messages, temperature: null, top_p: null, max_tokens: null, seed: null });
    expect(second.choices[0]!.finish_reason).toBe('stop');
    // Not everything goes: a misspelt field in a message is still named.
    const typo = await client.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi', contnet: 'hi' } as OpenAI.ChatCompletionMessageParam] })
      .catch((e: unknown) => e);
    expect(typo).toBeInstanceOf(OpenAI.BadRequestError);
    expect((typo as InstanceType<typeof OpenAI.BadRequestError>).message).toMatch(/contnet/);
  });

  it('models.list(): the served models, paginated the SDK way', async () => {
    const ids: string[] = [];
    for await (const model of client.models.list()) {
      expect(model.object).toBe('model');
      ids.push(model.id);
    }
    expect(ids).toEqual(expect.arrayContaining(['gpt-4o-mini', 'gpt-4o', 'claude-3.5-sonnet', 'llama-3.2-70b']));
  });

  it('models.retrieve(): one served model, with the list\'s fields; an unknown one is NotFoundError', async () => {
    const model = await client.models.retrieve('gpt-4o-mini');
    expect(validators.Model(model)).toBe(true);
    const listed = [];
    for await (const m of client.models.list()) listed.push(m);
    expect(listed).toContainEqual({ ...model });
    const missing = await client.models.retrieve('gpt-9').catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
    expect((missing as InstanceType<typeof OpenAI.NotFoundError>).code).toBe('model_not_found');
  });

  const errorCases: Array<[string, (c: OpenAI) => Promise<unknown>, abstract new (...args: never[]) => InstanceType<typeof OpenAI.APIError>, number, string, string | null]> = [
    ['bad key', (c) => c.withOptions({ apiKey: 'sk-nope' }).chat.completions.create({ model: 'gpt-4o-mini', messages: user('hi') }), OpenAI.AuthenticationError, 401, 'unauthorized', null],
    ['unknown model', (c) => c.chat.completions.create({ model: 'gpt-9', messages: user('hi') }), OpenAI.NotFoundError, 404, 'model_not_found', 'model'],
    ['invalid parameter', (c) => c.chat.completions.create({ model: 'gpt-4o-mini', messages: user('hi'), temperature: 1.5 }), OpenAI.BadRequestError, 400, 'invalid_request', 'temperature'],
  ];
  it.each(errorCases)('%s -> the SDK class for its status, with the envelope code', async (_name, send, errorClass, status, code, param) => {
    const err = await send(client).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(errorClass);
    const apiError = err as InstanceType<typeof OpenAI.APIError>;
    expect(apiError.status).toBe(status);
    expect(apiError.code).toBe(code);
    expect((apiError.error as { code?: string }).code).toBe(code);
    if (param) expect(apiError.param).toBe(param);
    expect(apiError.requestID).toBeTruthy();
  });
});

describe('openai SDK: rate limits', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ agreement: fastAgreement((a) => (a.rateLimits.requestsPerMinute = 1)) });
  });
  afterAll(() => stack.close());

  it('429 -> RateLimitError with code rate_limit_exceeded and Retry-After, not retried with maxRetries 0', async () => {
    let calls = 0;
    const client = clientFor(stack, { fetch: (url, init) => (calls++, fetch(url, init)) });
    await client.chat.completions.create({ model: 'gpt-4o-mini', messages: user('first') });
    const err = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: user('second') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    const e = err as InstanceType<typeof OpenAI.RateLimitError>;
    expect(e.status).toBe(429);
    expect(e.code).toBe('rate_limit_exceeded');
    expect(Number(e.headers?.get('retry-after'))).toBeGreaterThan(0);
    expect(calls).toBe(2);
  });
});

describe('openai SDK: failures the service cannot rescue', () => {
  let stack: Stack | undefined;
  afterEach(async () => {
    await stack?.close();
    stack = undefined;
  });
  const start = async (options: StackOptions) => (stack = await startStack(options));

  it('503 with the degraded opt-out: APIError 503 at once, the SDK (maxRetries 2) does not stack retries on the service\'s', async () => {
    const s = await start({ scenario: { rules: [{ model: '*', kind: 'outage' }] } });
    const seen: Array<{ status: number; shouldRetry: string | null }> = [];
    const client = clientFor(s, {
      maxRetries: 2,
      timeout: 3000,
      defaultHeaders: { 'x-llm-no-degraded': 'true' },
      fetch: async (url, init) => {
        const res = await fetch(url, init);
        seen.push({ status: res.status, shouldRetry: res.headers.get('x-should-retry') });
        return res;
      },
    });
    const started = Date.now();
    const err = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: user('anyone?') }).catch((e: unknown) => e);
    const elapsed = Date.now() - started;
    expect(err).toBeInstanceOf(OpenAI.InternalServerError);
    const e = err as InstanceType<typeof OpenAI.APIError>;
    expect(e.status).toBe(503);
    expect(e.code).toBe('upstream_unavailable');
    expect(e.headers?.get('x-llm-fallback')).toBeNull();
    // The service already retried upstream and says so with x-should-retry: false, which the SDK honours
    // over its own 503 retry (and over any Retry-After): one call, no waiting.
    expect(seen).toEqual([{ status: 503, shouldRetry: 'false' }]);
    expect(elapsed).toBeLessThan(2500);
    // Behind that one call: the full upstream retry budget on both candidates.
    expect(s.sim.recorder.attempts('gpt-4o-mini')).toHaveLength(3);
    expect(s.sim.recorder.attempts('llama-3.2-70b')).toHaveLength(3);
  });

  it('a stream the service ends with an in-band error makes SDK iteration throw, never end as complete', async () => {
    const routes = (url: string): RoutesFile => ({
      ...defaultRoutes(url),
      models: { 'gpt-4o-mini': { upstream: 'simulator', capabilities: { continuation: false, jsonSchema: true }, fallback: [{ strategy: 'polite' }] } },
    });
    const s = await start({ scenario: { rules: [{ model: 'gpt-4o-mini', kind: 'stream_cut', after_chunks: 3 }] }, routes });
    const client = clientFor(s);
    const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: user('no rescue'), stream: true });
    let text = '';
    let ended = false;
    const err = await (async () => {
      for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
      ended = true;
    })().catch((e: unknown) => e);
    expect(ended).toBe(false);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    const e = err as InstanceType<typeof OpenAI.APIError>;
    expect(e.code).toBe('stream_interrupted');
    expect(text.length).toBeGreaterThan(0);
  });
});
