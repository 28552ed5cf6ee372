import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { contentDeltaOf, otherChunkOf, type ChunkReading } from './openai-chunk.ts';

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

/** A choice with `logprobs: null` before or after the finish reason, or none: the orders servers send. */
function choiceOf(delta: object, finish: string | null, logprobs: 'none' | 'before' | 'after'): object {
  if (logprobs === 'before') return { index: 0, delta, logprobs: null, finish_reason: finish };
  if (logprobs === 'after') return { index: 0, delta, finish_reason: finish, logprobs: null };
  return { index: 0, delta, finish_reason: finish };
}

interface ChunkFields {
  id: string;
  created: number;
  model: string;
  serviceTier: string | undefined;
  fingerprint: string | undefined;
  obfuscation: string | undefined;
}

/** A chunk in OpenAI's field order (fields left undefined are left out, as JSON.stringify does). */
function chunkJson(c: ChunkFields, choices: object[], usage: object | null | undefined): string {
  return JSON.stringify({
    id: c.id,
    object: 'chat.completion.chunk',
    created: c.created,
    model: c.model,
    service_tier: c.serviceTier,
    system_fingerprint: c.fingerprint,
    choices,
    usage,
    obfuscation: c.obfuscation,
  });
}

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
  .map((c) => chunkJson(c, [choiceOf({ content: c.content }, null, c.logprobs)], c.usage ? null : undefined));
const chunk = chunkWith(plainName);

/** Chunks with one character inserted, removed or replaced somewhere. */
function mutationsOf(chunks: fc.Arbitrary<string>, characters: string[]): fc.Arbitrary<string> {
  return fc.tuple(chunks, fc.nat(), fc.constantFrom('insert', 'delete', 'replace'), fc.constantFrom(...characters)).map(([s, at, op, ch]) => {
    const i = at % (s.length + 1);
    if (op === 'insert') return s.slice(0, i) + ch + s.slice(i);
    if (op === 'delete') return s.slice(0, i) + s.slice(i + 1);
    return s.slice(0, i) + ch + s.slice(i + 1);
  });
}

const mutated = mutationsOf(chunkWith(anyName), ['"', '\\', '}', ']', ',', ' ', '0', 'a', '\n', '\u0001', ':', '{']);

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

// otherChunkOf: the first, finish and usage chunks. What the decoder reads of a chunk
// (error, id, model, each choice's content and finish reason, the two token counts) must be
// the same through the fast reading as through JSON.parse.
interface Read {
  error: unknown;
  id: unknown;
  model: unknown;
  choices: Array<{ content: unknown; finish: unknown }>;
  usage: { prompt: unknown; completion: unknown } | undefined;
}

function read(chunk: ChunkReading | { error?: unknown; id?: unknown; model?: unknown; choices?: Array<{ delta?: { content?: unknown }; finish_reason?: unknown }>; usage?: { prompt_tokens?: unknown; completion_tokens?: unknown } | null }): Read {
  return {
    error: 'error' in chunk ? chunk.error : undefined,
    id: chunk.id,
    model: chunk.model,
    choices: (chunk.choices ?? []).map((c) => ({ content: c.delta?.content, finish: c.finish_reason ?? null })),
    usage: chunk.usage == null ? undefined : { prompt: chunk.usage.prompt_tokens, completion: chunk.usage.completion_tokens },
  };
}

const count = fc.oneof(fc.nat(), fc.constantFrom(0, 1, 2 ** 53, 1e20));
const details = fc.option(fc.dictionary(fc.constantFrom('cached_tokens', 'audio_tokens', 'reasoning_tokens', 'accepted_prediction_tokens'), count, { minKeys: 1 }), { nil: undefined });

/** First, finish and usage chunks as OpenAI serialises them, with the optional fields in and out. */
const otherChunkWith = (name: fc.Arbitrary<string>) => fc
  .record({
    kind: fc.constantFrom('first', 'finish', 'usage', 'first-and-finish'),
    id: name,
    created: fc.nat(),
    model: name,
    serviceTier: fc.option(name, { nil: undefined }),
    fingerprint: fc.option(name, { nil: undefined }),
    content: fc.oneof(fc.constant(''), text),
    refusal: fc.boolean(),
    finish: fc.constantFrom('stop', 'length', 'content_filter', 'tool_calls'),
    logprobs: fc.constantFrom('none', 'before', 'after'),
    usageNull: fc.boolean(),
    prompt: count,
    completion: count,
    promptDetails: details,
    completionDetails: details,
    obfuscation: fc.option(name, { nil: undefined }),
  })
  .map((c) => {
    const delta = c.kind === 'finish' ? {} : c.refusal ? { role: 'assistant', content: c.content, refusal: null } : { role: 'assistant', content: c.content };
    const choice = choiceOf(delta, c.kind === 'first' ? null : c.finish, c.logprobs);
    const usage = { prompt_tokens: c.prompt, completion_tokens: c.completion, total_tokens: c.prompt + c.completion, prompt_tokens_details: c.promptDetails, completion_tokens_details: c.completionDetails };
    return chunkJson(c, c.kind === 'usage' ? [] : [choice], c.kind === 'usage' ? usage : c.usageNull ? null : undefined);
  });

