import type { ChatCompletion } from '@llmgw/contract';
import { registerRoutes, ResponseValidationError, type Handlers } from '@llmgw/server';
import { Hono } from 'hono';
import { resolve } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { loadContract } from './contract.ts';
import { generateRoutes } from './routes.ts';

const completion: ChatCompletion = {
  id: 'chatcmpl-1',
  object: 'chat.completion',
  created: 1764000000,
  model: 'gpt-4o-mini',
  choices: [{ index: 0, message: { role: 'assistant', content: 'Hello' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
};

function handlers(overrides: Partial<Handlers> = {}): Handlers {
  return {
    createChatCompletion: vi.fn(() => ({ status: 200 as const, body: completion })),
    listModels: () => ({ status: 200, body: { object: 'list', data: [] } }),
    getModel: (_c, { params }) => ({ status: 200, body: { id: params.model, object: 'model', created: 1, owned_by: 'sim' } }),
    getJob: (_c, { params }) => ({ status: 404, body: { error: { code: 'job_not_found', message: `No job ${params.job_id}.`, type: 'not_found_error', param: null } } }),
    getHealth: () => ({ status: 200, body: { status: 'ok' } }),
    getReadiness: () => ({ status: 503, body: { status: 'not_ready', checks: [{ name: 'upstream:x', status: 'fail' }] }, headers: { 'retry-after': '5' } }),
    ...overrides,
  };
}

const chat = (app: Hono, body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
  app.request('/v1/chat/completions', { method: 'POST', body, headers });
const valid = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }] });

