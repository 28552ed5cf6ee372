/**
 * Turns the OpenTelemetry SDK on, or leaves it off.
 *
 * Off is the default: without a registered SDK the API is a no-op and spans
 * cost nothing. The standard OTEL_* environment variables turn it on, so
 * deployments configure tracing the way every OTel service is configured.
 */
import { context, diag, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { defaultResource, detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  ConsoleSpanExporter,
  SimpleSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { TRACER_NAME, setTracer } from './tracer.ts';

/** `service.name` when neither OTEL_SERVICE_NAME nor `serviceName` is given. */
export const DEFAULT_SERVICE_NAME = 'llm-inference-service';
/** The OTLP/HTTP traces endpoint of a local collector, used when only OTEL_TRACES_EXPORTER=otlp is set. */
export const DEFAULT_OTLP_TRACES_URL = 'http://localhost:4318/v1/traces';

type Env = Readonly<Record<string, string | undefined>>;

export interface TracingOptions {
  /**
   * Export to this exporter through a SimpleSpanProcessor (one export per span, no batching),
   * regardless of the environment. Meant for tests: `new InMemorySpanExporter()`.
   */
  exporter?: SpanExporter;
  /** `service.name` when OTEL_SERVICE_NAME is not set (the environment wins, as the OTel spec says). */
  serviceName?: string;
  /** Where to read OTEL_* settings. Default: `process.env`. */
  env?: Env;
}

export type TracingConfig =
  | { enabled: false; reason: string }
  | { enabled: true; reason: string; serviceName: string; otlpUrl?: string; console: boolean };

export interface TracingHandle {
  readonly enabled: boolean;
  /** Why tracing is on or off, for a start-up log line. */
  readonly reason: string;
  /** Exports everything buffered so far. */
  forceFlush(): Promise<void>;
  /** Flushes, shuts the SDK down and unregisters it, so the API is a no-op again. */
  shutdown(): Promise<void>;
}

const DISABLED_HANDLE_BASE = {
  enabled: false,
  forceFlush: async () => {},
  shutdown: async () => {},
} as const;

let active: TracingHandle | undefined;

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed === undefined || trimmed === '' ? undefined : trimmed;
}

/** `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` as is, else `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/traces` (per the OTLP exporter spec). */
function otlpTracesUrl(env: Env): string {
  const signal = nonEmpty(env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT']);
  if (signal !== undefined) return signal;
  const base = nonEmpty(env['OTEL_EXPORTER_OTLP_ENDPOINT']);
  if (base !== undefined) return `${base.replace(/\/+$/, '')}/v1/traces`;
  return DEFAULT_OTLP_TRACES_URL;
}

/** Decides from the environment alone whether and where to export. Pure, so it is easy to test. */
export function resolveTracingConfig(env: Env = process.env, serviceName?: string): TracingConfig {
  if (nonEmpty(env['OTEL_SDK_DISABLED'])?.toLowerCase() === 'true') {
    return { enabled: false, reason: 'OTEL_SDK_DISABLED=true' };
  }
  const name = nonEmpty(env['OTEL_SERVICE_NAME']) ?? serviceName ?? DEFAULT_SERVICE_NAME;
  const exporters = nonEmpty(env['OTEL_TRACES_EXPORTER'])
    ?.toLowerCase()
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (exporters !== undefined) {
    if (exporters.includes('none')) return { enabled: false, reason: 'OTEL_TRACES_EXPORTER=none' };
    const otlp = exporters.includes('otlp');
    const console = exporters.includes('console');
    if (!otlp && !console) {
      return { enabled: false, reason: `OTEL_TRACES_EXPORTER=${exporters.join(',')} is not supported (otlp, console)` };
    }
    return {
      enabled: true,
      reason: `OTEL_TRACES_EXPORTER=${exporters.join(',')}`,
      serviceName: name,
      ...(otlp ? { otlpUrl: otlpTracesUrl(env) } : {}),
      console,
    };
  }
  if (nonEmpty(env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT']) !== undefined || nonEmpty(env['OTEL_EXPORTER_OTLP_ENDPOINT']) !== undefined) {
    return { enabled: true, reason: 'OTLP endpoint configured', serviceName: name, otlpUrl: otlpTracesUrl(env), console: false };
  }
  return { enabled: false, reason: 'no OTEL_TRACES_EXPORTER or OTLP endpoint set' };
}

/**
 * Registers the tracing SDK globally when `options.exporter` is given or the environment asks
 * for it; otherwise registers nothing. Call once at start-up; call `shutdown()` before exit.
 */
export function setupTracing(options: TracingOptions = {}): TracingHandle {
  if (active !== undefined) throw new Error('setupTracing: already set up; call shutdown() on the previous handle first');

  const env = options.env ?? process.env;
  const config: TracingConfig =
    options.exporter !== undefined
      ? {
          enabled: true,
          reason: 'exporter given in options',
          serviceName: nonEmpty(env['OTEL_SERVICE_NAME']) ?? options.serviceName ?? DEFAULT_SERVICE_NAME,
          console: false,
        }
      : resolveTracingConfig(env, options.serviceName);
  if (!config.enabled) return { ...DISABLED_HANDLE_BASE, reason: config.reason };

  const spanProcessors: SpanProcessor[] = [];
  if (options.exporter !== undefined) spanProcessors.push(new SimpleSpanProcessor(options.exporter));
  // OTLPTraceExporter also reads OTEL_EXPORTER_OTLP_HEADERS / _TIMEOUT / _COMPRESSION from process.env.
  if (config.otlpUrl !== undefined) spanProcessors.push(new BatchSpanProcessor(new OTLPTraceExporter({ url: config.otlpUrl })));
  if (config.console) spanProcessors.push(new BatchSpanProcessor(new ConsoleSpanExporter()));

  const resource = defaultResource()
    .merge(detectResources({ detectors: [envDetector] }))
    .merge(resourceFromAttributes({ 'service.name': config.serviceName }));
  // BasicTracerProvider reads OTEL_TRACES_SAMPLER(_ARG) itself (default: parent-based always-on).
  const provider = new BasicTracerProvider({ resource, spanProcessors });

  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  if (!trace.setGlobalTracerProvider(provider)) {
    diag.warn('setupTracing: another tracer provider is already registered; spans from this library go to ours only');
  }
  setTracer(provider.getTracer(TRACER_NAME));

  const handle: TracingHandle = {
    enabled: true,
    reason: config.reason,
    forceFlush: () => provider.forceFlush(),
    async shutdown() {
      if (active !== handle) return;
      active = undefined;
      try {
        await provider.shutdown();
      } finally {
        trace.disable();
        propagation.disable();
        context.disable();
        contextManager.disable();
        setTracer(undefined); // after trace.disable(), so it is the no-op proxy again
      }
    },
  };
  active = handle;
  return handle;
}
