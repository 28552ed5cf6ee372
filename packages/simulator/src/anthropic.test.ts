import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from './server.ts';
import { chat, parseSse, streamedText } from './test-helpers.ts';
import { estimateTokens } from './text.ts';

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator();
});
afterAll(() => sim.close());

describe('Anthropic messages (non-streamed)', () => {
  it('answers in the message shape with consistent usage and request-id', async () => {
    const res = await chat(sim.url, 'anthropic', { extra: { system: 'You are terse.' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('request-id')).toMatch(/^req_sim/);
    expect(Number(res.headers.get('anthropic-ratelimit-requests-remaining'))).toBeGreaterThan(0);
    expect(Date.parse(res.headers.get('anthropic-ratelimit-requests-reset')!)).not.toBeNaN();
    const body = await res.json();
    expect(body).toMatchObject({ type: 'message', role: 'assistant', model: 'claude-3.5-sonnet', stop_reason: 'end_turn', stop_sequence: null });
    expect(body.id).toMatch(/^msg_/);
    expect(body.content).toEqual([{ type: 'text', text: expect.any(String) }]);
    expect(body.usage.output_tokens).toBe(estimateTokens(body.content[0].text));
    expect(body.usage.input_tokens).toBe(estimateTokens('You are terse.') + estimateTokens('How does the gateway handle a failing model?'));
  });

  it('reports max_tokens and stop_sequence stops', async () => {
    const cut = await (await chat(sim.url, 'anthropic', { extra: { max_tokens: 2 } })).json();
    expect(cut).toMatchObject({ stop_reason: 'max_tokens', usage: { output_tokens: 2 } });
    const full: string = (await (await chat(sim.url, 'anthropic')).json()).content[0].text;
    const stop = full.split(' ')[1]!;
    const stopped = await (await chat(sim.url, 'anthropic', { extra: { stop_sequences: [stop] } })).json();
    expect(stopped).toMatchObject({ stop_reason: 'stop_sequence', stop_sequence: stop });
    expect(stopped.content[0].text).toBe(full.slice(0, full.indexOf(stop)));
  });

  it('continues an assistant prefill', async () => {
    const full: string = (await (await chat(sim.url, 'anthropic')).json()).content[0].text;
    const body = await (
      await chat(sim.url, 'anthropic', {
        messages: [{ role: 'user', content: [{ type: 'text', text: 'How does the gateway handle a failing model?' }] }, { role: 'assistant', content: full.slice(0, 9) }],
      })
    ).json();
    expect(full.slice(0, 9) + body.content[0].text).toBe(full);
  });

  it('answers output_format json_schema with fitting JSON', async () => {
    const schema = { type: 'object', properties: { city: { type: 'string' }, when: { type: 'string', format: 'date' } }, required: ['city', 'when'] };
    const body = await (await chat(sim.url, 'anthropic', { extra: { output_format: { type: 'json_schema', schema } } })).json();
    expect(new Ajv2020({ strict: false, validateFormats: false }).validate(schema, JSON.parse(body.content[0].text))).toBe(true);
  });

  it.each([
    [{ max_tokens: null }, 'max_tokens: Field required'],
    [{ messages: [{ role: 'system', content: 'x' }] }, 'messages.0.role'],
    [{ messages: [] }, 'messages'],
  ])('rejects %j with an Anthropic error body', async (extra, message) => {
    const res = await chat(sim.url, 'anthropic', { extra });
    expect(res.status).toBe(400);
    const body = await res.json();
    expect(body).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message: expect.stringContaining(message) } });
  });

  it('requires the anthropic-version header', async () => {
    const res = await fetch(`${sim.url}/v1/messages`, { method: 'POST', body: JSON.stringify({ model: 'claude-3.5-sonnet', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }) });
    expect(res.status).toBe(400);
    expect((await res.json()).error.message).toMatch(/anthropic-version/);
  });

  it('lists models in Anthropic shape when anthropic-version is sent', async () => {
    const list = await (await fetch(`${sim.url}/v1/models`, { headers: { 'anthropic-version': '2023-06-01' } })).json();
    expect(list).toMatchObject({ has_more: false, first_id: 'gpt-4o-mini', data: expect.arrayContaining([expect.objectContaining({ type: 'model', id: 'claude-3.5-sonnet' })]) });
  });
});

describe('Anthropic messages (streamed)', () => {
  it('streams the documented event sequence with event: lines', async () => {
    const full = (await (await chat(sim.url, 'anthropic')).json()).content[0].text;
    const res = await chat(sim.url, 'anthropic', { stream: true });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = parseSse(await res.text());
    const names = events.map((e) => e.event);
    expect(names.slice(0, 3)).toEqual(['message_start', 'content_block_start', 'ping']);
    expect(names.slice(-3)).toEqual(['content_block_stop', 'message_delta', 'message_stop']);
    expect(new Set(names.slice(3, -3))).toEqual(new Set(['content_block_delta']));
    for (const e of events) expect(JSON.parse(e.data).type).toBe(e.event);
    const start = JSON.parse(events[0]!.data);
    expect(start.message).toMatchObject({ type: 'message', role: 'assistant', content: [], stop_reason: null });
    const delta = JSON.parse(events.at(-2)!.data);
    expect(delta).toMatchObject({ delta: { stop_reason: 'end_turn' }, usage: { output_tokens: estimateTokens(full) } });
    expect(JSON.parse(events[3]!.data).delta.type).toBe('text_delta');
    expect(streamedText('anthropic', events)).toBe(full);
  });
});
