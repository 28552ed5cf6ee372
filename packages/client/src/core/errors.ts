import { agreement } from '../generated/agreement.ts';
import type { ErrorBody, ErrorCode, ErrorType } from './models.ts';
import { parseRetryAfterMs } from './retry-after.ts';

const BRAND = Symbol.for('@llmgw/client.LlmApiError');

/**
 * Codes that are never worth retrying even when their status is retryable.
 * `invalid_model_output` (502) already went through the service's fallback chain;
 * the contract marks 502 retryable but says in prose that this code is not.
 */
export const NON_RETRYABLE_CODES: ReadonlySet<string> = new Set([...agreement.retry.neverRetryCodes, 'invalid_model_output']);
const RETRYABLE_STATUS: ReadonlySet<number> = new Set(agreement.retry.retryableStatus);

export interface LlmApiErrorInit {
  message: string;
  status?: number | undefined;
  code?: ErrorCode | (string & Record<never, never>) | undefined;
  type?: ErrorType | (string & Record<never, never>) | undefined;
  param?: string | null | undefined;
  requestId?: string | undefined;
  headers?: Headers | undefined;
  retryable?: boolean;
  retryAfterMs?: number | undefined;
  body?: unknown;
  cause?: unknown;
}

/** Every failure the client reports. The brand (not `instanceof`) identifies it across copies of the package. */
export class LlmApiError extends Error {
  readonly [BRAND] = true;
  /** HTTP status; undefined when no response arrived (connection, timeout, interrupted stream). */
  readonly status: number | undefined;
  readonly code: string | undefined;
  readonly type: string | undefined;
  readonly param: string | null | undefined;
  readonly requestId: string | undefined;
  readonly headers: Headers | undefined;
  readonly retryable: boolean;
  /** The server's wait hint, as given (the resilience wrapper does not retry when it exceeds the agreement's cap). */
  readonly retryAfterMs: number | undefined;
  /** The parsed error body, when there was one. */
  readonly body: unknown;

  constructor(init: LlmApiErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = new.target.name;
    this.status = init.status;
    this.code = init.code;
    this.type = init.type;
    this.param = init.param;
    this.requestId = init.requestId;
    this.headers = init.headers;
    this.retryable = init.retryable ?? false;
    this.retryAfterMs = init.retryAfterMs;
    this.body = init.body;
  }

  /** Picks the subclass by status and reads the contract's `ErrorResponse` envelope (like openai-node's `APIError.generate`). */
  static generate(status: number, body: unknown, headers: Headers): LlmApiError {
    const envelope = errorBodyOf(body);
    const code = envelope?.code;
    const init: LlmApiErrorInit = {
      status,
      message: envelope?.message ?? (typeof body === 'string' && body.length <= 512 ? body || `HTTP ${status}` : `HTTP ${status}`),
      code,
      type: envelope?.type,
      param: envelope?.param,
      requestId: headers.get('x-request-id') ?? undefined,
      headers,
      retryable: isRetryable(status, code, headers),
      retryAfterMs: parseRetryAfterMs(headers),
      body,
    };
    const Subclass = subclassFor(status);
    return new Subclass(init);
  }
}

export class BadRequestError extends LlmApiError {}
export class AuthenticationError extends LlmApiError {}
export class PermissionDeniedError extends AuthenticationError {}
export class NotFoundError extends LlmApiError {}
export class RateLimitError extends LlmApiError {}
export class ServerError extends LlmApiError {}
/** No HTTP answer: DNS, refused, reset. Retryable. */
export class ConnectionError extends LlmApiError {}
/** The client's own timeout fired (no status), or the service answered 408/504. */
export class TimeoutError extends LlmApiError {}
/** A stream ended with an in-band error event, without `[DONE]` or went silent: the answer is incomplete. */
export class StreamInterruptedError extends LlmApiError {}
/** A successful status whose body could not be read as the contract's JSON (code `invalid_response`). Not retryable. */
export class InvalidResponseError extends LlmApiError {}
/** The client-side circuit breaker is open; `retryAfterMs` says when it half-opens. */
export class CircuitOpenError extends LlmApiError {}
/** An asynchronous job ended in `failed`; `code`/`message` come from the job's `error`. */
export class JobFailedError extends LlmApiError {}

export function isLlmApiError(value: unknown): value is LlmApiError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
}

function subclassFor(status: number): typeof LlmApiError {
  if (status === 401) return AuthenticationError;
  if (status === 403) return PermissionDeniedError;
  if (status === 404) return NotFoundError;
  if (status === 408 || status === 504) return TimeoutError;
  if (status === 429) return RateLimitError;
  if (status >= 500) return ServerError;
  if (status >= 400) return BadRequestError;
  return LlmApiError;
}

/** `x-should-retry` (openai-node) overrides; otherwise the contract's `x-llm-retryable` statuses minus never-retry codes. */
export function isRetryable(status: number, code: string | undefined, headers: Headers | undefined): boolean {
  const override = headers?.get('x-should-retry');
  if (override === 'true') return true;
  if (override === 'false') return false;
  if (code !== undefined && NON_RETRYABLE_CODES.has(code)) return false;
  return RETRYABLE_STATUS.has(status);
}

export function errorBodyOf(body: unknown): ErrorBody | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const inner = (body as { error?: unknown }).error;
  if (typeof inner !== 'object' || inner === null) return undefined;
  const e = inner as Partial<ErrorBody>;
  if (typeof e.message !== 'string') return undefined;
  return e as ErrorBody;
}
