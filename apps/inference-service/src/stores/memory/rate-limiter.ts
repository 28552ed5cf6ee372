import type { LimitDecision, RateLimiterStore } from '../types.ts';

export interface FixedWindowOptions {
  /** Points allowed per window. */
  points: number;
  /** Window length in seconds (60 for "per minute"). */
  durationSeconds: number;
}

export interface MemoryRateLimiterOptions extends FixedWindowOptions {
  /** Clock in ms. Default Date.now (what fake timers move). */
  now?: () => number;
}

interface Window {
  consumed: number;
  endsAt: number;
}

/**
 * Fixed-window limiter for one instance, answering synchronously. The window of a
 * key starts with its first take and lasts `durationSeconds`: the semantics of
 * rate-limiter-flexible's RateLimiterMemory, which the Redis store still uses
 * (RateLimiterRedis, one Lua script), with a refused take given back as
 * `limiterStore` does. Ours because RateLimiterMemory answers every
 * call with a promise, and the request path takes three of them per request;
 * rate-limiter.test.ts drives both with the same calls and compares every answer.
 */
export function memoryRateLimiter(options: MemoryRateLimiterOptions): RateLimiterStore {
  const { points } = options;
  const windowMs = options.durationSeconds * 1000;
  const now = options.now ?? Date.now;
  const windows = new Map<string, Window>();
  let nextSweep = 0;

  /** The key's current window, a new one when it has none or it ended. */
  function current(key: string, t: number): Window {
    // Ended windows are dropped once per window length: memory stays bounded by the keys seen lately.
    if (t >= nextSweep) {
      for (const [k, w] of windows) if (w.endsAt <= t) windows.delete(k);
      nextSweep = t + windowMs;
    }
    let w = windows.get(key);
    if (w === undefined || w.endsAt <= t) {
      w = { consumed: 0, endsAt: t + windowMs };
      windows.set(key, w);
    }
    return w;
  }

  const decision = (w: Window, t: number, allowed: boolean): LimitDecision => ({
    allowed,
    limit: points,
    remaining: Math.max(0, points - w.consumed),
    resetMs: Math.max(0, w.endsAt - t),
  });

  return {
    consume(key, n) {
      const t = now();
      const w = current(key, t);
      // A refused take costs nothing: one oversized request must not use up the window for the rest.
      if (w.consumed + n > points) return decision(w, t, false);
      w.consumed += n;
      return decision(w, t, true);
    },
    penalize(key, n) {
      if (n > 0) current(key, now()).consumed += n;
    },
    peek(key) {
      const t = now();
      const w = windows.get(key);
      if (w === undefined || w.endsAt <= t) return { allowed: true, limit: points, remaining: points, resetMs: 0 };
      return decision(w, t, w.consumed < points);
    },
  };
}
