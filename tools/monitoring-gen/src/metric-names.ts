/**
 * The metric names the gateway exposes (packages/observability/src/metrics.ts).
 * Kept here as constants so every expression is spelled once; the monitoring
 * package's tests check them against a real exposition.
 */
export const METRICS = {
  requests: 'llm_requests_total',
  requestDuration: 'llm_request_duration_seconds',
  requestDurationBucket: 'llm_request_duration_seconds_bucket',
  tokens: 'llm_tokens_used_total',
  fallbacks: 'llm_fallbacks_total',
  breakerState: 'llm_circuit_breaker_state',
  breakerTransitions: 'llm_circuit_breaker_transitions_total',
  rateLimitRejections: 'llm_rate_limit_rejections_total',
  tokenBudgetRejections: 'llm_token_budget_rejections_total',
  retries: 'llm_retries_total',
  upstreamAttempts: 'llm_upstream_attempts_total',
  inflight: 'llm_inflight_requests',
  structuredInvalid: 'llm_structured_output_invalid_total',
} as const;

/** `llm_circuit_breaker_state` values: 0 closed, 1 half-open, 2 open. */
export const BREAKER_STATE_VALUES = { closed: 0, half_open: 1, open: 2 } as const;

/** A PromQL string literal (model names come from the contract, but quote them properly anyway). */
export function promString(value: string): string {
  return JSON.stringify(value);
}
