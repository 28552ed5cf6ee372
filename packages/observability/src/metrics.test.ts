import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import {
  GEN_AI_OPERATION_DURATION_BUCKETS,
  GEN_AI_TOKEN_USAGE_BUCKETS,
  REQUEST_DURATION_BUCKETS,
  createMetrics,
  metricsHandler,
  type AttemptOutcome,
} from './metrics.ts';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses Prometheus text exposition into samples (enough of the format for these tests). */
function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`unparsable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]!] = pair[2]!;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

function valueOf(samples: Sample[], name: string, labels: Record<string, string>): number | undefined {
  const keys = Object.keys(labels);
  const found = samples.find(
    (s) =>
      s.name === name &&
      Object.keys(s.labels).length === keys.length &&
      keys.every((k) => s.labels[k] === labels[k]),
  );
  return found?.value;
}

async function scrape(metrics: ReturnType<typeof createMetrics>): Promise<{ text: string; samples: Sample[] }> {
  const { contentType, body } = metrics.metricsHandler();
  expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
  const text = await body;
  return { text, samples: parseExposition(text) };
}

const MODELS = ['gpt-4o-mini', 'claude-3.5'];

describe('createMetrics exposition', () => {
  it('counts requests by model and status, and observes duration by status class', async () => {
    const metrics = createMetrics({ models: MODELS });
    metrics.requestStarted();
    metrics.requestStarted();
    metrics.requestFinished('gpt-4o-mini', 200, 0.3);
    metrics.requestStarted();
    metrics.requestFinished('gpt-4o-mini', 200, 12);
    metrics.requestFinished('claude-3.5', 429, 0.01);

    const { samples } = await scrape(metrics);
    expect(valueOf(samples, 'llm_requests_total', { model: 'gpt-4o-mini', status: '200' })).toBe(2);
    expect(valueOf(samples, 'llm_requests_total', { model: 'claude-3.5', status: '429' })).toBe(1);
    const duration = { model: 'gpt-4o-mini', status_class: '2xx' };
    expect(valueOf(samples, 'llm_request_duration_seconds_count', duration)).toBe(2);
    expect(valueOf(samples, 'llm_request_duration_seconds_sum', duration)).toBeCloseTo(12.3);
    expect(valueOf(samples, 'llm_request_duration_seconds_bucket', { ...duration, le: '0.5' })).toBe(1);
    expect(valueOf(samples, 'llm_request_duration_seconds_bucket', { ...duration, le: '10' })).toBe(1);
    expect(valueOf(samples, 'llm_request_duration_seconds_bucket', { ...duration, le: '15' })).toBe(2);
    expect(valueOf(samples, 'llm_request_duration_seconds_count', { model: 'claude-3.5', status_class: '4xx' })).toBe(1);
    expect(valueOf(samples, 'llm_inflight_requests', {})).toBe(0);
  });

  it('uses the SLO buckets up to 60 s and the GenAI spec buckets', async () => {
    const metrics = createMetrics({ models: MODELS });
    metrics.requestFinished('gpt-4o-mini', 200, 1);
    metrics.tokensUsed('gpt-4o-mini', 10, 20);
    metrics.genAiOperation('gpt-4o-mini', 1);
    const { samples } = await scrape(metrics);
    const les = (name: string) =>
      samples.filter((s) => s.name === name && s.labels['le'] !== '+Inf').map((s) => Number(s.labels['le']));
    expect(new Set(les('llm_request_duration_seconds_bucket'))).toEqual(new Set(REQUEST_DURATION_BUCKETS));
    expect(REQUEST_DURATION_BUCKETS).toContain(30);
    expect(new Set(les('gen_ai_client_token_usage_bucket'))).toEqual(new Set(GEN_AI_TOKEN_USAGE_BUCKETS));
    expect(new Set(les('gen_ai_client_operation_duration_seconds_bucket'))).toEqual(
      new Set(GEN_AI_OPERATION_DURATION_BUCKETS),
    );
  });

  it('records tokens as llm_tokens_used_total and gen_ai_client_token_usage', async () => {
    const metrics = createMetrics({ models: MODELS });
    metrics.tokensUsed('gpt-4o-mini', 100, 40);
    metrics.tokensUsed('gpt-4o-mini', 5, 0);
    metrics.genAiOperation('claude-3.5', 2.5, undefined, 'claude-3.5');
    const { samples } = await scrape(metrics);
    expect(valueOf(samples, 'llm_tokens_used_total', { model: 'gpt-4o-mini', type: 'prompt' })).toBe(105);
    expect(valueOf(samples, 'llm_tokens_used_total', { model: 'gpt-4o-mini', type: 'completion' })).toBe(40);
    const input = { gen_ai_operation_name: 'chat', gen_ai_request_model: 'gpt-4o-mini', gen_ai_response_model: 'gpt-4o-mini', gen_ai_token_type: 'input' };
    expect(valueOf(samples, 'gen_ai_client_token_usage_sum', input)).toBe(105);
    expect(valueOf(samples, 'gen_ai_client_token_usage_count', input)).toBe(2);
    expect(valueOf(samples, 'gen_ai_client_token_usage_bucket', { ...input, le: '4' })).toBe(0);
    expect(valueOf(samples, 'gen_ai_client_token_usage_bucket', { ...input, le: '16' })).toBe(1);
    expect(
      valueOf(samples, 'gen_ai_client_token_usage_sum', { ...input, gen_ai_token_type: 'output' }),
    ).toBe(40);
    expect(
      valueOf(samples, 'gen_ai_client_operation_duration_seconds_sum', {
        gen_ai_operation_name: 'chat',
        gen_ai_request_model: 'claude-3.5',
        gen_ai_response_model: 'claude-3.5',
      }),
    ).toBe(2.5);
  });

  it('labels GenAI metrics with the model asked for and the one that answered (a fallback), as the GenAI spec does', async () => {
    const metrics = createMetrics({ models: MODELS });
    // Asked for claude-3.5, answered by its fallback gpt-4o-mini.
    metrics.tokensUsed('gpt-4o-mini', 12, 8, undefined, 'claude-3.5');
    metrics.genAiOperation('claude-3.5', 1.5, undefined, 'gpt-4o-mini');
    metrics.genAiOperation('claude-3.5', 0.5);
    const { samples } = await scrape(metrics);
    // What the tokens cost is the answering model's.
    expect(valueOf(samples, 'llm_tokens_used_total', { model: 'gpt-4o-mini', type: 'prompt' })).toBe(12);
    const pair = { gen_ai_operation_name: 'chat', gen_ai_request_model: 'claude-3.5', gen_ai_response_model: 'gpt-4o-mini' };
    expect(valueOf(samples, 'gen_ai_client_token_usage_sum', { ...pair, gen_ai_token_type: 'output' })).toBe(8);
    expect(valueOf(samples, 'gen_ai_client_operation_duration_seconds_sum', pair)).toBe(1.5);
    // No model answered: the response model is empty.
    expect(valueOf(samples, 'gen_ai_client_operation_duration_seconds_sum', { ...pair, gen_ai_response_model: '' })).toBe(0.5);
  });

  it('exposes every resilience metric with its exact name and labels', async () => {
    const metrics = createMetrics({ models: MODELS, providers: ['openai', 'anthropic'] });
    metrics.fallbackUsed('rule_based');
    metrics.upstreamAttempt('openai', 'gpt-4o-mini', 'http_429', 0.2);
    metrics.upstreamAttempt('openai', 'gpt-4o-mini', 'success', 1.5);
    metrics.retry('gpt-4o-mini', 'http_429');
    metrics.circuitTransition('claude-3.5', 'closed', 'open');
    metrics.circuitTransition('claude-3.5', 'open', 'half_open');
    metrics.circuitState('gpt-4o-mini', 'closed');
    metrics.rateLimitRejected('tokens');
    metrics.tokenBudgetRejected('runaway');
    metrics.structuredOutputInvalid('gpt-4o-mini');
    metrics.structuredOutputRepair('gpt-4o-mini', 'repaired');
    metrics.setAsyncJobs('queued', 3);
    metrics.addAsyncJobs('queued', -1);
    metrics.streamMalformedChunk('claude-3.5');
    metrics.sharedStoreError('cache');

    const { samples } = await scrape(metrics);
    const expectations: [string, Record<string, string>, number][] = [
      ['llm_fallbacks_total', { strategy: 'rule_based' }, 1],
      ['llm_upstream_attempts_total', { provider: 'openai', model: 'gpt-4o-mini', outcome: 'http_429' }, 1],
      ['llm_upstream_attempts_total', { provider: 'openai', model: 'gpt-4o-mini', outcome: 'success' }, 1],
      ['llm_upstream_attempt_duration_seconds_sum', { provider: 'openai', model: 'gpt-4o-mini', outcome: 'success' }, 1.5],
      ['llm_retries_total', { model: 'gpt-4o-mini', reason: 'http_429' }, 1],
      ['llm_circuit_breaker_state', { model: 'claude-3.5' }, 1],
      ['llm_circuit_breaker_state', { model: 'gpt-4o-mini' }, 0],
      ['llm_circuit_breaker_transitions_total', { model: 'claude-3.5', from: 'closed', to: 'open' }, 1],
      ['llm_circuit_breaker_transitions_total', { model: 'claude-3.5', from: 'open', to: 'half_open' }, 1],
      ['llm_rate_limit_rejections_total', { kind: 'tokens' }, 1],
      ['llm_token_budget_rejections_total', { reason: 'runaway' }, 1],
      ['llm_structured_output_invalid_total', { model: 'gpt-4o-mini' }, 1],
      ['llm_structured_output_repairs_total', { model: 'gpt-4o-mini', result: 'repaired' }, 1],
      ['llm_async_jobs', { state: 'queued' }, 2],
      ['llm_stream_malformed_chunks_total', { model: 'claude-3.5' }, 1],
      ['llm_shared_store_errors_total', { store: 'cache' }, 1],
    ];
    for (const [name, labels, want] of expectations) {
      expect(valueOf(samples, name, labels), `${name} ${JSON.stringify(labels)}`).toBe(want);
    }
  });

  it('bounds model, provider and enumerated labels to their allow-lists', async () => {
    const metrics = createMetrics({ models: MODELS, providers: ['openai'] });
    metrics.requestFinished('gpt-4o-mini-2024-07-18', 200, 0.1);
    metrics.requestFinished('some-random-model', 200, 0.1);
    metrics.requestFinished('gpt-4o-mini', 999, 0.1);
    metrics.upstreamAttempt('evil-provider', 'x', 'made_up' as AttemptOutcome, 0.1);
    metrics.fallbackUsed('nonsense' as 'cache');

    const { samples } = await scrape(metrics);
    expect(valueOf(samples, 'llm_requests_total', { model: 'other', status: '200' })).toBe(2);
    expect(valueOf(samples, 'llm_requests_total', { model: 'gpt-4o-mini', status: 'other' })).toBe(1);
    expect(valueOf(samples, 'llm_request_duration_seconds_count', { model: 'gpt-4o-mini', status_class: 'other' })).toBe(1);
    expect(valueOf(samples, 'llm_upstream_attempts_total', { provider: 'other', model: 'other', outcome: 'other' })).toBe(1);
    expect(valueOf(samples, 'llm_fallbacks_total', { strategy: 'other' })).toBe(1);
    const modelValues = new Set(samples.filter((s) => s.labels['model'] !== undefined).map((s) => s.labels['model']));
    for (const m of modelValues) expect([...MODELS, 'other']).toContain(m);
  });

  it('caps model labels at maxDistinctLabels when no allow-list is given', async () => {
    const metrics = createMetrics({ maxDistinctLabels: 3 });
    for (let i = 0; i < 20; i++) metrics.requestFinished(`model-${i}`, 200, 0.1);
    const { samples } = await scrape(metrics);
    const models = new Set(
      samples.filter((s) => s.name === 'llm_requests_total').map((s) => s.labels['model']),
    );
    expect(models).toEqual(new Set(['model-0', 'model-1', 'model-2', 'other']));
    expect(valueOf(samples, 'llm_requests_total', { model: 'other', status: '200' })).toBe(17);
  });

  it('ignores NaN and negative values instead of throwing on the hot path', async () => {
    const metrics = createMetrics({ models: MODELS });
    expect(() => metrics.requestFinished('gpt-4o-mini', 200, Number.NaN)).not.toThrow();
    expect(() => metrics.tokensUsed('gpt-4o-mini', -5, Number.POSITIVE_INFINITY)).not.toThrow();
    const { samples } = await scrape(metrics);
    expect(valueOf(samples, 'llm_request_duration_seconds_sum', { model: 'gpt-4o-mini', status_class: '2xx' })).toBe(0);
    expect(valueOf(samples, 'llm_tokens_used_total', { model: 'gpt-4o-mini', type: 'prompt' })).toBeUndefined();
  });

  it('applies the prefix, registers into a given registry and keeps instances apart', async () => {
    const registry = new Registry();
    const a = createMetrics({ registry, prefix: 'gw_', models: MODELS });
    const b = createMetrics({ models: MODELS });
    a.fallbackUsed('cache');
    const text = await metricsHandler(registry).body;
    expect(text).toContain('gw_llm_fallbacks_total{strategy="cache"} 1');
    expect(text).toContain('# TYPE gw_llm_request_duration_seconds histogram');
    expect(await b.metricsHandler().body).not.toContain('strategy="cache"');
  });

  it('adds process metrics only when collectDefault is true', async () => {
    const without = await createMetrics().metricsHandler().body;
    const withDefault = await createMetrics({ collectDefault: true }).metricsHandler().body;
    expect(without).not.toContain('process_cpu_user_seconds_total');
    expect(withDefault).toContain('process_cpu_user_seconds_total');
  });

  it('keeps recording after the registry is reset (cached children stay valid)', async () => {
    const metrics = createMetrics({ models: MODELS });
    metrics.fallbackUsed('polite');
    metrics.registry.resetMetrics();
    metrics.fallbackUsed('polite');
    const { samples } = await scrape(metrics);
    expect(valueOf(samples, 'llm_fallbacks_total', { strategy: 'polite' })).toBe(1);
  });
});
