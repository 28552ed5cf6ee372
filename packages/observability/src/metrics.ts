/**
 * Prometheus metrics for the gateway, behind typed recorder methods.
 *
 * Call sites say what happened (`requestFinished('gpt-4o-mini', 429, 0.8)`);
 * this module owns metric names, label order, label bounding and child caching.
 * Every method does only a few Map/Set lookups and one or two additions
 * (hot-metrics.ts; prom-client formats and serves them).
 */
import { Registry, collectDefaultMetrics } from 'prom-client';
import { ChildCache1, ChildCache2, ChildCache3, ChildCache4 } from './child-cache.ts';
import { GEN_AI_OPERATION_CHAT } from './genai-attributes.ts';
import { HotCounter, HotGauge, HotHistogram } from './hot-metrics.ts';
import { OTHER_LABEL, boundedLabel, labelBounder, type LabelBounder } from './labels.ts';

/** Request latency buckets (seconds): fine below 0.5 s for the gateway itself, then up to the 15-30 s SLOs. */
export const REQUEST_DURATION_BUCKETS: readonly number[] = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 15, 20, 25, 30, 60,
];

/** OTel GenAI semconv recommended buckets for `gen_ai.client.token.usage`. */
export const GEN_AI_TOKEN_USAGE_BUCKETS: readonly number[] = [
  1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
];

/** OTel GenAI semconv recommended buckets for `gen_ai.client.operation.duration` (seconds). */
export const GEN_AI_OPERATION_DURATION_BUCKETS: readonly number[] = [
  0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
];

export const FALLBACK_STRATEGIES = ['alternative_model', 'rule_based', 'cache', 'async', 'polite'] as const;
export type FallbackStrategy = (typeof FALLBACK_STRATEGIES)[number];

export const ATTEMPT_OUTCOMES = [
  'success',
  'http_4xx',
  'http_5xx',
  'http_429',
  'timeout',
  'network',
  'stream_error',
  'circuit_open',
  'bulkhead',
  'invalid_output',
  'content_filter',
  'aborted',
] as const;
export type AttemptOutcome = (typeof ATTEMPT_OUTCOMES)[number];

export const RETRY_REASONS = ['http_429', 'http_5xx', 'timeout', 'network', 'stream_error'] as const;
export type RetryReason = (typeof RETRY_REASONS)[number];

/** Gauge values follow the usual convention: 0 closed, 1 half-open, 2 open. */
export const BREAKER_STATE_VALUES = { closed: 0, half_open: 1, open: 2 } as const;
export type BreakerState = keyof typeof BREAKER_STATE_VALUES;
const BREAKER_STATES = Object.keys(BREAKER_STATE_VALUES) as BreakerState[];

/** `reads`: model lookups and job polls, which have a window of their own. */
export const RATE_LIMIT_KINDS = ['requests', 'tokens', 'reads'] as const;
export type RateLimitKind = (typeof RATE_LIMIT_KINDS)[number];

export const TOKEN_BUDGET_REASONS = ['budget', 'runaway'] as const;
export type TokenBudgetReason = (typeof TOKEN_BUDGET_REASONS)[number];

export const REPAIR_RESULTS = ['repaired', 'failed'] as const;
export type RepairResult = (typeof REPAIR_RESULTS)[number];

export const ASYNC_JOB_STATES = ['queued', 'running', 'succeeded', 'failed'] as const;
export type AsyncJobState = (typeof ASYNC_JOB_STATES)[number];

export const SHARED_STORES = ['rate_limit', 'token_budget', 'cache', 'async_jobs', 'circuit_breaker'] as const;
export type SharedStore = (typeof SHARED_STORES)[number];

export interface MetricsOptions {
  /** Registry to register into. Default: a fresh `Registry` (not prom-client's global one), so instances never collide. */
  registry?: Registry;
  /** Prefix for every metric name. Default: '' (the names above, exactly). */
  prefix?: string;
  /** Also collect Node process metrics (CPU, heap, event loop lag). Default: false. */
  collectDefault?: boolean;
  /**
   * Allow-list of model labels (the registry's model ids or route patterns). Anything else is
   * recorded as "other". Default: none, then the first `maxDistinctLabels` distinct values pass.
   */
  models?: Iterable<string>;
  /** Allow-list of provider labels. Default: none, then first-come capped like models. */
  providers?: Iterable<string>;
  /** Cap for first-come bounding when no allow-list is given. Default: 50. */
  maxDistinctLabels?: number;
}

/** What `GET /metrics` should send. */
export interface MetricsExposition {
  contentType: string;
  body: Promise<string>;
}

