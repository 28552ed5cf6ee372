import { describe, expect, it } from 'vitest';
import { createLlmClient } from './client.ts';
import { StreamInterruptedError } from './errors.ts';
import { chunk, errorJson, fakeFetch, sse } from '../test/fake-fetch.ts';

const body = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'hi' }] };

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
});
