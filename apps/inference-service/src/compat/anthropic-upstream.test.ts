// The service in front of an Anthropic Messages upstream (the simulator speaking
// Anthropic's wire format): OpenAI-shaped answers and streams out, Messages
// requests in, stop reasons and usage mapped, Anthropic's overload/429 retried.
import { validators } from '@llmgw/contract';
import type { Scenario } from '@llmgw/simulator';
import { afterEach, describe, expect, it } from 'vitest';
import type { RoutesFile } from '../registry/routes-file.ts';
import { readSse, startStack, type Stack } from '../testing/stack.ts';

const MODEL = 'claude-3.5-sonnet';
const UPSTREAM_MODEL = 'claude-3-5-sonnet-latest';
const SYSTEM = 'You are a terse support assistant.';

/** Only the Anthropic upstream (its origin, no /v1: the adapter adds /v1/messages). */
const anthropicRoutes = (simUrl: string): RoutesFile => ({
  upstreams: { anth: { kind: 'anthropic', baseUrl: simUrl } },
  models: { [MODEL]: { upstream: 'anth', upstreamModel: UPSTREAM_MODEL, fallback: [{ strategy: 'polite' }] } },
});

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});
async function withStack(scenario: Scenario = { rules: [] }): Promise<Stack> {
  stack = await startStack({ scenario, routes: anthropicRoutes });
  return stack;
}

const askClaude = (content: string, extra: Record<string, unknown> = {}, system?: string) => ({
  model: MODEL,
  messages: [...(system ? [{ role: 'system', content: system }] : []), { role: 'user', content }],
  ...extra,
});

