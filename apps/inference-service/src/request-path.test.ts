import { validators } from '@llmgw/contract';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OTHER_KEY, TEST_KEY, ask, fastAgreement, readSse, startStack, type Stack } from './testing/stack.ts';

describe('request path over HTTP against the simulator', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      agreement: fastAgreement((a) => {
        a.rateLimits.requestsPerMinute = 1000;
      }),
    });
  });
  afterAll(() => stack.close());

  it('answers a plain chat in the contract shape with rate-limit headers and a request id', async () => {
    const res = await stack.chat(ask('How do I reset my password?'), { headers: { 'x-request-id': 'req-123' } });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(validators.ChatCompletion(body)).toBe(true);
    expect(body.model).toBe('gpt-4o-mini');
    expect(body.choices[0].message.content.length).toBeGreaterThan(0);
    expect(body.usage.total_tokens).toBe(body.usage.prompt_tokens + body.usage.completion_tokens);
    expect(res.headers.get('x-request-id')).toBe('req-123');
    for (const h of ['limit', 'remaining', 'reset']) {
      expect(res.headers.get(`x-ratelimit-${h}-requests`)).toBeTruthy();
      expect(res.headers.get(`x-ratelimit-${h}-tokens`)).toBeTruthy();
    }
    expect(res.headers.get('x-llm-fallback')).toBeNull();
  });

  it('streams OpenAI chunks ending with [DONE], with usage when asked', async () => {
    const res = await stack.chat(ask('Tell me about opening hours', { stream: true, stream_options: { include_usage: true } }));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    const events = await readSse(res);
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = events.filter((e): e is Record<string, any> => e !== '[DONE]');
    for (const chunk of chunks) expect(validators.ChatCompletionChunk(chunk)).toBe(true);
    expect(chunks[0]!.choices[0].delta.role).toBe('assistant');
    const text = chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');
    const plain = await (await stack.chat(ask('Tell me about opening hours'))).json();
    expect(text).toBe(plain.choices[0].message.content);
    expect(chunks.at(-1)!.usage.completion_tokens).toBeGreaterThan(0);
    expect(chunks.some((c) => c.choices[0]?.finish_reason === 'stop')).toBe(true);
  });

  it('answers a structured request whose schema has a pattern (the engine is loaded for the first one)', async () => {
    const schema = { type: 'object', properties: { answer: { type: 'string', pattern: '^[^\\u0000]*$' } }, required: ['answer'], additionalProperties: false };
    for (let i = 0; i < 2; i++) {
      const res = await stack.chat(ask(`structured ${i}`, { response_format: { type: 'json_schema', json_schema: { name: 'p', strict: true, schema } } }));
      expect(res.status).toBe(200);
      expect(JSON.parse((await res.json()).choices[0].message.content)).toHaveProperty('answer');
    }
    const lookahead = await stack.chat(ask('structured', { response_format: { type: 'json_object', schema: { type: 'string', pattern: '(?=a)' } } }));
    expect(lookahead.status).toBe(422);
    expect((await lookahead.json()).error.param).toBe('response_format.schema');
  });

  it('takes the in-flight gauge back down after every kind of /v1 request, not only chats', async () => {
    const auth = { authorization: 'Bearer sk-test-a' };
    for (const path of ['/v1/models', '/v1/models/gpt-4o-mini', '/v1/jobs/job_nope', '/v1/nothing']) await fetch(`${stack.url}${path}`, { headers: auth });
    await fetch(`${stack.url}/v1/models`);
    await stack.chat(ask('one more'));
    await new Promise((r) => setTimeout(r, 20));
    expect(await (await fetch(`${stack.url}/metrics`)).text()).toMatch(/^llm_inflight_requests 0$/m);
  });

  it('lists served models in OpenAI shape', async () => {
    const res = await fetch(`${stack.url}/v1/models`, { headers: { authorization: 'Bearer sk-test-a' } });
    const body = await res.json();
    expect(validators.ModelList(body)).toBe(true);
    expect(body.data.map((m: { id: string }) => m.id)).toEqual(expect.arrayContaining(['gpt-4o-mini', 'claude-3.5-sonnet', 'llama-3.2-70b']));
  });

  const errorCases: Array<[string, () => Promise<Response>, number, string, string | null]> = [
    ['missing key', () => stack.chat(ask('hi'), { key: null }), 401, 'unauthorized', null],
    ['unknown key', () => stack.chat(ask('hi'), { key: 'sk-nope' }), 401, 'unauthorized', null],
    ['model not allowed for the key', () => stack.chat({ ...ask('hi'), model: 'claude-3.5-sonnet' }, { key: OTHER_KEY }), 403, 'forbidden', 'model'],
    ['unknown model', () => stack.chat({ ...ask('hi'), model: 'gpt-9' }), 404, 'model_not_found', 'model'],
    ['missing field', () => stack.chat({ model: 'gpt-4o-mini' }), 400, 'invalid_request', 'messages'],
    ['bad role', () => stack.chat({ model: 'gpt-4o-mini', messages: [{ role: 'wizard', content: 'x' }] }), 400, 'invalid_request', 'messages[0].role'],
    ['temperature out of range', () => stack.chat(ask('hi', { temperature: 1.5 })), 400, 'invalid_request', 'temperature'],
    ['malformed JSON', () => stack.chat('{"model": "gpt-4o-mini", "messages": ['), 400, 'invalid_request', null],
    ['wrong content type', () => stack.chat(JSON.stringify(ask('hi')), { headers: { 'content-type': 'text/plain' } }), 415, 'unsupported_media_type', null],
    ['body over the limit', () => stack.chat(ask('x'.repeat(1024 * 1024 + 10))), 413, 'payload_too_large', null],
    ['unusable json_schema', () => stack.chat(ask('hi', { response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'strin' } } } })), 422, 'unprocessable_entity', 'response_format.json_schema.schema'],
  ];
  it.each(errorCases)('%s -> %i %s with the error envelope', async (_name, send, status, code, param) => {
    const res = await send();
    expect(res.status).toBe(status);
    const body = await res.json();
    expect(validators.ErrorResponse(body)).toBe(true);
    expect(body.error.code).toBe(code);
    if (param) expect(body.error.param).toBe(param);
    expect(body.error.message.length).toBeGreaterThan(5);
    expect(res.headers.get('x-request-id')).toBeTruthy();
  });

  it('rejects invalid UTF-8 with 400, not replacement characters', async () => {
    const bytes = Buffer.concat([Buffer.from('{"model":"gpt-4o-mini","messages":[{"role":"user","content":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}]}')]);
    const res = await fetch(`${stack.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer sk-test-a' },
      body: bytes,
    });
    expect(res.status).toBe(400);
    expect((await res.json()).error.message).toMatch(/UTF-8/);
  });

  it('serves the contract at /openapi.json and /openapi.yaml', async () => {
    const json = await (await fetch(`${stack.url}/openapi.json`)).json();
    expect(json.openapi).toBe('3.1.0');
    const yaml = await (await fetch(`${stack.url}/openapi.yaml`)).text();
    expect(yaml).toMatch(/^openapi: 3\.1\.0/m);
  });

  it('reports liveness and readiness', async () => {
    expect((await fetch(`${stack.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${stack.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(validators.Readiness(await ready.json())).toBe(true);
  });

  it("routes with Hono's RegExpRouter, not the slower TrieRouter fallback", async () => {
    // SmartRouter picks a router at the first request; one route shape RegExpRouter
    // cannot take (a static path beside a parametric one) drops every route to the trie.
    expect((await fetch(`${stack.url}/docs/init.js`)).status).toBe(200);
    const router = stack.service.app.router as unknown as { activeRouter?: { name: string } };
    expect(router.activeRouter?.name).toBe('RegExpRouter');
  });

  it('answers an unknown path with a 404 envelope', async () => {
    const res = await fetch(`${stack.url}/v2/nothing`);
    expect(res.status).toBe(404);
    expect(validators.ErrorResponse(await res.json())).toBe(true);
  });
});

describe('rate limits per key', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ agreement: fastAgreement((a) => (a.rateLimits.requestsPerMinute = 3)) });
  });
  afterAll(() => stack.close());

  it('gives 429 with Retry-After and headers after the limit, per key', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await stack.chat(ask(`q${i}`))).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    const res = await stack.chat(ask('again'));
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(res.headers.get('x-ratelimit-remaining-requests')).toBe('0');
    expect((await res.json()).error.code).toBe('rate_limit_exceeded');
    // Another key is not affected.
    expect((await stack.chat(ask('other'), { key: OTHER_KEY })).status).toBe(200);
  });
});

