import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { describeJsonSyntaxError, jsonSyntaxErrorOffset } from './json-error.ts';

describe('jsonSyntaxErrorOffset', () => {
  it.each([
    ['{"a":1', { offset: 6, atEnd: true }],
    ['{"a": nope}', { offset: 6, atEnd: false }],
    ['[1,]', { offset: 3, atEnd: false }],
    ['{"a":1}}', { offset: 7, atEnd: false }],
    ['"\\x"', { offset: 2, atEnd: false }],
    ['01', { offset: 1, atEnd: false }],
  ])('%s', (given, want) => {
    expect(jsonSyntaxErrorOffset(given)).toEqual(want);
  });

  it('accepts whatever JSON.stringify produces', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = JSON.stringify(value, null, 1);
        expect(jsonSyntaxErrorOffset(text)).toEqual({ offset: text.length, atEnd: true });
      }),
    );
  });

  it('agrees with JSON.parse on truncated documents', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.nat(), (value, cut) => {
        const text = JSON.stringify({ v: value });
        const truncated = text.slice(0, cut % text.length);
        expect(() => JSON.parse(truncated)).toThrow();
        expect(jsonSyntaxErrorOffset(truncated).offset).toBeLessThanOrEqual(truncated.length);
      }),
    );
  });

  it('describes line and column, never the text', () => {
    expect(describeJsonSyntaxError('{\n  "prompt": secret\n}')).toBe('Malformed JSON body: unexpected character at line 2, column 13 (offset 14).');
    expect(describeJsonSyntaxError('   ')).toBe('The request body is empty; expected a JSON document.');
  });
});
