import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OTHER_LABEL, boundedLabel, cappedLabel, labelBounder } from './labels.ts';

describe('boundedLabel', () => {
  const bound = boundedLabel(['gpt-4o-mini', 'claude-3.5']);

  it('passes allowed values and maps everything else to "other"', () => {
    expect(bound('gpt-4o-mini')).toBe('gpt-4o-mini');
    expect(bound('claude-3.5')).toBe('claude-3.5');
    expect(bound('gpt-4o-mini-2024-07-18')).toBe(OTHER_LABEL);
    expect(bound('')).toBe(OTHER_LABEL);
    expect(bound(undefined)).toBe(OTHER_LABEL);
    expect(bound(null)).toBe(OTHER_LABEL);
  });

  it('never yields a value outside allow-list ∪ {other}', () => {
    const allowed = ['a', 'b', 'c'];
    const b = boundedLabel(allowed);
    fc.assert(
      fc.property(fc.string(), (value) => {
        const out = b(value);
        expect([...allowed, OTHER_LABEL]).toContain(out);
        expect(out === value).toBe(allowed.includes(value));
      }),
    );
  });

  it('honours a custom fallback label', () => {
    expect(boundedLabel(['x'], 'unknown')('y')).toBe('unknown');
  });
});

describe('cappedLabel', () => {
  it('lets the first N distinct values through, then maps new ones to "other"', () => {
    const cap = cappedLabel(2);
    expect(cap('m1')).toBe('m1');
    expect(cap('m2')).toBe('m2');
    expect(cap('m3')).toBe(OTHER_LABEL);
    expect(cap('m1')).toBe('m1');
    expect(cap(undefined)).toBe(OTHER_LABEL);
  });

  it('keeps the number of distinct outputs at most N + 1 for any input sequence', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10 }), fc.array(fc.string(), { maxLength: 200 }), (max, values) => {
        const cap = cappedLabel(max);
        const outputs = new Set(values.map((v) => cap(v)));
        expect(outputs.size).toBeLessThanOrEqual(max + 1);
      }),
    );
  });
});

describe('labelBounder', () => {
  it('uses the allow-list when given, else the cap', () => {
    expect(labelBounder(['a'])('b')).toBe(OTHER_LABEL);
    const capped = labelBounder(undefined, 1);
    expect(capped('b')).toBe('b');
    expect(capped('c')).toBe(OTHER_LABEL);
  });
});
