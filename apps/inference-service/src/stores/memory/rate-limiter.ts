import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { LimitDecision, RateLimiterStore } from '../types.ts';

export interface FixedWindowOptions {
  /** Points allowed per window. */
  points: number;
  /** Window length in seconds (60 for "per minute"). */
  durationSeconds: number;
}

/**
 * Fixed-window limiter over rate-limiter-flexible: it is well kept, has the
 * same semantics in memory and on Redis (atomic Lua), so one and many
 * instances behave alike.
 */
export function memoryRateLimiter(options: FixedWindowOptions): RateLimiterStore {
  const limiter = new RateLimiterMemory({ points: options.points, duration: options.durationSeconds });
  return limiterStore(limiter, options.points);
}

/** Adapts any rate-limiter-flexible limiter to our interface. */
export function limiterStore(
  limiter: Pick<RateLimiterMemory, 'consume' | 'penalty' | 'get'>,
  points: number,
): RateLimiterStore {
  const decision = (res: RateLimiterRes, allowed: boolean): LimitDecision => ({
    allowed,
    limit: points,
    remaining: Math.max(0, res.remainingPoints),
    resetMs: Math.max(0, res.msBeforeNext),
  });
  return {
    async consume(key, n) {
      try {
        return decision(await limiter.consume(key, n), true);
      } catch (err) {
        // rate-limiter-flexible rejects with a RateLimiterRes on exhaustion and with an Error on store failure.
        if (err instanceof RateLimiterRes) return decision(err, false);
        throw err;
      }
    },
    async penalize(key, n) {
      if (n > 0) await limiter.penalty(key, n);
    },
    async peek(key) {
      const res = await limiter.get(key);
      if (!res) return { allowed: true, limit: points, remaining: points, resetMs: 0 };
      return decision(res, res.remainingPoints > 0);
    },
  };
}
