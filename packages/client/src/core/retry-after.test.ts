import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseResetDuration, parseRetryAfterMs } from './retry-after.ts';

describe('parseRetryAfterMs', () => {
  it.each([
    [{ 'retry-after-ms': '250' }, 250],
    [{ 'retry-after-ms': '250', 'retry-after': '9' }, 250],
    [{ 'retry-after': '3' }, 3000],
    [{ 'retry-after': 'Thu, 01 Jan 1970 00:00:05 GMT' }, 5000],
    [{ 'x-ratelimit-reset-requests': '1s', 'x-ratelimit-reset-tokens': '6m0s' }, 360_000],
    [{ 'x-ratelimit-reset-tokens': '20ms' }, 20],
    [{ 'retry-after': 'soon' }, undefined],
    [{}, undefined],
  ] as const)('%j → %s', (headers, want) => {
    expect(parseRetryAfterMs(new Headers(headers), 0)).toBe(want);
  });

  it('durations: h/m/s/ms sum up, anything else is rejected', () => {
    fc.assert(
      fc.property(fc.nat(9), fc.nat(59), fc.nat(59), fc.nat(999), (h, m, s, ms) => {
        expect(parseResetDuration(`${h}h${m}m${s}s${ms}ms`)).toBe(((h * 60 + m) * 60 + s) * 1000 + ms);
      }),
    );
    expect(parseResetDuration('1x')).toBeUndefined();
    expect(parseResetDuration('')).toBeUndefined();
  });
});