describe('reads under their own rate limit', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ agreement: fastAgreement((a) => (a.rateLimits.requestsPerMinute = 3)) });
  });
  afterAll(() => stack.close());

  const get = (path: string, key = TEST_KEY) => fetch(`${stack.url}${path}`, { headers: { authorization: `Bearer ${key}` } });

  it('holds model lookups and job polls to a window of their own (ten per request), apart from chats', async () => {
    // requestsPerMinute 3: 30 reads a minute.
    for (let i = 0; i < 10; i++) {
      for (const path of ['/v1/models', '/v1/models/gpt-4o-mini', '/v1/jobs/job_unknown']) {
        const res = await get(path);
        expect(res.status, `${path} #${i}`).not.toBe(429);
        // The x-ratelimit-* headers describe the chat windows, which reads do not use.
        expect(res.headers.get('x-ratelimit-remaining-requests')).toBeNull();
      }
    }
    for (const path of ['/v1/models', '/v1/models/gpt-4o-mini', '/v1/jobs/job_unknown']) {
      const res = await get(path);
      expect(res.status).toBe(429);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
      const body = await res.json();
      expect(validators.ErrorResponse(body)).toBe(true);
      expect(body.error).toMatchObject({ code: 'rate_limit_exceeded', message: expect.stringMatching(/Read rate limit of 30 per minute/) });
    }
    // Counted apart from the chat windows' rejections.
    expect(await (await fetch(`${stack.url}/metrics`)).text()).toMatch(/^llm_rate_limit_rejections_total\{kind="reads"\} 3$/m);
    // A key that polled its fill still has every chat request; another key still reads.
    for (let i = 0; i < 3; i++) expect((await stack.chat(ask(`q${i}`))).status).toBe(200);
    expect((await get('/v1/models', OTHER_KEY)).status).toBe(200);
  });
});

