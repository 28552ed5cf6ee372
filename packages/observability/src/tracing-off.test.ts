// Tracing left off: no SDK registered, so the API is a no-op. Runs in its own
// file (own process) so no other test's registration can leak in.
import { trace } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { extractContext, injectHeaders } from './propagation.ts';
import { contextWithSpan, endSpan, startAttemptSpan, startRequestSpan, traceIdOf } from './spans.ts';
import { DEFAULT_OTLP_TRACES_URL, resolveTracingConfig, setupTracing } from './tracing.ts';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_SPAN_ID = '00f067aa0ba902b7';
const TRACEPARENT = `00-${TRACE_ID}-${PARENT_SPAN_ID}-01`;

describe('tracing off (default)', () => {
  it('registers nothing when the environment does not ask for tracing', async () => {
    const handle = setupTracing({ env: {} });
    expect(handle.enabled).toBe(false);
    expect(handle.reason).toMatch(/no OTEL_TRACES_EXPORTER/);
    await handle.shutdown();
  });

  it('hands out non-recording spans and sets no attributes', () => {
    setupTracing({ env: {} });
    const span = startRequestSpan('POST /v1/chat/completions', { requestModel: 'gpt-4o-mini' });
    expect(span.isRecording()).toBe(false);
    const attempt = startAttemptSpan({ provider: 'openai', requestModel: 'gpt-4o-mini', attempt: 1 }, span);
    expect(attempt.isRecording()).toBe(false);
    endSpan(attempt, { outcome: 'success', inputTokens: 1 });
    endSpan(span);
    expect(traceIdOf(span)).toBeUndefined();
    // The global provider is still the API's proxy with no SDK behind it.
    expect(trace.getTracer('x').startSpan('y').isRecording()).toBe(false);
  });

  it('still passes a caller traceparent through to upstream headers', () => {
    const parent = extractContext({ traceparent: TRACEPARENT });
    const span = startRequestSpan('req', {}, parent);
    expect(span.isRecording()).toBe(false);
    expect(traceIdOf(span)).toBe(TRACE_ID);
    const headers = injectHeaders({} as Record<string, string>, contextWithSpan(span));
    expect(headers['traceparent']).toBe(TRACEPARENT);
  });

  it('injects nothing when there is no incoming trace', () => {
    const span = startRequestSpan('req');
    expect(injectHeaders({} as Record<string, string>, contextWithSpan(span))).toEqual({});
  });
});

describe('resolveTracingConfig', () => {
  const cases: [string, Record<string, string>, { enabled: boolean; otlpUrl?: string; console?: boolean; serviceName?: string }][] = [
    ['nothing set', {}, { enabled: false }],
    ['OTLP endpoint', { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }, { enabled: true, otlpUrl: 'http://collector:4318/v1/traces' }],
    ['traces endpoint wins, used as is', { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://b:9999/custom' }, { enabled: true, otlpUrl: 'http://b:9999/custom' }],
    ['exporter otlp alone uses the default URL', { OTEL_TRACES_EXPORTER: 'otlp' }, { enabled: true, otlpUrl: DEFAULT_OTLP_TRACES_URL }],
    ['exporter list with console', { OTEL_TRACES_EXPORTER: 'otlp, console' }, { enabled: true, otlpUrl: DEFAULT_OTLP_TRACES_URL, console: true }],
    ['exporter none beats an endpoint', { OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318' }, { enabled: false }],
    ['unsupported exporter', { OTEL_TRACES_EXPORTER: 'zipkin' }, { enabled: false }],
    ['SDK disabled beats everything', { OTEL_SDK_DISABLED: 'TRUE', OTEL_TRACES_EXPORTER: 'otlp' }, { enabled: false }],
    ['SDK disabled=false is ignored', { OTEL_SDK_DISABLED: 'false', OTEL_TRACES_EXPORTER: 'otlp' }, { enabled: true }],
    ['service name from env', { OTEL_TRACES_EXPORTER: 'otlp', OTEL_SERVICE_NAME: 'gw-eu' }, { enabled: true, serviceName: 'gw-eu' }],
  ];
  it.each(cases)('%s', (_name, env, want) => {
    const config = resolveTracingConfig(env);
    expect(config).toMatchObject(want);
    if (want.enabled && want.console === undefined && config.enabled) expect(config.console).toBe(false);
  });
});
