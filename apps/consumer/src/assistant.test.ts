// The assistant against the real inference service over HTTP, in front of the simulator.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startStack, TEST_KEY, type Stack } from '../../inference-service/src/testing/stack.ts';
import { CONSUMER_FALLBACK_MESSAGE, createAssistant } from './assistant.ts';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(() => stack.close());
beforeEach(() => stack.sim.setScenario({ rules: [] }));

const outage = (model: string) => ({ model, kind: 'outage' as const });

describe('createAssistant against the real service', () => {
  it('answers from the model with a structured answer', async () => {
    const assistant = createAssistant({ serviceUrl: stack.url, apiKey: TEST_KEY });
    const a = await assistant.ask('How do I reset my password?');
    expect(a.source).toBe('model');
    expect(a.model).toBe('gpt-4o-mini');
    expect(typeof a.answer).toBe('string');
    expect(a.answer.length).toBeGreaterThan(0);
    expect(a.confidence).toBeGreaterThanOrEqual(0);
    expect(a.confidence).toBeLessThanOrEqual(1);
    expect(typeof a.needs_human).toBe('boolean');
    // The request really asked for strict json_schema output.
    expect(stack.sim.recorder.attempts('gpt-4o-mini')).toHaveLength(1);
  });

  it('marks an answer from the alternative model as a fallback', async () => {
    // gpt-4o's alternative is gpt-4o-mini (native json_schema, like gpt-4o).
    stack.sim.setScenario({ rules: [outage('gpt-4o')] });
    const a = await createAssistant({ serviceUrl: stack.url, apiKey: TEST_KEY, model: 'gpt-4o' }).ask('When is the store open?');
    expect(a).toMatchObject({ source: 'fallback', fallbackStrategy: 'alternative_model', model: 'gpt-4o-mini' });
    expect(a.answer.length).toBeGreaterThan(0);
  });

  it('marks a cached answer as degraded', async () => {
    const assistant = createAssistant({ serviceUrl: stack.url, apiKey: TEST_KEY });
    const question = 'Do you ship to Norway?';
    const first = await assistant.ask(question);
    expect(first.source).toBe('model');
    stack.sim.setScenario({ rules: [outage('*')] });
    const second = await assistant.ask(question);
    expect(second).toMatchObject({ source: 'degraded', fallbackStrategy: 'cache', answer: first.answer });
  });

  it('answers with its own fallback when every upstream is down (async job fails too)', async () => {
    stack.sim.setScenario({ rules: [outage('*')] });
    const a = await createAssistant({ serviceUrl: stack.url, apiKey: TEST_KEY }).ask('Is my order late?');
    expect(a).toMatchObject({ source: 'consumer-fallback', needs_human: true, answer: CONSUMER_FALLBACK_MESSAGE, confidence: 0 });
    expect(a.error).toBeDefined();
  });

  it('answers with its own fallback when the service itself is unreachable (after the client retries)', async () => {
    const attempts: string[] = [];
    const countingFetch: typeof fetch = (input, init) => {
      attempts.push(String(input instanceof Request ? input.url : input));
      return fetch(input, init);
    };
    // A port with nothing listening: connection refused on every attempt.
    const a = await createAssistant({ serviceUrl: 'http://127.0.0.1:9', apiKey: TEST_KEY, fetch: countingFetch }).ask('Hello?');
    expect(a).toMatchObject({ source: 'consumer-fallback', needs_human: true, error: 'ConnectionError' });
    expect(attempts).toHaveLength(3); // the agreement's retry.maxAttempts
  });

  it('does not retry a 5xx the service marks x-should-retry: false', async () => {
    let calls = 0;
    const countingFetch: typeof fetch = (input, init) => {
      calls++;
      return fetch(input, init);
    };
    stack.sim.setScenario({ rules: [outage('*')] });
    const base = { model: 'llama-3.2-70b', serviceUrl: stack.url, apiKey: TEST_KEY, fetch: countingFetch };
    // llama has no async step: structured output skips polite/rules, so the service answers 503.
    const a = await createAssistant(base).ask('Where is my parcel?');
    expect(a).toMatchObject({ source: 'consumer-fallback', status: 503, error: 'upstream_unavailable' });
    expect(calls).toBe(1);
  });

  it('streams a plain-text answer', async () => {
    const a = await createAssistant({ serviceUrl: stack.url, apiKey: TEST_KEY }).ask('Tell me about your opening hours.', { stream: true });
    expect(a.source).toBe('model');
    expect(a.answer.split(' ').length).toBeGreaterThan(3);
  });

  it('never returns a cut stream as complete', async () => {
    // Every model cuts its stream after 3 chunks: nothing can rescue the answer.
    stack.sim.setScenario({ rules: [{ model: '*', kind: 'stream_cut', after_chunks: 3 }] });
    const a = await createAssistant({ serviceUrl: stack.url, apiKey: TEST_KEY }).ask('Tell me about your opening hours.', { stream: true });
    expect(a).toMatchObject({ source: 'consumer-fallback', needs_human: true, answer: CONSUMER_FALLBACK_MESSAGE, error: 'stream_interrupted' });
  });

  it('rejects only when the caller aborts', async () => {
    const controller = new AbortController();
    stack.sim.setScenario({ rules: [{ model: '*', kind: 'hang' }] });
    const pending = createAssistant({ serviceUrl: stack.url, apiKey: TEST_KEY }).ask('Hello?', { signal: controller.signal });
    setTimeout(() => controller.abort(new Error('user left')), 50);
    await expect(pending).rejects.toThrow('user left');
  });
});
