/**
 * @llmgw/observability: metrics (prom-client), tracing (OpenTelemetry) and
 * redacted logging (pino) for the LLM gateway.
 */
export * from './labels.ts';
export * from './metrics.ts';
export * from './genai-attributes.ts';
export * from './tracing.ts';
export * from './propagation.ts';
export * from './spans.ts';
export { getTracer, TRACER_NAME } from './tracer.ts';
export * from './logging.ts';
// Re-exported so call sites and tests need no direct dependency on the SDK package.
export { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
export type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
export type { Context, Span } from '@opentelemetry/api';
export type { Logger } from 'pino';
export type { Registry } from 'prom-client';