const mutatedOther = mutationsOf(otherChunkWith(anyName), ['"', '\\', '}', ']', '[', ',', ' ', '0', '1', '-', '.', 'e', 'a', '\n', '\u0001', ':', '{']);

function otherAgreesWithJsonParse(data: string): void {
  const fast = otherChunkOf(data);
  if (fast === undefined) return;
  let parsed: unknown;
  expect(() => (parsed = JSON.parse(data)), data).not.toThrow();
  expect(parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed), data).toBe(true);
  expect(read(fast), data).toEqual(read(parsed as Parameters<typeof read>[0]));
}

describe('otherChunkOf', () => {
  it('reads every first, finish and usage chunk exactly as JSON.parse does', () => {
    fc.assert(
      fc.property(otherChunkWith(plainName), (data) => {
        const fast = otherChunkOf(data);
        expect(fast, data).toBeDefined();
        expect(read(fast!), data).toEqual(read(JSON.parse(data) as Parameters<typeof read>[0]));
      }),
      { seed: 20261128, numRuns: 3000 },
    );
  });

  it('never answers differently from JSON.parse on escaped names, corrupted chunks and noise', () => {
    fc.assert(fc.property(otherChunkWith(anyName), otherAgreesWithJsonParse), { seed: 20261129, numRuns: 2000 });
    fc.assert(fc.property(mutatedOther, otherAgreesWithJsonParse), { seed: 20261130, numRuns: 8000 });
    fc.assert(fc.property(mutated, otherAgreesWithJsonParse), { seed: 20261131, numRuns: 2000 });
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 400 }), otherAgreesWithJsonParse), { seed: 20261132, numRuns: 2000 });
  });

  it('leaves content deltas, several choices, errors and other shapes to the content reader or the full parse', () => {
    const base = { id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm' };
    const others = [
      { ...base, choices: [{ index: 0, delta: { content: 'x' }, finish_reason: null }] },
      { ...base, choices: [{ index: 1, delta: {}, finish_reason: 'stop' }] },
      { ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }, { index: 1, delta: {}, finish_reason: 'stop' }] },
      { ...base, choices: [{ index: 0, delta: {}, finish_reason: 'function_call' }] },
      { ...base, choices: [{ index: 0, delta: { role: 'assistant', content: null }, finish_reason: null }] },
      { ...base, choices: [], usage: { prompt_tokens: 3, completion_tokens: 4 } },
      { ...base, choices: [], usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7, prompt_tokens_details: { cached_tokens: null } } },
      { ...base, choices: [], usage: { prompt_tokens: -3, completion_tokens: 4, total_tokens: 1 } },
      { ...base, choices: [], usage: { prompt_tokens: 1e21, completion_tokens: 4, total_tokens: 1e21 } },
      { ...base, choices: [], usage: { prompt_tokens: 0.5, completion_tokens: 4, total_tokens: 4.5 } },
      { ...base, choices: [], usage: null },
      { ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], usage: {} },
      { ...base, choices: [], usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 }, error: { message: 'late' } },
      { error: { message: 'overloaded', type: 'server_error' } },
    ].map((c) => JSON.stringify(c));
    for (const data of [...others, '[DONE]', '', '{}']) expect(otherChunkOf(data), data).toBeUndefined();
  });

  it('reads the simulator\'s chunks: id and model, the role chunk, the finish and the usage', () => {
    const head = '{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1795596717,"model":"gpt-4o-mini","service_tier":"default","system_fingerprint":"fp_sim",';
    expect(otherChunkOf(`${head}"choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"usage":null}`)).toEqual({
      id: 'chatcmpl-1',
      model: 'gpt-4o-mini',
      choices: [{ delta: { content: '' }, finish_reason: null }],
    });
    expect(otherChunkOf(`${head}"choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"length"}],"usage":null}`)?.choices).toEqual([{ delta: {}, finish_reason: 'length' }]);
    const usage = `${head}"choices":[],"usage":{"prompt_tokens":7,"completion_tokens":65,"total_tokens":72,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}}`;
    expect(otherChunkOf(usage)).toEqual({ id: 'chatcmpl-1', model: 'gpt-4o-mini', choices: [], usage: { prompt_tokens: 7, completion_tokens: 65 } });
  });
});
