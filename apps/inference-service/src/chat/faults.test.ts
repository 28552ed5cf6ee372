import { validators } from '@llmgw/contract';
import type { Scenario } from '@llmgw/simulator';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { defaultRoutes } from '../registry/registry.ts';
import type { RoutesFile } from '../registry/routes-file.ts';
import { startLoopbackUpstream, type LoopbackUpstream } from '../testing/loopback-upstream.ts';
import { TEST_KEY, ask, fastAgreement, readSse, startStack, type Stack, type StackOptions } from '../testing/stack.ts';
import { UpstreamCall } from '../upstream/http.ts';

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

async function withStack(scenario: Scenario, options: Omit<StackOptions, 'scenario'> = {}): Promise<Stack> {
  stack = await startStack({ scenario, ...options });
  return stack;
}

const attempts = (s: Stack, model: string) => s.sim.recorder.attempts(model);
const text = (events: Awaited<ReturnType<typeof readSse>>) =>
  events
    .filter((e): e is Record<string, any> => e !== '[DONE]' && !('error' in e))
    .map((e) => e.choices[0]?.delta?.content ?? '')
    .join('');

/** Routes with the simulator as default upstream and some models overridden. */
const routesWith = (models: RoutesFile['models']) => (url: string): RoutesFile => ({ ...defaultRoutes(url), models });

describe('retries', () => {
  it('retries a 5xx burst with backoff and answers from the primary', async () => {
    const s = await withStack({ rules: [{ model: 'gpt-4o-mini', kind: 'status', status: 503, attempts: { first: 2 } }] });
    const res = await s.chat(ask('burst'));
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.model).toBe('gpt-4o-mini');
    expect(res.headers.get('x-llm-fallback')).toBeNull();
    const tries = attempts(s, 'gpt-4o-mini');
    expect(tries).toHaveLength(3);
    const spacing = s.sim.recorder.spacing('gpt-4o-mini');
    // Backoff 20 ms then 40 ms (no jitter in the test agreement).
    expect(spacing[0]).toBeGreaterThanOrEqual(19);
    expect(spacing[1]).toBeGreaterThanOrEqual(39);
    expect(attempts(s, 'llama-3.2-70b')).toHaveLength(0);
  });

  it('waits for Retry-After on a 429 before retrying', async () => {
    const s = await withStack({ rules: [{ model: 'gpt-4o-mini', kind: 'status', status: 429, retry_after_ms: 150, attempts: { first: 1 } }] });
    const res = await s.chat(ask('slow down'));
    expect(res.status).toBe(200);
    expect(attempts(s, 'gpt-4o-mini')).toHaveLength(2);
    expect(s.sim.recorder.spacing('gpt-4o-mini')[0]).toBeGreaterThanOrEqual(149);
  });

  const oneCall: Array<[string, Scenario['rules'][number], number, string]> = [
    ['400 invalid request', { model: 'gpt-4o-mini', kind: 'status', status: 400 }, 400, 'invalid_request'],
    ['content policy rejection', { model: 'gpt-4o-mini', kind: 'content_policy' }, 400, 'content_policy_violation'],
  ];
  it.each(oneCall)('%s: exactly one upstream call, surfaced to the caller', async (_n, rule, status, code) => {
    const s = await withStack({ rules: [rule] });
    const res = await s.chat(ask('one call'));
    expect(res.status).toBe(status);
    expect((await res.json()).error.code).toBe(code);
    expect(attempts(s, 'gpt-4o-mini')).toHaveLength(1);
    expect(attempts(s, 'llama-3.2-70b')).toHaveLength(0);
  });

  it.each([401, 403])('upstream %i: one call to that route, then the alternative model', async (status) => {
    const s = await withStack({ rules: [{ model: 'gpt-4o-mini', kind: 'status', status }] });
    const res = await s.chat(ask('route auth'));
    expect(res.status).toBe(200);
    expect((await res.json()).model).toBe('llama-3.2-70b');
    expect(attempts(s, 'gpt-4o-mini')).toHaveLength(1);
  });

  it('content_filter finish is passed through with the provider reason, never retried', async () => {
    const s = await withStack({ rules: [{ model: 'gpt-4o-mini', kind: 'content_filter' }] });
    const res = await s.chat(ask('filtered'));
    expect(res.status).toBe(200);
    expect((await res.json()).choices[0].finish_reason).toBe('content_filter');
    expect(attempts(s, 'gpt-4o-mini')).toHaveLength(1);
  });
});

