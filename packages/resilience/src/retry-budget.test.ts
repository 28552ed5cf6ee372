import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RetryBudget } from './retry-budget.ts';

describe('RetryBudget', () => {
  afterEach(() => vi.useRealTimers());

  it('allows ratio x requests plus the floor, then refuses', () => {
    let now = 0;
    const budget = new RetryBudget({ ratio: 0.2, minRetriesPerSecond: 0, windowMs: 10_000, now: () => now });
    for (let i = 0; i < 50; i++) budget.recordRequest();
    let granted = 0;
    while (budget.tryAcquireRetry()) granted++;
    expect(granted).toBe(10);
    expect(budget.snapshot()).toEqual({ requests: 50, retries: 10, allowed: 10 });
  });

  it('the floor lets a quiet service retry', () => {
    let now = 0;
    const budget = new RetryBudget({ ratio: 0.2, minRetriesPerSecond: 1, windowMs: 10_000, now: () => now });
    let granted = 0;
    while (budget.tryAcquireRetry()) granted++;
    expect(granted).toBe(10); // 1/s x 10 s
  });

  it('refills as the window slides (fake timers drive the default clock)', () => {
    vi.useFakeTimers({ now: 0 });
    const budget = new RetryBudget({ ratio: 0, minRetriesPerSecond: 0.5, windowMs: 4000, buckets: 4 });
    expect([budget.tryAcquireRetry(), budget.tryAcquireRetry(), budget.tryAcquireRetry()]).toEqual([true, true, false]);
    vi.advanceTimersByTime(3999);
    expect(budget.tryAcquireRetry()).toBe(false);
    vi.advanceTimersByTime(1);
    expect(budget.tryAcquireRetry()).toBe(true);
  });

  it('old requests stop paying for retries', () => {
    let now = 0;
    const budget = new RetryBudget({ ratio: 1, minRetriesPerSecond: 0, windowMs: 1000, buckets: 10, now: () => now });
    budget.recordRequest();
    now = 1500;
    expect(budget.tryAcquireRetry()).toBe(false);
  });

  it('property: a retry is granted exactly when it fits floor + ratio x requests in the window', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer({ min: 0, max: 3 }),
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 400 })), { maxLength: 200 }),
        (ratio, minPerSecond, ops) => {
          let now = 0;
          const budget = new RetryBudget({ ratio, minRetriesPerSecond: minPerSecond, windowMs: 2000, buckets: 20, now: () => now });
          for (const [isRequest, dt] of ops) {
            now += dt;
            if (isRequest) {
              budget.recordRequest();
              continue;
            }
            const before = budget.snapshot();
            const granted = budget.tryAcquireRetry();
            expect(granted).toBe(before.retries + 1 <= before.allowed);
            const after = budget.snapshot();
            expect(after.retries).toBe(before.retries + (granted ? 1 : 0));
            if (granted) expect(after.retries).toBeLessThanOrEqual(after.allowed);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