/** What the upstream itself says to the same Messages request (answers are deterministic). */
async function directly(s: Stack, content: string, system?: string, maxTokens = 1024) {
  const res = await fetch(`${s.sim.url}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
    body: JSON.stringify({ model: UPSTREAM_MODEL, max_tokens: maxTokens, ...(system ? { system } : {}), messages: [{ role: 'user', content }] }),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as { content: Array<{ text: string }>; stop_reason: string; usage: { input_tokens: number; output_tokens: number } };
}

const attempts = (s: Stack) => s.sim.recorder.attempts(UPSTREAM_MODEL);

describe('Anthropic upstream', () => {
  it('maps a plain answer: content, finish_reason, usage from input/output tokens, the requested model name', async () => {
    const s = await withStack();
    const res = await s.chat(askClaude('How do I reset my password?'));
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(validators.ChatCompletion(body)).toBe(true);
    expect(body.model).toBe(MODEL);
    const upstream = await directly(s, 'How do I reset my password?');
    expect(body.choices[0].message.content).toBe(upstream.content[0]!.text);
    expect(body.choices[0].finish_reason).toBe('stop');
    expect(body.usage).toEqual({
      prompt_tokens: upstream.usage.input_tokens,
      completion_tokens: upstream.usage.output_tokens,
      total_tokens: upstream.usage.input_tokens + upstream.usage.output_tokens,
    });
    const [attempt] = attempts(s);
    expect(attempt).toMatchObject({ format: 'anthropic', status: 200 });
  });

  it('maps a stream to OpenAI chunks ending with [DONE], with usage', async () => {
    const s = await withStack();
    const res = await s.chat(askClaude('Tell me about opening hours', { stream: true, stream_options: { include_usage: true } }));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    const events = await readSse(res);
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = events.filter((e): e is Record<string, any> => e !== '[DONE]');
    for (const c of chunks) expect(validators.ChatCompletionChunk(c)).toBe(true);
    expect(chunks.every((c) => c.model === MODEL)).toBe(true);
    expect(chunks[0]!.choices[0].delta.role).toBe('assistant');
    const text = chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');
    const upstream = await directly(s, 'Tell me about opening hours');
    expect(text).toBe(upstream.content[0]!.text);
    expect(chunks.filter((c) => c.choices[0]?.finish_reason).map((c) => c.choices[0].finish_reason)).toEqual(['stop']);
    expect(chunks.at(-1)!.usage).toEqual({
      prompt_tokens: upstream.usage.input_tokens,
      completion_tokens: upstream.usage.output_tokens,
      total_tokens: upstream.usage.input_tokens + upstream.usage.output_tokens,
    });
    expect(attempts(s)[0]).toMatchObject({ format: 'anthropic', stream: true });
  });

  it('sends the system prompt as Anthropic top-level system, not as a message', async () => {
    const s = await withStack();
    const res = await s.chat(askClaude('Is the store open on Sunday?', {}, SYSTEM));
    expect(res.status).toBe(200);
    const content = (await res.json()).choices[0].message.content;
    // Only the user message in `messages` (the simulator rejects role system there).
    const [attempt] = attempts(s);
    expect(attempt).toMatchObject({ messages: 1, lastMessageRole: 'user', status: 200 });
    // The answer is a function of system + messages: it is the one the upstream gives with that system prompt.
    expect(content).toBe((await directly(s, 'Is the store open on Sunday?', SYSTEM)).content[0]!.text);
    expect(content).not.toBe((await directly(s, 'Is the store open on Sunday?')).content[0]!.text);
  });

  it('stop_reason max_tokens -> finish_reason length', async () => {
    const s = await withStack();
    const body = await (await s.chat(askClaude('Explain the refund policy', { max_tokens: 3 }))).json();
    expect(body.choices[0].finish_reason).toBe('length');
    expect(body.usage.completion_tokens).toBe(3);
    const upstream = await directly(s, 'Explain the refund policy', undefined, 3);
    expect(upstream.stop_reason).toBe('max_tokens');
    expect(body.choices[0].message.content).toBe(upstream.content[0]!.text);
  });

  it('stop_reason max_tokens in a stream -> a length finish chunk', async () => {
    const s = await withStack();
    const events = await readSse(await s.chat(askClaude('Explain the refund policy', { max_tokens: 3, stream: true })));
    expect(events.at(-1)).toBe('[DONE]');
    const finishes = events.filter((e): e is Record<string, any> => e !== '[DONE]' && Boolean(e.choices[0]?.finish_reason));
    expect(finishes.map((e) => e.choices[0].finish_reason)).toEqual(['length']);
  });

  it.each([
    ['529 overloaded', { model: UPSTREAM_MODEL, kind: 'status', status: 529, type: 'overloaded_error', attempts: { first: 1 } }, 0],
    ['429 with retry-after', { model: UPSTREAM_MODEL, kind: 'status', status: 429, type: 'rate_limit_error', retry_after_ms: 150, attempts: { first: 1 } }, 149],
  ] as const)('%s is retried on the same upstream and answered', async (_name, rule, minSpacing) => {
    const s = await withStack({ rules: [rule as Scenario['rules'][number]] });
    const res = await s.chat(askClaude('retry me'));
    expect(res.status).toBe(200);
    expect(res.headers.get('x-llm-fallback')).toBeNull();
    expect((await res.json()).model).toBe(MODEL);
    const tries = attempts(s);
    expect(tries.map((t) => t.status)).toEqual([rule.status, 200]);
    expect(s.sim.recorder.spacing(UPSTREAM_MODEL)[0]).toBeGreaterThanOrEqual(Math.max(minSpacing, 19));
  });

  it('stop_reason refusal -> finish_reason content_filter, not retried', async () => {
    const s = await withStack({ rules: [{ model: UPSTREAM_MODEL, kind: 'content_filter' }] });
    const body = await (await s.chat(askClaude('something filtered'))).json();
    expect(body.choices[0].finish_reason).toBe('content_filter');
    expect(body.model).toBe(MODEL);
    expect(attempts(s)).toHaveLength(1);
    const events = await readSse(await s.chat(askClaude('something filtered', { stream: true })));
    expect(events.at(-1)).toBe('[DONE]');
    const finishes = events.filter((e): e is Record<string, any> => e !== '[DONE]' && Boolean(e.choices[0]?.finish_reason));
    expect(finishes.map((e) => e.choices[0].finish_reason)).toEqual(['content_filter']);
  });
});
