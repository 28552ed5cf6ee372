import { validators } from '@llmgw/contract';
import { describe, expect, it } from 'vitest';
import { ChunkEncoder, completionBody } from './wire.ts';

const decode = (bytes: Uint8Array) => JSON.parse(new TextDecoder().decode(bytes).replace(/^data: /, '').trim());

describe('wire shapes', () => {
  it('chunks are contract-valid, escape content, and carry the fallback marker when set', () => {
    const enc = new ChunkEncoder('chatcmpl-1');
    enc.answeringModel('gpt-4o-mini');
    const role = decode(enc.role());
    const delta = decode(enc.delta('quote " backslash \\ newline \n'));
    enc.answeringModel('llama-3.2-70b', { strategy: 'alternative_model', degraded: false });
    const finish = decode(enc.finish('stop'));
    const usage = decode(enc.usage({ promptTokens: 3, completionTokens: 4 }));
    for (const c of [role, delta, finish, usage]) expect(validators.ChatCompletionChunk(c)).toBe(true);
    expect(delta.choices[0].delta.content).toBe('quote " backslash \\ newline \n');
    expect(role.fallback).toBeUndefined();
    expect(finish.model).toBe('llama-3.2-70b');
    expect(finish.fallback).toEqual({ strategy: 'alternative_model', degraded: false });
    expect(usage.usage).toEqual({ prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 });
    expect(new TextDecoder().decode(enc.done())).toBe('data: [DONE]\n\n');
  });

  it('the completion body is contract-valid', () => {
    const body = completionBody('id', 'm', 'hi', 'length', { promptTokens: 1, completionTokens: 2 }, { strategy: 'cache', degraded: true });
    expect(validators.ChatCompletion(body)).toBe(true);
  });
});
