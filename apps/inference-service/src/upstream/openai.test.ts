import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '@llmgw/simulator';
import { isGatewayError, type GatewayError } from '@llmgw/resilience';
import { startLoopbackUpstream, type LoopbackUpstream } from '../testing/loopback-upstream.ts';
import { createOpenAiProvider } from './openai.ts';
import { DEFAULT_MAX_EVENT_BYTES } from './sse.ts';
import { UpstreamPools } from './pool.ts';
import { MAX_ANSWER_SIZE, toUpstreamMessages, type CallOptions, type CallTimeouts, type Provider, type UpstreamRequest, type UpstreamStreamEvent } from './types.ts';

const MODEL = 'gpt-4o-mini';
const FAST: CallTimeouts = { connectMs: 500, firstTokenMs: 300, streamIdleMs: 200, totalMs: 2000 };

let sim: Simulator;
let pools: UpstreamPools;
let provider: Provider;

beforeAll(async () => {
  sim = await startSimulator({ port: 0 });
  pools = new UpstreamPools();
  provider = createOpenAiProvider({ name: 'sim', baseUrl: `${sim.url}/v1`, apiKey: 'sk-test', dispatcher: pools.poolFor(sim.url) });
});

afterAll(async () => {
  await pools.closeAll(true);
  await sim.close();
});

afterEach(() => {
  sim.setScenario({ rules: [] });
  sim.reset();
});

function request(content = 'Tell me about connection pools'): UpstreamRequest {
  return { model: MODEL, messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content }], temperature: 0 };
}

function opts(timeouts: Partial<CallTimeouts> = {}, signal: AbortSignal = new AbortController().signal): CallOptions {
  return { signal, timeouts: { ...FAST, ...timeouts } };
}

