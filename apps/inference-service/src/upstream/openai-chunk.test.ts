import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { contentDeltaOf } from './openai-chunk.ts';

// The fast reading must never disagree with JSON.parse: where it answers, the chunk
// is valid JSON, a bare content delta, and the text is the same.
interface Reference {
  content: unknown;
  plain: boolean;
}

/** What the full parse makes of `data` (the decoder's slow path), or undefined when not JSON. */
function reference(data: string): Reference | undefined {
  let chunk: { choices?: Array<{ delta?: Record<string, unknown>; finish_reason?: unknown }>; usage?: unknown; error?: unknown };
  try {
    chunk = JSON.parse(data) as typeof chunk;
  } catch {
    return undefined;
  }
  const choice = chunk?.choices?.[0];
  const plain =
    chunk !== null &&
    typeof chunk === 'object' &&
    chunk.error === undefined &&
    chunk.usage == null &&
    chunk.choices?.length === 1 &&
    choice?.finish_reason === null &&
    Object.keys(choice?.delta ?? {}).join() === 'content';
  return { content: choice?.delta?.content, plain };
}

const text = fc.oneof(fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' }), fc.constantFrom('', ' ', '"', '\\', '\n', '\u0000', '\u2028', '\ud800', '"}],"usage":{"prompt_tokens":1}}'));
/** Ids and names as providers make them: nothing JSON has to escape. */
const plainName = fc.oneof(fc.string().filter((s) => JSON.stringify(s) === `"${s}"`), fc.constantFrom('chatcmpl-abc', 'gpt-4o-mini', 'fp_44709d6fcb', 'default'));
/** Any name: escaped ones are left to the full parse. */
const anyName = fc.oneof(plainName, fc.string({ unit: 'binary' }));

/** Chunks as OpenAI and OpenAI-compatible servers serialise them, in their field orders. */
const chunkWith = (name: fc.Arbitrary<string>) => fc
  .record({
    id: name,
    created: fc.nat(),
    model: name,
    serviceTier: fc.option(name, { nil: undefined }),
    fingerprint: fc.option(name, { nil: undefined }),
    content: text,
    logprobs: fc.constantFrom('none', 'before', 'after'),
    usage: fc.boolean(),
    obfuscation: fc.option(name, { nil: undefined }),
  })
  .map((c) => {
    const choice = c.logprobs === 'before'
      ? { index: 0, delta: { content: c.content }, logprobs: null, finish_reason: null }
      : c.logprobs === 'after'
        ? { index: 0, delta: { content: c.content }, finish_reason: null, logprobs: null }
        : { index: 0, delta: { content: c.content }, finish_reason: null };
    return JSON.stringify({
      id: c.id,
      object: 'chat.completion.chunk',
      created: c.created,
      model: c.model,
      service_tier: c.serviceTier,
      system_fingerprint: c.fingerprint,
      choices: [choice],
      usage: c.usage ? null : undefined,
      obfuscation: c.obfuscation,
    });
  });
const chunk = chunkWith(plainName);

/** A chunk with one character inserted, removed or replaced somewhere. */
const mutated = fc
  .tuple(chunkWith(anyName), fc.nat(), fc.constantFrom('insert', 'delete', 'replace'), fc.constantFrom('"', '\\', '}', ']', ',', ' ', '0', 'a', '\n', '\u0001', ':', '{'))
  .map(([s, at, op, ch]) => {
    const i = at % (s.length + 1);
    if (op === 'insert') return s.slice(0, i) + ch + s.slice(i);
    if (op === 'delete') return s.slice(0, i) + s.slice(i + 1);
    return s.slice(0, i) + ch + s.slice(i + 1);
  });

function agreesWithJsonParse(data: string): void {
  const fast = contentDeltaOf(data);
  if (fast === undefined) return;
  const ref = reference(data);
  expect(ref, data).toBeDefined();
  expect(ref!.plain, data).toBe(true);
  expect(fast, data).toBe(ref!.content);
}

describe('contentDeltaOf', () => {
  it('reads the content of every plain content-delta chunk, exactly as JSON.parse does', () => {
    fc.assert(
      fc.property(chunk, (data) => {
        const fast = contentDeltaOf(data);
        expect(fast, data).toBe((JSON.parse(data) as { choices: [{ delta: { content: string } }] }).choices[0].delta.content);
      }),
      { seed: 20261124, numRuns: 3000 },
    );
  });

  it('never answers differently from JSON.parse on escaped names, corrupted chunks and noise: it agrees or leaves them to the full parse', () => {
    fc.assert(fc.property(chunkWith(anyName), agreesWithJsonParse), { seed: 20261127, numRuns: 2000 });
    fc.assert(fc.property(mutated, agreesWithJsonParse), { seed: 20261125, numRuns: 5000 });
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 400 }), agreesWithJsonParse), { seed: 20261126, numRuns: 2000 });
  });

  it('leaves every other chunk to the full parse', () => {
    const base = { id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm' };
    const others = [
      { ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] },
      { ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] },
      { ...base, choices: [{ index: 0, delta: { content: 'x' }, finish_reason: 'length' }] },
      { ...base, choices: [], usage: { prompt_tokens: 3, completion_tokens: 4 } },
      { ...base, choices: [{ index: 1, delta: { content: 'x' }, finish_reason: null }] },
      { ...base, choices: [{ index: 0, delta: { content: 'x', refusal: null }, finish_reason: null }] },
      { error: { message: 'overloaded', type: 'server_error' } },
    ].map((c) => JSON.stringify(c));
    for (const data of [...others, JSON.stringify(JSON.parse(others[0]!), null, 1), '[DONE]', '', '{}']) expect(contentDeltaOf(data), data).toBeUndefined();
    // Same chunk with whitespace, as some servers format it: the full parse reads it.
    expect(contentDeltaOf('{"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": [{"index": 0, "delta": {"content": "x"}, "finish_reason": null}]}')).toBeUndefined();
  });

  it('decodes escapes and refuses what JSON refuses', () => {
    const head = '{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"';
    const tail = '"},"finish_reason":null}]}';
    expect(contentDeltaOf(`${head}a\\"b\\\\c\\n\\u00e9\\ud83d\\ude00${tail}`)).toBe('a"b\\c\né😀');
    expect(contentDeltaOf(`${head}bad \\q escape${tail}`)).toBeUndefined();
    expect(contentDeltaOf(`${head}raw \u0001 control${tail}`)).toBeUndefined();
    expect(contentDeltaOf(head.replace('"created":1', '"created":01') + 'x' + tail)).toBeUndefined();
  });
});
