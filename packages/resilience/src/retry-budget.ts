/**
 * A retry budget (Finagle / Envoy / gRPC style): retries may be at most a share
 * of recent traffic, plus a small floor so a quiet service can still retry.
 * When an upstream fails hard, per-request retry limits alone multiply the
 * load on it (3 attempts = 3x); the budget caps the whole fleet of requests
 * at (1 + ratio)x.
 *
 * One budget per upstream, shared by every RetryPolicy that calls it.
 * allowed retries in window = minRetriesPerSecond x windowSeconds + ratio x requests in window
 */
import { RollingCounter } from './rolling-window.ts';

export interface RetryBudgetOptions {
  /** Retries allowed per original request in the window. Default 0.2 (contract `budgetRatio`). */
  ratio?: number;
  /** Retries per second always allowed, whatever the traffic. Default 1 (contract `budgetMinPerSecond`). */
  minRetriesPerSecond?: number;
  /** Sliding window length. Default 10 000 ms. */
  windowMs?: number;
  /** Window resolution. Default 10 buckets. */
  buckets?: number;
  /** Clock, ms. Default Date.now (so vi.useFakeTimers() drives it). */
  now?: () => number;
}

export const DEFAULT_BUDGET_RATIO = 0.2;
export const DEFAULT_BUDGET_MIN_RETRIES_PER_SECOND = 1;
export const DEFAULT_BUDGET_WINDOW_MS = 10_000;
export const DEFAULT_BUDGET_BUCKETS = 10;

const REQUESTS = 0;
const RETRIES = 1;

export class RetryBudget {
  readonly #counter: RollingCounter;
  readonly #ratio: number;
  readonly #floor: number;
  readonly #now: () => number;

  constructor(options: RetryBudgetOptions = {}) {
    const windowMs = options.windowMs ?? DEFAULT_BUDGET_WINDOW_MS;
    const ratio = options.ratio ?? DEFAULT_BUDGET_RATIO;
    const minPerSecond = options.minRetriesPerSecond ?? DEFAULT_BUDGET_MIN_RETRIES_PER_SECOND;
    if (!(ratio >= 0) || !(minPerSecond >= 0)) throw new RangeError('RetryBudget: ratio and floor must be >= 0');
    this.#counter = new RollingCounter(windowMs, options.buckets ?? DEFAULT_BUDGET_BUCKETS, 2);
    this.#ratio = ratio;
    this.#floor = (minPerSecond * windowMs) / 1000;
    this.#now = options.now ?? Date.now;
  }

  /** Count one original (non-retry) request. */
  recordRequest(): void {
    this.#counter.add(REQUESTS, this.#now());
  }

  /** Take one retry from the budget; false when it is spent (then do not retry). */
  tryAcquireRetry(): boolean {
    const now = this.#now();
    const allowed = this.#floor + this.#ratio * this.#counter.total(REQUESTS, now);
    if (this.#counter.total(RETRIES, now) + 1 > allowed) return false;
    this.#counter.add(RETRIES, now);
    return true;
  }

  /** For metrics/health: counts in the current window. */
  snapshot(): { requests: number; retries: number; allowed: number } {
    const now = this.#now();
    const requests = this.#counter.total(REQUESTS, now);
    return { requests, retries: this.#counter.total(RETRIES, now), allowed: this.#floor + this.#ratio * requests };
  }
}
