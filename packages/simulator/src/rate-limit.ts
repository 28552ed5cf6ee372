/**
 * Informational rate-limit counters per model, so answers carry realistic
 * x-ratelimit-* headers. The simulator never enforces them: 429s come from
 * the scenario, where tests control them.
 */
import type { RateLimitSnapshot } from './wire-format.ts';

export interface RateLimits {
  readonly requestsPerMinute: number;
  readonly tokensPerMinute: number;
}

export const DEFAULT_RATE_LIMITS: RateLimits = Object.freeze({ requestsPerMinute: 10_000, tokensPerMinute: 2_000_000 });

const WINDOW_MS = 60_000;

interface Window {
  startedAt: number;
  requests: number;
  tokens: number;
}

export class RateLimitTracker {
  readonly #limits: RateLimits;
  readonly #now: () => number;
  readonly #windows = new Map<string, Window>();

  constructor(limits: RateLimits, now: () => number) {
    this.#limits = limits;
    this.#now = now;
  }

  /** Count one request of `tokens` tokens against `model` and return the remaining budget. */
  take(model: string, tokens: number): RateLimitSnapshot {
    const now = this.#now();
    let window = this.#windows.get(model);
    if (!window || now - window.startedAt >= WINDOW_MS) {
      window = { startedAt: now, requests: 0, tokens: 0 };
      this.#windows.set(model, window);
    }
    window.requests += 1;
    window.tokens += tokens;
    const resetAt = window.startedAt + WINDOW_MS;
    return {
      limitRequests: this.#limits.requestsPerMinute,
      remainingRequests: Math.max(0, this.#limits.requestsPerMinute - window.requests),
      limitTokens: this.#limits.tokensPerMinute,
      remainingTokens: Math.max(0, this.#limits.tokensPerMinute - window.tokens),
      resetMs: resetAt - now,
      resetAt,
    };
  }

  clear(): void {
    this.#windows.clear();
  }
}
