/**
 * THE classification table: one place that says, for every failure, whether
 * it is retried, failed over, or surfaced, and whether it counts against an
 * upstream's circuit breaker. Every policy reads it through `decide()` and
 * `countsAsUpstreamFailure()`; `GatewayError` reads its defaults from it.
 *
 * Rows follow the contract (`x-llm-agreement.defaults.retry`:
 * retryOnStatus 408 409 429 500 502 503 504; neverRetryStatus 400 401 403 404
 * 413 415 422; neverRetryCodes content_policy_violation,
 * context_length_exceeded, invalid_request) and the error responses'
 * `x-llm-retryable`.
 */
import { hasGatewayErrorBrand } from './brand.ts';
import type { GatewayErrorCode, GatewayErrorKind, GatewayErrorType } from './errors.ts';

/**
 * - `retry`: try the same route again (after backoff / Retry-After).
 * - `failover-now`: this route will not do better soon; go to the next candidate.
 * - `failover-larger-context`: only a model with a larger context window can help.
 * - `surface`: no retry, no failover; the caller gets the error.
 */
export type Decision = 'retry' | 'failover-now' | 'failover-larger-context' | 'surface';

/** The fields the classification reads (GatewayError has them all). */
interface Classifiable {
  readonly status: number;
  readonly code: GatewayErrorCode;
  readonly retryable: boolean;
  readonly kind: GatewayErrorKind;
}

// ---------------------------------------------------------------------------
// Rows by error code: wire defaults (status, type) and retryability
// (the contract's x-llm-retryable). `decision` overrides everything else for
// codes that are never retried whatever the status says.
// ---------------------------------------------------------------------------
export interface CodeRow {
  readonly status: number;
  readonly type: GatewayErrorType;
  readonly retryable: boolean;
  readonly decision?: Decision;
}

export const CODE_TABLE: Readonly<Record<GatewayErrorCode, CodeRow>> = {
  invalid_request: { status: 400, type: 'invalid_request_error', retryable: false, decision: 'surface' },
  unauthorized: { status: 401, type: 'authentication_error', retryable: false },
  forbidden: { status: 403, type: 'permission_error', retryable: false },
  model_not_found: { status: 404, type: 'invalid_request_error', retryable: false },
  job_not_found: { status: 404, type: 'not_found_error', retryable: false, decision: 'surface' },
  request_timeout: { status: 408, type: 'invalid_request_error', retryable: true },
  payload_too_large: { status: 413, type: 'invalid_request_error', retryable: false, decision: 'surface' },
  unsupported_media_type: { status: 415, type: 'invalid_request_error', retryable: false, decision: 'surface' },
  unprocessable_entity: { status: 422, type: 'invalid_request_error', retryable: false, decision: 'surface' },
  rate_limit_exceeded: { status: 429, type: 'rate_limit_error', retryable: true },
  token_budget_exceeded: { status: 429, type: 'rate_limit_error', retryable: true },
  // Same prompt, same model: fails the same way. Only a bigger window helps.
  context_length_exceeded: {
    status: 400,
    type: 'invalid_request_error',
    retryable: false,
    decision: 'failover-larger-context',
  },
  // A refusal is an answer about the content; another model is not asked by default.
  content_policy_violation: { status: 400, type: 'invalid_request_error', retryable: false, decision: 'surface' },
  // Bad output goes to the fallback chain, not to the same model again.
  invalid_model_output: { status: 502, type: 'server_error', retryable: false, decision: 'failover-now' },
  upstream_timeout: { status: 504, type: 'timeout_error', retryable: true },
  upstream_unavailable: { status: 503, type: 'server_error', retryable: true },
  upstream_error: { status: 502, type: 'server_error', retryable: true },
  circuit_open: { status: 503, type: 'server_error', retryable: true },
  bulkhead_rejected: { status: 503, type: 'server_error', retryable: true },
  stream_interrupted: { status: 502, type: 'server_error', retryable: true },
  internal_error: { status: 500, type: 'server_error', retryable: true },
};

// ---------------------------------------------------------------------------
// Rows by HTTP status (kind 'http'): the code an upstream status maps to,
// whether it is retried, what to do when it is not, and whether it says the
// upstream is unhealthy (breaker).
// ---------------------------------------------------------------------------
export interface StatusRow {
  readonly code: GatewayErrorCode;
  readonly retryable: boolean;
  /** What to do once retrying is off the table (not retryable, or retries spent). */
  readonly otherwise: Exclude<Decision, 'retry'>;
  readonly upstreamFailure: boolean;
}

export const STATUS_TABLE: Readonly<Record<number, StatusRow>> = {
  // Request-specific: every route would reject it the same way.
  400: { code: 'invalid_request', retryable: false, otherwise: 'surface', upstreamFailure: false },
  // Route-specific (this provider's key, this provider's model list): another route may work.
  401: { code: 'unauthorized', retryable: false, otherwise: 'failover-now', upstreamFailure: false },
  403: { code: 'forbidden', retryable: false, otherwise: 'failover-now', upstreamFailure: false },
  404: { code: 'model_not_found', retryable: false, otherwise: 'failover-now', upstreamFailure: false },
  408: { code: 'request_timeout', retryable: true, otherwise: 'failover-now', upstreamFailure: true },
  409: { code: 'upstream_error', retryable: true, otherwise: 'failover-now', upstreamFailure: false },
  413: { code: 'payload_too_large', retryable: false, otherwise: 'surface', upstreamFailure: false },
  415: { code: 'unsupported_media_type', retryable: false, otherwise: 'surface', upstreamFailure: false },
  422: { code: 'unprocessable_entity', retryable: false, otherwise: 'surface', upstreamFailure: false },
  // 429 does not open the breaker: the upstream is healthy and told us exactly
  // when to come back (Retry-After). See README "Why 429 does not open the breaker".
  429: { code: 'rate_limit_exceeded', retryable: true, otherwise: 'failover-now', upstreamFailure: false },
  500: { code: 'internal_error', retryable: true, otherwise: 'failover-now', upstreamFailure: true },
  502: { code: 'upstream_error', retryable: true, otherwise: 'failover-now', upstreamFailure: true },
  503: { code: 'upstream_unavailable', retryable: true, otherwise: 'failover-now', upstreamFailure: true },
  504: { code: 'upstream_timeout', retryable: true, otherwise: 'failover-now', upstreamFailure: true },
};

