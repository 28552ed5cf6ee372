// Each degraded fallback strategy reached over HTTP in its own scenario, marked
// in the answer (x-llm-fallback, `fallback`, `model`), with the simulator's
// recorder showing what really reached the models.
import { agreement, validators } from '@llmgw/contract';
import type { Scenario } from '@llmgw/simulator';
import { afterEach, describe, expect, it } from 'vitest';
import type { ChatJobPayload } from '../chat/handler.ts';
import type { CompletionBody } from '../chat/wire.ts';
import { memoryJobQueue } from '../stores/memory/job-queue.ts';
import { OTHER_KEY, TEST_KEY, ask, fastAgreement, readSse, startStack, type Stack, type StackOptions } from '../testing/stack.ts';

const ALL_DOWN: Scenario = { rules: [{ model: '*', kind: 'outage' }] };
const HOTLINE = agreement.fallback.rules.find((r) => r.name === 'price-hotline')!.template;
const POLITE = agreement.fallback.polite.message;
const PRICE_QUESTION = 'What is the price of the pro plan?';

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});
async function withStack(scenario: Scenario, options: Omit<StackOptions, 'scenario'> = {}): Promise<Stack> {
  stack = await startStack({ scenario, ...options });
  return stack;
}

const attempts = (s: Stack, model: string) => s.sim.recorder.attempts(model).length;
const metricsText = async (s: Stack) => (await fetch(`${s.url}/metrics`)).text();
const chunksOf = (events: Awaited<ReturnType<typeof readSse>>) => events.filter((e): e is Record<string, any> => e !== '[DONE]');
const textOf = (events: Awaited<ReturnType<typeof readSse>>) => chunksOf(events).map((c) => c.choices[0]?.delta?.content ?? '').join('');

/** Checks a degraded JSON answer: contract shape, header, marker, answering model, content. */
async function expectDegraded(res: Response, strategy: string, model: string, content: string) {
  expect(res.status).toBe(200);
  expect(res.headers.get('x-llm-fallback')).toBe(strategy);
  const body = await res.json();
  expect(validators.ChatCompletion(body)).toBe(true);
  expect(body.fallback).toEqual({ strategy, degraded: true });
  expect(body.model).toBe(model);
  expect(body.choices[0].message.content).toBe(content);
  expect(body.choices[0].finish_reason).toBe('stop');
  return body;
}

const schema = { type: 'object', required: ['answer'], additionalProperties: false, properties: { answer: { type: 'string' } } };
const structured = (content: string, model = 'gpt-4o-mini') => ({
  ...ask(content, { response_format: { type: 'json_schema', json_schema: { name: 'a', strict: true, schema } } }),
  model,
});

describe('rule_based', () => {
  it('every model down: a price question gets the hotline template, after both models were tried', async () => {
    const s = await withStack(ALL_DOWN);
    await expectDegraded(await s.chat(ask(PRICE_QUESTION)), 'rule_based', 'rule-based', HOTLINE);
    // Primary and alternative model each tried with the full retry budget first.
    expect(attempts(s, 'gpt-4o-mini')).toBe(agreement.defaults.retry.maxAttempts);
    expect(attempts(s, 'llama-3.2-70b')).toBe(agreement.defaults.retry.maxAttempts);
    expect(await metricsText(s)).toMatch(/llm_fallbacks_total\{strategy="rule_based"\} 1/);
  });

  it('with both breakers open the models are not called at all, and the rule still answers', async () => {
    const s = await withStack(ALL_DOWN, { agreement: fastAgreement((a) => (a.defaults.circuitBreaker.halfOpenAfterMs = 60_000)) });
    for (let i = 0; i < 3; i++) await s.chat(ask(`${PRICE_QUESTION} (${i})`));
    const metrics = await metricsText(s);
    expect(metrics).toMatch(/llm_circuit_breaker_state\{model="gpt-4o-mini"\} 2/);
    expect(metrics).toMatch(/llm_circuit_breaker_state\{model="llama-3.2-70b"\} 2/);
    const before = s.sim.recorder.attempts().length;
    await expectDegraded(await s.chat(ask('pricing please')), 'rule_based', 'rule-based', HOTLINE);
    expect(s.sim.recorder.attempts()).toHaveLength(before);
  });

  it('a streamed request gets the template as a complete SSE stream with the marker', async () => {
    const s = await withStack(ALL_DOWN);
    const res = await s.chat(ask(PRICE_QUESTION, { stream: true, stream_options: { include_usage: true } }));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    expect(res.headers.get('x-llm-fallback')).toBe('rule_based');
    const events = await readSse(res);
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = chunksOf(events);
    for (const c of chunks) {
      expect(validators.ChatCompletionChunk(c)).toBe(true);
      expect(c.model).toBe('rule-based');
      expect(c.fallback).toEqual({ strategy: 'rule_based', degraded: true });
    }
    expect(textOf(events)).toBe(HOTLINE);
    expect(chunks.at(-1)!.usage).toEqual({ prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 });
  });
});

