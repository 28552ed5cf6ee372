// One trace from a consumer through the service to the simulator, with a retry
// visible as two sibling attempt spans, exported to an in-memory exporter.
import {
  InMemorySpanExporter,
  contextWithSpan,
  endSpan,
  injectHeaders,
  setupTracing,
  startAttemptSpan,
  type ReadableSpan,
  type TracingHandle,
} from '@llmgw/observability';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ask, startStack, type Stack } from '../testing/stack.ts';

// OTel SpanKind values (api enum), compared as numbers to avoid a direct @opentelemetry/api dependency.
const SERVER = 1;
const CLIENT = 2;
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$/;

let exporter: InMemorySpanExporter;
let tracing: TracingHandle;
let stack: Stack;

beforeAll(async () => {
  exporter = new InMemorySpanExporter();
  tracing = setupTracing({ exporter, serviceName: 'observability-test' });
  expect(tracing.enabled).toBe(true);
  stack = await startStack({
    scenario: { rules: [{ model: 'gpt-4o-mini', kind: 'status', status: 503, attempts: { first: 1 } }] },
    service: { tracing: true },
  });
});

afterAll(async () => {
  await stack?.close();
  await tracing?.shutdown();
});

/** Polls until `pick` finds what it wants in the exported spans (spans end after the response is written). */
async function spansUntil(ready: (spans: ReadableSpan[]) => boolean, timeoutMs = 2000): Promise<ReadableSpan[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const spans = exporter.getFinishedSpans();
    if (ready(spans) || Date.now() > deadline) return spans;
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('a retried request is one trace: consumer -> service -> simulator', () => {
  it('links every span and the upstream traceparent headers', async () => {
    // The consumer: a CLIENT span whose context travels to the service as traceparent.
    const consumer = startAttemptSpan({ provider: 'llm-gateway', requestModel: 'gpt-4o-mini', attempt: 1 });
    const headers = injectHeaders({} as Record<string, string>, contextWithSpan(consumer));
    expect(headers.traceparent).toMatch(TRACEPARENT);
    const res = await stack.chat(ask('trace me'), { headers });
    expect(res.status).toBe(200);
    const body = await res.json();
    endSpan(consumer, { httpStatus: res.status });
    const { traceId, spanId: consumerSpanId } = consumer.spanContext();

    const spans = await spansUntil((s) => s.some((x) => x.kind === SERVER) && s.filter((x) => x.attributes['llm.retry.attempt'] !== undefined).length >= 3);
    // Every span the consumer, the service and its attempts produced shares one trace id.
    expect(spans.length).toBeGreaterThanOrEqual(4);
    expect(new Set(spans.map((s) => s.spanContext().traceId))).toEqual(new Set([traceId]));

    // The service's request span is a child of the consumer's span.
    const request = spans.filter((s) => s.kind === SERVER);
    expect(request).toHaveLength(1);
    const requestSpan = request[0]!;
    expect(requestSpan.parentSpanContext?.spanId).toBe(consumerSpanId);
    expect(requestSpan.name).toBe('POST /v1/chat/completions');
    expect(requestSpan.attributes['gen_ai.operation.name']).toBe('chat');
    expect(requestSpan.attributes['http.response.status_code']).toBe(200);
    expect(requestSpan.attributes['gen_ai.usage.input_tokens']).toBe(body.usage.prompt_tokens);
    expect(requestSpan.attributes['gen_ai.usage.output_tokens']).toBe(body.usage.completion_tokens);

    // Two attempt spans, siblings under the request span: a 503 then a success.
    const attempts = spans
      .filter((s) => s.kind === CLIENT && s.parentSpanContext?.spanId === requestSpan.spanContext().spanId)
      .sort((a, b) => Number(a.attributes['llm.retry.attempt']) - Number(b.attributes['llm.retry.attempt']));
    expect(attempts.map((s) => s.attributes['llm.retry.attempt'])).toEqual([1, 2]);
    expect(attempts.map((s) => s.attributes['llm.attempt.outcome'])).toEqual(['http_5xx', 'success']);
    for (const a of attempts) {
      expect(a.name).toBe('chat gpt-4o-mini');
      expect(a.attributes['gen_ai.operation.name']).toBe('chat');
      expect(a.attributes['gen_ai.request.model']).toBe('gpt-4o-mini');
      expect(a.attributes['gen_ai.provider.name']).toBeTypeOf('string');
    }
    expect(attempts[0]!.attributes['error.type']).toBe('503');
    expect(attempts[0]!.status.code).toBe(2); // SpanStatusCode.ERROR
    expect(attempts[1]!.attributes['error.type']).toBeUndefined();

    // The simulator saw both calls, each carrying its own attempt span as the parent.
    const upstream = stack.sim.recorder.attempts('gpt-4o-mini');
    expect(upstream).toHaveLength(2);
    const parsed = upstream.map((r) => TRACEPARENT.exec(r.traceparent ?? ''));
    expect(parsed.every((m) => m !== null), JSON.stringify(upstream.map((r) => r.traceparent))).toBe(true);
    expect(parsed.map((m) => m![1])).toEqual([traceId, traceId]);
    expect(parsed.map((m) => m![2])).toEqual(attempts.map((a) => a.spanContext().spanId));
  });
});

describe('fallback steps are spans too', () => {
  it('a rule-based answer leaves a "fallback rule_based" span under the request span', async () => {
    exporter.reset();
    stack.sim.setScenario({ rules: [{ model: '*', kind: 'outage' }] });
    try {
      const res = await stack.chat(ask('What is the price of the pro plan?'));
      expect(res.headers.get('x-llm-fallback')).toBe('rule_based');
      const spans = await spansUntil((s) => s.some((x) => x.name === 'fallback rule_based') && s.some((x) => x.kind === SERVER));
      const fallback = spans.find((x) => x.name === 'fallback rule_based');
      const request = spans.find((x) => x.kind === SERVER);
      expect(fallback?.attributes['llm.fallback.strategy']).toBe('rule_based');
      expect(fallback?.parentSpanContext?.spanId ?? (fallback as unknown as { parentSpanId?: string })?.parentSpanId).toBe(request?.spanContext().spanId);
      // The failed model attempts are siblings under the same request span.
      expect(spans.filter((x) => x.kind === CLIENT && x.attributes['llm.attempt.outcome'] === 'http_5xx').length).toBeGreaterThan(0);
    } finally {
      stack.sim.setScenario({ rules: [] });
    }
  });
});
