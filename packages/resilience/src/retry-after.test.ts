import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseDuration, parseRetryAfter, parseRetryAfterValue } from './retry-after.ts';

const NOW = Date.parse('2026-11-24T10:00:00Z');

describe('parseRetryAfter', () => {
  it('prefers retry-after-ms, then Retry-After, then x-ratelimit-reset-*', () => {
    const all = new Headers({ 'retry-after-ms': '250', 'retry-after': '3', 'x-ratelimit-reset-requests': '9s' });
    expect(parseRetryAfter(all, NOW)).toBe(250);
    all.delete('retry-after-ms');
    expect(parseRetryAfter(all, NOW)).toBe(3000);
    all.delete('retry-after');
    expect(parseRetryAfter(all, NOW)).toBe(9000);
  });

  it('reads Retry-After seconds (fractions round up) and HTTP dates', () => {
    expect(parseRetryAfter(new Headers({ 'Retry-After': '0' }), NOW)).toBe(0);
    expect(parseRetryAfter(new Headers({ 'Retry-After': '1.5' }), NOW)).toBe(1500);
    expect(parseRetryAfter(new Headers({ 'Retry-After': 'Tue, 24 Nov 2026 10:00:07 GMT' }), NOW)).toBe(7000);
    // A date in the past means "now", not a negative wait.
    expect(parseRetryAfter(new Headers({ 'Retry-After': 'Tue, 24 Nov 2026 09:00:00 GMT' }), NOW)).toBe(0);
  });

  it('skips an unusable header and falls through to the next', () => {
    const h = new Headers({ 'retry-after-ms': 'soon', 'retry-after': 'garbage', 'x-ratelimit-reset-tokens': '20ms' });
    expect(parseRetryAfter(h, NOW)).toBe(20);
    expect(parseRetryAfter(new Headers({ 'retry-after': '-5' }), NOW)).toBeUndefined();
    expect(parseRetryAfter(new Headers({ 'retry-after': '1e999' }), NOW)).toBeUndefined();
  });

  it('picks the reset of the exhausted limit, else the later one', () => {
    const both = { 'x-ratelimit-reset-requests': '1s', 'x-ratelimit-reset-tokens': '6m0s' };
    expect(parseRetryAfter(new Headers(both), NOW)).toBe(360_000);
    expect(parseRetryAfter(new Headers({ ...both, 'x-ratelimit-remaining-requests': '0' }), NOW)).toBe(1000);
    expect(
      parseRetryAfter(
        new Headers({ ...both, 'x-ratelimit-remaining-requests': '5', 'x-ratelimit-remaining-tokens': '0' }),
        NOW,
      ),
    ).toBe(360_000);
  });

  it('accepts plain header records (Node IncomingHttpHeaders)', () => {
    expect(parseRetryAfter({ 'retry-after': '2' }, NOW)).toBe(2000);
    expect(parseRetryAfter({ 'retry-after': ['4', '5'] }, NOW)).toBe(4000);
    expect(parseRetryAfter({}, NOW)).toBeUndefined();
    expect(parseRetryAfter(undefined, NOW)).toBeUndefined();
    expect(parseRetryAfter(null, NOW)).toBeUndefined();
  });
});

describe('parseDuration (OpenAI / Go format)', () => {
  it.each([
    ['1s', 1000],
    ['6m0s', 360_000],
    ['20ms', 20],
    ['1h2m3.5s', 3_723_500],
    ['2m', 120_000],
    ['1.5h', 5_400_000],
    ['0s', 0],
    ['500us', 1],
    // Go writes microseconds with the micro sign (U+00B5).
    ['1500\u00b5s', 2],
    ['3', 3000],
  ])('%s -> %i ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', 'abc', '1d', 's', '1s2h', '-1s', 'ms'])('rejects %j', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
});

describe('properties', () => {
  const headerValue = fc.oneof(
    fc.string(),
    fc.integer({ min: -1e6, max: 1e12 }).map(String),
    fc.double({ noNaN: false }).map(String),
    fc.date({ noInvalidDate: true }).map((d) => d.toUTCString()),
    fc
      .tuple(fc.nat(99), fc.nat(59), fc.double({ min: 0, max: 60, noNaN: true }))
      .map(([h, m, s]) => `${h}h${m}m${s}s`),
  );
  const headerName = fc.constantFrom(
    'retry-after-ms',
    'retry-after',
    'x-ratelimit-reset-requests',
    'x-ratelimit-reset-tokens',
    'x-ratelimit-remaining-requests',
    'x-ratelimit-remaining-tokens',
  );

  it('never negative, never NaN, never infinite', () => {
    fc.assert(
      fc.property(fc.dictionary(headerName, headerValue), fc.integer({ min: 0, max: 4e12 }), (record, now) => {
        const ms = parseRetryAfter(record, now);
        if (ms !== undefined) {
          expect(Number.isFinite(ms)).toBe(true);
          expect(ms).toBeGreaterThanOrEqual(0);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('Retry-After seconds round-trip', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1e6 }), (seconds) => {
        expect(parseRetryAfterValue(String(seconds), NOW)).toBe(seconds * 1000);
      }),
      { numRuns: 100 },
    );
  });
});
