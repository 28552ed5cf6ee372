/**
 * The one error type of the project. Every failure says its HTTP status, its
 * contract error code, whether a retry can help (`retryable`) and when
 * (`retryAfterMs`), plus a finer `kind` that failover decisions read.
 *
 * Recognise it with `isGatewayError(e)` (a brand check, so it works across
 * bundles and duplicate installs), never with `instanceof`.
 */
import { GATEWAY_ERROR_BRAND, hasGatewayErrorBrand } from './brand.ts';
import { CODE_TABLE, codeForStatus, isRetryableStatus } from './classify.ts';
import { parseRetryAfter, type HeadersInput } from './retry-after.ts';

/** The contract's `ErrorCode` enum (contracts/openapi.yaml). */
export const GATEWAY_ERROR_CODES = [
  'invalid_request',
  'unauthorized',
  'forbidden',
  'model_not_found',
  'job_not_found',
  'request_timeout',
  'payload_too_large',
  'unsupported_media_type',
  'unprocessable_entity',
  'rate_limit_exceeded',
  'token_budget_exceeded',
  'context_length_exceeded',
  'content_policy_violation',
  'invalid_model_output',
  'upstream_timeout',
  'upstream_unavailable',
  'upstream_error',
  'circuit_open',
  'bulkhead_rejected',
  'stream_interrupted',
  'internal_error',
] as const;
export type GatewayErrorCode = (typeof GATEWAY_ERROR_CODES)[number];

/** The contract's `ErrorType` enum (OpenAI-style `error.type`). */
export const GATEWAY_ERROR_TYPES = [
  'invalid_request_error',
  'authentication_error',
  'permission_error',
  'not_found_error',
  'rate_limit_error',
  'timeout_error',
  'server_error',
] as const;
export type GatewayErrorType = (typeof GATEWAY_ERROR_TYPES)[number];

/** Finer detail than the code, for retry/failover/breaker decisions. */
export const GATEWAY_ERROR_KINDS = [
  'http',
  'network',
  'timeout_connect',
  'timeout_first_token',
  'timeout_idle',
  'timeout_total',
  // The request's own deadline ran out during an attempt it had clipped: our clock, not the upstream's.
  'timeout_deadline',
  'silent',
  'stream_truncated',
  'content_filter',
  'context_length',
  'invalid_output',
  'circuit_open',
  'bulkhead',
  'aborted',
] as const;
export type GatewayErrorKind = (typeof GATEWAY_ERROR_KINDS)[number];
export type TimeoutKind = Extract<GatewayErrorKind, `timeout_${string}` | 'silent'>;

const CODE_SET: ReadonlySet<string> = new Set(GATEWAY_ERROR_CODES);
const TYPE_SET: ReadonlySet<string> = new Set(GATEWAY_ERROR_TYPES);

export function isGatewayErrorCode(value: unknown): value is GatewayErrorCode {
  return typeof value === 'string' && CODE_SET.has(value);
}

export function isGatewayErrorType(value: unknown): value is GatewayErrorType {
  return typeof value === 'string' && TYPE_SET.has(value);
}

/** The wire envelope of every non-2xx answer (contract `ErrorResponse`). */
export interface ErrorEnvelope {
  error: { code: GatewayErrorCode; message: string; type: GatewayErrorType; param: string | null };
}

export interface GatewayErrorInit {
  code: GatewayErrorCode;
  /** Says what is wrong and where. Never prompt or completion text. */
  message: string;
  /** Default: the code's status in the classification table. */
  status?: number;
  /** Default: the code's type in the classification table. */
  type?: GatewayErrorType;
  /** Default: the code's retryability in the classification table. */
  retryable?: boolean;
  retryAfterMs?: number;
  param?: string | null;
  requestId?: string;
  cause?: unknown;
  /** Default: 'http'. */
  kind?: GatewayErrorKind;
}

export interface FromStatusOptions {
  /** Default: derived from the status (e.g. 429 -> rate_limit_exceeded). */
  code?: GatewayErrorCode;
  message: string;
  /** Response headers: `retryAfterMs` is read from them. */
  headers?: HeadersInput | null;
  cause?: unknown;
  type?: GatewayErrorType;
  param?: string | null;
  requestId?: string;
  kind?: GatewayErrorKind;
  /** Overrides the table, e.g. when an upstream sent `x-should-retry`. */
  retryable?: boolean;
  /** Overrides what the headers say (e.g. a hint from the error body). */
  retryAfterMs?: number;
}

export class GatewayError extends Error {
  declare readonly [GATEWAY_ERROR_BRAND]: true;
  readonly status: number;
  readonly code: GatewayErrorCode;
  readonly type: GatewayErrorType;
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;
  readonly param: string | null;
  readonly requestId: string | undefined;
  readonly kind: GatewayErrorKind;

  constructor(init: GatewayErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    const row = CODE_TABLE[init.code];
    this.status = init.status ?? row.status;
    this.code = init.code;
    this.type = init.type ?? row.type;
    this.retryable = init.retryable ?? row.retryable;
    this.retryAfterMs = init.retryAfterMs;
    this.param = init.param ?? null;
    this.requestId = init.requestId;
    this.kind = init.kind ?? 'http';
  }

