import { getEventListeners } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLlmClient, DEFAULT_STREAM_IDLE_TIMEOUT_MS } from './client.ts';
import { StreamInterruptedError } from './errors.ts';
import { chunk, completion, errorJson, fakeFetch, json, sse } from '../test/fake-fetch.ts';

const body = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'hi' }] };

afterEach(() => {
  vi.useRealTimers();
});

/** An SSE response that sends each piece after its delay (setTimeout: fake timers drive it), then goes silent forever. */
function timedSse(pieces: [delayMs: number, text: string][]): Response {
  const encoder = new TextEncoder();
  let i = 0;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = pieces[i++];
      if (!next) return new Promise<void>(() => undefined); // stalls: headers sent, no more data
      await new Promise((resolve) => setTimeout(resolve, next[0]));
      controller.enqueue(encoder.encode(next[1]));
    },
  });
  return new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' } });
}

/** Iterates into `seen`; resolves to the error it ended with (undefined when complete). */
function drain(stream: AsyncIterable<{ choices: { delta: { content?: string | null } }[] }>, seen: string[], between?: () => Promise<void>) {
  return (async () => {
    for await (const c of stream) {
      seen.push(c.choices[0]?.delta.content ?? '');
      await between?.();
    }
  })().then(
    () => undefined,
    (e: unknown) => e,
  );
}

async function collect(iterable: AsyncIterable<{ choices: { delta: { content?: string | null } }[] }>): Promise<string> {
  let text = '';
  for await (const c of iterable) text += c.choices[0]?.delta.content ?? '';
  return text;
}