describe('cache', () => {
  const QUESTION = 'What are your opening hours on Sunday?';

  it('every model down: an earlier answer to the same question is served from the cache', async () => {
    const s = await withStack({ rules: [] });
    const first = await (await s.chat(ask(QUESTION))).json();
    expect(first.fallback).toBeUndefined();
    s.sim.setScenario(ALL_DOWN);
    const body = await expectDegraded(await s.chat(ask(QUESTION)), 'cache', 'gpt-4o-mini', first.choices[0].message.content);
    expect(body.usage.total_tokens).toBe(0);
    expect(attempts(s, 'gpt-4o-mini')).toBeGreaterThan(1);
  });

  it('an answer that was streamed is cached too, and served to a later non-streamed ask', async () => {
    const s = await withStack({ rules: [] });
    const streamed = await readSse(await s.chat(ask(QUESTION, { stream: true })));
    expect(streamed.at(-1)).toBe('[DONE]');
    const text = chunksOf(streamed).map((c) => c.choices[0]?.delta?.content ?? '').join('');
    s.sim.setScenario(ALL_DOWN);
    await expectDegraded(await s.chat(ask(QUESTION)), 'cache', 'gpt-4o-mini', text);
  });

  it('the key is the normalized question: case and whitespace differences still hit', async () => {
    const s = await withStack({ rules: [] });
    const first = await (await s.chat(ask(QUESTION))).json();
    s.sim.setScenario(ALL_DOWN);
    await expectDegraded(await s.chat(ask(`  what ARE your\topening   hours on SUNDAY?\n`)), 'cache', 'gpt-4o-mini', first.choices[0].message.content);
  });

  it("another API key, or other system instructions, never get an answer cached for someone else", async () => {
    const s = await withStack({ rules: [] });
    const tenant = (code: string) => ({ ...ask('What is my secret code?'), messages: [{ role: 'system', content: `The customer's code is ${code}.` }, { role: 'user', content: 'What is my secret code?' }] });
    await s.chat(tenant('1111'));
    s.sim.setScenario(ALL_DOWN);
    // Next in gpt-4o-mini's chain after cache is async: a job, not the other tenant's answer.
    const otherKey = await s.chat(tenant('1111'), { key: OTHER_KEY });
    expect(otherKey.headers.get('x-llm-fallback')).toBe('async');
    const otherInstructions = await s.chat(tenant('2222'));
    expect(otherInstructions.headers.get('x-llm-fallback')).toBe('async');
    // The same key with the same instructions is served from the cache.
    expect((await s.chat(tenant('1111'))).headers.get('x-llm-fallback')).toBe('cache');
  });

  it('a streamed request gets the cached answer as SSE, never a job', async () => {
    const s = await withStack({ rules: [] });
    const first = await (await s.chat(ask(QUESTION))).json();
    s.sim.setScenario(ALL_DOWN);
    const res = await s.chat(ask(QUESTION, { stream: true }));
    expect(res.status).toBe(200);
    expect(res.headers.get('x-llm-fallback')).toBe('cache');
    const events = await readSse(res);
    expect(events.at(-1)).toBe('[DONE]');
    expect(textOf(events)).toBe(first.choices[0].message.content);
    expect(chunksOf(events).every((c) => c.fallback?.strategy === 'cache' && c.fallback.degraded === true)).toBe(true);
  });

  it('a structured request is not served a cached text answer', async () => {
    const s = await withStack({ rules: [] });
    await s.chat(ask(QUESTION));
    s.sim.setScenario(ALL_DOWN);
    const res = await s.chat(structured(QUESTION));
    // Next in gpt-4o-mini's chain after cache is async.
    expect(res.status).toBe(202);
    expect(res.headers.get('x-llm-fallback')).toBe('async');
  });
});

