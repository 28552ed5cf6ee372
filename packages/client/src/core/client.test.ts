import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLlmClient } from './client.ts';
import {
  AuthenticationError,
  BadRequestError,
  ConnectionError,
  InvalidResponseError,
  isLlmApiError,
  JobFailedError,
  NotFoundError,
  RateLimitError,
  ServerError,
  TimeoutError,
} from './errors.ts';
import { completion, errorJson, fakeFetch, hangUntilAborted, json } from '../test/fake-fetch.ts';

const body = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'hi' }] };

afterEach(() => {
  vi.useRealTimers();
});

describe('createLlmClient', () => {
  it('POSTs the body with auth and custom headers and returns the ChatCompletion with meta', async () => {
    const f = fakeFetch(() => json(200, completion('Hi!', 'llama-3.2-70b'), { 'x-request-id': 'r1', 'x-llm-fallback': 'alternative_model' }));
    const client = createLlmClient({ baseUrl: 'http://svc/', apiKey: 'k', headers: { 'x-tenant': 't' }, fetch: f.fetch });
    const { data, meta } = await client.chat.completions.create(body, { requestId: 'r1', noDegraded: true }).withResponse();
    expect(data.object).toBe('chat.completion');
    if (data.object === 'chat.completion') expect(data.choices[0]?.message.content).toBe('Hi!');
    expect(meta).toMatchObject({ status: 200, requestId: 'r1', fallback: 'alternative_model' });
    const req = f.requests[0]!;
    expect(req.method).toBe('POST');
    expect(req.url).toBe('http://svc/v1/chat/completions');
    expect(req.headers.get('authorization')).toBe('Bearer k');
    expect(req.headers.get('x-tenant')).toBe('t');
    expect(req.headers.get('x-request-id')).toBe('r1');
    expect(req.headers.get('x-llm-no-degraded')).toBe('true');
    expect(await req.json()).toEqual(body);
  });

  it('returns JobAccepted for 202 with its Location', async () => {
    const accepted = { id: 'job_1', object: 'chat.completion.job', status: 'queued', created: 1, location: '/v1/jobs/job_1' };
    const f = fakeFetch(() => json(202, accepted, { location: '/v1/jobs/job_1', 'x-llm-fallback': 'async' }));
    const { data, meta } = await createLlmClient({ baseUrl: 'http://svc', fetch: f.fetch }).chat.completions.create(body).withResponse();
    expect(data.object).toBe('chat.completion.job');
    expect(meta.location).toBe('/v1/jobs/job_1');
    expect(meta.fallback).toBe('async');
  });

  it.each([
    [400, 'invalid_request', BadRequestError, false],
    [401, 'unauthorized', AuthenticationError, false],
    [404, 'model_not_found', NotFoundError, false],
    [408, 'request_timeout', TimeoutError, true],
    [429, 'rate_limit_exceeded', RateLimitError, true],
    [500, 'internal_error', ServerError, true],
    [502, 'invalid_model_output', ServerError, false],
    [502, 'upstream_error', ServerError, true],
    [503, 'circuit_open', ServerError, true],
    [504, 'upstream_timeout', TimeoutError, true],
  ] as const)('maps %i %s to a typed error (retryable=%s)', async (status, code, Class, retryable) => {
    const f = fakeFetch(() => errorJson(status, code, { 'x-request-id': 'rq' }));
    const error = await createLlmClient({ baseUrl: 'http://svc', fetch: f.fetch })
      .chat.completions.create(body)
      .then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(Class);
    expect(isLlmApiError(error)).toBe(true);
    expect(error).toMatchObject({ status, code, retryable, requestId: 'rq', message: `${code} happened` });
  });

  it('x-should-retry overrides the contract', async () => {
    const f = fakeFetch(() => errorJson(500, 'internal_error', { 'x-should-retry': 'false' }));
    await expect(createLlmClient({ baseUrl: 'http://svc', fetch: f.fetch }).models.list()).rejects.toMatchObject({ retryable: false });
  });

  it('a failed fetch becomes a retryable ConnectionError keeping the cause', async () => {
    const cause = new TypeError('fetch failed');
    const f = fakeFetch(() => Promise.reject(cause));
    const error = await createLlmClient({ baseUrl: 'http://svc', fetch: f.fetch }).models.list().then(undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expect(error).toMatchObject({ retryable: true, status: undefined, cause });
  });

  it('a 200 whose body is not JSON is a non-retryable InvalidResponseError with status and request id, not a ConnectionError', async () => {
    const f = fakeFetch(() => new Response('<html>proxy page</html>', { status: 200, headers: { 'content-type': 'text/html', 'x-request-id': 'rq' } }));
    const error = await createLlmClient({ baseUrl: 'http://svc', fetch: f.fetch }).chat.completions.create(body).then(undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidResponseError);
    expect(error).not.toBeInstanceOf(ConnectionError);
    expect(error).toMatchObject({ status: 200, requestId: 'rq', code: 'invalid_response', retryable: false });
    expect((error as Error).message).toMatch(/not valid JSON/);
    expect((error as Error).cause).toBeInstanceOf(SyntaxError);
  });

  it('times out with a TimeoutError (fake timers)', async () => {
    vi.useFakeTimers();
    const f = fakeFetch(hangUntilAborted);
    const p = createLlmClient({ baseUrl: 'http://svc', fetch: f.fetch, timeoutMs: 5_000 }).models.list().then(undefined, (e: unknown) => e);
    await vi.advanceTimersByTimeAsync(4_999);
    expect(f.requests[0]!.signal.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    const error = await p;
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toMatchObject({ code: 'client_timeout', retryable: true });
  });

  it("the caller's abort is passed through, not turned into a typed error", async () => {
    const f = fakeFetch(hangUntilAborted);
    const ac = new AbortController();
    const p = createLlmClient({ baseUrl: 'http://svc', fetch: f.fetch }).models.list({ signal: ac.signal });
    ac.abort(new Error('stop'));
    await expect(p).rejects.toThrow('stop');
  });

  it('jobs.get fills the path; health.ready resolves 503 to Readiness', async () => {
    const job = { id: 'job_9', object: 'chat.completion.job', status: 'running', created: 1, attempts: 1, result: null, error: null };
    const f = fakeFetch(() => json(200, job), () => json(503, { status: 'not_ready', checks: [] }, { 'retry-after': '5' }));
    const client = createLlmClient({ baseUrl: 'http://svc', fetch: f.fetch });
    expect((await client.jobs.get('job_9')).status).toBe('running');
    expect(f.requests[0]!.url).toBe('http://svc/v1/jobs/job_9');
    const ready = await client.health.ready().withResponse();
    expect(ready.data.status).toBe('not_ready');
    expect(ready.meta.status).toBe(503);
  });

  it('jobs.wait polls until succeeded', async () => {
    vi.useFakeTimers();
    const base = { id: 'job_1', object: 'chat.completion.job', created: 1, attempts: 1, error: null };
    const f = fakeFetch(
      () => json(200, { ...base, status: 'queued', result: null }),
      () => json(200, { ...base, status: 'running', result: null }),
      () => json(200, { ...base, status: 'succeeded', result: completion('done') }),
    );
    const p = createLlmClient({ baseUrl: 'http://svc', fetch: f.fetch }).jobs.wait('job_1', { pollMs: 500 });
    await vi.advanceTimersByTimeAsync(1_000);
    const result = await p;
    expect(result.choices[0]?.message.content).toBe('done');
    expect(f.requests).toHaveLength(3);
  });

  it('jobs.wait throws JobFailedError and TimeoutError', async () => {
    vi.useFakeTimers();
    const base = { id: 'job_1', object: 'chat.completion.job', created: 1, attempts: 5, result: null };
    const failed = fakeFetch(() =>
      json(200, { ...base, status: 'failed', error: { code: 'upstream_timeout', message: 'no answer', type: 'timeout_error', param: null } }),
    );
    await expect(createLlmClient({ baseUrl: 'http://svc', fetch: failed.fetch }).jobs.wait('job_1')).rejects.toBeInstanceOf(JobFailedError);
    const slow = fakeFetch(() => json(200, { ...base, status: 'running', error: null }));
    const p = createLlmClient({ baseUrl: 'http://svc', fetch: slow.fetch }).jobs.wait('job_1', { pollMs: 1_000, timeoutMs: 3_000 }).then(undefined, (e: unknown) => e);
    await vi.advanceTimersByTimeAsync(3_000);
    expect(await p).toBeInstanceOf(TimeoutError);
    expect(slow.requests.length).toBe(4);
  });
});