/**
 * An upstream whose answer never ends: valid content deltas of 64 KiB each, as fast as
 * loopback takes them, never a finish (at most 256 MiB, so a broken test still ends).
 */
async function startEndlessUpstream(): Promise<LoopbackUpstream & { bytes: () => number }> {
  let bytes = 0;
  const upstream = await startLoopbackUpstream((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const event = `data: ${JSON.stringify({ id: 'chatcmpl-h', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { content: 'x'.repeat(64 * 1024) }, finish_reason: null }] })}\n\n`;
    const pump = () => {
      while (!res.destroyed && bytes < 256 * 1024 * 1024) {
        bytes += event.length;
        if (!res.write(event)) return void res.once('drain', pump);
      }
    };
    pump();
  });
  return { ...upstream, bytes: () => bytes };
}

describe('a model that never stops', () => {
  let endless: Awaited<ReturnType<typeof startEndlessUpstream>> | undefined;
  afterEach(async () => {
    await endless?.close();
    endless = undefined;
  });
  async function stackWithEndlessPrimary(): Promise<Stack> {
    endless = await startEndlessUpstream();
    const hostile = `${endless.url}/v1`;
    return withStack(
      { rules: [] },
      {
        routes: (url) => ({
          ...defaultRoutes(url),
          upstreams: { ...defaultRoutes(url).upstreams, hostile: { kind: 'openai', baseUrl: hostile } },
          models: { 'gpt-4o-mini': { upstream: 'hostile', fallback: [{ strategy: 'alternative_model', model: 'gpt-4o' }, { strategy: 'polite' }] } },
        }),
      },
    );
  }

  it('a non-streamed answer that streams on past the limit fails over instead of filling the memory', async () => {
    const s = await stackWithEndlessPrimary();
    const started = Date.now();
    const res = await s.chat(ask('tell me everything'));
    expect(res.status).toBe(200);
    expect(res.headers.get('x-llm-fallback')).toBe('alternative_model');
    expect((await res.json()).model).toBe('gpt-4o');
    expect(Date.now() - started).toBeLessThan(10_000);
    // Each attempt stopped reading soon after 8 Mi characters (a few attempts with retries).
    expect(endless!.bytes()).toBeLessThan(100 * 1024 * 1024);
  }, 20_000);

  it('a streamed answer stops at the limit with an in-band error, and is not continued elsewhere', async () => {
    const s = await stackWithEndlessPrimary();
    const events = await readSse(await s.chat(ask('tell me everything', { stream: true })));
    expect(events.at(-1)).not.toBe('[DONE]');
    const last = events.at(-1) as Record<string, any>;
    expect(last.error.code).toBe('stream_interrupted');
    expect(last.error.message).toMatch(/went past \d+ characters without finishing/);
    const streamed = text(events).length;
    expect(streamed).toBeGreaterThan(7 * 1024 * 1024);
    expect(streamed).toBeLessThanOrEqual(8 * 1024 * 1024);
    // No continuation with an 8 Mi-character prefill.
    expect(attempts(s, 'gpt-4o')).toHaveLength(0);
    expect(endless!.bytes()).toBeLessThan(100 * 1024 * 1024);
  }, 20_000);
});

describe('one place to retry per hop', () => {
  it('a 5xx after the service retried says x-should-retry: false, with Retry-After', async () => {
    const s = await withStack({ rules: [{ model: '*', kind: 'outage', retry_after_s: 3 }] });
    const res = await s.chat(ask('nobody home'), { headers: { 'x-llm-no-degraded': 'true' } });
    expect(res.status).toBe(503);
    expect(res.headers.get('x-should-retry')).toBe('false');
    expect(res.headers.get('retry-after')).toBe('3');
    expect((await res.json()).error.code).toBe('upstream_unavailable');
    // Waiting 3 s would outlive the 3 s deadline: no retry, straight to the alternative (which says the same).
    expect(attempts(s, 'gpt-4o-mini')).toHaveLength(1);
    expect(attempts(s, 'llama-3.2-70b')).toHaveLength(1);
  });
});