describe('generated Hono stubs', () => {
  it.each([
    ['text/plain', 'text/plain'],
    ['missing', undefined],
    ['json-ish', 'application/jsonx'],
    ['another charset', 'application/json; charset=latin1'],
  ])('415 unsupported_media_type when Content-Type is %s', async (_name, type) => {
    const h = handlers();
    const app = registerRoutes(new Hono(), h);
    const res = await chat(app, valid, type === undefined ? {} : { 'content-type': type });
    expect(res.status).toBe(415);
    const body = await res.json();
    expect(body.error.code).toBe('unsupported_media_type');
    expect(body.error.type).toBe('invalid_request_error');
    expect(h.createChatCompletion).not.toHaveBeenCalled();
  });

  it.each(['application/json; charset=utf-8', 'Application/JSON;charset="UTF-8"'])('accepts %s', async (type) => {
    const res = await chat(registerRoutes(new Hono(), handlers()), valid, { 'content-type': type });
    expect(res.status).toBe(200);
  });

  it('400 invalid_request for malformed JSON, saying where, never echoing the body', async () => {
    const res = await chat(registerRoutes(new Hono(), handlers()), '{"model": "gpt-4o", "secret": nope}');
    expect(res.status).toBe(400);
    const body = await res.json();
    expect(body.error).toEqual({ code: 'invalid_request', type: 'invalid_request_error', param: null, message: 'Malformed JSON body: unexpected character at line 1, column 31 (offset 30).' });
    expect(body.error.message).not.toContain('nope');
  });

  it('400 for a missing field, naming it in message and param', async () => {
    const res = await chat(registerRoutes(new Hono(), handlers()), JSON.stringify({ messages: [{ role: 'user', content: 'Hi' }] }));
    expect(res.status).toBe(400);
    expect((await res.json()).error).toMatchObject({ code: 'invalid_request', param: 'model', message: 'model: is required' });
  });

  it('400 for a bad nested field with its path', async () => {
    const res = await chat(registerRoutes(new Hono(), handlers()), JSON.stringify({ model: 'm', messages: [{ role: 'robot', content: 'Hi' }] }));
    expect((await res.json()).error).toMatchObject({ param: 'messages[0].role', message: 'messages[0].role: must be one of system, developer, user, assistant' });
  });

  it('validates header parameters', async () => {
    const res = await chat(registerRoutes(new Hono(), handlers()), valid, { 'content-type': 'application/json', 'x-llm-no-degraded': 'yes' });
    expect(res.status).toBe(400);
    expect((await res.json()).error).toMatchObject({ param: 'x-llm-no-degraded', message: 'x-llm-no-degraded: must be one of true, false' });
  });

  it('validates path parameters', async () => {
    const app = registerRoutes(new Hono(), handlers());
    const bad = await app.request('/v1/jobs/not-a-job');
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.param).toBe('job_id');
    const good = await app.request('/v1/jobs/job_42', { headers: { 'x-request-id': 'req-1' } });
    expect(good.status).toBe(404);
    expect((await good.json()).error.message).toBe('No job job_42.');
  });

  it('a valid request reaches the handler with the typed input, and the result becomes JSON', async () => {
    const h = handlers();
    const app = registerRoutes(new Hono(), h, { validateResponses: true });
    const res = await chat(app, valid, { 'content-type': 'application/json', 'x-request-id': 'abc', 'x-llm-no-degraded': 'true' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.json()).toEqual(completion);
    expect(h.createChatCompletion).toHaveBeenCalledWith(expect.anything(), {
      body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }] },
      headers: { 'x-request-id': 'abc', 'x-llm-no-degraded': 'true' },
    });
  });

  it('keeps headers set by earlier middleware and adds the result headers', async () => {
    const app = new Hono();
    app.use(async (c, next) => {
      c.header('x-request-id', 'from-middleware');
      await next();
    });
    registerRoutes(app, handlers());
    const res = await app.request('/readyz');
    expect(res.status).toBe(503);
    expect(res.headers.get('x-request-id')).toBe('from-middleware');
    expect(res.headers.get('retry-after')).toBe('5');
  });

  it('streams SSE results with text/event-stream and no-cache', async () => {
    const stream = new Response('data: {}\n\ndata: [DONE]\n\n').body as ReadableStream<Uint8Array>;
    const app = registerRoutes(new Hono(), handlers({ createChatCompletion: () => ({ status: 200, sse: stream }) }), { validateResponses: true });
    const res = await chat(app, valid);
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(await res.text()).toBe('data: {}\n\ndata: [DONE]\n\n');
  });

  describe('response validation', () => {
    const wrong = handlers({ createChatCompletion: () => ({ status: 200, body: { ...completion, usage: { ...completion.usage, prompt_tokens: 'one' } } }) as never });

    it('is off by default: the wrong shape is sent as is', async () => {
      const res = await chat(registerRoutes(new Hono(), wrong), valid);
      expect(res.status).toBe(200);
    });

    it('reports through onResponseValidationError when given', async () => {
      const onResponseValidationError = vi.fn();
      const res = await chat(registerRoutes(new Hono(), wrong, { validateResponses: true, onResponseValidationError }), valid);
      expect(res.status).toBe(200);
      const error = onResponseValidationError.mock.calls[0]?.[0] as ResponseValidationError;
      expect(error).toBeInstanceOf(ResponseValidationError);
      expect(error.message).toBe('createChatCompletion answered 200 against the contract: usage.prompt_tokens: must be integer');
    });

    it('throws otherwise (Hono onError answers)', async () => {
      const app = new Hono();
      app.onError((err, c) => c.json({ caught: err.message }, 500));
      const res = await chat(registerRoutes(app, wrong, { validateResponses: true }), valid);
      expect(res.status).toBe(500);
      expect((await res.json()).caught).toContain('usage.prompt_tokens: must be integer');
    });

    it('catches a status the contract does not allow, and SSE where none is documented', async () => {
      const onResponseValidationError = vi.fn();
      const app = registerRoutes(
        new Hono(),
        handlers({
          getHealth: () => ({ status: 418, body: { status: 'ok' } }) as never,
          listModels: () => ({ status: 200, sse: new ReadableStream() }) as never,
        }),
        { validateResponses: true, onResponseValidationError },
      );
      await app.request('/healthz');
      await app.request('/v1/models');
      expect(onResponseValidationError.mock.calls.map(([e]) => (e as Error).message)).toEqual([
        'getHealth answered 418 against the contract: status 418 has no JSON body in the contract',
        'listModels answered 200 against the contract: status 200 is not an event stream in the contract',
      ]);
    });
  });

  it('generation is deterministic and registers every operation', () => {
    const contract = loadContract(resolve(import.meta.dirname, '../../..'));
    const text = generateRoutes(contract);
    expect(generateRoutes(contract)).toBe(text);
    for (const route of ["app.on('POST', '/v1/chat/completions'", "app.on('GET', '/v1/jobs/:job_id'", "app.on('GET', '/readyz'"]) expect(text).toContain(route);
    expect(text).toMatch(/\| \{ readonly status: 200; readonly sse: ReadableStream<Uint8Array>; readonly headers\?: ResponseHeaders \}/);
  });
});
