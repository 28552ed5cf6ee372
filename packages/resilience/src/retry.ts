/**
 * RetryPolicy: tries again only what the classification table says to retry
 * (`decide(error) === 'retry'`), at most `maxAttempts` times, waiting an
 * exponential backoff or the upstream's Retry-After, and never past the
 * caller's deadline or the shared retry budget.
 *
 * Waits are abortable; timers are cleared in `finally` (see abort.ts `sleep`).
 */
import { NEVER_ABORTED, sleep } from './abort.ts';
import { ExponentialBackoff, type Backoff, type BackoffFactory } from './backoff.ts';
import { decide as defaultDecide, type Decision } from './classify.ts';
import { abortedError, isGatewayError } from './errors.ts';
import { EventEmitter } from './events.ts';
import { toContext, type ExecuteOptions, type Policy, type PolicyContext, type PolicyFn } from './policy.ts';
import type { RetryBudget } from './retry-budget.ts';

export interface RetryOptions {
  /** Attempts in total, the first included. Default 3 (contract). */
  maxAttempts?: number;
  /** Default: ExponentialBackoff with contract defaults (1 s x2, cap 10 s, full jitter). */
  backoff?: BackoffFactory;
  /**
   * The longest Retry-After we are willing to wait. Default 10 000 ms (contract
   * `maxRetryAfterMs`). A longer hint is not shortened: waiting less than the
   * upstream asked only earns another 429. See `onLongRetryAfter`.
   */
  maxRetryAfterMs?: number;
  /**
   * What to do with a Retry-After above `maxRetryAfterMs`:
   * - `give-up` (default): stop now and surface the error (its retryAfterMs intact),
   *   so the caller fails over at once instead of idling;
   * - `wait-cap`: wait `maxRetryAfterMs` and try anyway.
   */
  onLongRetryAfter?: 'give-up' | 'wait-cap';
  /** Shared per-upstream budget; no budget = unlimited (within maxAttempts). */
  budget?: RetryBudget;
  /** Classification; default `decide` from classify.ts. Only 'retry' is retried. */
  decide?: (error: unknown) => Decision;
  /** Clock for deadline arithmetic. Default Date.now (fake-timer friendly). */
  now?: () => number;
}

export const DEFAULT_MAX_ATTEMPTS = 3;
export const DEFAULT_MAX_RETRY_AFTER_MS = 10_000;

export interface RetryEvent {
  /** The attempt that just failed (1-based). */
  attempt: number;
  delayMs: number;
  error: unknown;
}

export type GiveUpReason = 'not-retryable' | 'max-attempts' | 'deadline' | 'budget' | 'retry-after-too-long' | 'aborted';

export interface GiveUpEvent {
  attempt: number;
  reason: GiveUpReason;
  error: unknown;
}

const DEFAULT_BACKOFF = new ExponentialBackoff();

export class RetryPolicy implements Policy {
  readonly #maxAttempts: number;
  readonly #backoff: BackoffFactory;
  readonly #maxRetryAfterMs: number;
  readonly #waitCapOnLongHint: boolean;
  readonly #budget: RetryBudget | undefined;
  readonly #decide: (error: unknown) => Decision;
  readonly #now: () => number;
  readonly #retry = new EventEmitter<RetryEvent>();
  readonly #giveUp = new EventEmitter<GiveUpEvent>();

  /** Fired before each wait. */
  readonly onRetry = this.#retry.on;
  /** Fired when the policy stops and rethrows. */
  readonly onGiveUp = this.#giveUp.on;

  constructor(options: RetryOptions = {}) {
    this.#maxAttempts = Math.max(1, options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS);
    this.#backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.#maxRetryAfterMs = options.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS;
    this.#waitCapOnLongHint = options.onLongRetryAfter === 'wait-cap';
    this.#budget = options.budget;
    this.#decide = options.decide ?? defaultDecide;
    this.#now = options.now ?? Date.now;
  }

  async execute<T>(fn: PolicyFn<T>, options?: AbortSignal | ExecuteOptions): Promise<T> {
    const outer = toContext(options);
    const { signal, deadline } = outer;
    this.#budget?.recordRequest();
    let backoff: Backoff | undefined;

    for (let attempt = 1; ; attempt++) {
      if (signal.aborted) throw abortedError(signal.reason);
      const ctx: PolicyContext = attempt === outer.attempt ? outer : { signal, deadline, attempt };
      try {
        return await fn(ctx);
      } catch (error) {
        // The caller's own abort is final, whatever the inner code threw for it.
        if (signal.aborted) {
          const aborted = abortedError(signal.reason);
          this.#emitGiveUp(attempt, 'aborted', aborted);
          throw aborted;
        }
        if (this.#decide(error) !== 'retry') throw this.#stop(attempt, 'not-retryable', error);
        if (attempt >= this.#maxAttempts) throw this.#stop(attempt, 'max-attempts', error);

        backoff = backoff === undefined ? this.#backoff.first() : backoff.next();
        let delayMs = backoff.delayMs;
        const hint = isGatewayError(error) ? error.retryAfterMs : undefined;
        if (hint !== undefined) {
          if (hint <= this.#maxRetryAfterMs) delayMs = hint;
          else if (this.#waitCapOnLongHint) delayMs = this.#maxRetryAfterMs;
          else throw this.#stop(attempt, 'retry-after-too-long', error);
        }
        // Sleeping into the deadline only to be cut off wastes the caller's time.
        if (deadline !== undefined && this.#now() + delayMs >= deadline) throw this.#stop(attempt, 'deadline', error);
        if (this.#budget !== undefined && !this.#budget.tryAcquireRetry()) throw this.#stop(attempt, 'budget', error);

        if (this.#retry.hasListeners) this.#retry.emit({ attempt, delayMs, error });
        if (delayMs > 0 || signal !== NEVER_ABORTED) {
          try {
            await sleep(delayMs, signal);
          } catch (abort) {
            this.#emitGiveUp(attempt, 'aborted', abort);
            throw abort;
          }
        }
      }
    }
  }

  #stop(attempt: number, reason: GiveUpReason, error: unknown): unknown {
    this.#emitGiveUp(attempt, reason, error);
    return error;
  }

  #emitGiveUp(attempt: number, reason: GiveUpReason, error: unknown): void {
    if (this.#giveUp.hasListeners) this.#giveUp.emit({ attempt, reason, error });
  }
}

/** One-shot helper: `retry(fn, { maxAttempts: 2 })`. Prefer a shared RetryPolicy on hot paths. */
export function retry<T>(fn: PolicyFn<T>, options: RetryOptions & ExecuteOptions = {}): Promise<T> {
  return new RetryPolicy(options).execute(fn, { signal: options.signal, deadline: options.deadline });
}
