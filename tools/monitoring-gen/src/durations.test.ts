import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { promNumber } from './alert-rules.ts';
import { durationSeconds, formatDuration } from './durations.ts';

describe('Prometheus durations', () => {
  it.each([
    ['5m', 300],
    ['1h', 3600],
    ['1h30m', 5400],
    ['90s', 90],
    ['500ms', 0.5],
  ])('%s is %d s', (text, seconds) => expect(durationSeconds(text, 'x')).toBe(seconds));

  it.each(['', '5', '10 m', '-5m', '0m', 'ten minutes'])('rejects %j, naming where it came from', (text) => {
    expect(() => durationSeconds(text, 'x-llm-agreement.slo.evaluationWindow')).toThrow(/x-llm-agreement\.slo\.evaluationWindow/);
  });

  it('formats whole seconds back to a duration that parses to the same value', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 10 * 86400 }), (s) => durationSeconds(formatDuration(s), 'x') === s));
  });
});

describe('promNumber', () => {
  it.each([
    [0.01, '0.01'],
    [15, '15'],
    [20000 / 600, '33.3333'],
    [0.05, '0.05'],
  ])('%d -> %s', (n, want) => expect(promNumber(n)).toBe(want));
});
