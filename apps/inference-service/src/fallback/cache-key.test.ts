import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cacheScope, compileCacheKey, hashOf, normalize, normalizedPrefix } from './cache-key.ts';

describe('fallback cache key', () => {
  const cases: Array<[string, { template: string; question: string; schema?: string; want: string }]> = [
    ['article FAQ key, first 50 normalized chars', { template: 'faq:{question[:50]}', question: '  What IS   the price\nof Pro?  ', want: 'S|faq:what is the price of pro?' }],
    ['long questions are cut', { template: 'faq:{question[:10]}', question: 'abcdefghijklmnop', want: 'S|faq:abcdefghij' }],
    ['whole question', { template: 'q:{question}:v1', question: 'Hi There', want: 'S|q:hi there:v1' }],
    ['structured requests add the schema hash', { template: 'faq:{question[:50]}', question: 'hi', schema: 'abc', want: 'S|faq:hi:schema:abc' }],
    ['request-hash keys by the whole request', { template: 'request-hash', question: 'ignored', want: 'S|req:HASH' }],
  ];
  it.each(cases)('%s', (_name, { template, question, schema, want }) => {
    expect(compileCacheKey(template)('S', question, () => 'HASH', schema)).toBe(want);
  });

  it('scopes every key by the API key id and the system instructions', () => {
    const faq = compileCacheKey('faq:{question[:50]}');
    const key = (id: string, sys: string[]) => faq(cacheScope(id, sys), 'What is my code?', () => 'HASH');
    expect(key('team-a', [])).toBe('key:6:team-a|faq:what is my code?');
    expect(key('team-a', [])).not.toBe(key('team-b', []));
    expect(key('team-a', ['Tenant A. The code is 1111.'])).not.toBe(key('team-a', ['Tenant B. The code is 2222.']));
    expect(key('team-a', ['one', 'two'])).not.toBe(key('team-a', ['one\ntwo']));
    expect(key('team-a', ['x'])).toBe(key('team-a', ['x']));
    // Ids are length-prefixed: an id cannot pose as another id followed by instructions.
    expect(cacheScope(`a|sys:${hashOf(JSON.stringify(['x']))}`, [])).not.toBe(cacheScope('a', ['x']));
  });

  it('rejects a template it cannot expand, at start', () => {
    expect(() => compileCacheKey('faq:{answer}')).toThrow(/fallback.cache.key/);
  });

  it('normalizes case and whitespace only', () => {
    expect(normalize('  A\tb  C ')).toBe('a b c');
  });

  it('keys a long prompt by its first characters without normalizing all of it, to the same key', () => {
    // Whitespace runs across the window's edge, characters whose lower case is longer (İ) or
    // depends on what follows (a final Σ), surrogate pairs, leading whitespace past the window.
    const piece = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.constantFrom(' ', '\t\n ', '   ', 'Σ', 'ΑΣ ', 'İ', '😀', '\u00a0', 'A'));
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 80 }).map((p) => p.join('')), fc.integer({ min: 0, max: 60 }), (text, max) => {
        expect(normalizedPrefix(text, max)).toBe(normalize(text).slice(0, max));
      }),
      { seed: 20261125, numRuns: 3000 },
    );
    expect(normalizedPrefix(`${' '.repeat(10_000)}Hello   World`, 8)).toBe('hello wo');
    // The first window (2 * 10 + 16 = 36 characters) ends just after a capital sigma, which lower-cases
    // to a final sigma there but not in the whole text: the window must not settle it.
    const sigma = `${' '.repeat(26)}${'a'.repeat(9)}Σb and more`;
    expect(normalizedPrefix(sigma, 10)).toBe('aaaaaaaaaσ');
    expect(normalizedPrefix(`What is the price of Pro? ${'context '.repeat(100_000)}`, 50)).toBe(normalize(`What is the price of Pro? ${'context '.repeat(20)}`).slice(0, 50));
    expect(compileCacheKey('q:{question}')('S', '  A  B ', () => 'HASH')).toBe('S|q:a b');
  });
});
