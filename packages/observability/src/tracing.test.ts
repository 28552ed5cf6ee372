import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SpanKind, SpanStatusCode, context } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it } from 'vitest';
import { extractContext, injectHeaders } from './propagation.ts';
import { contextWithSpan, endSpan, startAttemptSpan, startRequestSpan, traceIdOf } from './spans.ts';
import { setupTracing, type TracingHandle } from './tracing.ts';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_SPAN_ID = '00f067aa0ba902b7';
const TRACEPARENT = `00-${TRACE_ID}-${PARENT_SPAN_ID}-01`;

let handle: TracingHandle | undefined;
afterEach(async () => {
  await handle?.shutdown();
  handle = undefined;
});

function setupInMemory(): InMemorySpanExporter {
  const exporter = new InMemorySpanExporter();
  handle = setupTracing({ exporter, serviceName: 'test-gateway', env: {} });
  expect(handle.enabled).toBe(true);
  return exporter;
}

describe('tracing with an in-memory exporter', () => {
  it('exports a request span with attempt children carrying GenAI attributes', () => {
    const exporter = setupInMemory();
    const request = startRequestSpan('POST /v1/chat/completions', { requestModel: 'gpt-4o-mini' }, extractContext({ traceparent: TRACEPARENT }));
    expect(request.isRecording()).toBe(true);

    const first = startAttemptSpan({ provider: 'openai', requestModel: 'gpt-4o-mini', attempt: 1 }, request);
    endSpan(first, { outcome: 'http_429', httpStatus: 429, errorType: '429' });
    const second = startAttemptSpan({ provider: 'openai', requestModel: 'gpt-4o-mini', attempt: 2 }, contextWithSpan(request));
    endSpan(second, {
      outcome: 'success',
      responseModel: 'gpt-4o-mini-2024-07-18',
      inputTokens: 12,
      outputTokens: 34,
      finishReasons: ['stop'],
      httpStatus: 200,
    });
    endSpan(request, { fallbackStrategy: 'cache', httpStatus: 200 });

    const spans = exporter.getFinishedSpans();
    expect(spans.map((s) => s.name)).toEqual(['chat gpt-4o-mini', 'chat gpt-4o-mini', 'POST /v1/chat/completions']);
    const [a1, a2, req] = spans as [typeof spans[0], typeof spans[0], typeof spans[0]];

    expect(req.kind).toBe(SpanKind.SERVER);
    expect(req.spanContext().traceId).toBe(TRACE_ID);
    expect(req.parentSpanContext?.spanId).toBe(PARENT_SPAN_ID);
    expect(req.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': 'gpt-4o-mini',
      'llm.fallback.strategy': 'cache',
    });
    expect(req.resource.attributes['service.name']).toBe('test-gateway');

    for (const attempt of [a1, a2]) {
      expect(attempt.kind).toBe(SpanKind.CLIENT);
      expect(attempt.spanContext().traceId).toBe(TRACE_ID);
      expect(attempt.parentSpanContext?.spanId).toBe(req.spanContext().spanId);
    }
    expect(a1.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.system': 'openai',
      'gen_ai.request.model': 'gpt-4o-mini',
      'llm.retry.attempt': 1,
      'llm.attempt.outcome': 'http_429',
      'error.type': '429',
      'http.response.status_code': 429,
    });
    expect(a1.status.code).toBe(SpanStatusCode.ERROR);
    expect(a2.attributes).toMatchObject({
      'llm.retry.attempt': 2,
      'llm.attempt.outcome': 'success',
      'gen_ai.response.model': 'gpt-4o-mini-2024-07-18',
      'gen_ai.usage.input_tokens': 12,
      'gen_ai.usage.output_tokens': 34,
      'gen_ai.response.finish_reasons': ['stop'],
    });
    expect(a2.attributes['error.type']).toBeUndefined();
    expect(a2.status.code).toBe(SpanStatusCode.UNSET);
  });

  it('round-trips traceparent: extract -> span -> inject -> extract', () => {
    setupInMemory();
    const incoming = extractContext(new Headers({ traceparent: TRACEPARENT, tracestate: 'vendor=abc' }));
    const request = startRequestSpan('req', {}, incoming);
    const attempt = startAttemptSpan({ provider: 'simulator', requestModel: 'm', attempt: 1 }, request);

    const outgoing = injectHeaders({} as Record<string, string>, contextWithSpan(attempt));
    expect(outgoing['traceparent']).toBe(`00-${TRACE_ID}-${attempt.spanContext().spanId}-01`);
    expect(outgoing['tracestate']).toBe('vendor=abc');

    // What the upstream would see: the same trace, our attempt as parent.
    const upstream = startRequestSpan('upstream', {}, extractContext({ Traceparent: outgoing['traceparent']! }));
    expect(traceIdOf(upstream)).toBe(TRACE_ID);
    expect((upstream as unknown as { parentSpanContext?: { spanId: string } }).parentSpanContext?.spanId).toBe(
      attempt.spanContext().spanId,
    );

    const webHeaders = injectHeaders(new Headers(), contextWithSpan(attempt));
    expect(webHeaders.get('traceparent')).toBe(outgoing['traceparent']);
    for (const s of [upstream, attempt, request]) s.end();
  });

  it('starts a new trace for requests without traceparent and ignores a malformed one', () => {
    setupInMemory();
    const fresh = startRequestSpan('req', {}, extractContext({}));
    const malformed = startRequestSpan('req', {}, extractContext({ traceparent: 'garbage' }));
    expect(traceIdOf(fresh)).toMatch(/^[0-9a-f]{32}$/);
    expect(traceIdOf(fresh)).not.toBe(TRACE_ID);
    expect(traceIdOf(malformed)).not.toBe(traceIdOf(fresh));
    fresh.end();
    malformed.end();
  });

  it('keeps the active span across awaits (AsyncLocalStorage context manager)', async () => {
    const exporter = setupInMemory();
    const request = startRequestSpan('req');
    await context.with(contextWithSpan(request), async () => {
      await new Promise((resolve) => setImmediate(resolve));
      const attempt = startAttemptSpan({ provider: 'openai', requestModel: 'm', attempt: 1 });
      attempt.end();
    });
    request.end();
    const [attempt] = exporter.getFinishedSpans();
    expect(attempt?.parentSpanContext?.spanId).toBe(request.spanContext().spanId);
  });

  it('is a no-op again after shutdown', async () => {
    const exporter = setupInMemory();
    await handle!.shutdown();
    handle = undefined;
    const span = startRequestSpan('after');
    expect(span.isRecording()).toBe(false);
    span.end();
    expect(exporter.getFinishedSpans()).toHaveLength(0);
  });

  it('refuses a second setup while one is active', () => {
    setupInMemory();
    expect(() => setupTracing({ exporter: new InMemorySpanExporter() })).toThrow(/already set up/);
  });
});