async function collect(events: AsyncIterable<UpstreamStreamEvent>): Promise<UpstreamStreamEvent[]> {
  const out: UpstreamStreamEvent[] = [];
  for await (const e of events) out.push(e);
  return out;
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

function text(events: UpstreamStreamEvent[]): string {
  return events.map((e) => (e.type === 'delta' ? e.content : '')).join('');
}

describe('OpenAI adapter: answers', () => {
  it('completes a plain request with usage, finish reason and rate-limit headers', async () => {
    const res = await provider.complete(request(), opts());
    expect(res.content.length).toBeGreaterThan(0);
    expect(res.finishReason).toBe('stop');
    expect(res.usage.promptTokens).toBeGreaterThan(0);
    expect(res.usage.completionTokens).toBeGreaterThan(0);
    expect(res.id).toMatch(/^chatcmpl-/);
    expect(res.rateLimit?.remainingRequests).toBeTypeOf('number');
    const [record] = sim.recorder.all();
    expect(record?.authorization).toBe(true);
    expect(record?.stream).toBe(false);
  });

  it('streams deltas that concatenate to the non-streamed text, then a finish with usage', async () => {
    const whole = await provider.complete(request('same question'), opts());
    const stream = await provider.stream(request('same question'), opts());
    const events = await collect(stream);
    expect(text(events)).toBe(whole.content);
    const finish = events.at(-1);
    expect(finish).toEqual({ type: 'finish', finishReason: 'stop', usage: whole.usage });
    expect(events.filter((e) => e.type === 'finish')).toHaveLength(1);
    expect(stream.id).toMatch(/^chatcmpl-/);
    expect(sim.recorder.all()[1]?.stream).toBe(true);
  });

  it('forwards extra headers such as traceparent', async () => {
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    await provider.complete(request(), { ...opts(), headers: { traceparent } });
    expect(sim.recorder.all()[0]?.traceparent).toBe(traceparent);
  });

  it('maps a content_filter finish through', async () => {
    sim.setScenario({ rules: [{ model: '*', kind: 'content_filter' }] });
    expect((await provider.complete(request(), opts())).finishReason).toBe('content_filter');
    const events = await collect(await provider.stream(request(), opts()));
    expect(events.at(-1)).toMatchObject({ type: 'finish', finishReason: 'content_filter' });
  });
});

describe('OpenAI adapter: structured output', () => {
  const schema = { type: 'object', required: ['city', 'days'], properties: { city: { type: 'string' }, days: { type: 'integer' } }, additionalProperties: false };

  it("sends the article's json_object + schema form as json_schema when the model supports it", async () => {
    const res = await provider.complete({ ...request(), responseFormat: { type: 'json_object', schema } }, opts());
    const value = JSON.parse(res.content) as Record<string, unknown>;
    expect(Object.keys(value).sort()).toEqual(['city', 'days']);
    expect(Number.isInteger(value['days'])).toBe(true);
  });

  it('falls back to json_object mode with the schema in the system prompt when it does not', async () => {
    const res = await provider.complete({ ...request(), responseFormat: { type: 'json_schema', name: 'trip', schema }, nativeJsonSchema: false }, opts());
    expect(typeof JSON.parse(res.content)).toBe('object');
    // The instruction joined the existing system message: still two messages.
    expect(sim.recorder.all()[0]?.messages).toBe(2);
  });
});

describe('toUpstreamMessages', () => {
  it('maps developer to system, joins text parts, drops other parts', () => {
    expect(
      toUpstreamMessages([
        { role: 'developer', content: 'rules' },
        { role: 'user', content: [{ type: 'text', text: 'a' }, { type: 'image_url', image_url: { url: 'x' } }, { type: 'text', text: 'b' }] },
        { role: 'assistant', content: null },
      ]),
    ).toEqual([
      { role: 'system', content: 'rules' },
      { role: 'user', content: 'a\nb' },
      { role: 'assistant', content: '' },
    ]);
  });
});

describe('OpenAI adapter: errors', () => {
  it('429 with Retry-After is retryable and says when', async () => {
    sim.setScenario({ rules: [{ model: '*', kind: 'status', status: 429, retry_after_s: 2 }] });
    const err = await failure(provider.complete(request(), opts()));
    expect(err).toMatchObject({ status: 429, code: 'rate_limit_exceeded', retryable: true, retryAfterMs: 2000, kind: 'http' });
    const streamErr = await failure(provider.stream(request(), opts()));
    expect(streamErr).toMatchObject({ status: 429, retryable: true, retryAfterMs: 2000 });
  });

  it('retry-after-ms wins over Retry-After', async () => {
    sim.setScenario({ rules: [{ model: '*', kind: 'status', status: 429, retry_after_s: 5, retry_after_ms: 250 }] });
    expect((await failure(provider.complete(request(), opts()))).retryAfterMs).toBe(250);
  });

  it('400 context_length_exceeded is kind context_length, not retryable', async () => {
    sim.setScenario({ rules: [{ model: '*', kind: 'context_length_exceeded' }] });
    const err = await failure(provider.complete(request(), opts()));
    expect(err).toMatchObject({ status: 400, code: 'context_length_exceeded', kind: 'context_length', retryable: false });
    expect(err.message).not.toContain('Tell me');
  });

  it('content policy violation is kind content_filter, not retryable', async () => {
    sim.setScenario({ rules: [{ model: '*', kind: 'content_policy' }] });
    const err = await failure(provider.stream(request(), opts()));
    expect(err).toMatchObject({ status: 400, code: 'content_policy_violation', kind: 'content_filter', retryable: false });
  });

  it('503 is retryable', async () => {
    sim.setScenario({ rules: [{ model: '*', kind: 'status', status: 503 }] });
    expect(await failure(provider.complete(request(), opts()))).toMatchObject({ status: 503, retryable: true, kind: 'http' });
  });

  it('401 from the upstream is a gateway misconfiguration, not retried', async () => {
    sim.setScenario({ rules: [{ model: '*', kind: 'status', status: 401 }] });
    expect(await failure(provider.complete(request(), opts()))).toMatchObject({ status: 502, code: 'upstream_error', retryable: false });
  });

  it('a connection reset is a retryable network error', async () => {
    sim.setScenario({ rules: [{ model: '*', kind: 'reset' }] });
    expect(await failure(provider.complete(request(), opts()))).toMatchObject({ kind: 'network', retryable: true });
    expect(await failure(provider.stream(request(), opts()))).toMatchObject({ kind: 'network', retryable: true });
  });

  it('a hanging upstream is "silent" within the timeout, and the request is aborted', async () => {
    sim.setScenario({ rules: [{ model: '*', kind: 'hang' }] });
    const started = performance.now();
    const err = await failure(provider.complete(request(), opts({ totalMs: 150 })));
    const took = performance.now() - started;
    expect(err).toMatchObject({ kind: 'silent', code: 'upstream_timeout', retryable: true });
    expect(took).toBeGreaterThanOrEqual(140);
    expect(took).toBeLessThan(1000);
    const streamErr = await failure(provider.stream(request(), opts({ firstTokenMs: 100 })));
    expect(streamErr.kind).toBe('silent');
    // The simulator sees the socket close: the timeout aborted the request.
    await waitFor(() => sim.recorder.all().length === 2 && sim.recorder.all().every((r) => r.endedAt !== undefined));
  });

  it('a slow first token is timeout_first_token', async () => {
    sim.setScenario({ rules: [{ model: '*', kind: 'slow_first_token', ms: 1000 }] });
    const stream = await provider.stream(request(), opts({ firstTokenMs: 100 }));
    const err = await failure(collect(stream));
    expect(err).toMatchObject({ kind: 'timeout_first_token', retryable: true });
  });

  it('a stream cut mid-way is stream_truncated (retryable), after the deltas before it', async () => {
    sim.setScenario({ rules: [{ model: '*', kind: 'stream_cut', after_chunks: 2 }] });
    const stream = await provider.stream(request(), opts());
    const seen: UpstreamStreamEvent[] = [];
    const err = await failure(
      (async () => {
        for await (const e of stream) seen.push(e);
      })(),
    );
    expect(err).toMatchObject({ kind: 'stream_truncated', code: 'stream_interrupted', retryable: true });
    expect(seen.some((e) => e.type === 'finish')).toBe(false);
    // The text of the two chunks sent before the cut (deltas that arrive together come as one).
    sim.setScenario({ rules: [] });
    const whole = text(await collect(await provider.stream(request(), opts())));
    const before = text(seen);
    expect(before.length).toBeGreaterThan(0);
    expect(whole.startsWith(before) && whole.length > before.length).toBe(true);
  });

  it('a stalled stream is timeout_idle', async () => {
    sim.setScenario({ rules: [{ model: '*', kind: 'stream_stall', after_chunks: 1 }] });
    const stream = await provider.stream(request(), opts({ streamIdleMs: 100 }));
    const started = performance.now();
    const err = await failure(collect(stream));
    expect(err).toMatchObject({ kind: 'timeout_idle', retryable: true });
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('a data line that is not JSON yields a malformed event and the stream goes on to its finish', async () => {
    sim.setScenario({ rules: [{ model: '*', kind: 'malformed_chunk', after_chunks: 1, payload: 'keep-alive' }] });
    const events = await collect(await provider.stream(request(), opts()));
    const kinds = events.map((e) => e.type);
    expect(kinds[1]).toBe('malformed');
    expect(kinds.at(-1)).toBe('finish');
    expect(kinds.filter((k) => k === 'delta').length).toBeGreaterThan(1);
  });

  it('a damaged chunk (JSON that does not parse) is counted, then breaks the stream as truncated: its text is lost', async () => {
    // The simulator's default: a content chunk cut off inside its content.
    sim.setScenario({ rules: [{ model: '*', kind: 'malformed_chunk', after_chunks: 1 }] });
    const seen: UpstreamStreamEvent[] = [];
    const error = await failure(
      (async () => {
        for await (const e of await provider.stream(request(), opts())) seen.push(e);
      })(),
    );
    expect(error).toMatchObject({ code: 'stream_interrupted', kind: 'stream_truncated', retryable: true });
    expect(error.message).toMatch(/damaged chunk/);
    expect(seen.map((e) => e.type)).toEqual(['delta', 'malformed']);
  });

  it('a stream without [DONE] still finishes normally', async () => {
    const whole = await provider.complete(request('no done'), opts());
    sim.setScenario({ rules: [{ model: '*', kind: 'no_done' }] });
    const events = await collect(await provider.stream(request('no done'), opts()));
    expect(text(events)).toBe(whole.content);
    expect(events.at(-1)).toMatchObject({ type: 'finish', finishReason: 'stop' });
  });

  it('the total timeout bounds a slow stream', async () => {
    sim.setScenario({ rules: [{ model: '*', kind: 'latency', per_token_latency_ms: 50 }] });
    const stream = await provider.stream(request(), opts({ totalMs: 150, streamIdleMs: 1000, firstTokenMs: 1000 }));
    expect(await failure(collect(stream))).toMatchObject({ kind: 'timeout_total' });
  });

  it('an unreachable upstream is a network error', async () => {
    const lonely = new UpstreamPools();
    const dead = createOpenAiProvider({ name: 'dead', baseUrl: 'http://127.0.0.1:1/v1', dispatcher: lonely.poolFor('http://127.0.0.1:1') });
    expect(await failure(dead.complete(request(), opts()))).toMatchObject({ kind: 'network', retryable: true });
    await lonely.closeAll(true);
  });
});

describe('OpenAI adapter: an upstream that never stops sending', () => {
  // A 2xx answer that goes on and on, fast: what is read must stay bounded, and the
  // attempt must fail at the limit, not at the total timeout (or when memory runs out).
  let upstream: LoopbackUpstream;
  let hostile: Provider;
  let sent = 0;
  beforeAll(async () => {
    // The same bytes for both tests: an event (or a JSON body) that never ends.
    upstream = await startLoopbackUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const first = '{"id":"chatcmpl-x","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"';
      res.write(`data: ${first}`);
      const block = 'a'.repeat(64 * 1024);
      const pump = () => {
        while (!res.destroyed && sent < 64 * 1024 * 1024) {
          sent += block.length;
          if (!res.write(block)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
    });
    hostile = createOpenAiProvider({ name: 'hostile', baseUrl: `${upstream.url}/v1`, apiKey: 'sk-test', dispatcher: pools.poolFor(upstream.url) });
  });
  afterAll(() => upstream.close());
  afterEach(() => {
    sent = 0;
  });

  it('a stream line longer than the limit fails the attempt as a retryable truncation', async () => {
    const started = performance.now();
    const stream = await hostile.stream(request(), opts({ totalMs: 10_000, streamIdleMs: 5000, firstTokenMs: 5000 }));
    const error = await failure(collect(stream));
    expect(error.code).toBe('stream_interrupted');
    expect(error.kind).toBe('stream_truncated');
    expect(error.retryable).toBe(true);
    expect(error.message).toContain(`longer than ${DEFAULT_MAX_EVENT_BYTES} bytes`);
    expect(performance.now() - started).toBeLessThan(5000);
    expect(sent).toBeLessThan(16 * 1024 * 1024);
  });

  it('a non-streamed answer longer than the limit fails the attempt, retryable', async () => {
    const started = performance.now();
    const error = await failure(hostile.complete(request(), opts({ totalMs: 10_000 })));
    expect(error.code).toBe('upstream_error');
    expect(error.retryable).toBe(true);
    expect(error.message).toContain(`longer than ${MAX_ANSWER_SIZE} bytes`);
    expect(performance.now() - started).toBeLessThan(5000);
    expect(sent).toBeLessThan(32 * 1024 * 1024);
  });
});

/**
 * An upstream that sends a role chunk and `deltas` one-character deltas at once, then the finish
 * after `finishAfterMs` (never, when undefined: the response stays open).
 */
async function burstUpstream(name: string, deltas: number, finishAfterMs?: number): Promise<{ upstream: LoopbackUpstream; provider: Provider }> {
  const chunk = (delta: string, finish: string | null) =>
    `data: {"id":"chatcmpl-s","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":${delta},"finish_reason":${finish}}]}\n\n`;
  const upstream = await startLoopbackUpstream((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(chunk('{"role":"assistant","content":""}', null));
    res.write(Array.from({ length: deltas }, () => chunk('{"content":"x"}', null)).join(''));
    if (finishAfterMs !== undefined) setTimeout(() => res.end(chunk('{}', '"stop"') + 'data: [DONE]\n\n'), finishAfterMs);
  });
  return { upstream, provider: createOpenAiProvider({ name, baseUrl: `${upstream.url}/v1`, apiKey: 'sk-test', dispatcher: pools.poolFor(upstream.url) }) };
}

describe('OpenAI adapter: a reader slower than the upstream', () => {
  // 1500 deltas at once (past the point where the upstream socket is paused), then the
  // finish 50 ms later: the stream is idle only because the reader is behind (the body is
  // paused, so the upstream cannot send), and that must not count against the upstream.
  let upstream: LoopbackUpstream;
  let fast: Provider;
  beforeAll(async () => {
    ({ upstream, provider: fast } = await burstUpstream('fast', 1500, 50));
  });
  afterAll(() => upstream.close());

  it('a reader that takes longer than the idle timeout to catch up still gets the whole answer', async () => {
    const stream = await fast.stream(request(), opts({ streamIdleMs: 150, totalMs: 5000 }));
    const events: UpstreamStreamEvent[] = [];
    for await (const event of stream) {
      events.push(event);
      // Behind by ~1500 events (come as a few merged deltas): 200 ms on each of the first two,
      // each longer than the idle timeout, while the upstream has long sent them.
      if (events.length <= 2) await new Promise((r) => setTimeout(r, 200));
    }
    expect(events.length).toBeGreaterThan(2);
    expect(text(events)).toBe('x'.repeat(1500));
    expect(events.at(-1)).toMatchObject({ type: 'finish', finishReason: 'stop' });
  });
});

describe('OpenAI adapter: a caller that reads too slowly', () => {
  // 3000 deltas at once, then nothing more and no end: the reader takes what the first socket
  // read brought (at most 64 KiB, ~430 deltas), then stops; the rest pauses the body (over 1024
  // unread), so the only clock left is the model's total timeout.
  let upstream: LoopbackUpstream;
  let endless: Provider;
  beforeAll(async () => {
    ({ upstream, provider: endless } = await burstUpstream('endless', 3000));
  });
  afterAll(() => upstream.close());

  it('times out at the total without blaming the model (kind timeout_deadline, which breakers ignore)', async () => {
    const stream = await endless.stream(request(), opts({ streamIdleMs: 5000, totalMs: 300 }));
    const err = await failure(
      (async () => {
        let first = true;
        for await (const _ of stream) {
          // Stop reading past the total timeout while the upstream is paused on our account.
          if (first) await new Promise((r) => setTimeout(r, 500));
          first = false;
        }
      })(),
    );
    expect(err).toMatchObject({ code: 'upstream_timeout', kind: 'timeout_deadline', retryable: false });
    expect(err.message).toMatch(/read more slowly than it was written/);
  });
});

describe('OpenAI adapter: cancellation', () => {
  it("the caller's signal aborts a waiting request immediately (kind aborted)", async () => {
    sim.setScenario({ rules: [{ model: '*', kind: 'hang' }] });
    const controller = new AbortController();
    const pending = failure(provider.complete(request(), opts({ totalMs: 5000 }, controller.signal)));
    setTimeout(() => controller.abort(), 30);
    const started = performance.now();
    const err = await pending;
    expect(err.kind).toBe('aborted');
    expect(performance.now() - started).toBeLessThan(500);
    await waitFor(() => sim.recorder.all()[0]?.endedAt !== undefined);
  });

  it('an already-aborted signal never reaches the upstream', async () => {
    const controller = new AbortController();
    controller.abort();
    expect((await failure(provider.complete(request(), opts({}, controller.signal)))).kind).toBe('aborted');
    expect(sim.recorder.all()).toHaveLength(0);
  });

  it('aborting mid-stream ends the iteration with kind aborted and closes the upstream request', async () => {
    sim.setScenario({ rules: [{ model: '*', kind: 'latency', per_token_latency_ms: 20 }] });
    const controller = new AbortController();
    const stream = await provider.stream(request(), opts({ totalMs: 5000, streamIdleMs: 1000 }, controller.signal));
    let deltas = 0;
    const err = await failure(
      (async () => {
        for await (const e of stream) {
          if (e.type === 'delta' && ++deltas === 2) controller.abort();
        }
      })(),
    );
    expect(err.kind).toBe('aborted');
    await waitFor(() => sim.recorder.all()[0]?.outcome === 'client_closed');
  });

  it('breaking out of the loop cancels the upstream request', async () => {
    sim.setScenario({ rules: [{ model: '*', kind: 'latency', per_token_latency_ms: 20 }] });
    const stream = await provider.stream(request(), opts({ totalMs: 5000, streamIdleMs: 1000 }));
    for await (const e of stream) if (e.type === 'delta') break;
    await waitFor(() => sim.recorder.all()[0]?.outcome === 'client_closed');
  });
});

async function waitFor(check: () => boolean, ms = 1000): Promise<void> {
  const until = performance.now() + ms;
  while (!check()) {
    if (performance.now() > until) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 10));
  }
}
