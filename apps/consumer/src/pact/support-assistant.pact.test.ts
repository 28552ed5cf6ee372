// Consumer side of the contract: the REAL client (and the assistant built on it) against the
// Pact mock server. Each interaction says what the assistant needs; the provider verification
// (apps/inference-service/src/pact) replays them on the real service.
//
// Retries: the service answers every chat 5xx with `x-should-retry: false` (it already retried
// upstream and failed over), so the pact's 503 says exactly that and the test asserts the client
// does NOT retry it (one request). The retry the client does make is shown on the 429, whose
// `Retry-After` it honours (capped) — both are what the real provider sends; a retryable 503
// would be a promise the provider cannot verify. Unit tests in packages/client cover retrying a
// 503 that carries no `x-should-retry`.
import { MatchersV3, PactV4 } from '@pact-foundation/pact';
import { rmSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { BadRequestError, createLlmClient, RateLimitError, withResilience } from '@llmgw/client';
import type { ChatCompletion, JobAccepted } from '@llmgw/client';
import { createAssistant, parseStructured, SYSTEM_PROMPT } from '../assistant.ts';
import {
  completion,
  CONSUMER,
  errorEnvelope,
  jsonHeaders,
  PACT_DIR,
  PACT_FILE,
  PACT_KEYS,
  PROVIDER,
  QUESTIONS,
  STATES,
  STREAM_RULES,
  structuredContent,
  structuredRequest,
  authorization,
} from './interactions.ts';

const { like, integer, regex, string, equal, fromProviderState } = MatchersV3;

process.env.PACT_DO_NOT_TRACK = 'true';
const pact = new PactV4({ consumer: CONSUMER, provider: PROVIDER, dir: PACT_DIR, logLevel: 'warn' });

// The file is rewritten from scratch each run so an interaction removed here does not linger.
beforeAll(() => rmSync(PACT_FILE, { force: true }));

/** A fetch that counts what reached the mock server (to see the client's retries). */
function countingFetch() {
  const calls: string[] = [];
  const fetchFn: typeof fetch = (input, init) => {
    calls.push(input instanceof Request ? `${input.method} ${new URL(input.url).pathname}` : String(input));
    return fetch(input, init);
  };
  return { calls, fetch: fetchFn };
}

const example = { answer: 'Open Settings, choose Security and follow "Reset password".', confidence: 0.9, needs_human: false };

describe('support-assistant -> llm-inference-service', () => {
  it('gets a plain answer', async () => {
    await pact
      .addInteraction()
      .given(STATES.normal)
      .uponReceiving('a plain question')
      .withRequest('POST', '/v1/chat/completions', (b) =>
        b.headers(jsonHeaders(PACT_KEYS.consumer)).jsonBody({ model: equal('gpt-4o-mini'), messages: [{ role: equal('user'), content: like(QUESTIONS.plain) }] }),
      )
      .willRespondWith(200, (b) =>
        b
          .headers({ 'x-request-id': like('req-1'), 'x-ratelimit-remaining-requests': regex('^\\d+$', '599') })
          .jsonBody(completion(string('We are open 8:00-22:00 every day.'))),
      )
      .executeTest(async (server) => {
        const client = withResilience(createLlmClient({ baseUrl: server.url, apiKey: PACT_KEYS.consumer }));
        const { data, meta } = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: QUESTIONS.plain }] }).withResponse();
        const answer = data as ChatCompletion;
        expect(answer.object).toBe('chat.completion');
        expect(answer.choices[0]?.message.content).toBe('We are open 8:00-22:00 every day.');
        expect(meta.requestId).toBe('req-1');
        expect(meta.fallback).toBeUndefined();
      });
  });

  it('gets a structured answer', async () => {
    await pact
      .addInteraction()
      .given(STATES.normal)
      .uponReceiving('a structured support question')
      .withRequest('POST', '/v1/chat/completions', (b) => b.headers(jsonHeaders(PACT_KEYS.consumer)).jsonBody(structuredRequest(QUESTIONS.structured)))
      .willRespondWith(200, (b) => b.jsonBody(completion(structuredContent(example))))
      .executeTest(async (server) => {
        const a = await createAssistant({ serviceUrl: server.url, apiKey: PACT_KEYS.consumer }).ask(QUESTIONS.structured);
        expect(a).toEqual({ ...example, source: 'model', model: 'gpt-4o-mini' });
      });
  });

  it('gets a streamed answer that ends with [DONE]', async () => {
    const chunk = (delta: Record<string, unknown>, finish: string | null) =>
      `data: ${JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1764000000, model: 'gpt-4o-mini', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
    const sse = `${chunk({ role: 'assistant', content: '' }, null)}${chunk({ content: 'We are open ' }, null)}${chunk({ content: 'every day.' }, null)}${chunk({}, 'stop')}data: [DONE]\n\n`;
    await pact
      .addInteraction()
      .given(STATES.normal)
      .uponReceiving('a streamed question')
      .withRequest('POST', '/v1/chat/completions', (b) =>
        b.headers(jsonHeaders(PACT_KEYS.consumer)).jsonBody({
          model: equal('gpt-4o-mini'),
          messages: [
            { role: equal('system'), content: like(SYSTEM_PROMPT) },
            { role: equal('user'), content: like(QUESTIONS.plain) },
          ],
          stream: equal(true),
        }),
      )
      .willRespondWith(200, (b) =>
        b
          .headers({ 'content-type': regex('^text/event-stream', 'text/event-stream') })
          .body('text/plain', Buffer.from(sse)) // Pact's matchers treat text/event-stream as binary: match it as text
          // Chunks whose choices[0].delta carries the text, some of it non-blank, then [DONE] (see STREAM_RULES).
          .matchingRules({ body: { path: '$', rules: STREAM_RULES.map((rule) => regex(rule, sse)) } }),
      )
      .executeTest(async (server) => {
        const a = await createAssistant({ serviceUrl: server.url, apiKey: PACT_KEYS.consumer }).ask(QUESTIONS.plain, { stream: true });
        expect(a).toMatchObject({ answer: 'We are open every day.', source: 'model', model: 'gpt-4o-mini' });
      });
  });

  it('describes the streamed body by what the assistant reads (JavaScript check of the rules Pact runs)', () => {
    const event = (choice: Record<string, unknown>) =>
      `data: ${JSON.stringify({ id: 'chatcmpl-2', object: 'chat.completion.chunk', created: 1764000001, model: 'gpt-4o', choices: [{ index: 0, ...choice, finish_reason: null }] })}\n\n`;
    const body = (...events: string[]) => `${events.join('')}data: [DONE]\n\n`;
    const passes = (sse: string) => STREAM_RULES.every((rule) => new RegExp(rule).test(sse));
    expect(passes(body(event({ delta: { role: 'assistant', content: '' } }), event({ delta: { content: 'Hi' } }), event({ delta: {} })))).toBe(true);
    expect(passes(body(event({ delta: { content: 'Hi' } })).replaceAll('\n', '\r\n'))).toBe(true); // CRLF line ends
    expect(passes(body(event({ message: { content: 'Hi' } })))).toBe(false); // no delta: nothing to read
    expect(passes(body(event({ delta: { content: ' ' } }), event({ delta: {} })))).toBe(false); // no text: empty_answer
    expect(passes(event({ delta: { content: 'Hi' } }))).toBe(false); // no [DONE]: interrupted
  });

  it('gets a 400 with the error envelope naming the field', async () => {
    await pact
      .addInteraction()
      .given(STATES.normal)
      .uponReceiving('a request with an out-of-range temperature')
      .withRequest('POST', '/v1/chat/completions', (b) =>
        b.headers(jsonHeaders(PACT_KEYS.consumer)).jsonBody({ model: equal('gpt-4o-mini'), messages: [{ role: equal('user'), content: like('hi') }], temperature: equal(7) }),
      )
      .willRespondWith(400, (b) =>
        b.jsonBody(errorEnvelope('invalid_request', 'invalid_request_error', 'temperature', 'temperature: must be <= 1')),
      )
      .executeTest(async (server) => {
        const counted = countingFetch();
        const client = withResilience(createLlmClient({ baseUrl: server.url, apiKey: PACT_KEYS.consumer, fetch: counted.fetch }));
        const error = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], temperature: 7 }).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(BadRequestError);
        expect(error).toMatchObject({ status: 400, code: 'invalid_request', param: 'temperature', retryable: false });
        expect(counted.calls).toHaveLength(1);
      });
  });

  it('gets a 401 for an unknown key and answers with its own fallback', async () => {
    await pact
      .addInteraction()
      .given(STATES.normal)
      .uponReceiving('a structured question with an unknown API key')
      .withRequest('POST', '/v1/chat/completions', (b) =>
        b.headers({ authorization: equal(`Bearer ${PACT_KEYS.unknown}`) }).jsonBody(structuredRequest(QUESTIONS.structured)),
      )
      .willRespondWith(401, (b) => b.jsonBody(errorEnvelope('unauthorized', 'authentication_error', null, 'Invalid API key.')))
      .executeTest(async (server) => {
        const counted = countingFetch();
        const a = await createAssistant({ serviceUrl: server.url, apiKey: PACT_KEYS.unknown, fetch: counted.fetch }).ask(QUESTIONS.structured);
        expect(a).toMatchObject({ source: 'consumer-fallback', needs_human: true, status: 401, error: 'unauthorized' });
        expect(counted.calls).toHaveLength(1);
      });
  });

  it('gets a 429 with Retry-After and rate-limit headers; the client retries after the hint, never before it', async () => {
    await pact
      .addInteraction()
      .given(STATES.rateLimited)
      .uponReceiving('a structured question over the rate limit')
      .withRequest('POST', '/v1/chat/completions', (b) => b.headers(jsonHeaders(PACT_KEYS.limited)).jsonBody(structuredRequest(QUESTIONS.structured)))
      .willRespondWith(429, (b) =>
        b
          .headers({
            'retry-after': regex('^\\d+$', '1'),
            'x-ratelimit-limit-requests': regex('^\\d+$', '600'),
            'x-ratelimit-remaining-requests': equal('0'),
            'x-ratelimit-reset-requests': regex('^(\\d+m)?\\d+(\\.\\d+)?m?s$', '1s'),
          })
          .jsonBody(errorEnvelope('rate_limit_exceeded', 'rate_limit_error', null, 'Request rate limit of 600 per minute reached for this key.')),
      )
      .executeTest(async (server) => {
        const failure = (p: PromiseLike<unknown>) => Promise.resolve(p).then(() => undefined, (e: unknown) => e);
        // Willing to wait the hint (1 s): one wait of exactly the hint, then the second and last attempt.
        const counted = countingFetch();
        const waits: number[] = [];
        const patient = withResilience(createLlmClient({ baseUrl: server.url, apiKey: PACT_KEYS.limited, fetch: counted.fetch }), { maxAttempts: 2, onRetry: (r) => waits.push(r.delayMs) });
        const assistantError = await failure(patient.chat.completions.create(assistantBody()));
        expect(assistantError).toBeInstanceOf(RateLimitError);
        expect(assistantError).toMatchObject({ status: 429, code: 'rate_limit_exceeded', retryable: true, retryAfterMs: 1000 });
        expect(counted.calls).toHaveLength(2);
        expect(waits).toEqual([1000]);
        // Waiting at most 20 ms: no retry at all, rather than one before the server said it may.
        const hasty = countingFetch();
        const impatient = withResilience(createLlmClient({ baseUrl: server.url, apiKey: PACT_KEYS.limited, fetch: hasty.fetch }), { maxRetryAfterMs: 20 });
        expect(await failure(impatient.chat.completions.create(assistantBody()))).toMatchObject({ status: 429, retryAfterMs: 1000 });
        expect(hasty.calls).toHaveLength(1);
        const a = await createAssistant({ serviceUrl: server.url, apiKey: PACT_KEYS.limited }).ask(QUESTIONS.structured);
        expect(a).toMatchObject({ source: 'consumer-fallback', status: 429, error: 'rate_limit_exceeded' });
      });
  });

  it('gets a 503 the service already retried (x-should-retry: false): the client does not retry it', async () => {
    await pact
      .addInteraction()
      .given(STATES.llamaDown)
      .uponReceiving('a structured question to a model whose upstreams are all down')
      .withRequest('POST', '/v1/chat/completions', (b) => b.headers(jsonHeaders(PACT_KEYS.consumer)).jsonBody(structuredRequest(QUESTIONS.unanswerable, 'llama-3.2-70b')))
      .willRespondWith(503, (b) =>
        b
          .headers({ 'x-should-retry': equal('false'), 'retry-after': regex('^\\d+$', '1') })
          .jsonBody(errorEnvelope('upstream_unavailable', 'server_error', null, "No upstream could answer for model 'llama-3.2-70b'.")),
      )
      .executeTest(async (server) => {
        const counted = countingFetch();
        const a = await createAssistant({ serviceUrl: server.url, apiKey: PACT_KEYS.consumer, model: 'llama-3.2-70b', fetch: counted.fetch }).ask(QUESTIONS.unanswerable);
        expect(a).toMatchObject({ source: 'consumer-fallback', needs_human: true, status: 503, error: 'upstream_unavailable' });
        expect(counted.calls).toHaveLength(1);
      });
  });

  it('gets an answer from the alternative model, marked as a fallback', async () => {
    await pact
      .addInteraction()
      .given(STATES.gpt4oDown)
      .uponReceiving('a structured question answered by the alternative model')
      .withRequest('POST', '/v1/chat/completions', (b) => b.headers(jsonHeaders(PACT_KEYS.consumer)).jsonBody(structuredRequest(QUESTIONS.structured, 'gpt-4o')))
      .willRespondWith(200, (b) =>
        b
          .headers({ 'x-llm-fallback': equal('alternative_model') })
          .jsonBody(completion(structuredContent(example), string('gpt-4o-mini'), { fallback: { strategy: equal('alternative_model'), degraded: equal(false) } })),
      )
      .executeTest(async (server) => {
        const a = await createAssistant({ serviceUrl: server.url, apiKey: PACT_KEYS.consumer, model: 'gpt-4o' }).ask(QUESTIONS.structured);
        expect(a).toEqual({ ...example, source: 'fallback', fallbackStrategy: 'alternative_model', model: 'gpt-4o-mini' });
      });
  });

  it('gets a degraded answer from the cache, marked as a fallback', async () => {
    await pact
      .addInteraction()
      .given(STATES.allDownCached, { question: QUESTIONS.cached })
      .uponReceiving('a structured question answered from the fallback cache')
      .withRequest('POST', '/v1/chat/completions', (b) => b.headers(jsonHeaders(PACT_KEYS.consumer)).jsonBody(structuredRequest(QUESTIONS.cached)))
      .willRespondWith(200, (b) =>
        b
          .headers({ 'x-llm-fallback': equal('cache') })
          .jsonBody(completion(structuredContent(example), string('gpt-4o-mini'), { fallback: { strategy: equal('cache'), degraded: equal(true) } })),
      )
      .executeTest(async (server) => {
        const a = await createAssistant({ serviceUrl: server.url, apiKey: PACT_KEYS.consumer }).ask(QUESTIONS.cached);
        expect(a).toEqual({ ...example, source: 'degraded', fallbackStrategy: 'cache', model: 'gpt-4o-mini' });
      });
  });

  it('gets a 202 job when nothing can answer in time', async () => {
    await pact
      .addInteraction()
      .given(STATES.allDown)
      .uponReceiving('a structured question deferred to an async job')
      .withRequest('POST', '/v1/chat/completions', (b) => b.headers(jsonHeaders(PACT_KEYS.consumer)).jsonBody(structuredRequest(QUESTIONS.deferred)))
      .willRespondWith(202, (b) =>
        b
          .headers({ location: regex('^/v1/jobs/job_[A-Za-z0-9_-]+$', '/v1/jobs/job_01J9Z3K8'), 'x-llm-fallback': equal('async') })
          .jsonBody({
            id: regex('^job_[A-Za-z0-9_-]+$', 'job_01J9Z3K8'),
            object: equal('chat.completion.job'),
            status: regex('^(queued|running)$', 'queued'),
            created: integer(1764000000),
            location: regex('^/v1/jobs/job_[A-Za-z0-9_-]+$', '/v1/jobs/job_01J9Z3K8'),
          }),
      )
      .executeTest(async (server) => {
        const client = withResilience(createLlmClient({ baseUrl: server.url, apiKey: PACT_KEYS.consumer }));
        const { data, meta } = await client.chat.completions.create(assistantBody(QUESTIONS.deferred)).withResponse();
        expect(meta.status).toBe(202);
        expect(meta.fallback).toBe('async');
        const job = data as JobAccepted;
        expect(job).toMatchObject({ object: 'chat.completion.job', id: 'job_01J9Z3K8' });
        expect(meta.location).toBe(`/v1/jobs/${job.id}`);
      });
  });

  it('polls a job that has succeeded and reads its answer', async () => {
    await pact
      .addInteraction()
      .given(STATES.jobSucceeded)
      .uponReceiving('a poll of a succeeded job')
      .withRequest('GET', fromProviderState('/v1/jobs/${jobId}', '/v1/jobs/job_pact1'), (b) => b.headers({ authorization: authorization(PACT_KEYS.consumer) }))
      .willRespondWith(200, (b) =>
        b.jsonBody({
          id: fromProviderState('${jobId}', 'job_pact1'),
          object: equal('chat.completion.job'),
          status: equal('succeeded'),
          created: integer(1764000000),
          updated: integer(1764000003),
          attempts: integer(1),
          result: completion(structuredContent(example)),
          error: null,
        }),
      )
      .executeTest(async (server) => {
        const client = withResilience(createLlmClient({ baseUrl: server.url, apiKey: PACT_KEYS.consumer }));
        const result = await client.jobs.wait('job_pact1', { pollMs: 10, timeoutMs: 5_000 });
        expect(parseStructured(result)).toEqual(example);
      });
  });
});

/** The body the assistant sends, for the tests that drive the client directly. */
function assistantBody(question: string = QUESTIONS.structured) {
  return MatchersV3.reify(structuredRequest(question)) as unknown as Parameters<ReturnType<typeof createLlmClient>['chat']['completions']['create']>[0];
}
