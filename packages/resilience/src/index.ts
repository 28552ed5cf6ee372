/**
 * @llmgw/resilience: the typed GatewayError, the one classification table,
 * and the policies (retry + budget, circuit breaker, bulkhead, timeouts) the
 * gateway uses towards upstreams and the client uses towards the gateway.
 * Web-standard only (AbortSignal, setTimeout, Headers): runs in browsers too.
 */
export {
  GATEWAY_ERROR_CODES,
  GATEWAY_ERROR_KINDS,
  GATEWAY_ERROR_TYPES,
  GatewayError,
  abortedError,
  isAbortLike,
  isGatewayError,
  isGatewayErrorCode,
  isGatewayErrorType,
  bulkheadRejectedError,
  timeoutError,
  type ErrorEnvelope,
  type FromStatusOptions,
  type GatewayErrorCode,
  type GatewayErrorInit,
  type GatewayErrorKind,
  type GatewayErrorType,
  type TimeoutKind,
} from './errors.ts';
export { GATEWAY_ERROR_BRAND } from './brand.ts';
export {
  CODE_TABLE,
  KIND_TABLE,
  STATUS_TABLE,
  codeForStatus,
  countsAsUpstreamFailure,
  decide,
  isRetryableStatus,
  statusRow,
  type CodeRow,
  type Decision,
  type KindRow,
  type StatusRow,
  type UpstreamFailureOptions,
} from './classify.ts';
export {
  parseDuration,
  parseRetryAfter,
  parseRetryAfterValue,
  readHeader,
  type HeaderRecord,
  type HeadersInput,
  type HeadersLike,
  type RetryAfterOptions,
} from './retry-after.ts';
export {
  ConstantBackoff,
  DEFAULT_BACKOFF_MULTIPLIER,
  DEFAULT_INITIAL_DELAY_MS,
  DEFAULT_JITTER,
  DEFAULT_MAX_DELAY_MS,
  ExponentialBackoff,
  type Backoff,
  type BackoffFactory,
  type ExponentialBackoffOptions,
  type JitterMode,
} from './backoff.ts';
export {
  DEFAULT_BUDGET_BUCKETS,
  DEFAULT_BUDGET_MIN_RETRIES_PER_SECOND,
  DEFAULT_BUDGET_RATIO,
  DEFAULT_BUDGET_WINDOW_MS,
  RetryBudget,
  type RetryBudgetOptions,
} from './retry-budget.ts';
export {
  DEFAULT_MAX_ATTEMPTS,
  DEFAULT_MAX_RETRY_AFTER_MS,
  RetryPolicy,
  retry,
  type GiveUpEvent,
  type GiveUpReason,
  type RetryEvent,
  type RetryOptions,
} from './retry.ts';
export {
  CircuitBreaker,
  DEFAULT_BREAKER_WINDOW_MS,
  DEFAULT_CONSECUTIVE_FAILURES,
  DEFAULT_FAILURE_RATIO,
  DEFAULT_HALF_OPEN_AFTER_MS,
  DEFAULT_HALF_OPEN_MAX_PROBES,
  DEFAULT_MIN_THROUGHPUT,
  type BreakerFailureEvent,
  type BreakerPermit,
  type BreakerSuccessEvent,
  type CircuitBreakerOptions,
  type CircuitBreakerSnapshot,
  type CircuitState,
  type StateChangeEvent,
} from './circuit-breaker.ts';
export {
  Bulkhead,
  DEFAULT_BULKHEAD_MAX_CONCURRENT,
  DEFAULT_BULKHEAD_MAX_QUEUE,
  type BulkheadOptions,
  type BulkheadRejectEvent,
} from './bulkhead.ts';
export {
  TimeoutPolicy,
  deadlineIn,
  earliest,
  isExpired,
  remaining,
  withStreamTimeouts,
  withTimeout,
  type StreamTimeoutOptions,
  type TimeoutPolicyOptions,
} from './timeout.ts';
export { EventEmitter, type Disposable, type Event, type Listener } from './events.ts';
export { NEVER_ABORTED, linkAbort, sleep, throwIfAborted } from './abort.ts';
export { RollingCounter } from './rolling-window.ts';
export {
  noopPolicy,
  toContext,
  wrap,
  type ExecuteOptions,
  type Policy,
  type PolicyContext,
  type PolicyFn,
} from './policy.ts';