export interface GatewayMetrics {
  readonly registry: Registry;
  /** Bounds a model name the way every model label here is bounded (for callers' own use, e.g. logs). */
  readonly boundModel: LabelBounder;

  /** A request entered the gateway: `llm_inflight_requests` + 1. Pair with `requestFinished`. */
  requestStarted(): void;
  /** A request left: inflight - 1, `llm_requests_total{model,status}`, `llm_request_duration_seconds{model,status_class}`. */
  requestFinished(model: string, status: number, durationSeconds: number): void;
  /**
   * One completed call's tokens: `llm_tokens_used_total{model,type}` by `model`, the model that
   * answered (what the tokens cost), and `gen_ai_client_token_usage` (input/output) by the model
   * asked for (`requestModel`, default `model`) and the one that answered, as the GenAI spec has them.
   */
  tokensUsed(model: string, promptTokens: number, completionTokens: number, operation?: string, requestModel?: string): void;
  /**
   * `gen_ai_client_operation_duration_seconds` for one GenAI client operation, by the model asked
   * for and the one that answered (`responseModel`; empty when none did).
   */
  genAiOperation(model: string, durationSeconds: number, operation?: string, responseModel?: string): void;
  /** `llm_fallbacks_total{strategy}`. */
  fallbackUsed(strategy: FallbackStrategy): void;
  /** `llm_upstream_attempts_total` and `llm_upstream_attempt_duration_seconds` `{provider,model,outcome}`. */
  upstreamAttempt(provider: string, model: string, outcome: AttemptOutcome, durationSeconds: number): void;
  /** `llm_retries_total{model,reason}`. */
  retry(model: string, reason: RetryReason): void;
  /** Sets `llm_circuit_breaker_state{model}` without counting a transition (e.g. at start-up). */
  circuitState(model: string, state: BreakerState): void;
  /** Sets the state gauge and counts `llm_circuit_breaker_transitions_total{model,from,to}`. */
  circuitTransition(model: string, from: BreakerState, to: BreakerState): void;
  /** `llm_rate_limit_rejections_total{kind}`. */
  rateLimitRejected(kind: RateLimitKind): void;
  /** `llm_token_budget_rejections_total{reason}`. */
  tokenBudgetRejected(reason: TokenBudgetReason): void;
  /** `llm_structured_output_invalid_total{model}`. */
  structuredOutputInvalid(model: string): void;
  /** `llm_structured_output_repairs_total{model,result}`. */
  structuredOutputRepair(model: string, result: RepairResult): void;
  /** Sets `llm_async_jobs{state}` (e.g. from a store's counts). */
  setAsyncJobs(state: AsyncJobState, count: number): void;
  /** Adds `delta` (may be negative) to `llm_async_jobs{state}`. */
  addAsyncJobs(state: AsyncJobState, delta: number): void;
  /** `llm_stream_malformed_chunks_total{model}`. */
  streamMalformedChunk(model: string): void;
  /** `llm_failed_attempt_tokens_total{model}`: tokens an attempt consumed before it failed (never billed as a completion). */
  failedAttemptTokens(model: string, tokens: number): void;
  /** `llm_shared_store_errors_total{store}`. */
  sharedStoreError(store: SharedStore): void;
  /** Body and content type for `GET /metrics`. */
  metricsHandler(): MetricsExposition;
}

/** HTTP status -> label strings, built once so the hot path never stringifies numbers. */
const STATUS_LABELS: readonly string[] = Array.from({ length: 600 }, (_, code) => String(code));
const STATUS_CLASSES = ['other', '1xx', '2xx', '3xx', '4xx', '5xx'] as const;

function statusLabel(status: number): string {
  return Number.isInteger(status) && status >= 100 && status <= 599 ? STATUS_LABELS[status]! : OTHER_LABEL;
}

function statusClass(status: number): string {
  return Number.isInteger(status) && status >= 100 && status <= 599 ? STATUS_CLASSES[Math.floor(status / 100)]! : OTHER_LABEL;
}

/** Non-negative finite numbers only: a NaN or negative value would throw inside prom-client. */
function finiteNonNegative(value: number): number {
  return Number.isFinite(value) && value > 0 ? value : 0;
}

