import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '@llmgw/simulator';
import { isGatewayError, type GatewayError } from '@llmgw/resilience';
import { classifyAnthropicError, createAnthropicProvider, rateLimitOf } from './anthropic.ts';
import { createOpenAiProvider } from './openai.ts';
import { UpstreamPools } from './pool.ts';
import type { CallOptions, Provider, UpstreamRequest, UpstreamStreamEvent } from './types.ts';

const MODEL = 'claude-3.5-sonnet';

let sim: Simulator;
let pools: UpstreamPools;
let provider: Provider;
let openai: Provider;

beforeAll(async () => {
  sim = await startSimulator({ port: 0, apiKey: 'sk-ant-test' });
  pools = new UpstreamPools();
  provider = createAnthropicProvider({ name: 'claude', baseUrl: sim.url, apiKey: 'sk-ant-test', dispatcher: pools.poolFor(sim.url) });
  openai = createOpenAiProvider({ name: 'oai', baseUrl: `${sim.url}/v1`, apiKey: 'sk-ant-test', dispatcher: pools.poolFor(sim.url) });
});

afterAll(async () => {
  await pools.closeAll(true);
  await sim.close();
});

afterEach(() => {
  sim.setScenario({ rules: [] });
  sim.reset();
});

const opts = (): CallOptions => ({
  signal: new AbortController().signal,
  timeouts: { connectMs: 500, firstTokenMs: 300, streamIdleMs: 200, totalMs: 2000 },
});

function request(extra: Partial<UpstreamRequest> = {}): UpstreamRequest {
  return {
    model: MODEL,
    messages: [
      { role: 'system', content: 'You are a terse assistant.' },
      { role: 'user', content: 'Explain circuit breakers' },
    ],
    ...extra,
  };
}

async function failure(promise: Promise<unknown>): Promise<GatewayError> {
  try {
    await promise;
  } catch (error) {
    if (isGatewayError(error)) return error;
    throw error;
  }
  throw new Error('expected a failure');
}

async function collect(events: AsyncIterable<UpstreamStreamEvent>): Promise<UpstreamStreamEvent[]> {
  const out: UpstreamStreamEvent[] = [];
  for await (const e of events) out.push(e);
  return out;
}

describe('Anthropic adapter', () => {
  it('sends system messages as the top-level system (the API rejects them in messages)', async () => {
    const withSystem = await provider.complete(request(), opts());
    const without = await provider.complete(request({ messages: [{ role: 'user', content: 'Explain circuit breakers' }] }), opts());
    // The simulator counts the system text into the prompt only when it is top-level.
    expect(withSystem.usage.promptTokens).toBeGreaterThan(without.usage.promptTokens);
    const [record] = sim.recorder.all();
    expect(record).toMatchObject({ format: 'anthropic', status: 200, messages: 1, lastMessageRole: 'user', authorization: true });
  });

  it('maps stop_reason and usage (input/output tokens -> prompt/completion)', async () => {
    const res = await provider.complete(request(), opts());
    expect(res.id).toMatch(/^msg_/);
    expect(res.finishReason).toBe('stop');
    expect(res.usage.promptTokens).toBeGreaterThan(0);
    expect(res.usage.completionTokens).toBeGreaterThan(0);
    expect(res.rateLimit?.remainingRequests).toBeTypeOf('number');

    sim.setScenario({ rules: [{ model: '*', kind: 'content_filter' }] });
    expect((await provider.complete(request(), opts())).finishReason).toBe('content_filter'); // stop_reason "refusal"

    sim.setScenario({ rules: [] });
    const short = await provider.complete(request({ maxTokens: 3 }), opts());
    expect(short.finishReason).toBe('length'); // stop_reason "max_tokens"
    expect(short.usage.completionTokens).toBeLessThanOrEqual(3);
  });

  it('streams events: deltas equal the whole answer, finish carries the stop reason and usage', async () => {
    const whole = await provider.complete(request(), opts());
    const stream = await provider.stream(request(), opts());
    const events = await collect(stream);
    expect(events.map((e) => (e.type === 'delta' ? e.content : '')).join('')).toBe(whole.content);
    expect(events.at(-1)).toEqual({ type: 'finish', finishReason: 'stop', usage: whole.usage });
    expect(stream.id).toMatch(/^msg_/);
  });

  it('the Anthropic and OpenAI wire formats give the same answer for the same question', async () => {
    const a = await provider.complete(request(), opts());
    const o = await openai.complete({ ...request(), model: MODEL }, opts());
    expect(a.content).toBe(o.content);
  });

  it('a stream cut before message_delta is stream_truncated', async () => {
    sim.setScenario({ rules: [{ model: '*', kind: 'stream_cut', after_chunks: 1 }] });
    expect(await failure(collect(await provider.stream(request(), opts())))).toMatchObject({ kind: 'stream_truncated', retryable: true });
  });

  it('a stream without message_stop finishes after message_delta', async () => {
    sim.setScenario({ rules: [{ model: '*', kind: 'no_done' }] });
    const events = await collect(await provider.stream(request(), opts()));
    expect(events.at(-1)).toMatchObject({ type: 'finish', finishReason: 'stop' });
  });

  it('maps "prompt is too long" to context_length and the content-policy message to content_filter', async () => {
    sim.setScenario({ rules: [{ model: '*', kind: 'context_length_exceeded' }] });
    expect(await failure(provider.complete(request(), opts()))).toMatchObject({ code: 'context_length_exceeded', kind: 'context_length', retryable: false });
    sim.setScenario({ rules: [{ model: '*', kind: 'content_policy' }] });
    expect(await failure(provider.stream(request(), opts()))).toMatchObject({ code: 'content_policy_violation', kind: 'content_filter', retryable: false });
  });

  it('529 overloaded is a retryable 503; 429 keeps its retry-after', async () => {
    sim.setScenario({ rules: [{ model: '*', kind: 'status', status: 529 }] });
    expect(await failure(provider.complete(request(), opts()))).toMatchObject({ status: 503, retryable: true });
    sim.setScenario({ rules: [{ model: '*', kind: 'status', status: 429, retry_after_s: 1 }] });
    expect(await failure(provider.complete(request(), opts()))).toMatchObject({ status: 429, retryable: true, retryAfterMs: 1000 });
  });

  it('a wrong key is a non-retryable gateway error', async () => {
    const bad = createAnthropicProvider({ name: 'claude', baseUrl: sim.url, apiKey: 'wrong', dispatcher: pools.poolFor(sim.url) });
    expect(await failure(bad.complete(request(), opts()))).toMatchObject({ status: 502, retryable: false });
  });

  it('classifies error bodies and reads rate-limit headers', () => {
    expect(classifyAnthropicError(400, { error: { type: 'invalid_request_error', message: 'prompt is too long: 1 tokens > 0 maximum' } })).toBe('context_length');
    expect(classifyAnthropicError(413, { error: { type: 'request_too_large', message: 'x' } })).toBe('context_length');
    expect(classifyAnthropicError(400, { error: { type: 'invalid_request_error', message: 'max_tokens: Field required' } })).toBeUndefined();
    expect(classifyAnthropicError(500, { error: { type: 'api_error', message: 'prompt is too long' } })).toBeUndefined();
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(rateLimitOf({ 'anthropic-ratelimit-requests-remaining': '7', 'anthropic-ratelimit-requests-reset': '2025-01-01T00:00:02Z' }, now)).toEqual({
      remainingRequests: 7,
      resetRequestsMs: 2000,
    });
    expect(rateLimitOf({}, now)).toBeUndefined();
  });
});