describe('tracing turned on by the environment', () => {
  it('exports spans over OTLP/HTTP to OTEL_EXPORTER_OTLP_ENDPOINT', async () => {
    const received: { url: string | undefined; contentType: string | undefined; body: string }[] = [];
    const server = createServer((req: IncomingMessage, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => (body += chunk));
      req.on('end', () => {
        received.push({ url: req.url, contentType: req.headers['content-type'], body });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      handle = setupTracing({
        env: { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`, OTEL_SERVICE_NAME: 'otlp-test-service' },
      });
      expect(handle.enabled).toBe(true);
      const span = startRequestSpan('exported-span', { requestModel: 'gpt-4o-mini' });
      expect(span.isRecording()).toBe(true);
      span.end();
      await handle.forceFlush();

      expect(received).toHaveLength(1);
      expect(received[0]!.url).toBe('/v1/traces');
      const payload = JSON.stringify(JSON.parse(received[0]!.body));
      expect(payload).toContain('exported-span');
      expect(payload).toContain('otlp-test-service');
      expect(payload).toContain('gen_ai.request.model');
    } finally {
      await handle?.shutdown();
      handle = undefined;
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('stays off when OTEL_SDK_DISABLED=true even with an endpoint', async () => {
    handle = setupTracing({ env: { OTEL_SDK_DISABLED: 'true', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1' } });
    expect(handle.enabled).toBe(false);
    expect(startRequestSpan('x').isRecording()).toBe(false);
  });
});