describe('chat.completions.stream', () => {
  it('yields every chunk, even when events are split across reads and use CRLF', async () => {
    const raw = chunk('Hel') + chunk('lo').replace(/\n/g, '\r\n') + ': keep-alive\n\n' + chunk('!', 'stop') + 'data: [DONE]\n\n';
    const pieces = raw.match(/[\s\S]{1,7}/g)!;
    const f = fakeFetch(() => sse(pieces, { 'x-request-id': 'req-1' }));
    const client = createLlmClient({ baseUrl: 'http://svc', fetch: f.fetch });
    const stream = await client.chat.completions.stream(body);
    expect(stream.meta.requestId).toBe('req-1');
    expect(await collect(stream)).toBe('Hello!');
    const sent = (await f.requests[0]!.json()) as { stream: boolean };
    expect(sent.stream).toBe(true);
  });

  it('is single-use', async () => {
    const f = fakeFetch(() => sse([chunk('a'), 'data: [DONE]\n\n']));
    const stream = await createLlmClient({ baseUrl: 'http://svc', fetch: f.fetch }).chat.completions.stream(body);
    await collect(stream);
    expect(() => stream[Symbol.asyncIterator]()).toThrow(/only once/);
  });

  it('throws StreamInterruptedError on an in-band error event, after the chunks before it', async () => {
    const inband = `data: ${JSON.stringify({ error: { code: 'upstream_timeout', message: 'gone', type: 'timeout_error', param: null } })}\n\n`;
    const f = fakeFetch(() => sse([chunk('partial'), inband]));
    const stream = await createLlmClient({ baseUrl: 'http://svc', fetch: f.fetch }).chat.completions.stream(body);
    const seen: string[] = [];
    const error = await (async () => {
      try {
        for await (const c of stream) seen.push(c.choices[0]?.delta.content ?? '');
      } catch (e) {
        return e;
      }
    })();
    expect(seen).toEqual(['partial']);
    expect(error).toBeInstanceOf(StreamInterruptedError);
    expect(error).toMatchObject({ code: 'upstream_timeout', retryable: false });
  });

  it('throws StreamInterruptedError when the body ends without [DONE] (never a truncated answer as complete)', async () => {
    const f = fakeFetch(() => sse([chunk('trunc'), chunk('ated')]));
    const stream = await createLlmClient({ baseUrl: 'http://svc', fetch: f.fetch }).chat.completions.stream(body);
    await expect(collect(stream)).rejects.toBeInstanceOf(StreamInterruptedError);
  });

  it('break aborts the request', async () => {
    const f = fakeFetch(() => sse([chunk('a'), chunk('b'), chunk('c'), 'data: [DONE]\n\n']));
    const stream = await createLlmClient({ baseUrl: 'http://svc', fetch: f.fetch }).chat.completions.stream(body);
    for await (const c of stream) {
      expect(c.object).toBe('chat.completion.chunk');
      break;
    }
    expect(f.requests[0]!.signal.aborted).toBe(true);
  });

  it('does not abort after a complete stream', async () => {
    const f = fakeFetch(() => sse([chunk('a'), 'data: [DONE]\n\n']));
    const stream = await createLlmClient({ baseUrl: 'http://svc', fetch: f.fetch }).chat.completions.stream(body);
    await collect(stream);
    expect(f.requests[0]!.signal.aborted).toBe(false);
  });

  it('an HTTP error before the stream throws the typed error from stream()', async () => {
    const f = fakeFetch(() => errorJson(429, 'rate_limit_exceeded', { 'retry-after': '2' }, 'rate_limit_error'));
    await expect(createLlmClient({ baseUrl: 'http://svc', fetch: f.fetch }).chat.completions.stream(body)).rejects.toMatchObject({
      name: 'RateLimitError',
      status: 429,
      retryAfterMs: 2000,
      retryable: true,
    });
  });

  it('a stream that goes silent after its headers aborts the request and throws StreamInterruptedError after streamIdleTimeoutMs', async () => {
    vi.useFakeTimers();
    const f = fakeFetch(() => timedSse([[0, chunk('a')]]));
    const stream = await createLlmClient({ baseUrl: 'http://svc', fetch: f.fetch, streamIdleTimeoutMs: 5_000 }).chat.completions.stream(body);
    const seen: string[] = [];
    const p = drain(stream, seen);
    await vi.advanceTimersByTimeAsync(4_999);
    expect(seen).toEqual(['a']);
    expect(f.requests[0]!.signal.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    const error = await p;
    expect(error).toBeInstanceOf(StreamInterruptedError);
    expect(error).toMatchObject({ code: 'client_timeout', retryable: false, status: undefined });
    expect(f.requests[0]!.signal.aborted).toBe(true);
  });

  it('the idle timeout (default DEFAULT_STREAM_IDLE_TIMEOUT_MS) restarts on every read and ignores a slow consumer', async () => {
    vi.useFakeTimers();
    const gap = DEFAULT_STREAM_IDLE_TIMEOUT_MS - 1;
    const f = fakeFetch(() => timedSse([[gap, chunk('a')], [gap, chunk('b')], [gap, 'data: [DONE]\n\n']]));
    const stream = await createLlmClient({ baseUrl: 'http://svc', fetch: f.fetch }).chat.completions.stream(body);
    const seen: string[] = [];
    const slowConsumer = () => new Promise<void>((resolve) => setTimeout(resolve, 2 * DEFAULT_STREAM_IDLE_TIMEOUT_MS));
    const p = drain(stream, seen, slowConsumer);
    await vi.advanceTimersByTimeAsync(3 * gap + 4 * DEFAULT_STREAM_IDLE_TIMEOUT_MS);
    expect(await p).toBeUndefined();
    expect(seen).toEqual(['a', 'b']);
    expect(f.requests[0]!.signal.aborted).toBe(false);

    const stalled = fakeFetch(() => timedSse([[0, chunk('a')]]));
    const silent = await createLlmClient({ baseUrl: 'http://svc', fetch: stalled.fetch }).chat.completions.stream(body);
    const q = drain(silent, []);
    await vi.advanceTimersByTimeAsync(DEFAULT_STREAM_IDLE_TIMEOUT_MS - 1);
    expect(stalled.requests[0]!.signal.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(await q).toMatchObject({ name: 'StreamInterruptedError', code: 'client_timeout' });
  });

  it("the caller's abort ends a silent stream with its reason", async () => {
    const f = fakeFetch(() => timedSse([[0, chunk('a')]]));
    const ac = new AbortController();
    const stream = await createLlmClient({ baseUrl: 'http://svc', fetch: f.fetch, streamIdleTimeoutMs: 0 }).chat.completions.stream(body, { signal: ac.signal });
    const seen: string[] = [];
    const p = drain(stream, seen);
    await new Promise((resolve) => setTimeout(resolve, 10));
    ac.abort(new Error('user gave up'));
    expect(await p).toMatchObject({ message: 'user gave up' });
    expect(seen).toEqual(['a']);
    expect(f.requests[0]!.signal.aborted).toBe(true);
  });

  it("leaves no listener on the caller's signal after [DONE], a break or a failed open", async () => {
    const ac = new AbortController();
    const listeners = () => getEventListeners(ac.signal, 'abort').length;
    const done = fakeFetch(() => sse([chunk('a'), 'data: [DONE]\n\n']));
    const client = createLlmClient({ baseUrl: 'http://svc', fetch: done.fetch });
    for (let i = 0; i < 25; i++) expect(await collect(await client.chat.completions.stream(body, { signal: ac.signal }))).toBe('a');
    expect(listeners()).toBe(0);

    const open = await client.chat.completions.stream(body, { signal: ac.signal });
    expect(listeners()).toBe(1); // wired while the stream is open
    for await (const c of open) {
      expect(c.object).toBe('chat.completion.chunk');
      break;
    }
    expect(listeners()).toBe(0);

    const failing = fakeFetch(
      () => errorJson(429, 'rate_limit_exceeded'),
      () => json(200, completion()), // not text/event-stream
    );
    const other = createLlmClient({ baseUrl: 'http://svc', fetch: failing.fetch });
    await expect(other.chat.completions.stream(body, { signal: ac.signal })).rejects.toMatchObject({ status: 429 });
    await expect(other.chat.completions.stream(body, { signal: ac.signal })).rejects.toThrow(/Expected text\/event-stream/);
    expect(listeners()).toBe(0);
  });
});