export function createMetrics(options: MetricsOptions = {}): GatewayMetrics {
  const registry = options.registry ?? new Registry();
  const prefix = options.prefix ?? '';
  const registers = [registry];
  if (options.collectDefault === true) collectDefaultMetrics({ register: registry, prefix });

  const boundModel = labelBounder(options.models, options.maxDistinctLabels);
  const boundProvider = labelBounder(options.providers, options.maxDistinctLabels);
  // Typed unions bound at compile time; these guard JavaScript callers and casts.
  const boundStrategy = boundedLabel(FALLBACK_STRATEGIES);
  const boundOutcome = boundedLabel(ATTEMPT_OUTCOMES);
  const boundReason = boundedLabel(RETRY_REASONS);
  const boundKind = boundedLabel(RATE_LIMIT_KINDS);
  const boundBudgetReason = boundedLabel(TOKEN_BUDGET_REASONS);
  const boundRepair = boundedLabel(REPAIR_RESULTS);
  const boundJobState = boundedLabel(ASYNC_JOB_STATES);
  const boundStore = boundedLabel(SHARED_STORES);
  const boundBreaker = boundedLabel(BREAKER_STATES);
  const boundOperation = boundedLabel([GEN_AI_OPERATION_CHAT, 'text_completion', 'embeddings']);

  // hot-metrics.ts: prom-client's registry and format, without its per-update label hashing.
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
    new HotCounter<L>({ name: prefix + name, help, labelNames, registers });
  const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
    new HotGauge<L>({ name: prefix + name, help, labelNames, registers });
  const histogram = <L extends string>(name: string, help: string, labelNames: readonly L[], buckets: readonly number[]) =>
    new HotHistogram<L>({ name: prefix + name, help, labelNames, buckets, registers });

  const requests = new ChildCache2(
    counter('llm_requests_total', 'Requests answered by the gateway, by model and HTTP status.', ['model', 'status']),
  );
  const requestDuration = new ChildCache2(
    histogram(
      'llm_request_duration_seconds',
      'End-to-end request latency in seconds, by model and status class.',
      ['model', 'status_class'],
      REQUEST_DURATION_BUCKETS,
    ),
  );
  const tokens = new ChildCache2(
    counter('llm_tokens_used_total', 'Tokens used, by model and type (prompt|completion).', ['model', 'type']),
  );
  const fallbacks = new ChildCache1(
    counter('llm_fallbacks_total', 'Answers served by a fallback strategy.', ['strategy']),
  );
  const attemptLabels = ['provider', 'model', 'outcome'] as const;
  const attempts = new ChildCache3(
    counter('llm_upstream_attempts_total', 'Upstream calls, by provider, model and outcome.', attemptLabels),
  );
  const attemptDuration = new ChildCache3(
    histogram(
      'llm_upstream_attempt_duration_seconds',
      'Upstream call latency in seconds, by provider, model and outcome.',
      attemptLabels,
      REQUEST_DURATION_BUCKETS,
    ),
  );
  const retries = new ChildCache2(
    counter('llm_retries_total', 'Retries of upstream calls, by model and reason.', ['model', 'reason']),
  );
  const breakerState = new ChildCache1(
    gauge('llm_circuit_breaker_state', 'Circuit breaker state per model: 0 closed, 1 half-open, 2 open.', ['model']),
  );
  const breakerTransitions = new ChildCache3(
    counter('llm_circuit_breaker_transitions_total', 'Circuit breaker state changes.', ['model', 'from', 'to']),
  );
  const rateLimitRejections = new ChildCache1(
    counter('llm_rate_limit_rejections_total', 'Requests rejected by the rate limiter, by kind.', ['kind']),
  );
  const budgetRejections = new ChildCache1(
    counter('llm_token_budget_rejections_total', 'Requests rejected by the token budget, by reason.', ['reason']),
  );
  const structuredInvalid = new ChildCache1(
    counter('llm_structured_output_invalid_total', 'Model answers that failed structured-output validation.', ['model']),
  );
  const structuredRepairs = new ChildCache2(
    counter('llm_structured_output_repairs_total', 'Attempts to repair invalid structured output, by result.', ['model', 'result']),
  );
  const asyncJobs = new ChildCache1(gauge('llm_async_jobs', 'Async jobs by state.', ['state']));
  const inflight = gauge('llm_inflight_requests', 'Requests currently being handled.', []).labels();
  const malformedChunks = new ChildCache1(
    counter('llm_stream_malformed_chunks_total', 'Malformed chunks seen in upstream streams.', ['model']),
  );
  const failedTokens = new ChildCache1(
    counter('llm_failed_attempt_tokens_total', 'Tokens consumed by upstream attempts that failed (e.g. a stream cut mid-answer), counted apart from completions.', ['model']),
  );
  const storeErrors = new ChildCache1(
    counter('llm_shared_store_errors_total', 'Errors talking to a shared state store.', ['store']),
  );
  const genAiTokens = new ChildCache4(
    histogram(
      'gen_ai_client_token_usage',
      'OTel GenAI gen_ai.client.token.usage: tokens per operation, by operation, requested model, responding model and token type.',
      ['gen_ai_operation_name', 'gen_ai_request_model', 'gen_ai_response_model', 'gen_ai_token_type'],
      GEN_AI_TOKEN_USAGE_BUCKETS,
    ),
  );
  const genAiDuration = new ChildCache3(
    histogram(
      'gen_ai_client_operation_duration_seconds',
      'OTel GenAI gen_ai.client.operation.duration in seconds, by operation, requested model and responding model (empty when none answered).',
      ['gen_ai_operation_name', 'gen_ai_request_model', 'gen_ai_response_model'],
      GEN_AI_OPERATION_DURATION_BUCKETS,
    ),
  );

  return {
    registry,
    boundModel,

    requestStarted() {
      inflight.inc();
    },

    requestFinished(model, status, durationSeconds) {
      inflight.dec();
      const m = boundModel(model);
      requests.get(m, statusLabel(status)).inc();
      requestDuration.get(m, statusClass(status)).observe(finiteNonNegative(durationSeconds));
    },

    tokensUsed(model, promptTokens, completionTokens, operation = GEN_AI_OPERATION_CHAT, requestModel = model) {
      const m = boundModel(model);
      const asked = requestModel === model ? m : boundModel(requestModel);
      const op = boundOperation(operation);
      const prompt = finiteNonNegative(promptTokens);
      const completion = finiteNonNegative(completionTokens);
      if (prompt > 0) tokens.get(m, 'prompt').inc(prompt);
      if (completion > 0) tokens.get(m, 'completion').inc(completion);
      genAiTokens.get(op, asked, m, 'input').observe(prompt);
      genAiTokens.get(op, asked, m, 'output').observe(completion);
    },

    genAiOperation(model, durationSeconds, operation = GEN_AI_OPERATION_CHAT, responseModel) {
      const answered = responseModel === undefined ? '' : boundModel(responseModel);
      genAiDuration.get(boundOperation(operation), boundModel(model), answered).observe(finiteNonNegative(durationSeconds));
    },

    fallbackUsed(strategy) {
      fallbacks.get(boundStrategy(strategy)).inc();
    },

    upstreamAttempt(provider, model, outcome, durationSeconds) {
      const p = boundProvider(provider);
      const m = boundModel(model);
      const o = boundOutcome(outcome);
      attempts.get(p, m, o).inc();
      attemptDuration.get(p, m, o).observe(finiteNonNegative(durationSeconds));
    },

    retry(model, reason) {
      retries.get(boundModel(model), boundReason(reason)).inc();
    },

    circuitState(model, state) {
      breakerState.get(boundModel(model)).set(BREAKER_STATE_VALUES[state] ?? BREAKER_STATE_VALUES.open);
    },

    circuitTransition(model, from, to) {
      const m = boundModel(model);
      breakerState.get(m).set(BREAKER_STATE_VALUES[to] ?? BREAKER_STATE_VALUES.open);
      breakerTransitions.get(m, boundBreaker(from), boundBreaker(to)).inc();
    },

    rateLimitRejected(kind) {
      rateLimitRejections.get(boundKind(kind)).inc();
    },

    tokenBudgetRejected(reason) {
      budgetRejections.get(boundBudgetReason(reason)).inc();
    },

    structuredOutputInvalid(model) {
      structuredInvalid.get(boundModel(model)).inc();
    },

    structuredOutputRepair(model, result) {
      structuredRepairs.get(boundModel(model), boundRepair(result)).inc();
    },

    setAsyncJobs(state, count) {
      asyncJobs.get(boundJobState(state)).set(Number.isFinite(count) ? count : 0);
    },

    addAsyncJobs(state, delta) {
      if (Number.isFinite(delta)) asyncJobs.get(boundJobState(state)).inc(delta);
    },

    streamMalformedChunk(model) {
      malformedChunks.get(boundModel(model)).inc();
    },

    failedAttemptTokens(model, tokens) {
      if (tokens > 0) failedTokens.get(boundModel(model)).inc(finiteNonNegative(tokens));
    },

    sharedStoreError(store) {
      storeErrors.get(boundStore(store)).inc();
    },

    metricsHandler() {
      return { contentType: registry.contentType, body: registry.metrics() };
    },
  };
}

/** `GET /metrics` for any registry (e.g. one shared by several libraries). */
export function metricsHandler(registry: Registry): MetricsExposition {
  return { contentType: registry.contentType, body: registry.metrics() };
}
