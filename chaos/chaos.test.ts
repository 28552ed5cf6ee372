import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { summariseStream, type Exchange } from './capture.ts';
import { judge } from './evaluate.ts';
import type { Sample } from './load.ts';
import { startReference, type Reference } from './reference.ts';

const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'How do I reset my password?' }], stream: true });

let ref: Reference;
let full = '';
beforeAll(async () => {
  ref = await startReference();
  full = await answerOf('gpt-4o-mini');
});
afterAll(() => ref.close());

async function answerOf(model: string, prefill?: string): Promise<string> {
  // Ask the reference itself through isComplete's own path would be circular: use a second clean simulator.
  const { startSimulator } = await import('@llmgw/simulator');
  const sim = await startSimulator({ port: 0 });
  const messages = [{ role: 'user', content: 'How do I reset my password?' }, ...(prefill ? [{ role: 'assistant', content: prefill }] : [])];
  const r = await fetch(`${sim.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model, messages }) });
  const text = ((await r.json()) as { choices: Array<{ message: { content: string } }> }).choices[0]!.message.content;
  await sim.close();
  return text;
}

const sse = (text: string, end: 'done' | 'error' | 'none', model = 'gpt-4o-mini') => {
  const words = text.split(/(?<= )/);
  const chunks = words.map((w) => `data: ${JSON.stringify({ model, choices: [{ index: 0, delta: { content: w }, finish_reason: null }] })}\n\n`);
  if (end === 'done') chunks.push(`data: ${JSON.stringify({ model, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\n`, 'data: [DONE]\n\n');
  if (end === 'error') chunks.push(`data: ${JSON.stringify({ error: { message: 'broke', code: 'stream_interrupted' } })}\n\n`);
  return chunks.join('');
};

function sampleOf(stream: string, answer: string): Sample {
  const exchange: Exchange = { requestBody: body, status: 200, fallbackHeader: undefined, body: Promise.resolve(stream) };
  return {
    startMs: 0,
    latencyMs: 1,
    stream: true,
    question: 'q',
    caller: 'a',
    capture: { exchanges: [exchange] },
    result: { answer, confidence: 0.5, needs_human: false, source: 'model', model: 'gpt-4o-mini' },
  };
}

describe('summariseStream', () => {
  it('joins deltas and sees [DONE], finish reason and error events', () => {
    expect(summariseStream(sse('a b c', 'done'))).toMatchObject({ text: 'a b c', done: true, errorEvent: false, finishReason: 'stop' });
    expect(summariseStream(sse('a b', 'error'))).toMatchObject({ text: 'a b', done: false, errorEvent: true });
  });
});

describe('reference.isComplete', () => {
  it('accepts the full answer and rejects a cut one', async () => {
    expect(await ref.isComplete(body, full, ['gpt-4o-mini'])).toBe(true);
    expect(await ref.isComplete(body, full.slice(0, Math.floor(full.length / 2)), ['gpt-4o-mini'])).toBe(false);
  });

  it('accepts a prefix continued on another model', async () => {
    const cut = full.split(' ').slice(0, 5).join(' ') + ' ';
    const continued = cut + (await answerOf('llama-3.2-70b', cut));
    expect(await ref.isComplete(body, continued, ['gpt-4o-mini', 'llama-3.2-70b'])).toBe(true);
    expect(await ref.isComplete(body, continued.slice(0, -10), ['gpt-4o-mini', 'llama-3.2-70b'])).toBe(false);
  });
});

describe('judge', () => {
  it('counts a complete stream as valid', async () => {
    expect((await judge(sampleOf(sse(full, 'done'), full), ref)).verdict).toBe('valid');
  });

  it('flags a cut stream that the consumer reported complete', async () => {
    const half = full.slice(0, Math.floor(full.length / 2));
    for (const stream of [sse(half, 'none'), sse(half, 'error'), sse(half, 'done')]) {
      const j = await judge(sampleOf(stream, half), ref);
      expect(j).toMatchObject({ verdict: 'failed', truncatedAsComplete: true });
    }
  });
});
