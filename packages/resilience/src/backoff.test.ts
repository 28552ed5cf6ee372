import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConstantBackoff, ExponentialBackoff, type JitterMode } from './backoff.ts';

function delays(factory: { first(): { delayMs: number; next(): any } }, n: number): number[] {
  const out: number[] = [];
  let b = factory.first();
  for (let i = 0; i < n; i++) {
    out.push(b.delayMs);
    b = b.next();
  }
  return out;
}

describe('ExponentialBackoff', () => {
  it('defaults follow the article: 1 s -> 2 s -> 4 s ... capped at 10 s', () => {
    expect(delays(new ExponentialBackoff({ jitter: 'none' }), 6)).toEqual([1000, 2000, 4000, 8000, 10_000, 10_000]);
  });

  it('is immutable: the same step always yields the same next step', () => {
    const first = new ExponentialBackoff({ jitter: 'none' }).first();
    const a = first.next();
    const b = first.next();
    expect(a.delayMs).toBe(b.delayMs);
    expect(first.delayMs).toBe(1000);
    expect([first.step, a.step, a.next().step]).toEqual([0, 1, 2]);
  });

  it('full jitter scales the base delay by the random source', () => {
    const b = new ExponentialBackoff({ jitter: 'full', random: () => 0.5 });
    expect(delays(b, 5)).toEqual([500, 1000, 2000, 4000, 5000]);
    expect(delays(new ExponentialBackoff({ random: () => 0 }), 2)).toEqual([0, 0]);
  });

  it('equal jitter keeps at least half of the base delay', () => {
    expect(delays(new ExponentialBackoff({ jitter: 'equal', random: () => 0 }), 3)).toEqual([500, 1000, 2000]);
    expect(delays(new ExponentialBackoff({ jitter: 'equal', random: () => 0.999999 }), 3)).toEqual([1000, 2000, 4000]);
  });

  it('decorrelated jitter grows from the previous delay', () => {
    expect(delays(new ExponentialBackoff({ jitter: 'decorrelated', random: () => 1 }), 4)).toEqual([
      3000, 9000, 10_000, 10_000,
    ]);
    expect(delays(new ExponentialBackoff({ jitter: 'decorrelated', random: () => 0 }), 3)).toEqual([1000, 1000, 1000]);
  });

  it('rejects nonsense options', () => {
    expect(() => new ExponentialBackoff({ multiplier: 0.5 })).toThrow(RangeError);
    expect(() => new ExponentialBackoff({ initialDelayMs: -1 })).toThrow(RangeError);
  });

  it('property: every delay stays within its jitter bounds', () => {
    const mode = fc.constantFrom<JitterMode>('none', 'full', 'equal', 'decorrelated');
    fc.assert(
      fc.property(
        mode,
        fc.integer({ min: 0, max: 5000 }),
        fc.double({ min: 1, max: 4, noNaN: true }),
        fc.integer({ min: 0, max: 60_000 }),
        fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), { minLength: 1, maxLength: 40 }),
        (jitter, initialDelayMs, multiplier, maxDelayMs, randoms) => {
          let i = 0;
          const random = () => randoms[i++ % randoms.length]!;
          const factory = new ExponentialBackoff({ jitter, initialDelayMs, multiplier, maxDelayMs, random });
          let step = factory.first();
          for (let n = 0; n < 12; n++) {
            const base = factory.baseDelay(n);
            const d = step.delayMs;
            expect(Number.isFinite(d)).toBe(true);
            expect(d).toBeGreaterThanOrEqual(0);
            expect(d).toBeLessThanOrEqual(maxDelayMs);
            if (jitter === 'none') expect(d).toBe(base);
            if (jitter === 'full') expect(d).toBeLessThanOrEqual(Math.round(base));
            if (jitter === 'equal') {
              expect(d).toBeGreaterThanOrEqual(Math.floor(base / 2));
              expect(d).toBeLessThanOrEqual(Math.ceil(base));
            }
            if (jitter === 'decorrelated') expect(d).toBeGreaterThanOrEqual(Math.min(initialDelayMs, maxDelayMs));
            step = step.next();
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('ConstantBackoff', () => {
  it('always waits the same', () => {
    expect(delays(new ConstantBackoff(250), 3)).toEqual([250, 250, 250]);
  });
});
