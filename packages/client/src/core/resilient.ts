import { agreement } from '../generated/agreement.ts';
import type { LlmClient, RequestOptions } from './client.ts';
import { sleep, waitForJob } from './client.ts';
import { CircuitOpenError, isLlmApiError } from './errors.ts';
import type { LlmApiError } from './errors.ts';
import { ApiPromise } from './meta.ts';
import type { WithResponse } from './meta.ts';
import { backoffDelayMs, DEFAULT_BACKOFF } from './resilience/backoff.ts';
import type { BackoffOptions } from './resilience/backoff.ts';
import { CircuitBreaker, DEFAULT_BREAKER } from './resilience/breaker.ts';
import type { BreakerOptions, BreakerState } from './resilience/breaker.ts';

/**
 * Added to the agreement's per-model timeout so the service's own 504 (or fallback answer)
 * reaches us before our timer fires: the service is the one hop that retries upstream.
 */
export const TIMEOUT_GRACE_MS = 1_000;

export interface RetryInfo {
  /** The attempt that failed (1-based). */
  attempt: number;
  delayMs: number;
  error: LlmApiError;
}

export interface ResilienceOptions {
  /** Total attempts including the first. Default: the agreement's `retry.maxAttempts`. */
  maxAttempts?: number;
  /**
   * Longest server wait hint the client waits out; a longer hint is not retried (the error is thrown with its
   * `retryAfterMs`), so the client never calls back before the server said it may. Default: the agreement's `retry.maxRetryAfterMs`.
   */
  maxRetryAfterMs?: number;
  /** Backoff when the server gave no hint. Defaults from the agreement. */
  backoff?: Partial<BackoffOptions>;
  /** Circuit breaker per model (and one for the other endpoints); `false` turns it off. Defaults from the agreement. */
  breaker?: Partial<BreakerOptions> | false;
  /**
   * Per-attempt timeout for a model, until the response arrives; default: the agreement's `timeouts.totalMs`
   * (`firstTokenMs` for streams, whose headers the service sends with the first token) + {@link TIMEOUT_GRACE_MS}.
   * After that a stream's waits for data are bounded by the client's `streamIdleTimeoutMs`, and never retried.
   */
  timeoutMs?: (model: string, kind: 'create' | 'stream') => number;
  /** Called before each wait; for metrics/logs (never log bodies). */
  onRetry?: (info: RetryInfo) => void;
}

export type ResilientLlmClient = LlmClient & {
  /** The breaker state for a model (or `'*'` for the non-chat endpoints). */
  breakerState(key: string): BreakerState;
};

/** Default per-attempt timeout from the agreement. */
export function agreementTimeoutMs(model: string, kind: 'create' | 'stream'): number {
  const t = (agreement.timeouts.models as Record<string, { totalMs: number; firstTokenMs: number }>)[model];
  const base = kind === 'stream' ? (t?.firstTokenMs ?? agreement.timeouts.defaultFirstTokenMs) : (t?.totalMs ?? agreement.timeouts.defaultTotalMs);
  return base + TIMEOUT_GRACE_MS;
}

const OTHER_ENDPOINTS = '*';

/**
 * Adds per-model timeouts, retries of what the service marks retryable (with its wait hint,
 * capped, or jittered exponential backoff), and a circuit breaker. Streams are retried only
 * until the response arrives — never once a chunk may have been seen.
 */
export function withResilience(client: LlmClient, opts: ResilienceOptions = {}): ResilientLlmClient {
  const maxAttempts = Math.max(1, opts.maxAttempts ?? agreement.retry.maxAttempts);
  const maxRetryAfterMs = opts.maxRetryAfterMs ?? agreement.retry.maxRetryAfterMs;
  const backoff: BackoffOptions = { ...DEFAULT_BACKOFF, ...opts.backoff };
  const breakerOptions = opts.breaker === false ? undefined : { ...DEFAULT_BREAKER, ...opts.breaker };
  const timeoutFor = opts.timeoutMs ?? agreementTimeoutMs;
  const breakers = new Map<string, CircuitBreaker>();

  const breakerFor = (key: string): CircuitBreaker | undefined => {
    if (!breakerOptions) return undefined;
    let b = breakers.get(key);
    if (!b) breakers.set(key, (b = new CircuitBreaker(breakerOptions)));
    return b;
  };

  /** The wait before the next attempt, or undefined when the server asked for longer than we wait (so no retry). */
  function delayFor(error: LlmApiError, attempt: number): number | undefined {
    if (error.retryAfterMs === undefined) return backoffDelayMs(attempt, backoff);
    return error.retryAfterMs <= maxRetryAfterMs ? error.retryAfterMs : undefined;
  }

  async function run<T>(
    key: string,
    options: RequestOptions | undefined,
    attempt: (options: RequestOptions | undefined) => Promise<WithResponse<T>>,
  ): Promise<WithResponse<T>> {
    const breaker = breakerFor(key);
    for (let n = 1; ; n++) {
      const wait = breaker?.tryAcquire() ?? 0;
      if (wait > 0) {
        throw new CircuitOpenError({
          message: `The client's circuit for '${key}' is open after repeated failures.`,
          code: 'circuit_open',
          retryable: true,
          retryAfterMs: wait,
        });
      }
      try {
        const result = await attempt(options);
        breaker?.success();
        return result;
      } catch (error) {
        if (!isLlmApiError(error)) {
          breaker?.neutral(); // the caller aborted: says nothing about the service
          throw error;
        }
        if (isHealthFailure(error)) breaker?.failure();
        else breaker?.neutral();
        if (!error.retryable || n >= maxAttempts) throw error;
        const delayMs = delayFor(error, n);
        if (delayMs === undefined) throw error;
        opts.onRetry?.({ attempt: n, delayMs, error });
        await sleep(delayMs, options?.signal);
      }
    }
  }

  const withTimeout = (options: RequestOptions | undefined, timeoutMs: number): RequestOptions =>
    options?.timeoutMs !== undefined ? options : { ...options, timeoutMs };

  const resilient: ResilientLlmClient = {
    chat: {
      completions: {
        create(body, options) {
          const o = withTimeout(options, timeoutFor(body.model, 'create'));
          return new ApiPromise(run(body.model, o, (o) => client.chat.completions.create(body, o).withResponse()));
        },
        stream(body, options) {
          const o = withTimeout(options, timeoutFor(body.model, 'stream'));
          return new ApiPromise(run(body.model, o, (o) => client.chat.completions.stream(body, o).withResponse()));
        },
      },
    },
    models: {
      list(options) {
        return new ApiPromise(run(OTHER_ENDPOINTS, options, (o) => client.models.list(o).withResponse()));
      },
    },
    jobs: {
      get(id, options) {
        return new ApiPromise(run(OTHER_ENDPOINTS, options, (o) => client.jobs.get(id, o).withResponse()));
      },
      wait(id, options) {
        // Polls through the resilient get, so a 429 or 503 while polling is retried after its hint.
        return waitForJob(resilient.jobs.get, id, options);
      },
    },
    health: client.health,
    operations: client.operations,
    breakerState(key) {
      return breakerFor(key)?.state ?? { state: 'closed' };
    },
  };
  return resilient;
}

/** No answer, a timeout or a 5xx: the service (or its upstream) is unwell. A 4xx or 429 is not. */
function isHealthFailure(error: LlmApiError): boolean {
  return error.status === undefined || error.status >= 500 || error.status === 408;
}
