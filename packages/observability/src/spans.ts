/**
 * Span helpers for the request and each upstream attempt, with GenAI
 * semantic-convention attributes.
 *
 * Attributes are only built when `span.isRecording()`: with tracing off the
 * API hands back a non-recording span and these helpers do nothing more.
 */
import {
  SpanKind,
  SpanStatusCode,
  context,
  isSpanContextValid,
  trace,
  type Attributes,
  type Context,
  type Span,
} from '@opentelemetry/api';
import {
  ATTR_ERROR_TYPE,
  ATTR_GEN_AI_OPERATION_NAME,
  ATTR_GEN_AI_PROVIDER_NAME,
  ATTR_GEN_AI_REQUEST_MODEL,
  ATTR_GEN_AI_RESPONSE_FINISH_REASONS,
  ATTR_GEN_AI_RESPONSE_ID,
  ATTR_GEN_AI_RESPONSE_MODEL,
  ATTR_GEN_AI_SYSTEM,
  ATTR_GEN_AI_USAGE_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_OUTPUT_TOKENS,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_LLM_ATTEMPT_OUTCOME,
  ATTR_LLM_FALLBACK_STRATEGY,
  ATTR_LLM_RETRY_ATTEMPT,
  GEN_AI_OPERATION_CHAT,
} from './genai-attributes.ts';
import { getTracer } from './tracer.ts';

export interface RequestSpanAttributes {
  /** `gen_ai.request.model`: the model the client asked for (bounded or not; spans are not metrics). */
  requestModel?: string;
  /** `gen_ai.operation.name`. Default: 'chat'. */
  operation?: string;
  /** Any further attributes, set as given. */
  extra?: Attributes;
}

export interface AttemptSpanAttributes {
  /** `gen_ai.provider.name` and `gen_ai.system`, e.g. 'openai', 'anthropic', 'simulator'. */
  provider: string;
  /** `gen_ai.request.model`: the upstream model id sent to the provider. */
  requestModel: string;
  /** `llm.retry.attempt`: 1 for the first try, 2 for the first retry, ... */
  attempt: number;
  /** `gen_ai.operation.name`. Default: 'chat'. */
  operation?: string;
  extra?: Attributes;
}

/** What happened; every field optional, only the given ones are set. */
export interface SpanResult {
  /** `llm.attempt.outcome`, e.g. 'success', 'http_429', 'timeout'. */
  outcome?: string;
  /** `gen_ai.response.model`. */
  responseModel?: string;
  /** `gen_ai.response.id`. */
  responseId?: string;
  /** `gen_ai.usage.input_tokens`. */
  inputTokens?: number;
  /** `gen_ai.usage.output_tokens`. */
  outputTokens?: number;
  /** `gen_ai.response.finish_reasons`. */
  finishReasons?: readonly string[];
  /** `http.response.status_code`. */
  httpStatus?: number;
  /** `llm.fallback.strategy` when a fallback answered. */
  fallbackStrategy?: string;
  /** `error.type` (e.g. 'timeout', '429', an error class name); also marks the span status ERROR. */
  errorType?: string;
}

/**
 * Starts the SERVER span for one gateway request, as a child of `parentCtx`
 * (usually `extractContext(headers)`; default: the active context).
 */
export function startRequestSpan(name: string, attrs: RequestSpanAttributes = {}, parentCtx?: Context): Span {
  const span = getTracer().startSpan(name, { kind: SpanKind.SERVER }, parentCtx ?? context.active());
  if (span.isRecording()) {
    span.setAttribute(ATTR_GEN_AI_OPERATION_NAME, attrs.operation ?? GEN_AI_OPERATION_CHAT);
    if (attrs.requestModel !== undefined) span.setAttribute(ATTR_GEN_AI_REQUEST_MODEL, attrs.requestModel);
    if (attrs.extra !== undefined) span.setAttributes(attrs.extra);
  }
  return span;
}

/**
 * Starts the CLIENT span for one upstream attempt, named as the GenAI
 * conventions say: "{operation} {model}". `parent` is the request span or a context holding it.
 */
export function startAttemptSpan(attrs: AttemptSpanAttributes, parent?: Span | Context): Span {
  const operation = attrs.operation ?? GEN_AI_OPERATION_CHAT;
  const span = getTracer().startSpan(
    `${operation} ${attrs.requestModel}`,
    { kind: SpanKind.CLIENT },
    parentContext(parent),
  );
  if (span.isRecording()) {
    span.setAttribute(ATTR_GEN_AI_OPERATION_NAME, operation);
    span.setAttribute(ATTR_GEN_AI_PROVIDER_NAME, attrs.provider);
    span.setAttribute(ATTR_GEN_AI_SYSTEM, attrs.provider);
    span.setAttribute(ATTR_GEN_AI_REQUEST_MODEL, attrs.requestModel);
    span.setAttribute(ATTR_LLM_RETRY_ATTEMPT, attrs.attempt);
    if (attrs.extra !== undefined) span.setAttributes(attrs.extra);
  }
  return span;
}

/** Records `result` on the span (when recording), without ending it. */
export function recordSpanResult(span: Span, result: SpanResult): void {
  if (!span.isRecording()) return;
  if (result.outcome !== undefined) span.setAttribute(ATTR_LLM_ATTEMPT_OUTCOME, result.outcome);
  if (result.responseModel !== undefined) span.setAttribute(ATTR_GEN_AI_RESPONSE_MODEL, result.responseModel);
  if (result.responseId !== undefined) span.setAttribute(ATTR_GEN_AI_RESPONSE_ID, result.responseId);
  if (result.inputTokens !== undefined) span.setAttribute(ATTR_GEN_AI_USAGE_INPUT_TOKENS, result.inputTokens);
  if (result.outputTokens !== undefined) span.setAttribute(ATTR_GEN_AI_USAGE_OUTPUT_TOKENS, result.outputTokens);
  if (result.finishReasons !== undefined) span.setAttribute(ATTR_GEN_AI_RESPONSE_FINISH_REASONS, [...result.finishReasons]);
  if (result.httpStatus !== undefined) span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, result.httpStatus);
  if (result.fallbackStrategy !== undefined) span.setAttribute(ATTR_LLM_FALLBACK_STRATEGY, result.fallbackStrategy);
  if (result.errorType !== undefined) {
    span.setAttribute(ATTR_ERROR_TYPE, result.errorType);
    span.setStatus({ code: SpanStatusCode.ERROR });
  }
}

/** Records `result` (if given) and ends the span. */
export function endSpan(span: Span, result?: SpanResult): void {
  if (result !== undefined) recordSpanResult(span, result);
  span.end();
}

/** A context whose active span is `span` (for `context.with` or `injectHeaders`). */
export function contextWithSpan(span: Span, base: Context = context.active()): Context {
  return trace.setSpan(base, span);
}

/** The trace id to put in logs, or undefined when there is none (also set when only a caller's traceparent passed through). */
export function traceIdOf(span: Span | undefined): string | undefined {
  if (span === undefined) return undefined;
  const spanContext = span.spanContext();
  return isSpanContextValid(spanContext) ? spanContext.traceId : undefined;
}

function parentContext(parent: Span | Context | undefined): Context {
  if (parent === undefined) return context.active();
  return isSpan(parent) ? trace.setSpan(context.active(), parent) : parent;
}

function isSpan(value: Span | Context): value is Span {
  return typeof (value as Span).spanContext === 'function';
}