  /** The contract envelope: `{ error: { code, message, type, param } }`. */
  toEnvelope(): ErrorEnvelope {
    return { error: { code: this.code, message: this.message, type: this.type, param: this.param } };
  }

  /** Structured-log shape: no stack, no cause contents (they may hold upstream text). */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      status: this.status,
      code: this.code,
      type: this.type,
      kind: this.kind,
      retryable: this.retryable,
      retryAfterMs: this.retryAfterMs,
      param: this.param,
      requestId: this.requestId,
      message: this.message,
    };
  }

  /**
   * Build from an HTTP status (like openai-node `APIError.generate`): the code
   * comes from the status unless given, `retryable` from the classification
   * table, `retryAfterMs` from the headers.
   */
  static fromStatus(status: number, options: FromStatusOptions): GatewayError {
    const code = options.code ?? codeForStatus(status);
    const retryAfterMs =
      options.retryAfterMs ?? (options.headers == null ? undefined : parseRetryAfter(options.headers, Date.now(), { rateLimitReset: status === 429 }));
    return new GatewayError({
      status,
      code,
      message: options.message,
      type: options.type,
      retryable: options.retryable ?? (options.code === undefined ? isRetryableStatus(status) : CODE_TABLE[code].retryable && isRetryableStatus(status)),
      retryAfterMs,
      param: options.param,
      requestId: options.requestId,
      cause: options.cause,
      kind: options.kind,
    });
  }

  /** The wire envelope back into an error (the client side of `toEnvelope`). */
  static fromEnvelope(status: number, body: unknown, headers?: HeadersInput | null, requestId?: string): GatewayError {
    const error = (body as { error?: Record<string, unknown> } | null)?.error;
    const code = isGatewayErrorCode(error?.code) ? error.code : undefined;
    const type = isGatewayErrorType(error?.type) ? error.type : undefined;
    const message = typeof error?.message === 'string' ? error.message : `HTTP ${status}`;
    const param = typeof error?.param === 'string' ? error.param : null;
    return GatewayError.fromStatus(status, { code, type, message, param, headers, requestId });
  }

  /**
   * Normalise anything thrown on an upstream path: a GatewayError passes
   * through; an abort becomes kind 'aborted'; a fetch `TypeError` becomes
   * kind 'network'; anything else an `internal_error`.
   */
  static from(error: unknown): GatewayError {
    if (isGatewayError(error)) return error;
    if (isAbortLike(error)) {
      return abortedError(error);
    }
    if (error instanceof TypeError) {
      return new GatewayError({
        code: 'upstream_unavailable',
        message: `Network error talking to the upstream: ${error.message}`,
        retryable: true,
        kind: 'network',
        cause: error,
      });
    }
    return new GatewayError({
      code: 'internal_error',
      message: 'Unexpected failure',
      retryable: false,
      cause: error,
    });
  }
}

Object.defineProperty(GatewayError.prototype, GATEWAY_ERROR_BRAND, { value: true });
Object.defineProperty(GatewayError.prototype, 'name', { value: 'GatewayError', writable: true, configurable: true });

export function isGatewayError(value: unknown): value is GatewayError {
  return hasGatewayErrorBrand(value);
}

/** `AbortError`/`TimeoutError` DOMExceptions, as fetch and AbortSignal throw them. */
export function isAbortLike(error: unknown): boolean {
  const name = (error as { name?: unknown } | null)?.name;
  return name === 'AbortError' || name === 'TimeoutError';
}

/**
 * The error a policy throws when the caller's signal aborted. A GatewayError
 * reason (e.g. an outer timeout's) is kept as is; anything else becomes kind
 * 'aborted'. The contract has no "cancelled" code: `request_timeout` is the
 * nearest, with the de-facto 499 "client closed request" status, because
 * nobody is left to read the answer.
 */
export function abortedError(reason: unknown): GatewayError {
  if (isGatewayError(reason)) return reason;
  return new GatewayError({
    code: 'request_timeout',
    status: 499,
    message: 'The request was aborted by its caller',
    retryable: false,
    kind: 'aborted',
    cause: reason,
  });
}

/**
 * A call turned away on our side for lack of capacity (a full bulkhead, or no pooled connection
 * free in time): 503, retryable, kind 'bulkhead', which the circuit breaker does not count.
 */
export function bulkheadRejectedError(message: string, retryAfterMs?: number): GatewayError {
  return new GatewayError({ code: 'bulkhead_rejected', kind: 'bulkhead', status: 503, retryable: true, message, retryAfterMs });
}

/** A typed timeout (code upstream_timeout, 504, retryable). */
export function timeoutError(kind: TimeoutKind, afterMs: number, what = 'The upstream'): GatewayError {
  const phase =
    kind === 'timeout_first_token'
      ? 'sent no first token'
      : kind === 'timeout_idle'
        ? 'went idle mid-stream'
        : kind === 'timeout_connect'
          ? 'did not connect'
          : kind === 'silent'
            ? 'accepted the request and then sent nothing'
            : kind === 'timeout_deadline'
              ? "did not answer in the time left of the request's deadline"
              : 'did not answer';
  return new GatewayError({
    code: 'upstream_timeout',
    message: `${what} ${phase} within ${afterMs} ms`,
    kind,
    retryable: true,
  });
}
