import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { agreement } from '../generated/agreement.ts';
import { createLlmClient } from './client.ts';
import { CircuitOpenError, InvalidResponseError, RateLimitError } from './errors.ts';
import { agreementTimeoutMs, withResilience } from './resilient.ts';
import type { RetryInfo } from './resilient.ts';
import { backoffDelayMs, DEFAULT_BACKOFF } from './resilience/backoff.ts';
import { chunk, completion, errorJson, fakeFetch, hangUntilAborted, json, sse } from '../test/fake-fetch.ts';
import type { Responder } from '../test/fake-fetch.ts';

const body = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'hi' }] };
const ok: Responder = () => json(200, completion());

function setup(responders: Responder[], opts: Parameters<typeof withResilience>[1] = {}) {
  const f = fakeFetch(...responders);
  const retries: RetryInfo[] = [];
  const client = withResilience(createLlmClient({ baseUrl: 'http://svc', fetch: f.fetch }), {
    backoff: { random: () => 1 },
    onRetry: (i) => retries.push(i),
    ...opts,
  });
  return { f, client, retries };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('withResilience: retries', () => {
  it('honours Retry-After exactly, then succeeds', async () => {
    const { f, client, retries } = setup([() => errorJson(429, 'rate_limit_exceeded', { 'retry-after': '2' }), ok]);
    const p = client.chat.completions.create(body);
    await vi.advanceTimersByTimeAsync(1_999);
    expect(f.requests).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect((await p).object).toBe('chat.completion');
    expect(f.requests).toHaveLength(2);
    expect(retries.map((r) => r.delayMs)).toEqual([2_000]);
  });

  it('honours retry-after-ms and x-ratelimit-reset-*, up to maxRetryAfterMs', async () => {
    const { client, retries } = setup([
      () => errorJson(503, 'circuit_open', { 'retry-after-ms': '150' }),
      () => errorJson(429, 'rate_limit_exceeded', { 'x-ratelimit-reset-requests': `${agreement.retry.maxRetryAfterMs}ms` }),
      ok,
    ]);
    const p = client.chat.completions.create(body);
    await vi.advanceTimersByTimeAsync(agreement.retry.maxRetryAfterMs + 150);
    await p;
    expect(retries.map((r) => r.delayMs)).toEqual([150, agreement.retry.maxRetryAfterMs]);
  });

  it('never retries before a Retry-After above maxRetryAfterMs: throws at once with the hint', async () => {
    const { f, client, retries } = setup([() => errorJson(429, 'rate_limit_exceeded', { 'retry-after': '60' }), ok]);
    const p = client.chat.completions.create(body).then(undefined, (e: unknown) => e);
    await vi.advanceTimersByTimeAsync(120_000);
    const e = await p;
    expect(e).toBeInstanceOf(RateLimitError);
    expect(e).toMatchObject({ status: 429, retryAfterMs: 60_000 });
    expect(f.requests).toHaveLength(1);
    expect(retries).toEqual([]);
  });

  it('never resends a request whose 200 body is not JSON', async () => {
    const { f, client } = setup([() => new Response('<html>gateway</html>', { status: 200, headers: { 'content-type': 'text/html' } }), ok]);
    const p = client.chat.completions.create(body).then(undefined, (e: unknown) => e);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(await p).toBeInstanceOf(InvalidResponseError);
    expect(f.requests).toHaveLength(1);
  });

  it('without a hint uses exponential backoff from the agreement and stops at maxAttempts', async () => {
    const { f, client, retries } = setup([() => errorJson(502, 'upstream_error')]);
    const p = client.chat.completions.create(body).then(undefined, (e: unknown) => e);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(await p).toMatchObject({ status: 502, code: 'upstream_error' });
    expect(f.requests).toHaveLength(agreement.retry.maxAttempts);
    const { initialDelayMs: d, multiplier: m } = agreement.retry;
    expect(retries.map((r) => r.delayMs)).toEqual([d, d * m].slice(0, agreement.retry.maxAttempts - 1));
  });

  it.each([
    [400, 'invalid_request'],
    [401, 'unauthorized'],
    [404, 'model_not_found'],
    [502, 'invalid_model_output'],
    [400, 'content_policy_violation'],
  ] as const)('never retries %i %s', async (status, code) => {
    const { f, client } = setup([() => errorJson(status, code)]);
    await expect(client.chat.completions.create(body)).rejects.toMatchObject({ status, code });
    expect(f.requests).toHaveLength(1);
  });

  it('retries a network error and a timeout; the timeout comes from the model in the agreement', async () => {
    const { f, client } = setup([() => Promise.reject(new TypeError('fetch failed')), hangUntilAborted, ok]);
    const p = client.chat.completions.create(body);
    await vi.advanceTimersByTimeAsync(agreement.retry.initialDelayMs); // first backoff
    expect(f.requests).toHaveLength(2);
    const timeout = agreementTimeoutMs('gpt-4o-mini', 'create');
    expect(timeout).toBe(agreement.timeouts.models['gpt-4o-mini'].totalMs + 1_000);
    await vi.advanceTimersByTimeAsync(timeout - 1);
    expect(f.requests[1]!.signal.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1 + agreement.retry.initialDelayMs * agreement.retry.multiplier);
    expect((await p).object).toBe('chat.completion');
    expect(f.requests).toHaveLength(3);
  });

  it('retries opening a stream, but never once the stream has started', async () => {
    const { f, client } = setup([
      () => errorJson(503, 'upstream_unavailable', { 'retry-after': '1' }),
      () => sse([chunk('part')]), // ends without [DONE]
    ]);
    const p = client.chat.completions.stream(body);
    await vi.advanceTimersByTimeAsync(1_000);
    const stream = await p;
    const seen: string[] = [];
    await expect(
      (async () => {
        for await (const c of stream) seen.push(c.choices[0]?.delta.content ?? '');
      })(),
    ).rejects.toMatchObject({ name: 'StreamInterruptedError' });
    expect(seen).toEqual(['part']);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(f.requests).toHaveLength(2);
  });

  it('waits are abortable by the caller', async () => {
    const { f, client } = setup([() => errorJson(429, 'rate_limit_exceeded', { 'retry-after': '5' })]);
    const ac = new AbortController();
    const p = client.models.list({ signal: ac.signal }).then(undefined, (e: unknown) => e);
    await vi.advanceTimersByTimeAsync(10);
    ac.abort(new Error('user gave up'));
    expect(await p).toMatchObject({ message: 'user gave up' });
    expect(f.requests).toHaveLength(1);
  });

  it('jobs.wait polls through the resilient jobs.get, waiting out a 429 Retry-After', async () => {
    const base = { id: 'job_1', object: 'chat.completion.job', created: 1, attempts: 1, error: null };
    const { f, client, retries } = setup([
      () => json(200, { ...base, status: 'running', result: null }),
      () => errorJson(429, 'rate_limit_exceeded', { 'retry-after': '1' }),
      () => json(200, { ...base, status: 'succeeded', result: completion('done') }),
    ]);
    const p = client.jobs.wait('job_1', { pollMs: 500 });
    await vi.advanceTimersByTimeAsync(500);
    expect(f.requests).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(999);
    expect(f.requests).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect((await p).choices[0]?.message.content).toBe('done');
    expect(f.requests).toHaveLength(3);
    expect(retries.map((r) => r.delayMs)).toEqual([1_000]);
  });

  it('a 429 that exhausts attempts surfaces RateLimitError with the server hint', async () => {
    const { client } = setup([() => errorJson(429, 'rate_limit_exceeded', { 'retry-after': '1' })]);
    const p = client.models.list().then(undefined, (e: unknown) => e);
    await vi.advanceTimersByTimeAsync(10_000);
    const e = await p;
    expect(e).toBeInstanceOf(RateLimitError);
    expect(e).toMatchObject({ retryAfterMs: 1_000 });
  });
});

describe('withResilience: circuit breaker', () => {
  it('opens after consecutive failures, fails fast without calling, half-opens after halfOpenAfterMs', async () => {
    const { f, client } = setup([() => errorJson(503, 'upstream_unavailable')], { maxAttempts: 1, breaker: { consecutiveFailures: 3, halfOpenAfterMs: 60_000 } });
    for (let i = 0; i < 3; i++) await expect(client.chat.completions.create(body)).rejects.toMatchObject({ status: 503 });
    expect(client.breakerState('gpt-4o-mini').state).toBe('open');
    const error = await client.chat.completions.create(body).then(undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(CircuitOpenError);
    expect((error as CircuitOpenError).retryAfterMs).toBe(60_000);
    expect(f.requests).toHaveLength(3);
    // Another model has its own breaker.
    await expect(client.chat.completions.create({ ...body, model: 'gpt-4o' })).rejects.toMatchObject({ status: 503 });
    expect(f.requests).toHaveLength(4);
    await vi.advanceTimersByTimeAsync(60_000);
    await expect(client.chat.completions.create(body)).rejects.toMatchObject({ status: 503 }); // the probe
    expect(f.requests).toHaveLength(5);
    expect(client.breakerState('gpt-4o-mini').state).toBe('open');
  });

  it('a successful probe closes it; 4xx answers do not count as failures', async () => {
    const answers: Responder[] = [
      () => errorJson(400, 'invalid_request'),
      () => errorJson(400, 'invalid_request'),
      () => errorJson(503, 'upstream_unavailable'),
      () => errorJson(503, 'upstream_unavailable'),
      ok,
    ];
    const { client } = setup(answers, { maxAttempts: 1, breaker: { consecutiveFailures: 2, halfOpenAfterMs: 1_000 } });
    for (let i = 0; i < 2; i++) await expect(client.chat.completions.create(body)).rejects.toMatchObject({ status: 400 });
    expect(client.breakerState('gpt-4o-mini').state).toBe('closed');
    for (let i = 0; i < 2; i++) await expect(client.chat.completions.create(body)).rejects.toMatchObject({ status: 503 });
    expect(client.breakerState('gpt-4o-mini').state).toBe('open');
    await vi.advanceTimersByTimeAsync(1_000);
    await client.chat.completions.create(body);
    expect(client.breakerState('gpt-4o-mini').state).toBe('closed');
  });

  it('property: an open breaker never calls the service', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 20 }), async (calls) => {
        const { f, client } = setup([() => errorJson(500, 'internal_error')], { maxAttempts: 1, breaker: { consecutiveFailures: 1 } });
        await client.models.list().then(undefined, () => undefined);
        for (let i = 0; i < calls; i++) await client.models.list().then(undefined, () => undefined);
        expect(f.requests).toHaveLength(1);
      }),
      { numRuns: 20 },
    );
  });
});

describe('backoffDelayMs', () => {
  it('property: full jitter stays within [0, min(max, initial·m^(n-1))]', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 30 }), fc.double({ min: 0, max: 0.9999999, noNaN: true }), (n, r) => {
        const d = backoffDelayMs(n, { ...DEFAULT_BACKOFF, random: () => r });
        const ceiling = Math.min(DEFAULT_BACKOFF.maxDelayMs, DEFAULT_BACKOFF.initialDelayMs * DEFAULT_BACKOFF.multiplier ** (n - 1));
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThanOrEqual(ceiling);
      }),
    );
  });
});
