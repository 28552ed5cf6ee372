import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RollingCounter } from './rolling-window.ts';

describe('RollingCounter', () => {
  it('sums per series inside the window and forgets old buckets', () => {
    const c = new RollingCounter(10_000, 10, 2);
    c.add(0, 0);
    c.add(0, 500);
    c.add(1, 900);
    expect([c.total(0, 999), c.total(1, 999)]).toEqual([2, 1]);
    c.add(0, 5_000);
    expect(c.total(0, 9_999)).toBe(3);
    // bucket [0, 1000) slides out at t = 10 000
    expect(c.total(0, 10_000)).toBe(1);
    expect(c.total(1, 10_000)).toBe(0);
    expect(c.total(0, 15_000)).toBe(0);
  });

  it('a long jump clears everything; reset too', () => {
    const c = new RollingCounter(1000, 4, 1);
    c.add(0, 0, 5);
    expect(c.total(0, 1_000_000)).toBe(0);
    c.add(0, 1_000_001);
    c.reset();
    expect(c.total(0, 1_000_001)).toBe(0);
  });

  it('property: equals a naive count over the buckets still in the window', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 3000 }), fc.integer({ min: 0, max: 1 })), { maxLength: 60 }),
        (steps) => {
          const windowMs = 1000;
          const buckets = 5;
          const bucketMs = windowMs / buckets;
          const c = new RollingCounter(windowMs, buckets, 2);
          const events: [number, number][] = [];
          let now = 0;
          for (const [dt, series] of steps) {
            now += dt % 700;
            c.add(series, now);
            events.push([now, series]);
            const currentBucket = Math.floor(now / bucketMs);
            for (const s of [0, 1]) {
              const naive = events.filter(
                ([t, es]) => es === s && Math.floor(t / bucketMs) > currentBucket - buckets,
              ).length;
              expect(c.total(s, now)).toBe(naive);
            }
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
