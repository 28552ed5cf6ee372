import type { Redis } from 'ioredis';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import { limiterStore, type FixedWindowOptions } from '../memory/rate-limiter.ts';
import type { RateLimiterStore } from '../types.ts';

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
