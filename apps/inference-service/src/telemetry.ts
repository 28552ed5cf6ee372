import {
  describeInvalidOutput,
  endSpan,
  injectHeaders,
  contextWithSpan,
  getTracer,
  startAttemptSpan,
  type GatewayMetrics,
  type Logger,
  type RetryReason,
  type SharedStore,
  type Span,
} from '@llmgw/observability';
import type { CircuitState, GatewayError } from '@llmgw/resilience';
import type { AttemptTracer } from './chat/attempts.ts';
import type { ChatTelemetry } from './chat/telemetry.ts';

const RETRY_REASONS = new Set<string>(['http_429', 'http_5xx', 'timeout', 'network', 'stream_error']);
const BREAKER_STATE = { closed: 'closed', open: 'open', 'half-open': 'half_open' } as const;
const STORES = new Set<string>(['rate_limit', 'token_budget', 'cache', 'async_jobs', 'circuit_breaker']);

/**
 * Binds what the chat path reports to metrics and logs. Model labels are the
 * registry's entry names (bounded by the metrics' allow-list); the log lines
 * carry lengths, hashes and codes, never prompt or completion text.
 */
export function chatTelemetry(metrics: GatewayMetrics, logger: Logger): ChatTelemetry {
  return {
    attempt(r) {
      metrics.upstreamAttempt(r.provider, r.candidate, r.outcome, r.durationMs / 1000);
      if (r.wastedTokens) metrics.failedAttemptTokens(r.candidate, r.wastedTokens);
      // A caller that went away is not an upstream failure worth a warning.
      if (r.outcome !== 'success' && r.outcome !== 'aborted' && r.error) {
        const e = r.error as GatewayError;
        logger.warn({ model: r.candidate, provider: r.provider, attempt: r.attempt, outcome: r.outcome, code: e.code, kind: e.kind, status: e.status }, 'upstream attempt failed');
      }
    },
    retry(candidate, reason) {
      if (RETRY_REASONS.has(reason)) metrics.retry(candidate, reason as RetryReason);
    },
    malformedChunk(candidate) {
      metrics.streamMalformedChunk(candidate);
    },
    structuredInvalid(candidate, output, error) {
      metrics.structuredOutputInvalid(candidate);
      logger.warn({ model: candidate, output: describeInvalidOutput(output, error) }, 'invalid structured output');
    },
    repair(candidate, result) {
      metrics.structuredOutputRepair(candidate, result === 'fixed' ? 'repaired' : 'failed');
    },
    continuation(from, to) {
      logger.info({ model: from, continuedOn: to }, 'stream continued on another model after a mid-stream failure');
    },
  };
}

/** Breaker transitions to the state gauge, the transitions counter and a log line. */
export function breakerEvents(metrics: GatewayMetrics, logger: Logger) {
  return {
    onBreakerTransition(candidate: string, from: CircuitState, to: CircuitState) {
      metrics.circuitTransition(candidate, BREAKER_STATE[from], BREAKER_STATE[to]);
      logger.warn({ model: candidate, from, to }, 'circuit breaker changed state');
    },
  };
}

/** Shared-store failures: a metric and a log line, never a crash. */
export function storeErrorReporter(metrics: GatewayMetrics, logger: Logger) {
  return (store: string, error: unknown) => {
    metrics.sharedStoreError((STORES.has(store) ? store : 'cache') as SharedStore);
    logger.error({ store, err: { message: (error as Error)?.message ?? String(error) } }, 'shared store unavailable; applying the configured failure policy');
  };
}

/** A span per upstream attempt under the request span, whose context travels upstream as `traceparent`. */
export function attemptTracer(requestSpan: Span): AttemptTracer {
  return {
    start(candidate, attempt) {
      const span = startAttemptSpan({ provider: candidate.provider.name, requestModel: candidate.upstreamModel, attempt }, requestSpan);
      const headers = injectHeaders({} as Record<string, string>, contextWithSpan(span));
      return {
        headers,
        end(outcome, error, facts) {
          endSpan(span, {
            outcome,
            errorType: error ? (error.kind === 'http' ? String(error.status) : error.kind) : undefined,
            responseModel: facts?.finishReason ? candidate.upstreamModel : undefined,
            inputTokens: facts?.usage?.promptTokens,
            outputTokens: facts?.usage?.completionTokens,
            finishReasons: facts?.finishReason ? [facts.finishReason] : undefined,
          });
        },
      };
    },
  };
}

/** A span marking the degraded fallback step that answered (rule_based, cache, async, polite). */
export function fallbackSpan(requestSpan: Span, strategy: string): void {
  const span = getTracer().startSpan(`fallback ${strategy}`, {}, contextWithSpan(requestSpan));
  endSpan(span, { fallbackStrategy: strategy, outcome: 'success' });
}