const OTHER_5XX: StatusRow = { code: 'upstream_error', retryable: true, otherwise: 'failover-now', upstreamFailure: true };
const OTHER_4XX: StatusRow = { code: 'invalid_request', retryable: false, otherwise: 'surface', upstreamFailure: false };
const OTHER_STATUS: StatusRow = { code: 'upstream_error', retryable: false, otherwise: 'failover-now', upstreamFailure: true };

export function statusRow(status: number): StatusRow {
  return STATUS_TABLE[status] ?? (status >= 500 && status < 600 ? OTHER_5XX : status >= 400 && status < 500 ? OTHER_4XX : OTHER_STATUS);
}

export function isRetryableStatus(status: number): boolean {
  return statusRow(status).retryable;
}

export function codeForStatus(status: number): GatewayErrorCode {
  return statusRow(status).code;
}

// ---------------------------------------------------------------------------
// Rows by kind (everything that is not a plain HTTP status).
// ---------------------------------------------------------------------------
export interface KindRow {
  readonly decision: Decision;
  readonly upstreamFailure: boolean;
}

export const KIND_TABLE: Readonly<Record<Exclude<GatewayErrorKind, 'http'>, KindRow>> = {
  network: { decision: 'retry', upstreamFailure: true },
  // Resets and truncated streams arrive as 'network' / 'stream_truncated'.
  stream_truncated: { decision: 'retry', upstreamFailure: true },
  timeout_connect: { decision: 'retry', upstreamFailure: true },
  timeout_idle: { decision: 'retry', upstreamFailure: true },
  timeout_total: { decision: 'retry', upstreamFailure: true },
  // The request's deadline ran out: no candidate has time left, and the model is not to blame.
  timeout_deadline: { decision: 'surface', upstreamFailure: false },
  // Accepted, then nothing: the same route is likely to hang again; waiting
  // for it twice would spend the caller's whole deadline.
  timeout_first_token: { decision: 'failover-now', upstreamFailure: true },
  silent: { decision: 'failover-now', upstreamFailure: true },
  content_filter: { decision: 'surface', upstreamFailure: false },
  context_length: { decision: 'failover-larger-context', upstreamFailure: false },
  invalid_output: { decision: 'failover-now', upstreamFailure: false },
  // Local breaker / bulkhead said no: another candidate, now. (From the remote
  // side the same codes arrive as kind 'http' 503 and are retried.)
  circuit_open: { decision: 'failover-now', upstreamFailure: false },
  bulkhead: { decision: 'failover-now', upstreamFailure: false },
  aborted: { decision: 'surface', upstreamFailure: false },
};

/** What to do with a failure. Only 'retry' is retried by RetryPolicy. */
export function decide(error: unknown): Decision {
  if (!hasGatewayErrorBrand(error)) return decideForeign(error);
  const e = error as Classifiable;
  const forced = CODE_TABLE[e.code]?.decision;
  if (forced !== undefined) return forced;
  if (e.kind !== 'http') {
    const row = KIND_TABLE[e.kind];
    if (row.decision !== 'retry') return row.decision;
    return e.retryable ? 'retry' : 'failover-now';
  }
  // The creator's `retryable` wins over the table (it may know better, e.g. x-should-retry).
  return e.retryable ? 'retry' : statusRow(e.status).otherwise;
}

export interface UpstreamFailureOptions {
  /** Count 429 against the breaker too. Default false (see README). */
  rateLimitIsFailure?: boolean;
}

/** Does this failure say the upstream is unhealthy (for circuit breakers)? */
export function countsAsUpstreamFailure(error: unknown, options?: UpstreamFailureOptions): boolean {
  if (!hasGatewayErrorBrand(error)) {
    // Unknown throwables from an upstream call count: an adapter that could not
    // even classify what happened is no sign of health. Aborts are the caller's.
    return !isAbortName(error);
  }
  const e = error as Classifiable;
  if (e.kind !== 'http') return KIND_TABLE[e.kind].upstreamFailure;
  if (e.status === 429) return options?.rateLimitIsFailure === true;
  return statusRow(e.status).upstreamFailure;
}

function decideForeign(error: unknown): Decision {
  if (isAbortName(error)) return 'surface';
  // fetch() rejects with a TypeError for DNS, refused and reset connections.
  if (error instanceof TypeError) return 'retry';
  // A bug is not fixed by doing it again.
  return 'surface';
}

function isAbortName(error: unknown): boolean {
  const name = (error as { name?: unknown } | null)?.name;
  return name === 'AbortError' || name === 'TimeoutError';
}
