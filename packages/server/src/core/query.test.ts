import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { queryBoolean, queryBooleans, queryNumber, queryNumbers } from './query.ts';

describe('query value coercion', () => {
  it.each([
    ['20', 20],
    ['-3', -3],
    ['1.5', 1.5],
    ['007', 7],
    ['2e3', 2000],
    ['abc', 'abc'],
    ['', ''],
    [' 1', ' 1'],
    ['0x10', '0x10'],
    ['Infinity', 'Infinity'],
    ['1,2', '1,2'],
    [undefined, undefined],
  ])('queryNumber(%j) -> %j (text that is not a number is left for the validator to reject)', (text, want) => {
    expect(queryNumber(text)).toEqual(want);
  });

  it('every finite number JSON writes reads back as that number', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (n) => {
        expect(queryNumber(JSON.stringify(n))).toBe(Object.is(n, -0) ? 0 : n);
      }),
    );
  });

  it.each([
    ['true', true],
    ['false', false],
    ['TRUE', 'TRUE'],
    ['1', '1'],
    ['', ''],
    [undefined, undefined],
  ])('queryBoolean(%j) -> %j', (text, want) => {
    expect(queryBoolean(text)).toEqual(want);
  });

  it('arrays coerce each repeated value and stay absent when the key is', () => {
    expect(queryNumbers(['1', 'x', '2.5'])).toEqual([1, 'x', 2.5]);
    expect(queryBooleans(['true', 'no'])).toEqual([true, 'no']);
    expect(queryNumbers(undefined)).toBeUndefined();
    expect(queryBooleans(undefined)).toBeUndefined();
  });
});
