import type { Redis } from 'ioredis';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { FixedWindowOptions } from '../memory/rate-limiter.ts';
import type { LimitDecision, RateLimiterStore } from '../types.ts';

export interface RedisRateLimiterOptions extends FixedWindowOptions {
  /** Namespaces this limiter's keys (e.g. `llmgw:rl:req:`). */
  keyPrefix: string;
}

/**
 * Fixed-window limiter shared by every instance: rate-limiter-flexible's
 * RateLimiterRedis takes points with one Lua script (SET NX + INCRBY + PTTL),
 * so concurrent consumers across instances never overshoot the limit.
 */
export function redisRateLimiter(client: Redis, options: RedisRateLimiterOptions): RateLimiterStore {
  const limiter = new RateLimiterRedis({
    storeClient: client,
    useRedisPackage: false,
    points: options.points,
    duration: options.durationSeconds,
    keyPrefix: options.keyPrefix,
    // Fail at once while disconnected; the admission policy decides what that means.
    rejectIfRedisNotReady: true,
  });
  return limiterStore(limiter, options.points);
}

/** Adapts a rate-limiter-flexible limiter to our interface. */
export function limiterStore(limiter: Pick<RateLimiterRedis, 'consume' | 'penalty' | 'reward' | 'get'>, points: number): RateLimiterStore {
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
        if (!(err instanceof RateLimiterRes)) throw err;
        // It has counted the refused points: give them back, so one oversized request does not
        // use up the window for the requests after it. The answer says what was left before.
        await limiter.reward(key, n);
        return { allowed: false, limit: points, remaining: Math.max(0, points - (err.consumedPoints - n)), resetMs: Math.max(0, err.msBeforeNext) };
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
