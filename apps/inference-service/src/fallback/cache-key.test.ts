import { describe, expect, it } from 'vitest';
import { compileCacheKey, normalize } from './cache-key.ts';

describe('fallback cache key', () => {
  const cases: Array<[string, { template: string; question: string; schema?: string; want: string }]> = [
    ['article FAQ key, first 50 normalized chars', { template: 'faq:{question[:50]}', question: '  What IS   the price\nof Pro?  ', want: 'faq:what is the price of pro?' }],
    ['long questions are cut', { template: 'faq:{question[:10]}', question: 'abcdefghijklmnop', want: 'faq:abcdefghij' }],
    ['whole question', { template: 'q:{question}:v1', question: 'Hi There', want: 'q:hi there:v1' }],
    ['structured requests add the schema hash', { template: 'faq:{question[:50]}', question: 'hi', schema: 'abc', want: 'faq:hi:schema:abc' }],
    ['request-hash keys by the whole request', { template: 'request-hash', question: 'ignored', want: 'req:HASH' }],
  ];
  it.each(cases)('%s', (_name, { template, question, schema, want }) => {
    expect(compileCacheKey(template)(question, () => 'HASH', schema)).toBe(want);
  });

  it('rejects a template it cannot expand, at start', () => {
    expect(() => compileCacheKey('faq:{answer}')).toThrow(/fallback.cache.key/);
  });

  it('normalizes case and whitespace only', () => {
    expect(normalize('  A\tb  C ')).toBe('a b c');
  });
});
