import fc from 'fast-check';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { limiterStore } from '../redis/rate-limiter.ts';
import { memoryRateLimiter } from './rate-limiter.ts';

// Our synchronous fixed window must answer exactly as rate-limiter-flexible's RateLimiterMemory
// (the semantics RateLimiterRedis shares) through the adapter the Redis store uses, which gives
// a refused take back.
describe('memoryRateLimiter', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(1_800_000_000_000);
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const op = fc.record({
    kind: fc.constantFrom('consume', 'consume', 'penalize', 'peek'),
    key: fc.constantFrom('a', 'b', 'c'),
    // Points that add up to the limit (20) exactly, and steps that land on a 2 s window's end
    // exactly: the edges where an off-by-one would show.
    points: fc.oneof(fc.constantFrom(1, 2, 5, 10), fc.integer({ min: 1, max: 25 })),
    afterMs: fc.oneof(fc.constantFrom(0, 0, 250, 500, 1000, 2000), fc.integer({ min: 0, max: 2100 })),
  });

  it('answers every consume, penalize and peek as RateLimiterMemory does', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 60 }), async (ops) => {
        const ours = memoryRateLimiter({ points: 20, durationSeconds: 2 });
        const theirs = limiterStore(new RateLimiterMemory({ points: 20, duration: 2 }), 20);
        for (const o of ops) {
          await vi.advanceTimersByTimeAsync(o.afterMs);
          if (o.kind === 'penalize') {
            ours.penalize(o.key, o.points);
            await theirs.penalize(o.key, o.points);
            continue;
          }
          const a = o.kind === 'consume' ? ours.consume(o.key, o.points) : ours.peek(o.key);
          const b = o.kind === 'consume' ? await theirs.consume(o.key, o.points) : await theirs.peek(o.key);
          expect(a, JSON.stringify(o)).toEqual(b);
        }
      }),
      { seed: 20261125, numRuns: 300 },
    );
  });

  it('answers synchronously, and forgets keys whose window ended', () => {
    const limiter = memoryRateLimiter({ points: 2, durationSeconds: 60 });
    expect(limiter.consume('k', 1)).toEqual({ allowed: true, limit: 2, remaining: 1, resetMs: 60_000 });
    // A refused take costs nothing.
    expect(limiter.consume('k', 2)).toEqual({ allowed: false, limit: 2, remaining: 1, resetMs: 60_000 });
    expect(limiter.consume('k', 1)).toEqual({ allowed: true, limit: 2, remaining: 0, resetMs: 60_000 });
    vi.advanceTimersByTime(59_999);
    expect(limiter.peek('k')).toEqual({ allowed: false, limit: 2, remaining: 0, resetMs: 1 });
    vi.advanceTimersByTime(1);
    expect(limiter.peek('k')).toEqual({ allowed: true, limit: 2, remaining: 2, resetMs: 0 });
    expect(limiter.consume('k', 1)).toEqual({ allowed: true, limit: 2, remaining: 1, resetMs: 60_000 });
  });
});