describe('token rate limit over HTTP', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ agreement: fastAgreement((a) => (a.rateLimits.tokensPerMinute = 5000)) });
  });
  afterAll(() => stack.close());

  const remainingTokens = (res: Response) => Number(res.headers.get('x-ratelimit-remaining-tokens'));

  it('estimates with the completion allowance upstream gets: the smaller of max_tokens and max_completion_tokens', async () => {
    const first = await stack.chat({ ...ask('q1'), max_tokens: 5, max_completion_tokens: 4000 });
    expect(first.status).toBe(200);
    // 'q1' is one token, plus the 5 allowed: 4000 would have left 999.
    expect(remainingTokens(first)).toBeGreaterThan(4990);
  });

  it('answers a request larger than the whole limit with 400, and it costs the key nothing', async () => {
    const before = remainingTokens(await stack.chat({ ...ask('hi'), max_tokens: 1 }, { key: OTHER_KEY }));
    const huge = await stack.chat(ask('word '.repeat(30_000)), { key: OTHER_KEY });
    expect(huge.status).toBe(400);
    expect(huge.headers.get('retry-after')).toBeNull();
    expect((await huge.json()).error).toMatchObject({ code: 'invalid_request', param: 'messages' });
    const after = await stack.chat({ ...ask('hi'), max_tokens: 1 }, { key: OTHER_KEY });
    expect(after.status).toBe(200);
    // Only the small requests were charged (about 2 tokens each, then their real usage).
    expect(remainingTokens(after)).toBeGreaterThan(before - 100);
  });
});

describe('shared store down, failing closed', () => {
  it('answers 503 with Retry-After and without x-should-retry: false (nothing was retried)', async () => {
    const { memoryDefaults } = await import('./stores/index.ts');
    const agreement = fastAgreement();
    const { stores, jobs } = memoryDefaults(agreement);
    const down = () => Promise.reject(new Error('ECONNREFUSED'));
    const stack = await startStack({
      agreement,
      config: { storeFailure: 'closed' },
      service: { stores: { ...stores, requestLimiter: { consume: down, penalize: down, peek: down } }, jobs },
    });
    try {
      const res = await stack.chat(ask('hi'));
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('1');
      expect(res.headers.get('x-should-retry')).toBeNull();
      expect(stack.sim.recorder.attempts()).toHaveLength(0);
      // Reads cost the upstreams nothing: they are not refused for a store that is down.
      const models = await fetch(`${stack.url}/v1/models`, { headers: { authorization: `Bearer ${TEST_KEY}` } });
      expect(models.status).toBe(200);
    } finally {
      await stack.close();
    }
  });
});