describe('failover', () => {
  it('context length goes to a model with a larger window, never retried on the same one', async () => {
    const s = await withStack(
      { rules: [{ model: 'llama-3.2-70b', kind: 'context_length_exceeded' }] },
      { routes: routesWith({ 'llama-3.2-70b': { upstream: 'simulator', fallback: [{ strategy: 'alternative_model', model: 'gpt-4o-mini' }, { strategy: 'polite' }] } }) },
    );
    const res = await s.chat({ ...ask('a very long prompt'), model: 'llama-3.2-70b' });
    expect(res.status).toBe(200);
    expect((await res.json()).model).toBe('gpt-4o-mini');
    expect(attempts(s, 'llama-3.2-70b')).toHaveLength(1);
    expect(attempts(s, 'gpt-4o-mini')).toHaveLength(1);
  });

  it('a prompt too long for every model is a 400, not a job bound to fail nor a polite "try again later"', async () => {
    const s = await withStack({ rules: [{ model: '*', kind: 'context_length_exceeded' }] });
    for (const model of ['gpt-4o-mini', 'llama-3.2-70b']) {
      const res = await s.chat({ ...ask('a very long prompt'), model });
      expect(res.status, model).toBe(400);
      expect(res.headers.get('x-llm-fallback')).toBeNull();
      expect((await res.json()).error.code).toBe('context_length_exceeded');
    }
  });

  it("a fallback model cut short by the request's deadline is not blamed: its breaker stays closed", async () => {
    const s = await withStack(
      { rules: [{ model: 'gpt-4o-mini', kind: 'latency', ms: 950 }, { model: 'llama-3.2-70b', kind: 'latency', ms: 300 }] },
      {
        agreement: fastAgreement((a) => {
          a.models['gpt-4o-mini']!.timeouts = { totalMs: 1000, firstTokenMs: 900 };
        }),
      },
    );
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await s.chat(ask(`slow ${i}`), { headers: { 'x-llm-no-degraded': 'true' } })).status);
    // 504 while gpt-4o-mini is still tried first; 200 once its own breaker opens and llama gets the
    // whole deadline. Never 503: llama's circuit was never opened by deadlines that were not its fault.
    expect(statuses[0]).toBe(504);
    expect(statuses.every((st) => st === 504 || st === 200), String(statuses)).toBe(true);
    // llama was only ever given the ~100 ms left; asked directly, with its own deadline, it answers.
    expect(attempts(s, 'llama-3.2-70b').length).toBeGreaterThan(0);
    const direct = await s.chat({ ...ask('llama, directly'), model: 'llama-3.2-70b' });
    expect(direct.status).toBe(200);
    expect(await (await fetch(`${s.url}/metrics`)).text()).toMatch(/^llm_circuit_breaker_state\{model="llama-3.2-70b"\} 0$/m);
  });

  it('a silent upstream fails over after one first-token timeout', async () => {
    const s = await withStack({ rules: [{ model: 'gpt-4o-mini', kind: 'hang' }] });
    const started = Date.now();
    const res = await s.chat(ask('anyone there?'));
    expect(res.status).toBe(200);
    expect(res.headers.get('x-llm-fallback')).toBe('alternative_model');
    const body = await res.json();
    expect(body.model).toBe('llama-3.2-70b');
    expect(body.fallback).toEqual({ strategy: 'alternative_model', degraded: false });
    expect(attempts(s, 'gpt-4o-mini')).toHaveLength(1);
    expect(Date.now() - started).toBeLessThan(2000);
    // The GenAI metrics name the model asked for and the one that answered; the token counter, what they cost.
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    expect(metrics).toMatch(/^gen_ai_client_token_usage_count\{gen_ai_operation_name="chat",gen_ai_request_model="gpt-4o-mini",gen_ai_response_model="llama-3.2-70b",gen_ai_token_type="output"\} 1$/m);
    expect(metrics).toMatch(/^gen_ai_client_operation_duration_seconds_count\{gen_ai_operation_name="chat",gen_ai_request_model="gpt-4o-mini",gen_ai_response_model="llama-3.2-70b"\} 1$/m);
    expect(metrics).toMatch(/^llm_tokens_used_total\{model="llama-3.2-70b",type="completion"\} [1-9]/m);
    expect(metrics).not.toMatch(/^llm_tokens_used_total\{model="gpt-4o-mini"/m);
  });

  it('a slow first token beyond the model limit fails over', async () => {
    const s = await withStack({ rules: [{ model: 'gpt-4o-mini', kind: 'slow_first_token', ms: 2000 }] });
    const res = await s.chat(ask('slow start', { stream: true }));
    expect(res.status).toBe(200);
    const events = await readSse(res);
    expect(events.at(-1)).toBe('[DONE]');
    expect((events[0] as Record<string, any>).model).toBe('llama-3.2-70b');
    expect(attempts(s, 'gpt-4o-mini')).toHaveLength(1);
  });

  it('an outage opens the breaker, fallbacks serve meanwhile, and traffic returns after recovery', async () => {
    const s = await withStack({ rules: [{ model: 'gpt-4o-mini', kind: 'outage', window: { afterMs: 0, forMs: 700 } }] });
    // Two requests: 3 attempts each -> 5 consecutive failures open the breaker.
    for (let i = 0; i < 2; i++) {
      const res = await s.chat(ask(`during outage ${i}`));
      expect(res.status).toBe(200);
      expect((await res.json()).model).toBe('llama-3.2-70b');
    }
    const before = attempts(s, 'gpt-4o-mini').length;
    expect(before).toBeGreaterThanOrEqual(5);
    for (let i = 0; i < 5; i++) {
      const res = await s.chat(ask(`breaker open ${i}`));
      expect((await res.json()).model).toBe('llama-3.2-70b');
    }
    // While open, the primary is not touched at all.
    expect(attempts(s, 'gpt-4o-mini')).toHaveLength(before);
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    expect(metrics).toMatch(/llm_circuit_breaker_state\{model="gpt-4o-mini"\} 2/);
    // After the outage and the half-open wait, a probe succeeds and traffic returns.
    await new Promise((r) => setTimeout(r, 800));
    const res = await s.chat(ask('after recovery'));
    expect((await res.json()).model).toBe('gpt-4o-mini');
    expect(attempts(s, 'gpt-4o-mini').length).toBe(before + 1);
  });
});

