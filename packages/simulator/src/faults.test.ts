import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { FaultRule, WireFormat } from './scenario.ts';
import { startSimulator, type Simulator } from './server.ts';
import { chat, completionText, parseSse, readThenListen, readUntilEnd, streamedText, USER_MESSAGES } from './test-helpers.ts';

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator();
});
afterAll(() => sim.close());
beforeEach(() => {
  sim.setScenario({ rules: [] });
  sim.recorder.clear();
});

/** Omit distributed over the rule union, so each kind keeps its own parameters. */
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
type RuleWithoutModel = DistributiveOmit<FaultRule, 'model'>;

function inject(rule: RuleWithoutModel): void {
  sim.setScenario({ rules: [{ model: '*', ...rule }] });
}

const SCHEMA = {
  type: 'object',
  properties: { title: { type: 'string' }, rating: { type: 'integer', minimum: 1, maximum: 5 } },
  required: ['title', 'rating'],
  additionalProperties: false,
};
const validate = new Ajv2020({ strict: false }).compile(SCHEMA);

function structured(format: WireFormat): Record<string, unknown> {
  return format === 'openai'
    ? { response_format: { type: 'json_schema', json_schema: { name: 'review', schema: SCHEMA } } }
    : { output_format: { type: 'json_schema', schema: SCHEMA } };
}

/** Content events (OpenAI content deltas, Anthropic text deltas) in raw SSE text. */
function contentEventCount(format: WireFormat, text: string): number {
  return parseSse(text).filter((e) => (format === 'openai' ? e.data.includes('"delta":{"content"') : e.event === 'content_block_delta')).length;
}

function lastRecord() {
  return sim.recorder.attempts().at(-1)!;
}

