import { describe, expect, it } from 'vitest';
import { compileRules, matchRule } from './rule-based.ts';

describe('rule-based fallback', () => {
  const rules = compileRules([
    { name: 'price-hotline', keywords: ['giá', 'price', 'bao nhiêu tiền', 'a+b'], template: 'Call 1900 1234.' },
    { name: 'hours', pattern: '\\bopen(ing)? hours?\\b', template: 'We open 8:00-22:00.' },
  ]);

  const cases: Array<[string, string | undefined]> = [
    ['Giá gói Pro là bao nhiêu?', 'price-hotline'],
    ['What is the PRICE?', 'price-hotline'],
    ['Cái này bao nhiêu tiền?', 'price-hotline'],
    ['what does a+b mean', 'price-hotline'],
    ['What are your opening hours?', 'hours'],
    ['How do I reset my password?', undefined],
    ['aab', undefined],
  ];
  it.each(cases)('%s -> %s', (question, rule) => {
    expect(matchRule(rules, question)?.name).toBe(rule);
  });

  it('the first matching rule wins', () => {
    expect(matchRule(rules, 'price and opening hours')?.name).toBe('price-hotline');
  });
});