describe('async', () => {
  it('becomes a job with a Location, which succeeds once the models are back', async () => {
    // Enough job attempts to outlast the breakers' half-open wait.
    const s = await withStack(ALL_DOWN, { agreement: fastAgreement((a) => (a.fallback.async.maxAttempts = 9)) });
    const res = await s.chat(ask('Can you summarise my last three orders?'));
    expect(res.status).toBe(202);
    expect(res.headers.get('x-llm-fallback')).toBe('async');
    const accepted = await res.json();
    expect(validators.JobAccepted(accepted)).toBe(true);
    expect(accepted.id).toMatch(/^job_/);
    expect(res.headers.get('location')).toBe(`/v1/jobs/${accepted.id}`);
    expect(accepted.location).toBe(res.headers.get('location'));

    // Only the key that made the job may read it; another gets what an unknown id gets.
    const foreign = await fetch(`${s.url}${accepted.location}`, { headers: { authorization: `Bearer ${OTHER_KEY}` } });
    expect(foreign.status).toBe(404);
    expect((await foreign.json()).error.code).toBe('job_not_found');

    s.sim.setScenario({ rules: [] });
    const deadline = Date.now() + 8000;
    let job: Record<string, any>;
    for (;;) {
      const poll = await fetch(`${s.url}${accepted.location}`, { headers: { authorization: `Bearer ${TEST_KEY}` } });
      expect(poll.status).toBe(200);
      job = await poll.json();
      expect(validators.Job(job)).toBe(true);
      if (job.status === 'succeeded' || job.status === 'failed' || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(job.status).toBe('succeeded');
    expect(job.id).toBe(accepted.id);
    expect(job.attempts).toBeGreaterThanOrEqual(1);
    expect(job.error).toBeNull();
    expect(validators.ChatCompletion(job.result)).toBe(true);
    // The real answer, as the model gives it synchronously now that it is back.
    const now = await (await s.chat(ask('Can you summarise my last three orders?'))).json();
    expect(job.result.choices[0].message.content).toBe(now.choices[0].message.content);
    expect(job.result.fallback?.degraded ?? false).toBe(false);
  }, 15_000);

  it('with no worker in this process and no shared queue, no job is taken: the chain goes on to polite', async () => {
    const s = await withStack(ALL_DOWN, { config: { runWorker: false } });
    const res = await s.chat(ask('Can you summarise my last three orders?'));
    expect(res.status).toBe(200);
    expect(res.headers.get('x-llm-fallback')).toBe('polite');
    expect(await s.service.jobs.counts()).toMatchObject({ queued: 0, running: 0 });
  });

  it('a full queue (every job still waiting) sends the next request on to polite, not into the queue', async () => {
    const logs: string[] = [];
    // Two jobs at most, retried far apart: an outage that keeps every job unfinished.
    const jobs = memoryJobQueue<ChatJobPayload, CompletionBody>({ maxJobs: 2, backoffMs: 60_000 });
    const s = await withStack(ALL_DOWN, { logs, service: { jobs } });
    for (let i = 0; i < 2; i++) expect((await s.chat(ask(`Can you summarise order ${i}?`))).status).toBe(202);
    await expectDegraded(await s.chat(ask('Can you summarise order 3?')), 'polite', 'polite-fallback', POLITE);
    const counts = await jobs.counts();
    expect(counts.queued + counts.running).toBe(2);
    // Bounded by design, not a broken store: no store-failure line.
    expect(logs.filter((l) => l.includes('shared store unavailable'))).toEqual([]);
    await jobs.close();
  });

  it('an unknown job id -> 404 job_not_found', async () => {
    const s = await withStack({ rules: [] });
    const res = await fetch(`${s.url}/v1/jobs/job_nope`, { headers: { authorization: `Bearer ${TEST_KEY}` } });
    expect(res.status).toBe(404);
    const body = await res.json();
    expect(validators.ErrorResponse(body)).toBe(true);
    expect(body.error.code).toBe('job_not_found');
  });

  it('a streamed request is never turned into a job: it falls through to polite, as SSE', async () => {
    const s = await withStack(ALL_DOWN);
    const res = await s.chat(ask('Can you summarise my last three orders?', { stream: true }));
    expect(res.status).toBe(200);
    expect(res.headers.get('x-llm-fallback')).toBe('polite');
    const events = await readSse(res);
    expect(events.at(-1)).toBe('[DONE]');
    expect(textOf(events)).toBe(POLITE);
    for (const c of chunksOf(events)) {
      expect(c.model).toBe('polite-fallback');
      expect(c.fallback).toEqual({ strategy: 'polite', degraded: true });
    }
    expect(await s.service.jobs.counts()).toEqual({ queued: 0, running: 0, succeeded: 0, failed: 0 });
  });
});

describe('polite', () => {
  it('llama-3.2-70b (rule_based -> cache -> polite) down, no rule, nothing cached: the polite message', async () => {
    const s = await withStack(ALL_DOWN);
    await expectDegraded(await s.chat({ ...ask('Tell me a story about dragons'), model: 'llama-3.2-70b' }), 'polite', 'polite-fallback', POLITE);
    // No alternative model in its chain: only llama itself was tried.
    expect(attempts(s, 'llama-3.2-70b')).toBe(agreement.defaults.retry.maxAttempts);
    expect(attempts(s, 'gpt-4o-mini')).toBe(0);
    expect(await metricsText(s)).toMatch(/llm_fallbacks_total\{strategy="polite"\} 1/);
  });

  it('llama-3.2-70b down: a price question still gets the rule first', async () => {
    const s = await withStack(ALL_DOWN);
    await expectDegraded(await s.chat({ ...ask(PRICE_QUESTION), model: 'llama-3.2-70b' }), 'rule_based', 'rule-based', HOTLINE);
  });
});

describe('structured requests never get a text template', () => {
  it('a price question in JSON on llama-3.2-70b: rule and polite are skipped, the error is returned', async () => {
    const s = await withStack(ALL_DOWN);
    const res = await s.chat(structured(PRICE_QUESTION, 'llama-3.2-70b'));
    expect(res.status).toBe(503);
    expect(res.headers.get('x-llm-fallback')).toBeNull();
    const body = await res.json();
    expect(validators.ErrorResponse(body)).toBe(true);
    expect(body.error.code).toBe('upstream_unavailable');
  });

  it('streamed structured on llama-3.2-70b: an error status, not a text template stream', async () => {
    const s = await withStack(ALL_DOWN);
    const res = await s.chat({ ...structured(PRICE_QUESTION, 'llama-3.2-70b'), stream: true });
    expect(res.status).toBe(503);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    expect((await res.json()).error.code).toBe('upstream_unavailable');
  });
});

describe('opting out of degraded answers', () => {
  it('x-llm-no-degraded: true -> 503 upstream_unavailable with Retry-After, even for a price question', async () => {
    const s = await withStack(ALL_DOWN);
    const res = await s.chat(ask(PRICE_QUESTION), { headers: { 'x-llm-no-degraded': 'true' } });
    expect(res.status).toBe(503);
    expect(res.headers.get('x-llm-fallback')).toBeNull();
    const body = await res.json();
    expect(validators.ErrorResponse(body)).toBe(true);
    expect(body.error.code).toBe('upstream_unavailable');
    // The contract's ServiceUnavailable: "Retryable after Retry-After".
    expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(attempts(s, 'gpt-4o-mini')).toBe(agreement.defaults.retry.maxAttempts);
    expect(attempts(s, 'llama-3.2-70b')).toBe(agreement.defaults.retry.maxAttempts);
  });

  it('streamed with the opt-out: an error status before any SSE', async () => {
    const s = await withStack(ALL_DOWN);
    const res = await s.chat(ask('Tell me a story', { stream: true }), { headers: { 'x-llm-no-degraded': 'true' } });
    expect(res.status).toBe(503);
    expect((await res.json()).error.code).toBe('upstream_unavailable');
  });

  it('x-llm-no-degraded: false keeps degraded answers on', async () => {
    const s = await withStack(ALL_DOWN);
    await expectDegraded(await s.chat(ask(PRICE_QUESTION), { headers: { 'x-llm-no-degraded': 'false' } }), 'rule_based', 'rule-based', HOTLINE);
  });
});