describe.each(['openai', 'anthropic'] as const)('faults over the %s wire format', (format) => {
  const normalText = async (extra: Record<string, unknown> = {}): Promise<string> => {
    sim.setScenario({ rules: [] });
    const text = completionText(format, await (await chat(sim.url, format, { extra })).json());
    sim.recorder.clear();
    return text;
  };

  it('latency delays the headers by the drawn amount', async () => {
    inject({ kind: 'latency', ms: { type: 'fixed', ms: 80 } });
    const started = performance.now();
    const res = await chat(sim.url, format);
    expect(performance.now() - started).toBeGreaterThanOrEqual(75);
    expect(res.status).toBe(200);
    expect(lastRecord()).toMatchObject({ fault: 'latency', latencyMs: 80, status: 200, outcome: 'ok' });
    expect(lastRecord().respondedAt! - lastRecord().receivedAt).toBeGreaterThanOrEqual(75);
  });

  it('per_token_latency_ms paces stream chunks', async () => {
    inject({ kind: 'latency', per_token_latency_ms: 15 });
    const started = performance.now();
    const res = await chat(sim.url, format, { stream: true, extra: { max_tokens: 8 } });
    const text = await res.text();
    const chunks = contentEventCount(format, text);
    expect(chunks).toBeGreaterThan(2);
    expect(performance.now() - started).toBeGreaterThanOrEqual(chunks * 15 - 5);
  });

  it('status 429 carries Retry-After headers when asked, and the format\'s error body', async () => {
    inject({ kind: 'status', status: 429, retry_after_s: 2, retry_after_ms: 1500 });
    const res = await chat(sim.url, format);
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('2');
    expect(res.headers.get('retry-after-ms')).toBe('1500');
    const body = await res.json();
    if (format === 'openai') expect(body.error).toMatchObject({ type: 'requests', code: 'rate_limit_exceeded', param: null, message: expect.any(String) });
    else expect(body).toMatchObject({ type: 'error', error: { type: 'rate_limit_error', message: expect.any(String) } });
    expect(lastRecord()).toMatchObject({ status: 429, fault: 'status', outcome: 'error' });

    inject({ kind: 'status', status: 429 });
    const bare = await chat(sim.url, format);
    expect(bare.status).toBe(429);
    expect(bare.headers.get('retry-after')).toBeNull();
    expect(bare.headers.get('retry-after-ms')).toBeNull();
  });

  it('status errors use the format\'s error types and rule overrides', async () => {
    inject({ kind: 'status', status: format === 'openai' ? 503 : 529 });
    const res = await chat(sim.url, format, { stream: true });
    const body = await res.json();
    if (format === 'openai') expect(body.error.type).toBe('server_error');
    else expect(body.error.type).toBe('overloaded_error');
    inject({ kind: 'status', status: 500, message: 'custom failure', type: 'custom_type', code: 'custom_code', headers: { 'x-extra': 'yes' } });
    const custom = await chat(sim.url, format);
    expect(custom.headers.get('x-extra')).toBe('yes');
    const customBody = await custom.json();
    expect(format === 'openai' ? customBody.error : customBody.error).toMatchObject({ message: 'custom failure', type: 'custom_type' });
  });

  it('outage answers 503 for every request', async () => {
    inject({ kind: 'outage' });
    for (let i = 0; i < 3; i++) expect((await chat(sim.url, format)).status).toBe(503);
    expect(sim.recorder.attempts().map((r) => r.fault)).toEqual(['outage', 'outage', 'outage']);
  });

  it('context_length_exceeded is a 400 with the context code', async () => {
    inject({ kind: 'context_length_exceeded' });
    const res = await chat(sim.url, format);
    expect(res.status).toBe(400);
    const body = await res.json();
    if (format === 'openai') expect(body.error).toMatchObject({ code: 'context_length_exceeded', param: 'messages', type: 'invalid_request_error' });
    else expect(body.error).toMatchObject({ type: 'invalid_request_error', message: expect.stringMatching(/^prompt is too long/) });
  });

  it('content_policy is a 400 content_policy_violation', async () => {
    inject({ kind: 'content_policy' });
    const res = await chat(sim.url, format);
    expect(res.status).toBe(400);
    const body = await res.json();
    if (format === 'openai') expect(body.error.code).toBe('content_policy_violation');
    else expect(body.error.type).toBe('invalid_request_error');
  });

  it('content_filter answers 200 with truncated content and a filter stop, streamed or not', async () => {
    const full = await normalText();
    inject({ kind: 'content_filter' });
    const body = await (await chat(sim.url, format)).json();
    const text = completionText(format, body);
    expect(text).toBe(full.slice(0, Math.floor(full.length / 2)));
    if (format === 'openai') expect(body.choices[0].finish_reason).toBe('content_filter');
    else expect(body.stop_reason).toBe('refusal');
    const events = parseSse(await (await chat(sim.url, format, { stream: true })).text());
    expect(streamedText(format, events)).toBe(text);
    const stopEvent = format === 'openai' ? JSON.parse(events.at(-2)!.data).choices[0].finish_reason : JSON.parse(events.at(-2)!.data).delta.stop_reason;
    expect(stopEvent).toBe(format === 'openai' ? 'content_filter' : 'refusal');
  });

  it('reset destroys the connection before any header', async () => {
    inject({ kind: 'reset' });
    await expect(chat(sim.url, format)).rejects.toThrow(/fetch failed/);
    expect(lastRecord()).toMatchObject({ fault: 'reset', outcome: 'reset' });
    expect(lastRecord().status).toBeUndefined();
    sim.setScenario({ rules: [] });
    expect((await chat(sim.url, format)).status).toBe(200); // the server is fine afterwards
  });

  it('hang never answers until the client gives up', async () => {
    inject({ kind: 'hang' });
    await expect(chat(sim.url, format, { signal: AbortSignal.timeout(150) })).rejects.toThrow(/aborted|timeout/i);
    expect(lastRecord()).toMatchObject({ fault: 'hang', outcome: 'hang' });
    expect(lastRecord().status).toBeUndefined();
  });

  it('slow_first_token sends headers at once and the first chunk later', async () => {
    inject({ kind: 'slow_first_token', ms: 300 });
    const started = performance.now();
    const res = await chat(sim.url, format, { stream: true });
    const headersAfter = performance.now() - started;
    await res.body!.getReader().read();
    const firstChunkAfter = performance.now() - started;
    expect(firstChunkAfter).toBeGreaterThanOrEqual(295);
    expect(headersAfter).toBeLessThan(firstChunkAfter - 150);
    await res.body!.cancel().catch(() => undefined);

    const plainStarted = performance.now();
    const plain = await chat(sim.url, format);
    const plainHeadersAfter = performance.now() - plainStarted;
    await plain.json();
    const plainBodyAfter = performance.now() - plainStarted;
    expect(plainBodyAfter).toBeGreaterThanOrEqual(295);
    expect(plainHeadersAfter).toBeLessThan(plainBodyAfter - 150);
  });

  it('stream_cut sends N content chunks then drops the connection without a final chunk', async () => {
    inject({ kind: 'stream_cut', after_chunks: 3 });
    const res = await chat(sim.url, format, { stream: true });
    expect(res.status).toBe(200);
    const { text, error } = await readUntilEnd(res);
    expect(error).toBeDefined();
    expect(contentEventCount(format, text)).toBe(3);
    expect(text).not.toMatch(/finish_reason":"stop|\[DONE\]|message_stop|message_delta/);
    expect(lastRecord()).toMatchObject({ fault: 'stream_cut', outcome: 'cut', status: 200 });

    const plain = await chat(sim.url, format);
    await expect(plain.text()).rejects.toThrow();
  });

  it('stream_stall sends N content chunks then goes silent', async () => {
    inject({ kind: 'stream_stall', after_chunks: 2 });
    const res = await chat(sim.url, format, { stream: true });
    const { text, moreArrived } = await readThenListen(res, (t) => contentEventCount(format, t) >= 2, 150);
    expect(moreArrived).toBe(false);
    expect(contentEventCount(format, text)).toBe(2);
    expect(lastRecord()).toMatchObject({ fault: 'stream_stall', outcome: 'stalled' });
  });

  it('malformed_chunk puts a non-JSON data line mid-stream and the stream goes on', async () => {
    const full = await normalText();
    inject({ kind: 'malformed_chunk', after_chunks: 1 });
    const events = parseSse(await (await chat(sim.url, format, { stream: true })).text());
    const bad = events.filter((e) => {
      if (e.data === '[DONE]') return false;
      try {
        JSON.parse(e.data);
        return false;
      } catch {
        return true;
      }
    });
    expect(bad).toHaveLength(1);
    expect(streamedText(format, events)).toBe(full);
    expect(events.at(-1)!.data).toBe(format === 'openai' ? '[DONE]' : '{"type":"message_stop"}');

    const plain = await chat(sim.url, format);
    expect(plain.status).toBe(200);
    await expect(plain.json()).rejects.toThrow();
  });

  it('no_done ends the stream cleanly after the finish but without the terminator', async () => {
    inject({ kind: 'no_done' });
    const { text, error } = await readUntilEnd(await chat(sim.url, format, { stream: true }));
    expect(error).toBeUndefined();
    const events = parseSse(text);
    if (format === 'openai') {
      expect(text).not.toContain('[DONE]');
      expect(JSON.parse(events.at(-1)!.data).choices[0].finish_reason).toBe('stop');
    } else {
      expect(events.at(-1)!.event).toBe('message_delta');
      expect(events.some((e) => e.event === 'message_stop')).toBe(false);
    }
    // Not meaningful without a stream: the rule does not fire.
    expect((await chat(sim.url, format)).status).toBe(200);
    expect(lastRecord().fault).toBeUndefined();
  });

  it('refuse_prefill rejects a trailing assistant message and only that', async () => {
    inject({ kind: 'refuse_prefill' });
    expect((await chat(sim.url, format)).status).toBe(200);
    const res = await chat(sim.url, format, { messages: [...USER_MESSAGES, { role: 'assistant', content: 'The gateway' }] });
    expect(res.status).toBe(400);
    const body = await res.json();
    expect(JSON.stringify(body)).toMatch(/prefill/);
    expect(lastRecord()).toMatchObject({ fault: 'refuse_prefill', lastMessageRole: 'assistant', messages: 2 });
  });

  it('invalid_json answers prose around the JSON (structured requests only)', async () => {
    inject({ kind: 'invalid_json' });
    const body = await (await chat(sim.url, format, { extra: structured(format) })).json();
    const text = completionText(format, body);
    expect(() => JSON.parse(text)).toThrow();
    expect(text).toContain('```json');
    const plain = await (await chat(sim.url, format)).json();
    expect(completionText(format, plain)).toMatch(/^[A-Z]/);
    expect(lastRecord().fault).toBeUndefined();
  });

  it('truncated_json cuts the JSON in the middle, streamed or not, while claiming a normal stop', async () => {
    inject({ kind: 'truncated_json' });
    const body = await (await chat(sim.url, format, { extra: structured(format) })).json();
    const text = completionText(format, body);
    expect(() => JSON.parse(text)).toThrow();
    expect(text.startsWith('{"title":')).toBe(true);
    expect(format === 'openai' ? body.choices[0].finish_reason : body.stop_reason).toBe(format === 'openai' ? 'stop' : 'end_turn');
    const streamed = streamedText(format, parseSse(await (await chat(sim.url, format, { stream: true, extra: structured(format) })).text()));
    expect(streamed).toBe(text);
  });

  it('schema_violation answers valid JSON that breaks the schema', async () => {
    const good = JSON.parse(await normalText(structured(format)));
    expect(validate(good)).toBe(true);
    inject({ kind: 'schema_violation' });
    const value = JSON.parse(completionText(format, await (await chat(sim.url, format, { extra: structured(format) })).json()));
    expect(validate(value)).toBe(false);
  });

  it('format restricts a rule to one wire format', async () => {
    const other = format === 'openai' ? 'anthropic' : 'openai';
    sim.setScenario({ rules: [{ model: '*', kind: 'outage', format: other }] });
    expect((await chat(sim.url, format)).status).toBe(200);
    expect((await chat(sim.url, other)).status).toBe(503);
  });
});