describe('streaming never passes off a truncated answer', () => {
  it('a cut stream continues on the same capable model from the partial answer', async () => {
    const s = await withStack({ rules: [{ model: 'gpt-4o-mini', kind: 'stream_cut', after_chunks: 3, attempts: { first: 1 } }] });
    const events = await readSse(await s.chat(ask('cut me', { stream: true })));
    expect(events.at(-1)).toBe('[DONE]');
    const plain = await (await s.chat(ask('cut me'))).json();
    expect(text(events)).toBe(plain.choices[0].message.content);
    const tries = attempts(s, 'gpt-4o-mini');
    expect(tries[1]!.lastMessageRole).toBe('assistant');
  });

  it('a cut stream is one attempt in the metrics: a stream_error with its whole duration, not also a success', async () => {
    const s = await withStack({ rules: [{ model: '*', kind: 'latency', ms: 0, per_token_latency_ms: 20 }, { model: 'gpt-4o-mini', kind: 'stream_cut', after_chunks: 5, attempts: { first: 1 } }] });
    const events = await readSse(await s.chat(ask('cut me once', { stream: true })));
    expect(events.at(-1)).toBe('[DONE]');
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    const value = (name: string, outcome: string) =>
      Number(new RegExp(`^${name}\\{provider="[^"]+",model="gpt-4o-mini",outcome="${outcome}"\\} (\\S+)$`, 'm').exec(metrics)?.[1] ?? 0);
    // Two calls upstream: the cut one and its continuation, which finished.
    expect(attempts(s, 'gpt-4o-mini')).toHaveLength(2);
    expect(value('llm_upstream_attempts_total', 'stream_error')).toBe(1);
    expect(value('llm_upstream_attempts_total', 'success')).toBe(1);
    // The cut attempt streamed five chunks 20 ms apart before it broke: its duration says so.
    expect(value('llm_upstream_attempt_duration_seconds_sum', 'stream_error')).toBeGreaterThan(0.05);
  });

  it('a cut stream continues on the next capable candidate, marked as a fallback', async () => {
    const s = await withStack({ rules: [{ model: 'gpt-4o-mini', kind: 'stream_cut', after_chunks: 3 }] });
    const events = await readSse(await s.chat(ask('cut twice', { stream: true, stream_options: { include_usage: true } })));
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = events.filter((e): e is Record<string, any> => e !== '[DONE]');
    for (const c of chunks) expect(validators.ChatCompletionChunk(c)).toBe(true);
    expect(chunks[1]!.model).toBe('gpt-4o-mini');
    const last = chunks.at(-1)!;
    expect(last.model).toBe('llama-3.2-70b');
    expect(last.fallback).toEqual({ strategy: 'alternative_model', degraded: false });
    expect(attempts(s, 'llama-3.2-70b')[0]!.lastMessageRole).toBe('assistant');
    // The cut attempts' tokens are counted apart, never as completions of the primary.
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    expect(metrics).toMatch(/llm_failed_attempt_tokens_total\{model="gpt-4o-mini"\} [1-9]/);
    expect(metrics).not.toMatch(/llm_tokens_used_total\{model="gpt-4o-mini",type="completion"\}/);
    // A failover mid-stream is a fallback like one before the first token, counted once.
    expect(metrics).toMatch(/llm_fallbacks_total\{strategy="alternative_model"\} 1\n/);
  });

  it('streams that break mid-answer open the breaker like any run of failures (each counted once, at its end)', async () => {
    const s = await withStack(
      { rules: [{ model: 'gpt-4o-mini', kind: 'stream_cut', after_chunks: 3 }] },
      {
        // Only the consecutive-failures rule: a success counted at each first token used to reset it.
        agreement: fastAgreement((a) => {
          a.defaults.circuitBreaker.failureRatio = 0.99;
          a.defaults.circuitBreaker.consecutiveFailures = 3;
          a.defaults.circuitBreaker.halfOpenAfterMs = 60_000;
        }),
        routes: routesWith({ 'gpt-4o-mini': { upstream: 'simulator', capabilities: { continuation: false, jsonSchema: true }, fallback: [{ strategy: 'polite' }] } }),
      },
    );
    for (let i = 0; i < 6; i++) await (await s.chat(ask(`q${i}`, { stream: true }))).text();
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    expect(metrics).toMatch(/llm_circuit_breaker_state\{model="gpt-4o-mini"\} 2/);
    expect(attempts(s, 'gpt-4o-mini')).toHaveLength(3);
  });

  it('a stalled stream continues elsewhere after the idle timeout', async () => {
    const s = await withStack({ rules: [{ model: 'gpt-4o-mini', kind: 'stream_stall', after_chunks: 2 }] });
    const events = await readSse(await s.chat(ask('stall', { stream: true })));
    expect(events.at(-1)).toBe('[DONE]');
    expect((events.at(-2) as Record<string, any>).model).toBe('llama-3.2-70b');
  });

  it('without a capable fallback the stream ends with an in-band error and no [DONE]', async () => {
    const s = await withStack(
      { rules: [{ model: 'gpt-4o-mini', kind: 'stream_cut', after_chunks: 3 }] },
      { routes: routesWith({ 'gpt-4o-mini': { upstream: 'simulator', capabilities: { continuation: false, jsonSchema: true }, fallback: [{ strategy: 'polite' }] } }) },
    );
    const events = await readSse(await s.chat(ask('no rescue', { stream: true })));
    expect(events).not.toContain('[DONE]');
    const last = events.at(-1) as Record<string, any>;
    expect(validators.ErrorResponse(last)).toBe(true);
    expect(last.error.code).toBe('stream_interrupted');
    expect(text(events).length).toBeGreaterThan(0);
  });

  it('a continuation the fallback rejects does not hide the original failure', async () => {
    const s = await withStack({
      rules: [
        { model: 'gpt-4o-mini', kind: 'stream_cut', after_chunks: 3 },
        { model: 'llama-3.2-70b', kind: 'refuse_prefill' },
      ],
    });
    const events = await readSse(await s.chat(ask('double trouble', { stream: true })));
    expect(events).not.toContain('[DONE]');
    const last = events.at(-1) as Record<string, any>;
    expect(last.error.code).toBe('stream_interrupted');
    expect(last.error.message).toMatch(/broke off the stream/);
    expect(last.error.message).toMatch(/continuing elsewhere failed/);
  });

  it('skips a data line that is not JSON and counts it', async () => {
    const s = await withStack({ rules: [{ model: 'gpt-4o-mini', kind: 'malformed_chunk', after_chunks: 2, payload: 'keep-alive' }] });
    const events = await readSse(await s.chat(ask('garbled', { stream: true })));
    expect(events.at(-1)).toBe('[DONE]');
    s.sim.setScenario({ rules: [] });
    const plain = await (await s.chat(ask('garbled'))).json();
    expect(text(events)).toBe(plain.choices[0].message.content);
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    expect(metrics).toMatch(/llm_stream_malformed_chunks_total\{model="gpt-4o-mini"\} 1/);
  });

  it.each([true, false])('a damaged chunk loses text: never passed off as complete (stream: %s), the answer goes on from before it', async (stream) => {
    const s = await withStack({ rules: [{ model: 'gpt-4o-mini', kind: 'malformed_chunk', after_chunks: 2, attempts: { first: 1 } }] });
    const res = await s.chat(ask('garbled', { stream }));
    expect(res.status).toBe(200);
    if (stream) expect((await readSse(res)).at(-1)).toBe('[DONE]');
    else expect((await res.json()).choices[0].finish_reason).toBe('stop');
    // The damaged attempt, then one that continues it from the partial answer (streamed: the
    // caller already has that text) or starts over (not streamed: nothing was sent yet).
    const tries = attempts(s, 'gpt-4o-mini');
    expect(tries).toHaveLength(2);
    expect(tries[1]!.lastMessageRole).toBe(stream ? 'assistant' : 'user');
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    expect(metrics).toMatch(/llm_stream_malformed_chunks_total\{model="gpt-4o-mini"\} 1/);
  });

  it('a finished stream stops its upstream call at once: no clock left to fire on a complete answer', async () => {
    const end = vi.spyOn(UpstreamCall.prototype, 'end');
    const fail = vi.spyOn(UpstreamCall.prototype, 'fail');
    try {
      const s = await withStack({ rules: [] });
      const events = await readSse(await s.chat(ask('settle', { stream: true })));
      expect(events.at(-1)).toBe('[DONE]');
      // The idle and total timers, and the hold on the caller's signal, go with `end`.
      expect(end).toHaveBeenCalled();
      expect(fail).not.toHaveBeenCalled();
    } finally {
      end.mockRestore();
      fail.mockRestore();
    }
  });

  it('a caller that hangs up is recorded as 499, not as our failure (streamed or not)', async () => {
    const s = await withStack({ rules: [{ model: '*', kind: 'latency', ms: 0, per_token_latency_ms: 20 }] });
    const metric = async () => (await (await fetch(`${s.url}/metrics`)).text()).split('\n').filter((l) => l.startsWith('llm_requests_total{'));
    const until = async (ok: (lines: string[]) => boolean) => {
      for (let i = 0; i < 100 && !ok(await metric()); i++) await new Promise((r) => setTimeout(r, 20));
      return metric();
    };
    const streamed = await s.chat(ask('a long story', { stream: true }));
    const reader = streamed.body!.getReader();
    await reader.read();
    await reader.cancel();
    expect(await until((l) => l.some((x) => x.includes('status="499"')))).toEqual(['llm_requests_total{model="gpt-4o-mini",status="499"} 1']);
    // What it was sent counts as used, though it never reached the finish (and its usage).
    expect(await (await fetch(`${s.url}/metrics`)).text()).toMatch(/llm_tokens_used_total\{model="gpt-4o-mini",type="completion"\} [1-9]/);

    const left = new AbortController();
    const plain = fetch(`${s.url}/v1/chat/completions`, {
      method: 'POST',
      signal: left.signal,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TEST_KEY}` },
      body: JSON.stringify(ask('another long story')),
    });
    await new Promise((r) => setTimeout(r, 100));
    left.abort();
    await plain.catch(() => {});
    expect(await until((l) => l.some((x) => x.endsWith(' 2')))).toEqual(['llm_requests_total{model="gpt-4o-mini",status="499"} 2']);
  });

  it('finishes a stream that ended without [DONE]', async () => {
    const s = await withStack({ rules: [{ model: 'gpt-4o-mini', kind: 'no_done' }] });
    const events = await readSse(await s.chat(ask('no done', { stream: true, stream_options: { include_usage: true } })));
    expect(events.at(-1)).toBe('[DONE]');
    expect((events.at(-2) as Record<string, any>).usage.total_tokens).toBeGreaterThan(0);
    expect(attempts(s, 'gpt-4o-mini')).toHaveLength(1);
  });
});

describe('structured output', () => {
  const schema = {
    type: 'object',
    required: ['answer', 'confidence', 'needs_human'],
    additionalProperties: false,
    properties: { answer: { type: 'string' }, confidence: { type: 'number', minimum: 0, maximum: 1 }, needs_human: { type: 'boolean' } },
  };
  const structured = (content: string) => ask(content, { response_format: { type: 'json_schema', json_schema: { name: 'support', strict: true, schema } } });

  it('returns JSON that matches the requested schema', async () => {
    const s = await withStack({ rules: [] });
    const body = await (await s.chat(structured('Is the store open?'))).json();
    const parsed = JSON.parse(body.choices[0].message.content);
    expect(Object.keys(parsed).sort()).toEqual(['answer', 'confidence', 'needs_human']);
  });

  it('a model without native JSON-schema support gets the schema as an instruction, and its answer is validated', async () => {
    const s = await withStack({ rules: [] });
    const res = await s.chat({ ...structured('Is the store open?'), model: 'llama-3.2-70b' });
    expect(res.status).toBe(200);
    const parsed = JSON.parse((await res.json()).choices[0].message.content);
    expect(Object.keys(parsed).sort()).toEqual(['answer', 'confidence', 'needs_human']);
  });

  it.each(['invalid_json', 'truncated_json', 'schema_violation'] as const)('repairs %s once on the same model', async (kind) => {
    const s = await withStack({ rules: [{ model: 'gpt-4o-mini', kind, attempts: { first: 1 } }] });
    const res = await s.chat(structured('repair me'));
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.model).toBe('gpt-4o-mini');
    expect(() => JSON.parse(body.choices[0].message.content)).not.toThrow();
    expect(attempts(s, 'gpt-4o-mini')).toHaveLength(2);
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    expect(metrics).toMatch(/llm_structured_output_repairs_total\{model="gpt-4o-mini",result="repaired"\} 1/);
  });

  it('output that stays invalid goes to the fallback model, never returned as a success', async () => {
    const s = await withStack(
      { rules: [{ model: 'gpt-4o-mini', kind: 'invalid_json' }] },
      { routes: routesWith({ 'gpt-4o-mini': { upstream: 'simulator', fallback: [{ strategy: 'alternative_model', model: 'gpt-4o' }, { strategy: 'polite' }] } }) },
    );
    const res = await s.chat(structured('always broken'));
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.model).toBe('gpt-4o');
    // One answer and one repair on the primary, then the fallback.
    expect(attempts(s, 'gpt-4o-mini')).toHaveLength(2);
    expect(() => JSON.parse(body.choices[0].message.content)).not.toThrow();
  });

  it('unrepairable everywhere -> 502 invalid_model_output when degraded answers are refused', async () => {
    const s = await withStack({ rules: [{ model: '*', kind: 'schema_violation' }] });
    const res = await s.chat(structured('hopeless, what is the price?'), { headers: { 'x-llm-no-degraded': 'true' } });
    expect(res.status).toBe(502);
    expect((await res.json()).error.code).toBe('invalid_model_output');
  });

  it('unrepairable everywhere never gets a text template nor a job that would fail the same way: 502', async () => {
    const s = await withStack({ rules: [{ model: '*', kind: 'schema_violation' }] });
    const res = await s.chat(structured('hopeless, what is the price?'));
    expect(res.status).toBe(502);
    expect(res.headers.get('x-llm-fallback')).toBeNull();
    expect((await res.json()).error.code).toBe('invalid_model_output');
  });
});
